package provision

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// fakeSSO records SSO writes; it fails the named call when fail is set.
type fakeSSO struct {
	sso    graph.SPSSO
	app    graph.AppSAML
	now    time.Time
	writes []string
	fail   string
}

func (f *fakeSSO) err(op string) error {
	if f.fail == op {
		return errors.New(op + " refused")
	}
	return nil
}

func (f *fakeSSO) ServicePrincipalSSO(context.Context, string) (graph.SPSSO, error) {
	return f.sso, nil
}
func (f *fakeSSO) ApplicationSAML(context.Context, string) (graph.AppSAML, error) { return f.app, nil }
func (f *fakeSSO) SetSSOMode(_ context.Context, _, mode string) error {
	f.writes = append(f.writes, "mode="+mode)
	f.sso.Mode = mode
	return f.err("mode")
}
func (f *fakeSSO) SetSigningThumbprint(_ context.Context, _, tp string) error {
	f.writes = append(f.writes, "activate="+tp)
	if err := f.err("activate"); err != nil {
		return err
	}
	f.sso.Thumbprint = tp
	return nil
}
func (f *fakeSSO) AddTokenSigningCertificate(_ context.Context, _, subject string, _ time.Time) (graph.NewCertificate, error) {
	f.writes = append(f.writes, "cert="+subject)
	k := graph.SigningKey{Thumbprint: "AB" + strings.Repeat("0", 37) + string(rune('0'+len(f.sso.Keys))), Start: f.now, End: f.now.AddDate(3, 0, 0)}
	f.sso.Keys = append(f.sso.Keys, k)
	return graph.NewCertificate{SigningKey: k, DER: []byte{0x30, 0x01}}, nil
}
func (f *fakeSSO) SetApplicationSAML(_ context.Context, _ string, s graph.AppSAML) error {
	f.writes = append(f.writes, "urls="+strings.Join(s.IdentifierURIs, ",")+"|"+strings.Join(s.RedirectURIs, ","))
	f.app = s
	return f.err("urls")
}

func TestSSOEnableIsIdempotentAndReversible(t *testing.T) {
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	g := &fakeSSO{now: now}
	c := &SSOConfigurator{Graph: g, Cloud: graph.Clouds()[0], Now: func() time.Time { return now }}
	req := SSORequest{ServicePrincipalID: "sp", ApplicationID: "app", AppID: "appid", TenantID: "tid",
		Identifier: "https://platform.invicti.com/sp", ReplyURL: "https://platform.invicti.com/acs"}

	dry := req
	dry.DryRun = true
	res, err := c.Run(context.Background(), dry)
	if err != nil || len(g.writes) != 0 || !res.Changed || res.Steps[0].Outcome != WillUpdate {
		t.Fatalf("dry run: %v, writes %v, %+v", err, g.writes, res)
	}

	res, err = c.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := "mode=saml urls=https://platform.invicti.com/sp|https://platform.invicti.com/acs cert=" + SSOCertSubject
	if got := strings.Join(g.writes[:3], " "); got != want || !strings.HasPrefix(g.writes[3], "activate=AB") {
		t.Fatalf("writes %v", g.writes)
	}
	if res.Certificate == nil || !strings.Contains(res.Certificate.PEM, "BEGIN CERTIFICATE") || res.Certificate.DaysLeft < 1000 {
		t.Fatalf("certificate %+v", res.Certificate)
	}
	if res.SAMLEndpoint != "https://login.microsoftonline.com/tid/saml2" || res.IDPIdentifier != "https://sts.windows.net/tid/" ||
		!strings.HasSuffix(res.MetadataURL, "appid=appid") {
		t.Fatalf("IdP values %+v", res)
	}

	g.writes = nil
	res, err = c.Run(context.Background(), req)
	if err != nil || len(g.writes) != 0 || res.Changed || res.Certificate == nil || res.Certificate.PEM != "" {
		t.Fatalf("second run: %v, writes %v, %+v", err, g.writes, res)
	}

	// Under 30 days left: a new certificate, activated.
	g.sso.Keys[0].End = now.Add(10 * 24 * time.Hour)
	res, err = c.Run(context.Background(), req)
	if err != nil || len(g.writes) != 2 || !strings.Contains(res.Steps[2].Detail, "expires") {
		t.Fatalf("renewal: %v, writes %v, %+v", err, g.writes, res.Steps)
	}

	g.writes = nil
	off := SSORequest{ServicePrincipalID: "sp", ApplicationID: "app", Disable: true}
	if _, err := c.Run(context.Background(), off); err != nil || strings.Join(g.writes, " ") != "mode= urls=|" {
		t.Fatalf("disable: %v, writes %v", err, g.writes)
	}
	g.writes = nil
	if res, err := c.Run(context.Background(), off); err != nil || len(g.writes) != 0 || res.Changed {
		t.Fatalf("second disable: %v, writes %v", err, g.writes)
	}
}

