package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// ClientID is the sandbox's Invicti SCIM client id.
const ClientID = "sandbox-scim-client"

// ServeOptions configures a sandbox that keeps running (`invicti-scim sandbox`).
type ServeOptions struct {
	Options
	// StateDir keeps the emulated tenant and Invicti across restarts ("" = memory only). It
	// holds the sandbox's secrets and tokens (0600 files in a 0700 directory).
	StateDir string
	// GraphPort and InvictiPort fix the loopback ports; 0 reuses the ports a previous run in
	// StateDir had (the saved Tenant URL points at them), else picks free ones.
	GraphPort, InvictiPort int
	// Faults switch the emulated Entra's uncertain behaviours and quirks.
	Faults Faults
	// Throttle answers 429 to the next N requests whose path matches each route.
	Throttle []Throttle
	// OnSaveError is told when saving to StateDir fails (the sandbox keeps serving).
	OnSaveError func(error)
	// Quarantine, when set, sends every job Entra starts into quarantine with this reason
	// (once per start), to rehearse status, doctor and job restart.
	Quarantine string
	// Tenants is how many emulated tenants to host (0 or 1: one). Each further tenant is its
	// own emulated Entra tenant and Invicti on two more free ports, with its own token and
	// secret (and, with a StateDir, its own subdirectory tenant-N), for manifests with a
	// tenants: list; EnvVars names them INVICTI_SCIM_SANDBOX_T<N>_*.
	Tenants int
}

// MaxTenants bounds --tenants: each tenant is two servers on loopback.
const MaxTenants = 50

// Throttle is one --throttle ROUTE=N.
type Throttle struct {
	Route *regexp.Regexp
	N     int
}

