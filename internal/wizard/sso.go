package wizard

import (
	"context"

	"charm.land/huh/v2"
)

// SSOStep is the optional "single sign-on on the same app" question after provisioning.
type SSOStep struct {
	// DefaultIdentifier and DefaultReplyURL pre-fill the two answers (the sandbox's emulated
	// Invicti); empty on a real tenant.
	DefaultIdentifier, DefaultReplyURL string
	// Validate checks one answer; field names it as the person sees it ("Invicti Identifier"
	// or "SAML 2.0 Service URL"), for the message: they typed no flag.
	Validate func(field, value string) error
}

// SSOAnswers are Invicti's two SAML values.
type SSOAnswers struct {
	Identifier, ReplyURL string
}

// AskSSO offers SAML single sign-on on the app setup made (default No) and, on Yes, asks for
// Invicti's Identifier and SAML 2.0 Service URL. ok is false when the admin declines.
func AskSSO(ctx context.Context, wio IO, step SSOStep) (ans SSOAnswers, ok bool, err error) {
	yes := false
	err = run(ctx, wio, huh.NewGroup(huh.NewConfirm().
		Title("Set up single sign-on (SAML) on the same app too?").
		Description("People would sign in to Invicti with their Entra account. You need Invicti's Identifier and SAML 2.0 Service URL: Invicti shows them under Settings → SSO & provisioning. Later: invicti-scim sso.").
		Affirmative("Yes").Negative("No").Value(&yes)))
	if err != nil || !yes {
		return ans, false, err
	}
	validate := func(field string) func(string) error {
		return func(v string) error {
			if step.Validate == nil {
				return nil
			}
			return step.Validate(field, v)
		}
	}
	if ans.Identifier, err = AskText(ctx, wio, "Invicti Identifier",
		"Invicti → Settings → SSO & provisioning → Identifier (becomes the app's Identifier, Entity ID).",
		step.DefaultIdentifier, validate("Invicti Identifier")); err != nil {
		return ans, false, err
	}
	if ans.ReplyURL, err = AskText(ctx, wio, "Invicti SAML 2.0 Service URL",
		"Invicti → Settings → SSO & provisioning → SAML 2.0 Service URL (becomes the app's Reply URL).",
		step.DefaultReplyURL, validate("SAML 2.0 Service URL")); err != nil {
		return ans, false, err
	}
	return ans, true, nil
}
