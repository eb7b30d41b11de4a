package sandbox

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

func TestParseThrottle(t *testing.T) {
	th, err := ParseThrottle("/synchronization/secrets$=3")
	if err != nil || th.N != 3 || !th.Route.MatchString("/v1.0/servicePrincipals/x/synchronization/secrets") {
		t.Fatalf("%+v %v", th, err)
	}
	for _, bad := range []string{"", "=3", "/x", "/x=0", "/x=lots", "([=2", "/x=1001"} {
		if _, err := ParseThrottle(bad); err == nil || !strings.Contains(err.Error(), "--throttle") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// A sandbox with a state dir comes back with the same tenant, ports, app and secrets.
func TestServeRestoresState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "st")
	s, err := Serve(ServeOptions{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	app := s.Tenant.AddApp("Invicti Platform")
	s.Tenant.SeedSecrets(app.ServicePrincipalID, map[string]string{"BaseAddress": s.InvictiURL + "/api/scim/v2"})
	tenant, secret, graphURL, token := s.Tenant.TenantID(), s.ClientSecret, s.GraphURL, s.GraphToken
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{tenantFile, invictiFile, metaFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, err, fi)
		}
	}
	s2, err := Serve(ServeOptions{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if !s2.Restored || s2.Tenant.TenantID() != tenant || s2.ClientSecret != secret || s2.GraphURL != graphURL || s2.GraphToken != token {
		t.Fatalf("restored %+v", s2.Env)
	}
	var apps []entratest.App
	for _, a := range s2.Tenant.Apps() {
		if a.DisplayName == "Invicti Platform" {
			apps = append(apps, a)
		}
	}
	if len(apps) != 1 || apps[0].Secrets["BaseAddress"] == "" || len(s2.Tenant.Apps()) != 2 {
		t.Fatalf("apps %+v", s2.Tenant.Apps())
	}
	// The restored token is accepted by the restored tenant.
	req, _ := http.NewRequest(http.MethodGet, s2.GraphURL+"/v1.0/servicePrincipals/"+apps[0].ServicePrincipalID, nil)
	req.Header.Set("Authorization", "Bearer "+s2.GraphToken)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET service principal after restore: %d", resp.StatusCode)
	}
}

func TestEnvFileIsPrivateAndQuoted(t *testing.T) {
	s, err := Serve(ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.ConfigDir = "/tmp/it's here"
	p := filepath.Join(t.TempDir(), "sb.env")
	if err := s.WriteEnvFile(p); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	b, _ := os.ReadFile(p)
	if fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), `INVICTI_SCIM_CONFIG_DIR='/tmp/it'\''s here'`) ||
		!strings.Contains(string(b), "INVICTI_SCIM_CLIENT_SECRET='"+s.ClientSecret+"'") {
		t.Fatalf("mode %v\n%s", fi.Mode(), b)
	}
}

func TestDemoTeaches(t *testing.T) {
	users, groups := Demo()
	var notes []string
	for _, u := range users {
		notes = append(notes, u.Note)
	}
	for _, g := range groups {
		notes = append(notes, g.Note)
	}
	all := strings.Join(notes, "|")
	for _, want := range []string{"guest", "disabled", "no mail", "nested group", "not a security group"} {
		if !strings.Contains(all, want) {
			t.Errorf("the demo tenant does not teach %q: %s", want, all)
		}
	}
}

// RunningFor finds the sandbox that still serves an env file (its Graph port answers), and
// nothing for a file whose sandbox has stopped or that names no loopback URL.
func TestRunningFor(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dial := func(addr string) error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	live := write("live.env", EnvFileHeader+"\nINVICTI_SCIM_GRAPH_URL='http://"+l.Addr().String()+"'\n")
	if got := RunningFor(live, dial); got != l.Addr().String() {
		t.Errorf("live: %q, want %s", got, l.Addr())
	}
	stopped := write("stopped.env", EnvFileHeader+"\nINVICTI_SCIM_GRAPH_URL='http://127.0.0.1:1'\n")
	if got := RunningFor(stopped, dial); got != "" {
		t.Errorf("stopped: %q", got)
	}
	remote := write("remote.env", EnvFileHeader+"\nINVICTI_SCIM_GRAPH_URL='https://graph.microsoft.com'\n")
	if got := RunningFor(remote, func(string) error { t.Error("dialled a non-loopback URL"); return nil }); got != "" {
		t.Errorf("remote: %q", got)
	}
	if got := RunningFor(filepath.Join(dir, "missing.env"), dial); got != "" {
		t.Errorf("missing: %q", got)
	}
}