// ParseThrottle reads ROUTE=N (ROUTE a regular expression on the Graph path, e.g.
// "/synchronization/secrets$=3").
func ParseThrottle(s string) (Throttle, error) {
	i := strings.LastIndex(s, "=")
	if i <= 0 {
		return Throttle{}, fmt.Errorf("--throttle %q: expected ROUTE=N, e.g. /instantiate$=3", s)
	}
	re, err := regexp.Compile(s[:i])
	if err != nil {
		return Throttle{}, fmt.Errorf("--throttle %q: the route is not a regular expression: %w", s, err)
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 1 || n > 1000 {
		return Throttle{}, fmt.Errorf("--throttle %q: N must be a number from 1 to 1000", s)
	}
	return Throttle{Route: re, N: n}, nil
}

// files in StateDir.
const (
	tenantFile  = "entra.json"
	invictiFile = "invicti.json"
	metaFile    = "sandbox.json"
	// ConfigSubdir is where the sandbox points INVICTI_SCIM_CONFIG_DIR, so the tool's own
	// state for the sandbox never mixes with a real tenant's.
	ConfigSubdir = "config"
)

type meta struct {
	GraphPort   int    `json:"graphPort"`
	InvictiPort int    `json:"invictiPort"`
	NextSecret  string `json:"nextSecret"`
}

// Served is a running sandbox with its servers.
type Served struct {
	*Env
	// NextSecret is a second secret the emulated Invicti accepts for ClientID, to rehearse
	// rotate-secret.
	NextSecret string
	// ConfigDir is the config dir the env file points the tool at.
	ConfigDir string
	// Restored says the state came from StateDir.
	Restored bool

	// Others are tenants 2..N of a sandbox started with Tenants > 1.
	Others []*Served

	opts        ServeOptions
	servers     []*http.Server
	listeners   []net.Listener
	saveMu      sync.Mutex
	quarantined map[string]bool
}

// Serve starts both emulators on loopback and keeps them until Close.
func Serve(o ServeOptions) (*Served, error) {
	var m meta
	restored := false
	if o.StateDir != "" {
		abs, err := filepath.Abs(o.StateDir)
		if err != nil {
			return nil, fmt.Errorf("--state-dir %s: %w", o.StateDir, err)
		}
		o.StateDir = abs
		if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("--state-dir %s: %w", o.StateDir, err)
		}
		if err := os.Chmod(o.StateDir, 0o700); err != nil { //nolint:gosec // G302: a directory needs its x bit; 0700 is owner-only
			return nil, fmt.Errorf("--state-dir %s: %w", o.StateDir, err)
		}
		if b, err := readSmall(filepath.Join(o.StateDir, metaFile)); err == nil {
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("--state-dir %s: %s is damaged (%w); move the directory away to start afresh", o.StateDir, metaFile, err)
			}
			restored = true
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if o.GraphPort == 0 {
		o.GraphPort = m.GraphPort
	}
	if o.InvictiPort == 0 {
		o.InvictiPort = m.InvictiPort
	}
	gl, err := listen(o.GraphPort, "--port-graph")
	if err != nil {
		return nil, err
	}
	il, err := listen(o.InvictiPort, "--port-invicti")
	if err != nil {
		gl.Close()
		return nil, err
	}
	graphURL := "http://" + gl.Addr().String()
	invictiURL := "http://" + il.Addr().String()

	inv := scimtest.NewHandler(scimtest.Options{Latency: o.Latency})
	inv.SetBaseURL(invictiURL)
	t := entratest.NewHandler(entratest.Options{Latency: o.Latency, ReplicationDelay: o.ReplicationDelay, ProvisionDelay: o.ProvisionDelay, Knobs: o.Faults.knobs()})
	t.URL = graphURL
	s := &Served{opts: o, Restored: restored, quarantined: map[string]bool{}}
	if restored {
		tb, err := readSmall(filepath.Join(o.StateDir, tenantFile))
		if err == nil {
			err = t.Restore(tb)
		}
		ib, ierr := readSmall(filepath.Join(o.StateDir, invictiFile))
		if ierr == nil {
			ierr = inv.Restore(ib)
		}
		if err = errors.Join(err, ierr); err != nil {
			gl.Close()
			il.Close()
			return nil, fmt.Errorf("--state-dir %s: cannot restore the sandbox (%w); move the directory away to start afresh", o.StateDir, err)
		}
	} else {
		seedDemo(t)
		inv.AddClient(ClientID, randomHex(24))
		m.NextSecret = randomHex(24)
	}
	secret, _ := inv.ClientSecret(ClientID)
	if m.NextSecret != "" {
		inv.AddClientSecret(ClientID, m.NextSecret)
	}
	for _, th := range o.Throttle {
		t.InjectFault(entratest.Fault{Path: th.Route, Status: http.StatusTooManyRequests, Times: th.N, RetryAfter: 1})
	}
	s.Env = &Env{Tenant: t, Invicti: inv, GraphURL: graphURL, GraphToken: t.Token(), InvictiURL: invictiURL,
		ClientID: ClientID, ClientSecret: secret, DemoUser: "alice@contoso.example", DemoGroup: "Invicti Users"}
	s.NextSecret = m.NextSecret
	if o.StateDir != "" {
		s.ConfigDir = filepath.Join(o.StateDir, ConfigSubdir)
		m.GraphPort, m.InvictiPort = gl.Addr().(*net.TCPAddr).Port, il.Addr().(*net.TCPAddr).Port
		b, _ := json.MarshalIndent(m, "", "  ")
		if err := writeFile(filepath.Join(o.StateDir, metaFile), b); err != nil {
			gl.Close()
			il.Close()
			return nil, err
		}
		if err := s.Save(); err != nil {
			gl.Close()
			il.Close()
			return nil, err
		}
	}
	s.servers = []*http.Server{
		{Handler: s.afterWrites(s.withPortal(t.Handler())), ReadHeaderTimeout: 10 * time.Second},
		{Handler: s.afterWrites(inv.Handler()), ReadHeaderTimeout: 10 * time.Second},
	}
	s.listeners = []net.Listener{gl, il}
	go func() { _ = s.servers[0].Serve(gl) }()
	go func() { _ = s.servers[1].Serve(il) }()
	for i := 2; i <= min(o.Tenants, MaxTenants); i++ {
		oi := o
		oi.Tenants, oi.GraphPort, oi.InvictiPort = 0, 0, 0
		if o.StateDir != "" {
			oi.StateDir = filepath.Join(o.StateDir, fmt.Sprintf("tenant-%d", i))
		}
		other, err := Serve(oi)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("tenant %d: %w", i, err)
		}
		s.Others = append(s.Others, other)
	}
	return s, nil
}

