package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// Secrets for the hygiene suite. They contain characters that JSON, URL and form encoders
// rewrite (+ / = & < >), so the scan below can look for every encoded form as well.
const (
	hygClientID = "hygiene-client-1"
	hygSecret   = "hyg+Inv/Secret=7f3a&9c2e<5b1d>x"
	hygRotated  = "hyg+Rot/Secret=0d9e&8c7b<6a5f>y"
	hygWrong    = "hyg+Wrong/Secret=11aa&22bb<33cc>z"
)

// TestHygiene runs every command of the real binary with --debug, as text and as JSON, with
// the Invicti client secret given through each channel in turn, and proves that no secret
// (the client secret, the rotated secret, a rejected secret, the Graph token) reaches stdout,
// stderr, any file the tool writes, or argv — while the debug trace really is there.
func TestHygiene(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole command surface as subprocesses")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "invicti-scim")
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	for _, source := range []string{"env", "stdin", "file", "credentials-file"} {
		for _, output := range []string{"text", "json"} {
			t.Run(source+"/"+output, func(t *testing.T) {
				runHygiene(t, bin, source, output)
			})
		}
	}
}

// hygieneRun is one lifecycle against fresh emulators.
type hygieneRun struct {
	t       *testing.T
	bin     string
	source  string
	json    bool
	env     []string
	root    string // HOME, XDG_CONFIG_HOME and everything the tool may write live below it
	config  string
	secrets map[string]string // label -> value; every encoded form is scanned
	tenant  *entratest.Tenant
	inv     *scimtest.Server
	// current is the secret a user of the environment channel has exported for every command.
	current string
	// Evidence that the trace is real, summed over the run.
	traced, redacted int
}