func TestSSOActivationFailureSaysSo(t *testing.T) {
	now := time.Now()
	g := &fakeSSO{now: now, fail: "activate"}
	c := &SSOConfigurator{Graph: g, Now: func() time.Time { return now }}
	_, err := c.Run(context.Background(), SSORequest{Identifier: "https://a.invicti.com/x", ReplyURL: "https://a.invicti.com/y"})
	if err == nil || !strings.Contains(err.Error(), "created but not activated") {
		t.Fatalf("err %v", err)
	}
	// The next run activates that certificate instead of making another.
	g.fail, g.writes = "", nil
	res, err := c.Run(context.Background(), SSORequest{Identifier: "https://a.invicti.com/x", ReplyURL: "https://a.invicti.com/y"})
	if err != nil || len(g.writes) != 1 || !strings.HasPrefix(g.writes[0], "activate=") || len(g.sso.Keys) != 1 || !res.Changed {
		t.Fatalf("resume: %v, writes %v, keys %d", err, g.writes, len(g.sso.Keys))
	}
}

func TestValidateSSOURL(t *testing.T) {
	ok := []struct{ in, host string }{
		{"https://platform.invicti.com/saml/sp", "platform.invicti.com"},
		{"https://platform-eu.invicti.com/x", ""},
		{"http://127.0.0.1:8080/saml", "127.0.0.1:8080"},
	}
	for _, c := range ok {
		if _, err := ValidateSSOURL("--identifier", c.in, c.host); err != nil {
			t.Errorf("%s on %s: %v", c.in, c.host, err)
		}
	}
	bad := []struct{ in, host, msg string }{
		{"platform.invicti.com/x", "", "absolute https URL"},
		{"http://platform.invicti.com/x", "", "https"},
		{"https://evil.example/x", "platform.invicti.com", "Invicti host"},
		{"https://evil.example/x", "", "invicti.com host"},
		{"https://notinvicti.com/x", "", "invicti.com host"},
		{"https://u:p@platform.invicti.com/x", "", "credentials"},
	}
	for _, c := range bad {
		if _, err := ValidateSSOURL("--identifier", c.in, c.host); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s on %q: %v, want %q", c.in, c.host, err, c.msg)
		}
	}
}

func TestActiveCert(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := []graph.SigningKey{{Thumbprint: "A", End: t0.AddDate(1, 0, 0)}, {Thumbprint: "B", End: t0.AddDate(2, 0, 0)}}
	if k := ActiveCert(graph.SPSSO{Keys: keys, Thumbprint: "A"}); k == nil || k.Thumbprint != "A" {
		t.Errorf("preferred: %+v", k)
	}
	if k := ActiveCert(graph.SPSSO{Keys: keys}); k == nil || k.Thumbprint != "B" {
		t.Errorf("latest: %+v", k)
	}
	if k := ActiveCert(graph.SPSSO{Keys: keys, Thumbprint: "GONE"}); k != nil {
		t.Errorf("a preferred key that is gone: %+v", k)
	}
}

// The disabling step says what the mode was ("was saml"), as the enabling step does, and the
// result lists no URLs as empty lists (JSON []), not nil (JSON null).
func TestSSODisableSaysWhatWasAndListsNoURLs(t *testing.T) {
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	g := &fakeSSO{now: now, sso: graph.SPSSO{Mode: "saml"},
		app: graph.AppSAML{IdentifierURIs: []string{"https://platform.invicti.com/sp"}, RedirectURIs: []string{"https://platform.invicti.com/acs"}}}
	c := &SSOConfigurator{Graph: g, Cloud: graph.Clouds()[0], Now: func() time.Time { return now }}
	res, err := c.Run(context.Background(), SSORequest{ServicePrincipalID: "sp", ApplicationID: "app", Disable: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) == 0 || res.Steps[0].Name != "single sign-on mode off" || res.Steps[0].Detail != "was saml" {
		t.Errorf("steps %+v, want the first to say \"was saml\"", res.Steps)
	}
	if res.IdentifierURIs == nil || len(res.IdentifierURIs) != 0 || res.ReplyURLs == nil || len(res.ReplyURLs) != 0 {
		t.Errorf("identifierUris %#v, replyUrls %#v: want empty, non-nil lists", res.IdentifierURIs, res.ReplyURLs)
	}
	// Already off: the step says so the same way.
	res, err = c.Run(context.Background(), SSORequest{ServicePrincipalID: "sp", ApplicationID: "app", Disable: true})
	if err != nil || res.Steps[0].Detail != "was -" || res.Steps[0].Outcome != Unchanged {
		t.Errorf("second disable: %v, %+v", err, res.Steps)
	}
}