// afterWrites saves the state after every request that may change it, and applies the
// quarantine rehearsal.
func (s *Served) afterWrites(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return
		}
		if s.opts.Quarantine != "" {
			s.quarantineStarted()
		}
		if s.opts.StateDir != "" {
			if err := s.Save(); err != nil && s.opts.OnSaveError != nil {
				s.opts.OnSaveError(err)
			}
		}
	})
}

func (s *Served) quarantineStarted() {
	for _, a := range s.Tenant.Apps() {
		for _, j := range a.Jobs {
			key := fmt.Sprintf("%s/%d", j.ID, j.StartCalls)
			if j.ScheduleState == "Active" && j.StatusCode == "Active" && !s.quarantined[key] {
				s.quarantined[key] = true
				s.Tenant.Quarantine(a.ServicePrincipalID, s.opts.Quarantine)
			}
		}
	}
}

// Save writes both emulators' state to StateDir (no-op without one).
func (s *Served) Save() error {
	if s.opts.StateDir == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	tb, err := s.Tenant.Snapshot()
	if err != nil {
		return err
	}
	ib, err := s.Invicti.Snapshot()
	if err != nil {
		return err
	}
	return errors.Join(writeFile(filepath.Join(s.opts.StateDir, tenantFile), tb), writeFile(filepath.Join(s.opts.StateDir, invictiFile), ib))
}

// Close stops the servers (every tenant's) and saves the state.
func (s *Served) Close() error {
	var errs []error
	for _, o := range s.Others {
		errs = append(errs, o.Close())
	}
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	// Serve may not have taken its listener yet; closing it here frees the port either way.
	for _, l := range s.listeners {
		_ = l.Close()
	}
	return errors.Join(append(errs, s.Save())...)
}

// EnvVar is one line of the env file.
type EnvVar struct{ Key, Value string }

// EnvVars are the variables that point every invicti-scim command at this sandbox.
func (s *Served) EnvVars() []EnvVar {
	v := []EnvVar{
		{"INVICTI_SCIM_GRAPH_URL", s.GraphURL},
		{"INVICTI_SCIM_GRAPH_TOKEN", s.GraphToken},
		{"INVICTI_SCIM_INVICTI_URL", s.InvictiURL},
		{"INVICTI_SCIM_CLIENT_ID", s.ClientID},
		{"INVICTI_SCIM_CLIENT_SECRET", s.ClientSecret},
		{"INVICTI_SCIM_SANDBOX_NEXT_SECRET", s.NextSecret},
	}
	if s.ConfigDir != "" {
		v = append(v, EnvVar{"INVICTI_SCIM_CONFIG_DIR", s.ConfigDir})
	}
	if len(s.Others) > 0 {
		for i, t := range append([]*Served{s}, s.Others...) {
			p := fmt.Sprintf("INVICTI_SCIM_SANDBOX_T%d_", i+1)
			v = append(v, EnvVar{p + "GRAPH_URL", t.GraphURL}, EnvVar{p + "GRAPH_TOKEN", t.GraphToken},
				EnvVar{p + "INVICTI_URL", t.InvictiURL}, EnvVar{p + "CLIENT_ID", t.ClientID}, EnvVar{p + "CLIENT_SECRET", t.ClientSecret})
		}
	}
	return v
}

// EnvFileHeader starts every env file WriteEnvFile writes: `sandbox --env-file` replaces only
// a file that starts with it.
const EnvFileHeader = "# invicti-scim sandbox"

// RunningFor reports the Graph address of a sandbox still serving the env file at path (one
// WriteEnvFile wrote): its INVICTI_SCIM_GRAPH_URL, a loopback address, accepts a connection
// within dial's timeout. A second sandbox writing over that file would leave the first one's
// shells pointing at ports that die with the second. "" when the file names no URL or nothing
// listens there.
func RunningFor(path string, dial func(addr string) error) string {
	data, err := state.ReadFileLimited(path, 64<<10)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		v, ok := strings.CutPrefix(line, "INVICTI_SCIM_GRAPH_URL=")
		if !ok {
			continue
		}
		u, err := url.Parse(strings.Trim(v, "'"))
		if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "" {
			return ""
		}
		if dial(u.Host) == nil {
			return u.Host
		}
		return ""
	}
	return ""
}