func runHygiene(t *testing.T, bin, source, output string) {
	inv := scimtest.New(scimtest.Options{})
	t.Cleanup(inv.Close)
	inv.AddClient(hygClientID, hygSecret)
	ten := entratest.New(entratest.Options{})
	t.Cleanup(ten.Close)
	ten.SeedDemo()

	root := t.TempDir()
	h := &hygieneRun{
		t: t, bin: bin, source: source, json: output == "json", root: root,
		config: filepath.Join(root, "home", ".config", "invicti-scim"),
		tenant: ten, inv: inv, current: hygSecret,
		secrets: map[string]string{
			"client secret":  hygSecret,
			"rotated secret": hygRotated,
			"wrong secret":   hygWrong,
			"graph token":    ten.Token(),
		},
	}
	// The token's signature alone is the credential; a trace that printed only it would leak.
	if parts := strings.Split(ten.Token(), "."); len(parts) == 3 {
		h.secrets["graph token signature"] = parts[2]
	}
	for _, d := range []string{"home", "secrets"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A clean environment: nothing from the developer's shell (AZURE_*, INVICTI_SCIM_*) leaks in.
	h.env = []string{
		"HOME=" + filepath.Join(root, "home"),
		"XDG_CONFIG_HOME=" + filepath.Join(root, "home", ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(root, "home", ".cache"),
		"TMPDIR=" + filepath.Join(root, "home"),
		"PATH=" + os.Getenv("PATH"),
		"NO_COLOR=1",
		"INVICTI_SCIM_GRAPH_URL=" + ten.URL,
		"INVICTI_SCIM_GRAPH_TOKEN=" + ten.Token(),
		"INVICTI_SCIM_INVICTI_URL=" + inv.URL,
		"INVICTI_SCIM_CLIENT_ID=" + hygClientID,
	}

	upn := "alice@" + entratest.Domain
	h.run(0, false, "version")
	h.run(0, false, "regions")
	h.run(0, true, "test-connection", h.secretArgs(hygSecret)...)
	h.run(3, true, "test-connection", h.secretArgs(hygWrong)...)
	_, trace := h.run(0, true, "setup", append([]string{"--non-interactive"}, h.secretArgs(hygSecret)...)...)
	h.checkSaved(hygSecret)
	// The trace shows the requests that carry the secret, with the secret masked in place.
	for what, re := range map[string]*regexp.Regexp{
		"Invicti token request": tokenRequest, "Graph secrets request": secretsRequest,
	} {
		if !re.MatchString(trace) {
			t.Errorf("setup --debug: no redacted %s in the trace (%s)", what, re)
		}
	}
	h.run(0, true, "test-connection", h.secretArgs(hygSecret)...) // now with Entra's layer
	h.run(0, true, "assign", "--user", upn)
	h.run(0, true, "provision", append([]string{"--user", upn, "--verify"}, h.secretArgs(hygSecret)...)...)
	h.run(0, true, "status")
	h.run(0, true, "logs", "--since", "1h")
	h.run(0, true, "job", "pause")
	h.run(0, true, "job", "start")
	h.run(0, true, "job", "restart", "--yes")
	h.run(0, true, "doctor", h.secretArgs(hygSecret)...)

	// Invicti issues a new secret; the old one stops working; rotate-secret saves the new one.
	inv.RotateSecret(hygClientID, hygRotated)
	h.run(3, true, "test-connection", append([]string{"--invicti-only"}, h.secretArgs(hygSecret)...)...)
	h.run(0, true, "rotate-secret", h.secretArgs(hygRotated)...)
	h.current = hygRotated
	h.checkSaved(hygRotated)
	h.run(0, true, "status")
	h.run(0, true, "teardown", "--yes")
	if n := len(ten.Apps()); n != 0 {
		t.Errorf("teardown left %d apps", n)
	}

	if h.traced == 0 || h.redacted == 0 {
		t.Fatalf("--debug printed %d request lines and %d [REDACTED] marks: the scan proved nothing", h.traced, h.redacted)
	}
	h.scanTree(root)
	t.Logf("%d traced requests, %d redactions, no secret in any output, file or argument", h.traced, h.redacted)
}

// secretArgs supplies secret through the run's channel: the environment, standard input, a
// secret file or a credentials file. It writes the files; run reads stdin from h.stdin.
func (h *hygieneRun) secretArgs(secret string) []string {
	switch h.source {
	case "stdin":
		return []string{"--client-secret-stdin", "stdin:" + secret}
	case "file":
		p := filepath.Join(h.root, "secrets", "secret.txt")
		h.write(p, secret+"\n")
		return []string{"--client-secret-file", p}
	case "credentials-file":
		p := filepath.Join(h.root, "secrets", "creds.json")
		doc, _ := json.Marshal(map[string]any{"id": 7, "credentials": map[string]string{"clientId": hygClientID, "clientSecret": secret}})
		h.write(p, string(doc))
		return []string{"--credentials-file", p}
	}
	return []string{"env:" + secret}
}

func (h *hygieneRun) write(path, content string) {
	h.t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// run executes one command and checks everything it printed and wrote. HTTP commands must show
// a trace with a redaction in it.
func (h *hygieneRun) run(want int, http bool, name string, args ...string) (string, string) {
	t := h.t
	t.Helper()
	env := append([]string{}, h.env...)
	if h.source == "env" {
		env = append(env, "INVICTI_SCIM_CLIENT_SECRET="+h.current)
	}
	var stdin string
	var argv []string
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "stdin:"):
			stdin = strings.TrimPrefix(a, "stdin:") + "\n"
		case strings.HasPrefix(a, "env:"):
			env = append(env, "INVICTI_SCIM_CLIENT_SECRET="+strings.TrimPrefix(a, "env:"))
		default:
			argv = append(argv, a)
		}
	}
	argv = append([]string{name}, argv...)
	argv = append(argv, "--debug", "--config-dir", h.config)
	if h.json {
		argv = append(argv, "-o", "json")
	}
	line := "invicti-scim " + strings.Join(argv, " ")

	// argv is visible to every user of the machine (ps, /proc): never a secret in it.
	for _, a := range argv {
		if label, form := h.leak(a); label != "" {
			t.Fatalf("%s: argv carries the %s (%s)", line, label, form)
		}
	}

	cmd := exec.Command(h.bin, argv...)
	cmd.Env = env
	cmd.Dir = h.root
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := runWithTimeout(cmd, 2*time.Minute)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", line, err)
	}
	if code != want {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", line, code, want, stdout.String(), stderr.String())
	}
	for what, text := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
		if label, form := h.leak(text); label != "" {
			t.Fatalf("%s: %s shows the %s (%s):\n%s", line, what, label, form, text)
		}
	}
	if h.json {
		dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
		var doc any
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s: stdout is not JSON: %v\n%s", line, err, stdout.String())
		}
		if dec.More() {
			t.Fatalf("%s: stdout holds more than one JSON document:\n%s", line, stdout.String())
		}
	}
	if http {
		trace := traceLine.FindAllString(stderr.String(), -1)
		if len(trace) == 0 {
			t.Fatalf("%s: --debug printed no request trace:\n%s", line, stderr.String())
		}
		if !strings.Contains(stderr.String(), "[REDACTED]") {
			t.Fatalf("%s: the --debug trace redacted nothing (no [REDACTED]):\n%s", line, stderr.String())
		}
		h.traced += len(trace)
		h.redacted += strings.Count(stderr.String(), "[REDACTED]")
	}
	h.checkConfig(line)
	return stdout.String(), stderr.String()
}

