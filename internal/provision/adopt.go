package provision

import (
	"fmt"
	"slices"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// FromTemplate reports whether sp was instantiated from the cloud's non-gallery template
// (applicationTemplateId set to templateID). An app made in "App registrations" has no
// applicationTemplateId; a gallery app has another template's id.
func FromTemplate(sp graph.ServicePrincipal, templateID string) bool {
	return sp.ApplicationTemplateID != "" && strings.EqualFold(sp.ApplicationTemplateID, templateID)
}

// Owned reports whether the tool may treat sp as its own without being told: made from the
// non-gallery template AND either tagged invicti-scim or the app this config dir's state
// records for this tenant (recordedSPID). Setup adopts only such an app unless --adopt names
// another, and teardown deletes only such an app.
func Owned(sp graph.ServicePrincipal, templateID, recordedSPID string) bool {
	if !FromTemplate(sp, templateID) {
		return false
	}
	return slices.Contains(sp.Tags, MarkerTag) || (recordedSPID != "" && strings.EqualFold(sp.ID, recordedSPID))
}

// Candidate is an enterprise app that matched by name, state or tag but that the tool will
// not use on its own.
type Candidate struct {
	ServicePrincipalID string `json:"servicePrincipalId"`
	AppID              string `json:"appId"`
	DisplayName        string `json:"displayName"`
	// Why says why it is not adopted, e.g. "an App registrations app (no applicationTemplateId)".
	Why string `json:"why"`
}

// CandidateOf describes sp and why the tool does not take it as its own.
func CandidateOf(sp graph.ServicePrincipal, templateID string) Candidate {
	why := "made from the non-gallery template, but neither tagged " + MarkerTag + " nor recorded in this config dir"
	switch {
	case sp.ApplicationTemplateID == "":
		why = whyAppRegistration
	case !FromTemplate(sp, templateID):
		why = "made from another application template (" + sp.ApplicationTemplateID + ")"
	}
	return Candidate{ServicePrincipalID: sp.ID, AppID: sp.AppID, DisplayName: sp.DisplayName, Why: why}
}

// AdoptionError says setup found enterprise apps it did not make and left them alone: it
// neither tagged them nor wrote a secret or a job into them.
type AdoptionError struct {
	Name       string
	Candidates []Candidate
}

func (e *AdoptionError) Error() string {
	var list []string
	for _, c := range e.Candidates {
		list = append(list, fmt.Sprintf("servicePrincipal %s (appId %s): %s", c.ServicePrincipalID, c.AppID, c.Why))
	}
	return fmt.Sprintf("enterprise app %q exists but invicti-scim did not make it, so setup left it alone: %s", e.Name, strings.Join(list, "; "))
}

// whyAppRegistration is a Candidate's Why for an app --adopt cannot take either.
const whyAppRegistration = "an App registrations app (no applicationTemplateId), which Entra cannot provision"

// Hint says how to go on: --adopt only when some candidate could be adopted.
func (e *AdoptionError) Hint() string {
	for _, c := range e.Candidates {
		if c.Why != whyAppRegistration {
			return "to configure that app anyway pass --adopt <servicePrincipalId>; to create a new app pass --app-name with another name"
		}
	}
	return "pass --app-name with another name to create a new enterprise app"
}