// WriteEnvFile writes KEY=VALUE lines (shell-safe single quotes) with mode 0600.
func (s *Served) WriteEnvFile(path string) error {
	var b strings.Builder
	b.WriteString(EnvFileHeader + ": load with  set -a; . " + SourcePath(path) + "; set +a\n")
	b.WriteString("# Sandbox-only values: the emulated tenant and Invicti on this machine.\n")
	for _, e := range s.EnvVars() {
		b.WriteString(e.Key + "='" + strings.ReplaceAll(e.Value, "'", `'\''`) + "'\n")
	}
	return writeFile(path, []byte(b.String()))
}

func listen(port int, flag string) (net.Listener, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("%s %d: %w (is another sandbox running?)", flag, port, err)
	}
	return l, nil
}

// maxStateFile bounds what Restore reads: a sandbox's state is small.
const maxStateFile = 64 << 20

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxStateFile {
		return nil, fmt.Errorf("%s is not a regular file under %d MiB", path, maxStateFile>>20)
	}
	b := make([]byte, fi.Size())
	_, err = f.ReadAt(b, 0)
	if err != nil && fi.Size() > 0 {
		return nil, err
	}
	return b, nil
}

// SourcePath is path as the shell's "." needs it: POSIX sh (dash) and zsh look a bare name up
// on $PATH, not in the working directory, so a relative path gets "./".
func SourcePath(path string) string {
	if filepath.IsAbs(path) || strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../") {
		return path
	}
	return "./" + path
}

// writeFile replaces path atomically with mode 0600 (the sandbox's state and env files).
func writeFile(path string, data []byte) error { return state.WriteFileAtomic(path, ".tmp-*", data) }

// Faults are the sandbox's rehearsal switches for Entra's provisioning-settings quirks
// (entratest.Knobs; docs/setup.md gives the evidence for each).
type Faults struct {
	RejectTokenURI, NoConnectivity, DropPartialPut, PortalLowerCase bool
	// NoGroupAssignment: a tenant without Entra ID P1/P2 refuses group assignments.
	NoGroupAssignment bool
}

func (f Faults) knobs() entratest.Knobs {
	return entratest.Knobs{RejectTokenURI: f.RejectTokenURI, NoConnectivityParameters: f.NoConnectivity,
		DropPartialSecretsPut: f.DropPartialPut, PortalLowerCaseKeys: f.PortalLowerCase, NoGroupAssignment: f.NoGroupAssignment}
}

// DemoUser is one user of the demo tenant, with what it teaches.
type DemoUser struct {
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail,omitempty"`
	Note              string `json:"note,omitempty"`
}

// DemoGroup is one group of the demo tenant.
type DemoGroup struct {
	DisplayName string   `json:"displayName"`
	Kind        string   `json:"kind"`
	Members     []string `json:"members"`
	Note        string   `json:"note,omitempty"`
}