var (
	tokenRequest   = regexp.MustCompile(`(?m)^> POST \S+/oauth/token\S*\n(?:> .*\n)*?> Authorization: \[REDACTED\]\n`)
	secretsRequest = regexp.MustCompile(`(?m)^> PUT \S+/synchronization/secrets\n(?:> .*\n)*?> .*"Oauth2ClientSecret"[^\n]*\[REDACTED\]`)
)

var traceLine = regexp.MustCompile(`(?m)^> (GET|POST|PUT|PATCH|DELETE) https?://`)

func runWithTimeout(cmd *exec.Cmd, d time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done //nolint:errcheck // reaps the killed process; its "signal: killed" is expected
		return fmt.Errorf("timed out after %s", d)
	}
}

// checkConfig asserts the config dir holds no secret, state files are 0600 and directories
// 0700, and no temporary file is left behind.
func (h *hygieneRun) checkConfig(line string) {
	t := h.t
	t.Helper()
	if _, err := os.Stat(h.config); errors.Is(err, fs.ErrNotExist) {
		return
	}
	err := filepath.WalkDir(h.config, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if perm := info.Mode().Perm(); perm != 0o700 {
				t.Errorf("%s: directory %s has mode %o, want 700", line, path, perm)
			}
			return nil
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: file %s has mode %o, want 600", line, path, perm)
		}
		if strings.HasPrefix(d.Name(), ".state-") {
			t.Errorf("%s: temporary file %s left behind", line, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if label, form := h.leak(string(data)); label != "" {
			t.Errorf("%s: %s holds the %s (%s)", line, path, label, form)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// scanTree asserts no file the tool could have written anywhere under root (HOME, caches,
// TMPDIR) holds a secret, apart from the secret files the test itself wrote.
func (h *hygieneRun) scanTree(root string) {
	t := h.t
	secretsDir := filepath.Join(root, "secrets")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == secretsDir {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if label, form := h.leak(string(data)); label != "" {
			t.Errorf("%s holds the %s (%s)", path, label, form)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkSaved proves the secret really went to Entra (so "no leak" is not "never used").
func (h *hygieneRun) checkSaved(secret string) {
	h.t.Helper()
	apps := h.tenant.Apps()
	if len(apps) != 1 {
		h.t.Fatalf("%d apps in the tenant, want 1", len(apps))
	}
	if got := apps[0].Secrets["Oauth2ClientSecret"]; got != secret {
		h.t.Fatalf("Entra holds Oauth2ClientSecret %q, want the secret given", got)
	}
}

// leak reports which secret text shows, and in which encoding.
func (h *hygieneRun) leak(text string) (label, form string) {
	for label, s := range h.secrets {
		for form, v := range encodings(s) {
			if v != "" && strings.Contains(text, v) {
				return label, form
			}
		}
	}
	return "", ""
}

// encodings are the forms a secret takes on its way out: as is, JSON-escaped (with and without
// HTML escaping), percent-encoded for a query or a path, in HTTP Basic, in base64.
func encodings(s string) map[string]string {
	jsonHTML, _ := json.Marshal(s)
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	jsonForm := strings.Trim(string(jsonHTML), `"`)
	plainForm := strings.Trim(strings.TrimSpace(plain.String()), `"`)
	return map[string]string{
		"as is":                 s,
		"JSON-escaped":          jsonForm,
		"JSON without HTML":     plainForm,
		"JSON, slashes escaped": strings.ReplaceAll(jsonForm, "/", `\/`),
		"JSON, / escaped only":  strings.ReplaceAll(plainForm, "/", `\/`),
		"query-escaped":         url.QueryEscape(s),
		"path-escaped":          url.PathEscape(s),
		"HTTP Basic":            base64.StdEncoding.EncodeToString([]byte(hygClientID + ":" + s)),
		"HTTP Basic (form)":     base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(hygClientID) + ":" + url.QueryEscape(s))),
		"base64":                base64.StdEncoding.EncodeToString([]byte(s)),
		"base64url":             base64.RawURLEncoding.EncodeToString([]byte(s)),
	}
}

// TestHygieneDetector proves the scan finds a secret in each form it claims to look for, so a
// passing TestHygiene means something.
func TestHygieneDetector(t *testing.T) {
	h := &hygieneRun{secrets: map[string]string{"client secret": hygSecret}}
	for form, v := range encodings(hygSecret) {
		if label, _ := h.leak("> PUT https://graph/secrets\n> {\"value\":\"" + v + "\"}"); label != "client secret" {
			t.Errorf("the %s form %q went unnoticed", form, v)
		}
	}
	if label, _ := h.leak("> Authorization: [REDACTED]"); label != "" {
		t.Errorf("a redacted trace flagged as the %s", label)
	}
	for _, v := range []string{`hyg+Inv\/Secret=7f3a\u00269c2e\u003c5b1d\u003ex`, `hyg%2BInv%2FSecret%3D7f3a%269c2e%3C5b1d%3Ex`} {
		if label, _ := h.leak(v); label == "" {
			t.Errorf("%s went unnoticed", v)
		}
	}
}

// TestSignInModesWithDebug signs in through azidentity and MSAL for real, against the emulated
// Entra sign-in endpoint over TLS (entratest.Login, trusted through SSL_CERT_FILE), in every
// --auth mode that runs without a person at a browser: a client secret and a federated token
// (--auth environment) and a device code. Each runs with and without --debug: --debug must not
// change behaviour (the tracer once emptied azcore's request bodies), and no credential the
// endpoint handed out or received may reach stdout or stderr.
func TestSignInModesWithDebug(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary as subprocesses")
	}
	inv := scimtest.New(scimtest.Options{})
	defer inv.Close()
	inv.AddClient(hygClientID, hygSecret)
	ten := entratest.New(entratest.Options{})
	defer ten.Close()
	ten.SeedDemo()
	login := ten.StartLogin()
	defer login.Close()
	const (
		appClientID = "5f0c2a6e-3d51-4a8e-9b1e-2a4c6e8f0a1b"
		appSecret   = "azure+Client/Secret=4e1f&8a2b"
	)
	login.AddClient(appClientID, appSecret)
	federated := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6aW52aWN0aSJ9.ZmVkZXJhdGVkLXNpZw"
	login.AddFederated(appClientID, federated)

	// A certificate credential: a self-signed certificate and its key in one PEM file, as
	// AZURE_CLIENT_CERTIFICATE_PATH takes it.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "invicti-scim ci"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	const certClientID = "7a1d3c5e-9b2f-4d6a-8c0e-1f3a5b7c9d2e"
	login.AddCertificate(certClientID, cert)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)

	root := t.TempDir()
	ca := filepath.Join(root, "ca.pem")
	tokenFile := filepath.Join(root, "federated-token")
	certFile := filepath.Join(root, "client.pem")
	for path, data := range map[string][]byte{ca: login.CertPEM, tokenFile: []byte(federated), certFile: certPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "invicti-scim")
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"HOME=" + root, "XDG_CONFIG_HOME=" + filepath.Join(root, "config"), "PATH=" + os.Getenv("PATH"), "NO_COLOR=1",
		"SSL_CERT_FILE=" + ca, "AZURE_AUTHORITY_HOST=" + login.URL, "AZURE_TENANT_ID=" + ten.TenantID(),
		"INVICTI_SCIM_GRAPH_URL=" + ten.URL, "INVICTI_SCIM_INVICTI_URL=" + inv.URL,
		"INVICTI_SCIM_CLIENT_ID=" + hygClientID, "INVICTI_SCIM_CLIENT_SECRET=" + hygSecret,
		"INVICTI_SCIM_TOKEN_CACHE=none", // keep these sign-ins out of the tester's keyring
	}
	modes := []struct {
		name, auth, grant string
		env               []string
	}{
		{"client-secret", "environment", "client_credentials", []string{"AZURE_CLIENT_ID=" + appClientID, "AZURE_CLIENT_SECRET=" + appSecret}},
		{"federated", "environment", "client_credentials", []string{"AZURE_CLIENT_ID=" + appClientID, "AZURE_FEDERATED_TOKEN_FILE=" + tokenFile}},
		{"certificate", "environment", "client_credentials", []string{"AZURE_CLIENT_ID=" + certClientID, "AZURE_CLIENT_CERTIFICATE_PATH=" + certFile}},
		{"device-code", "device-code", "device_code", nil},
	}
	for _, m := range modes {
		for _, debug := range []bool{false, true} {
			name := m.name
			if debug {
				name += "/debug"
			}
			t.Run(name, func(t *testing.T) {
				before := len(login.Grants())
				args := []string{"setup", "--non-interactive", "--dry-run", "--auth", m.auth, "--config-dir", filepath.Join(root, name)}
				if debug {
					args = append(args, "--debug")
				}
				c := exec.Command(bin, args...)
				c.Env = append(append([]string{}, base...), m.env...)
				var stdout, stderr bytes.Buffer
				c.Stdout, c.Stderr = &stdout, &stderr
				if err := c.Run(); err != nil {
					t.Fatalf("setup --auth %s: %v\nstdout:\n%s\nstderr:\n%s", m.auth, err, stdout.String(), stderr.String())
				}
				grants := login.Grants()[before:]
				if len(grants) == 0 || grants[len(grants)-1] != m.grant {
					t.Fatalf("the emulated sign-in saw grants %v, want %s", grants, m.grant)
				}
				out := stdout.String() + stderr.String()
				if debug && !strings.Contains(out, "> POST "+login.URL) {
					t.Fatalf("--debug did not trace the sign-in request:\n%s", out)
				}
				leaks := append([]string{appSecret, hygSecret, federated, string(pkcs8)}, login.Issued()...)
				for _, s := range leaks {
					for _, form := range []string{s, url.QueryEscape(s)} {
						if len(form) >= 8 && strings.Contains(out, form) {
							t.Fatalf("output holds a credential (%.12s…):\n%s", form, out)
						}
					}
				}
			})
		}
	}

	// Browser sign-in (authorization code with PKCE) needs a terminal and a browser: the run
	// gets a pseudo-terminal, and the "browser" is a curl script on PATH as xdg-open.
	if _, err := exec.LookPath("curl"); err == nil {
		binDir := filepath.Join(root, "browser-bin")
		if err := os.MkdirAll(binDir, 0o700); err != nil {
			t.Fatal(err)
		}
		// The "browser" loads the authorize page and submits its form (response_mode=form_post)
		// to MSAL's loopback listener, as a browser runs the page's onload submit.
		script := `#!/bin/sh
page=$(curl -s --cacert "$SSL_CERT_FILE" "$1")
field() { printf '%s' "$page" | sed -n "s/.*name=\"$1\" value=\"\([^\"]*\)\".*/\1/p"; }
action=$(printf '%s' "$page" | sed -n 's/.*action="\([^"]*\)".*/\1/p')
exec curl -s -o /dev/null --data-urlencode "code=$(field code)" --data-urlencode "state=$(field state)" "$action"
`
		if err := os.WriteFile(filepath.Join(binDir, "xdg-open"), []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, debug := range []bool{false, true} {
			name := "browser"
			if debug {
				name += "/debug"
			}
			t.Run(name, func(t *testing.T) {
				before := len(login.Grants())
				args := []string{"setup", "--dry-run", "--app-name", "Invicti Platform", "--auth", "browser", "--config-dir", filepath.Join(root, name)}
				if debug {
					args = append(args, "--debug")
				}
				c := exec.Command(bin, args...)
				env := []string{"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"), "TERM=xterm-256color"}
				for _, kv := range base {
					if !strings.HasPrefix(kv, "PATH=") {
						env = append(env, kv)
					}
				}
				c.Env = env
				f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 50, Cols: 200})
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				scr := &screen{}
				go func() { _, _ = io.Copy(scr, f) }()
				done := make(chan error, 1)
				go func() { done <- c.Wait() }()
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("setup --auth browser: %v\n%s", err, scr.String())
					}
				case <-time.After(60 * time.Second):
					_ = c.Process.Kill()
					t.Fatalf("setup --auth browser did not finish:\n%s", scr.String())
				}
				scr.waitFor(t, "Dry run", 0)
				grants := login.Grants()[before:]
				if len(grants) == 0 || grants[len(grants)-1] != "authorization_code" {
					t.Fatalf("the emulated sign-in saw grants %v, want authorization_code\n%s", grants, scr.String())
				}
				out := scr.String()
				if debug && !strings.Contains(out, "> POST "+login.URL) {
					t.Fatalf("--debug did not trace the sign-in request:\n%s", out)
				}
				for _, s := range append([]string{hygSecret}, login.Issued()...) {
					for _, form := range []string{s, url.QueryEscape(s)} {
						if len(form) >= 8 && strings.Contains(out, form) {
							t.Fatalf("the terminal shows a credential (%.12s…):\n%s", form, out)
						}
					}
				}
			})
		}
	}

	// The endpoint really checks: a wrong client secret is refused (exit 4), and the refused
	// secret is not printed either.
	t.Run("wrong-secret/debug", func(t *testing.T) {
		const wrong = "wrong+Azure/Secret=9z8y"
		c := exec.Command(bin, "setup", "--non-interactive", "--dry-run", "--auth", "environment", "--debug", "--config-dir", filepath.Join(root, "wrong"))
		c.Env = append(append([]string{}, base...), "AZURE_CLIENT_ID="+appClientID, "AZURE_CLIENT_SECRET="+wrong)
		out, err := c.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 4 {
			t.Fatalf("a wrong client secret: %v, want exit 4\n%s", err, out)
		}
		if !strings.Contains(string(out), "AADSTS7000215") {
			t.Errorf("the refusal is not shown:\n%s", out)
		}
		for _, form := range []string{wrong, url.QueryEscape(wrong)} {
			if strings.Contains(string(out), form) {
				t.Fatalf("the refused secret is printed:\n%s", out)
			}
		}
	})
}