// Demo lists the demo tenant's users and groups (without the admin behind the token).
func Demo() ([]DemoUser, []DemoGroup) {
	t := entratest.NewHandler(entratest.Options{})
	seedDemo(t)
	names := map[string]string{}
	groupNames := map[string]string{}
	var users []DemoUser
	for _, u := range t.Users() {
		names[u.ID] = u.UserPrincipalName
		if u.UserPrincipalName == entratest.DefaultAdminUPN {
			continue
		}
		var notes []string
		if u.UserType == "Guest" {
			notes = append(notes, "guest (#EXT#): its UPN is not its mail")
		}
		if !u.AccountEnabled {
			notes = append(notes, "disabled: provisioned as active=false")
		}
		if u.Mail == "" {
			notes = append(notes, "no mail: the default mapping sends no e-mail")
		}
		users = append(users, DemoUser{UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, Mail: u.Mail, Note: strings.Join(notes, "; ")})
	}
	for _, g := range t.Groups() {
		names[g.ID], groupNames[g.ID] = g.DisplayName, g.DisplayName
	}
	var groups []DemoGroup
	for _, g := range t.Groups() {
		dg := DemoGroup{DisplayName: g.DisplayName, Kind: "security group", Members: []string{}}
		if !g.SecurityEnabled {
			dg.Kind, dg.Note = "Microsoft 365 group", "not a security group: cannot be assigned for provisioning"
		}
		for _, m := range g.MemberIDs {
			dg.Members = append(dg.Members, names[m])
			if n, ok := groupNames[m]; ok {
				dg.Note = "holds nested group " + n + ", whose members are not provisioned"
			}
		}
		groups = append(groups, dg)
	}
	return users, groups
}

// portalPath is the sandbox's own route on the emulated Graph: "an admin saves the settings in
// the portal" (see PortalSave). It exists only in `invicti-scim sandbox`, never in tests'
// emulators, and requires the sandbox's Graph token.
const portalPath = "/_sandbox/portal"

// PortalResult is what the emulated portal saved.
type PortalResult struct {
	ServicePrincipalID string   `json:"servicePrincipalId"`
	DisplayName        string   `json:"displayName"`
	Keys               []string `json:"keys"`
}

// withPortal serves portalPath beside the Graph surface.
func (s *Served) withPortal(graph http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != portalPath {
			graph.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+s.GraphToken {
			http.Error(w, "the sandbox's Graph token is required", http.StatusUnauthorized)
			return
		}
		res, err := s.portalSave()
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	})
}

// portalSave configures the tool's app (the newest carrying the invicti-scim tag; never the
// demo's app registration) the way an admin would in the Provisioning blade, with the emulated Invicti's
// current values.
func (s *Served) portalSave() (PortalResult, error) {
	apps := s.Tenant.Apps()
	var pick *struct{ id, name string }
	for i := len(apps) - 1; i >= 0 && pick == nil; i-- {
		for _, tag := range apps[i].Tags {
			if tag == "invicti-scim" && apps[i].ServicePrincipalID != "" {
				pick = &struct{ id, name string }{apps[i].ServicePrincipalID, apps[i].DisplayName}
				break
			}
		}
	}
	if pick == nil {
		return PortalResult{}, errors.New("no enterprise app made by invicti-scim in the sandbox yet: run `invicti-scim setup` first")
	}
	secret, _ := s.Invicti.ClientSecret(ClientID)
	s.Tenant.ConfigurePortalStyle(pick.id, map[string]string{
		"BaseAddress":            s.Invicti.TenantURL(),
		"Oauth2TokenExchangeUri": s.Invicti.TokenURL(),
		"Oauth2ClientId":         ClientID,
		"Oauth2ClientSecret":     secret,
	})
	res := PortalResult{ServicePrincipalID: pick.id, DisplayName: pick.name}
	for _, a := range s.Tenant.Apps() {
		if a.ServicePrincipalID == pick.id {
			for k := range a.Secrets {
				res.Keys = append(res.Keys, k)
			}
		}
	}
	slices.Sort(res.Keys)
	_ = s.Save()
	return res, nil
}

// PortalSave asks a running sandbox (at graphURL, with its token) to save the provisioning
// settings of the tool's app as an admin would in the Entra portal: the way to rehearse the
// guided step while `invicti-scim setup` waits for it.
func PortalSave(ctx context.Context, graphURL, token string) (PortalResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(graphURL, "/")+portalPath, nil)
	if err != nil {
		return PortalResult{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return PortalResult{}, fmt.Errorf("no sandbox answers at %s (INVICTI_SCIM_GRAPH_URL): %w", graphURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return PortalResult{}, fmt.Errorf("the sandbox at %s refused: HTTP %d: %s", graphURL, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var res PortalResult
	if err := json.Unmarshal(body, &res); err != nil {
		return PortalResult{}, fmt.Errorf("the sandbox at %s answered: %w", graphURL, err)
	}
	return res, nil
}
