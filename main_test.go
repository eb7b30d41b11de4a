package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/invicti-scim/invicti-scim/cmd"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// The end-to-end tests run the real binary (testscript re-executes this test binary as
// invicti-scim) against the emulated Entra tenant and the emulated Invicti, started per
// script and reached only through the documented environment variables.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) != "invicti-scim" {
		useParallelism()
	}
	testscript.Main(m, map[string]func(){
		"invicti-scim": func() {
			os.Exit(cmd.MainWith(cmd.BuildInfo{Version: "test"}, cmd.MainOptions{Transport: killTransportFromEnv()}))
		},
	})
}

// e2eParallel is how many e2e subtests run at once unless -parallel says otherwise. They spend
// their time waiting on child processes and emulated latency, not on the CPU, so the default
// (GOMAXPROCS, 2 on the CI machine) leaves the machine idle most of the time.
const e2eParallel = 6

func useParallelism() {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && runtime.GOMAXPROCS(0) < e2eParallel {
		_ = flag.Set("test.parallel", strconv.Itoa(e2eParallel))
	}
}

const (
	testClientID = "scim-client-1"
	testSecret   = "s3cr3t-Value-For-Tests-0123456789"
)

type emulators struct {
	tenant  *entratest.Tenant
	invicti *scimtest.Server
	lock    *state.Lock   // configlock hold
	leaked  *atomic.Int32 // hostile redirect: requests that reached the redirect target with a token
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:       "testdata/script",
		Setup:     setupEmulators,  // bad_input_test.go
		Condition: scriptCondition, // auth_test.go
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"emu":         cmdEmu,
			"exitcode":    cmdExitCode,
			"jsonfail":    cmdJSONFail, // json_contract_test.go
			"graph-token": cmdGraphToken,
			"writeenc":    cmdWriteEncoded,
			"waitfile":    cmdWaitFile,
			"loadenv":     cmdLoadEnv,
			"configlock":  cmdConfigLock,
			"hostile":     cmdHostile,
			"entra-login": cmdEntraLogin, // auth_test.go
		},
	})
}

// cmdWriteEncoded writes TEXT ($VARS expanded) to FILE the way Windows tools do:
//
//	writeenc FILE utf8bom|utf16le|utf16be|utf16le-nobom TEXT
func cmdWriteEncoded(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: writeenc FILE ENCODING TEXT")
	}
	text := os.Expand(args[2], ts.Getenv)
	var out []byte
	enc16 := func(bom []byte, le bool) []byte {
		b := append([]byte{}, bom...)
		for _, u := range utf16.Encode([]rune(text)) {
			if le {
				b = append(b, byte(u), byte(u>>8))
			} else {
				b = append(b, byte(u>>8), byte(u))
			}
		}
		return b
	}
	switch args[1] {
	case "utf8bom":
		out = append([]byte{0xef, 0xbb, 0xbf}, text...)
	case "utf16le":
		out = enc16([]byte{0xff, 0xfe}, true)
	case "utf16be":
		out = enc16([]byte{0xfe, 0xff}, false)
	case "utf16le-nobom":
		out = enc16(nil, true)
	default:
		ts.Fatalf("writeenc: unknown encoding %q", args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), out, 0o600))
}

// cmdWaitFile waits (up to 30 s) until a file exists and is not empty: a background command
// such as `invicti-scim sandbox --env-file F &` is ready.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(ts.MkAbs(args[0])); err == nil && fi.Size() > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear within 30s", args[0])
}

// cmdLoadEnv sets the script's environment from KEY='VALUE' lines, as `set -a; . FILE` would.
func cmdLoadEnv(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: loadenv FILE")
	}
	for _, line := range strings.Split(ts.ReadFile(args[0]), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		ts.Setenv(k, strings.ReplaceAll(strings.Trim(v, "'"), `'\''`, "'"))
	}
}

// cmdEmu drives and inspects the emulators from scripts:
//
//	emu apps N                       exactly N enterprise apps exist
//	emu jobs N                       the app has N jobs
//	emu started                      the app's job is Active, started once, never while running
//	emu secret KEY VALUE             the saved secret KEY equals VALUE ($SECRET allowed)
//	emu writes N                     exactly N Graph writes (POST/PUT/PATCH/DELETE) so far
//	emu requests METHOD PATHRE N     exactly N requests matched
//	emu reset-log                    forget the request log
//	emu fault METHOD PATHRE STATUS [TIMES] [RETRYAFTER]
//	emu slow METHOD PATHRE DELAY [TIMES]  answer late (Status 0 = then answer normally)
//	emu clear-faults
//	emu reject-keys KEY...           Graph refuses these secret keys
//	emu portal-config                configure the app's secrets as an admin would in the portal
//	emu quarantine REASON [AGE]      the job is in quarantine (since AGE ago, e.g. 72h)
//	emu log-at UPN STATUS AGE REASON a provisioning log entry AGE ago (e.g. 60h)
//	emu delete-app                   delete the app behind the tool's back
//	emu rotate NEWSECRET             Invicti rotates the client secret
//	emu invicti-users N              the emulated Invicti holds N users
//	emu invicti-user UPN             the emulated Invicti holds this user
//	emu add-users N PREFIX [FILE]    add N users PREFIXi@contoso.example (and list them in FILE)
//	emu nested-group NAME INNER...   add security group NAME whose only members are the groups INNER
//	emu token-without SCOPE...       switch to a Graph token lacking these scopes
//	emu expire-token                 Graph treats the current token as expired (it ran out mid-run)
//	emu invicti-mode MODE            not-scim, no-scim, server-error, raw-basic, body-only or "" (normal)
//	emu invicti-client ID SECRET     Invicti knows this client registration too
//	emu knob NAME[=off]...           switch emulator knobs (entratest.Knobs): reject-token-uri,
//	                                 drop-partial-put, no-connectivity, portal-lower-case,
//	                                 drop-puts=N, legacy-token-fetch, no-group-assignment
//	emu seed-v1                      replace the app's settings with key set v1 (no
//	                                 AuthenticationType, no SyncNotificationSettings)
//	emu secret-keys K1,K2,...        the app's saved key names are exactly these (any order)
//	emu token-before-probe           every SCIM query Invicti saw came after a token request
//	emu add-user UPN [NAME]          a user; NAME takes Go escapes (\x1b...); default: the UPN
//	emu rename-app NAME              rename the app behind the tool's back (Go escapes)
//	emu unassign NAME                remove the user's (UPN) or group's assignment behind the tool's back
//	emu fault-msg METHOD PATHRE STATUS MESSAGE  fail with this Graph error message (Go escapes)
//	emu log UPN REASON               a failed provisioning log entry (Go escapes)
//	emu add-app NAME                 an untagged app from the non-gallery template ($OTHER_SP)
//	emu add-registered-app NAME      an App-registrations app, no applicationTemplateId ($FOREIGN_SP)
//	emu foreign-untouched            every App-registrations app exists, untagged, no job, no secret
//	emu sso MODE [IDENTIFIER REPLY]  SSO mode ("" = unset) and, given, the app's only identifier and reply URL
//	emu sso-certs N                  the app has N token-signing certificates
//	emu age-cert DURATION            every signing certificate now expires after DURATION
//	emu ids                          set $APP_ID and $SP_ID to the newest app's ids
//	emu claims-policies N [TOTAL]    the app has N claims-mapping policies (and the tenant TOTAL)
//	emu claims-def REGEXP            the app's one claims-mapping policy's definition matches
//	emu foreign-claims NAME          assign a claims-mapping policy NAME made outside the tool
//	emu invicti-email UPN EMAIL      the Invicti user's work e-mail ("" = none)
func cmdEmu(ts *testscript.TestScript, neg bool, args []string) {
	e := ts.Value("emu").(*emulators)
	if len(args) == 0 {
		ts.Fatalf("usage: emu COMMAND ...")
	}
	check := func(ok bool, format string, a ...any) {
		if ok == neg {
			ts.Fatalf(format, a...)
		}
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		ts.Check(err)
		return n
	}
	apps := e.tenant.Apps()
	app := func() entratest.App {
		if len(apps) == 0 {
			ts.Fatalf("no app in the emulated tenant")
		}
		return apps[len(apps)-1]
	}
	switch args[0] {
	case "apps":
		check(len(apps) == atoi(args[1]), "apps: have %d, want %s", len(apps), args[1])
	case "app-named":
		// app-named NAME: an app whose service principal and application are both named NAME.
		found := false
		for _, a := range apps {
			found = found || a.DisplayName == args[1] && a.ApplicationName == args[1]
		}
		check(found, "no app named %q (service principal and application) among %d", args[1], len(apps))
	case "jobs":
		n := len(app().Jobs)
		check(n == atoi(args[1]), "jobs: have %d, want %s", n, args[1])
	case "started":
		j := app().Jobs[0]
		check(j.ScheduleState == "Active" && j.StartWhileActive == 0, "job: state %s, starts %d, starts while active %d", j.ScheduleState, j.StartCalls, j.StartWhileActive)
	case "secret":
		v := app().Secrets[args[1]]
		check(v == os.ExpandEnv(args[2]) || v == ts.Getenv(strings.TrimPrefix(args[2], "$")), "secret %s = %q", args[1], v)
	case "writes":
		n := len(e.tenant.Writes())
		check(n == atoi(args[1]), "writes: have %d, want %s: %v", n, args[1], e.tenant.Writes())
	case "requests":
		re := regexp.MustCompile(args[2])
		n := 0
		for _, r := range e.tenant.Requests() {
			if (args[1] == "*" || r.Method == args[1]) && re.MatchString(r.Path) {
				n++
			}
		}
		check(n == atoi(args[3]), "requests %s %s: have %d, want %s", args[1], args[2], n, args[3])
	case "ids":
		// ids: set $APP_ID and $SP_ID to the newest app's appId and service principal id.
		ts.Setenv("APP_ID", app().AppID)
		ts.Setenv("SP_ID", app().ServicePrincipalID)
	case "reset-log":
		e.tenant.ResetRequests()
	case "fault":
		method := args[1]
		if method == "*" {
			method = ""
		}
		f := entratest.Fault{Method: method, Path: regexp.MustCompile(args[2]), Status: atoi(args[3])}
		if len(args) > 4 {
			f.Times = atoi(args[4])
		}
		if len(args) > 5 {
			f.RetryAfter = atoi(args[5])
		}
		e.tenant.InjectFault(f)
	case "slow":
		d, err := time.ParseDuration(args[3])
		ts.Check(err)
		f := entratest.Fault{Method: args[1], Path: regexp.MustCompile(args[2]), Delay: d}
		if len(args) > 4 {
			f.Times = atoi(args[4])
		}
		e.tenant.InjectFault(f)
	case "clear-faults":
		e.tenant.ClearFaults()
	case "reject-keys":
		e.tenant.RejectSecretKeys(args[1:]...)
	case "portal-config":
		a := app()
		e.tenant.ConfigurePortalStyle(a.ServicePrincipalID, map[string]string{
			"BaseAddress":            e.invicti.URL + "/api/scim/v2",
			"Oauth2TokenExchangeUri": e.invicti.URL + "/oauth/token?audience=" + e.invicti.URL + "/api",
			"Oauth2ClientId":         testClientID,
			"Oauth2ClientSecret":     testSecret,
			"SyncAll":                "false",
		})
	case "quarantine":
		if len(args) > 2 {
			age, err := time.ParseDuration(args[2])
			ts.Check(err)
			e.tenant.QuarantineSince(app().ServicePrincipalID, args[1], time.Now().Add(-age))
		} else {
			e.tenant.Quarantine(app().ServicePrincipalID, args[1])
		}
	case "log-at":
		age, err := time.ParseDuration(args[3])
		ts.Check(err)
		u, ok := e.tenant.LookupUser(args[1])
		check(ok, "no user %q", args[1])
		e.tenant.AddProvisioningLog(app().ServicePrincipalID, entratest.LogEntry{UserPrincipalName: u.UserPrincipalName, UserID: u.ID,
			Action: "create", Status: args[2], Reason: args[4], Time: time.Now().Add(-age)})
	case "delete-app":
		e.tenant.DeleteAppBehindBack(app().ServicePrincipalID)
	case "unassign":
		n := e.tenant.UnassignBehindBack(app().ServicePrincipalID, args[1])
		check(n > 0, "unassign %s: no such assignment", args[1])
	case "rotate":
		e.invicti.RotateSecret(testClientID, args[1])
	case "invicti-users":
		n := len(e.invicti.Users())
		check(n == atoi(args[1]), "invicti users: have %d, want %s", n, args[1])
	case "invicti-user":
		found := false
		for _, u := range e.invicti.Users() {
			found = found || strings.EqualFold(u.UserName, args[1])
		}
		check(found, "invicti user %s: found=%v", args[1], found)
	case "token-without":
		// A token for the same admin lacking the named scopes: Graph answers 401/403.
		var scopes []string
		for _, sc := range entratest.DefaultScopes {
			drop := false
			for _, a := range args[1:] {
				drop = drop || sc == a
			}
			if !drop {
				scopes = append(scopes, sc)
			}
		}
		p := entratest.Principal{UPN: entratest.DefaultAdminUPN, Scopes: scopes, Roles: []string{entratest.RoleApplicationAdministrator}}
		tok := entratest.MakeToken(e.tenant.TenantID(), p)
		e.tenant.AddToken(tok, p)
		ts.Setenv("INVICTI_SCIM_GRAPH_TOKEN", tok)
	case "expire-token":
		e.tenant.ExpireToken(ts.Getenv("INVICTI_SCIM_GRAPH_TOKEN"))
	case "invicti-client":
		e.invicti.AddClient(args[1], args[2])
	case "knob":
		k := e.tenant.Knobs()
		for _, a := range args[1:] {
			name, val, _ := strings.Cut(a, "=")
			on := val != "off"
			switch name {
			case "reject-token-uri":
				k.RejectTokenURI = on
			case "drop-partial-put":
				k.DropPartialSecretsPut = on
			case "no-connectivity":
				k.NoConnectivityParameters = on
			case "portal-lower-case":
				k.PortalLowerCaseKeys = on
			case "legacy-token-fetch":
				k.LegacyTokenFetch = on
			case "no-group-assignment":
				k.NoGroupAssignment = on
			case "drop-puts":
				k.DropSecretsPuts = atoi(val)
			default:
				ts.Fatalf("emu knob: unknown knob %q", name)
			}
		}
		e.tenant.SetKnobs(k)
	case "seed-v1":
		e.tenant.SeedSecrets(app().ServicePrincipalID, map[string]string{"AuthenticationType": "", "SyncNotificationSettings": ""})
	case "secret-keys":
		var have []string
		for k := range app().Secrets {
			have = append(have, k)
		}
		want := strings.Split(args[1], ",")
		slices.Sort(have)
		slices.Sort(want)
		check(slices.Equal(have, want), "secret keys: have %v, want %v", have, want)
	case "token-before-probe":
		token, probes := false, 0
		for _, r := range e.invicti.Requests() {
			switch {
			case strings.HasPrefix(r.Path, "/oauth/token"):
				token = true
			case strings.Contains(r.Path, "/scim/v2/Users"):
				probes++
				if !token {
					check(false, "SCIM query %s?%s before any token request", r.Path, r.Query)
					return
				}
			}
		}
		check(token && probes > 0, "token requested %v, SCIM queries %d", token, probes)
	case "invicti-mode":
		e.invicti.SetMode(scimtest.Mode(args[1]))
	case "nested-group":
		var ids []string
		for _, name := range args[2:] {
			g, ok := e.tenant.LookupGroup(name)
			check(ok, "no group %q", name)
			ids = append(ids, g.ID)
		}
		e.tenant.AddGroup(entratest.Group{DisplayName: args[1], SecurityEnabled: true, MemberIDs: ids})
	case "add-users":
		var list strings.Builder
		list.WriteString("# generated\n")
		for i := 0; i < atoi(args[1]); i++ {
			upn := fmt.Sprintf("%s%d@contoso.example", args[2], i)
			e.tenant.AddUser(entratest.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("%s %d", args[2], i), AccountEnabled: true})
			list.WriteString(upn + "\n")
		}
		if len(args) > 3 {
			ts.Check(os.WriteFile(ts.MkAbs(args[3]), []byte(list.String()), 0o600))
		}
	case "add-app":
		// A same-named app from the non-gallery template that this tool did not make (no tag).
		a := e.tenant.AddApp(args[1])
		ts.Setenv("OTHER_SP", a.ServicePrincipalID)
	case "add-registered-app":
		a := e.tenant.AddRegisteredApp(args[1])
		ts.Setenv("FOREIGN_SP", a.ServicePrincipalID)
	case "add-user":
		// A user whose display name holds escapes (Go syntax: \x1b, \a, \u009b); without NAME,
		// the UPN is the display name and the mail.
		u := entratest.User{UserPrincipalName: args[1], DisplayName: args[1], Mail: args[1], AccountEnabled: true}
		if len(args) > 2 {
			u.DisplayName, u.Mail = unquote(ts, args[2]), ""
		}
		e.tenant.AddUser(u)
	case "rename-app":
		e.tenant.RenameBehindBack(app().ServicePrincipalID, unquote(ts, args[1]))
	case "fault-msg":
		e.tenant.InjectFault(entratest.Fault{Method: args[1], Path: regexp.MustCompile(args[2]), Status: atoi(args[3]), Message: unquote(ts, args[4])})
	case "log":
		e.tenant.AddProvisioningLog(app().ServicePrincipalID, entratest.LogEntry{UserPrincipalName: args[1], Action: "create", Status: "failure",
			ErrorCode: "SystemForCrossDomainIdentityManagementBadResponse", Reason: unquote(ts, args[2]), Time: time.Now()})
	case "foreign-untouched":
		// Every App-registrations app still exists, untagged, with no job and no secret.
		n := 0
		for _, a := range apps {
			if a.TemplateID != "" {
				continue
			}
			n++
			check(a.ServicePrincipalID != "" && !slices.Contains(a.Tags, "invicti-scim") && len(a.Jobs) == 0 && len(a.Secrets) == 0,
				"foreign app %s touched: sp %q, tags %v, %d jobs, %d secrets", a.DisplayName, a.ServicePrincipalID, a.Tags, len(a.Jobs), len(a.Secrets))
		}
		check(n > 0, "no App-registrations app in the tenant")
	default:
		if !cmdEmuSSO(ts, e, neg, args) { // sso_emu_test.go
			ts.Fatalf("emu: unknown command %q", args[0])
		}
	}
}

// cmdConfigLock holds the config dir's lock as another invicti-scim run would:
//
//	configlock hold      take the lock on $INVICTI_SCIM_CONFIG_DIR (held until release or the end)
//	configlock release
func cmdConfigLock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: configlock hold|release")
	}
	e := ts.Value("emu").(*emulators)
	switch args[0] {
	case "hold":
		l, err := state.Store{Dir: ts.Getenv("INVICTI_SCIM_CONFIG_DIR")}.Lock(context.Background(), 0)
		ts.Check(err)
		ts.Defer(func() { _ = l.Unlock() })
		e.lock = l
	case "release":
		if e.lock == nil {
			ts.Fatalf("configlock release: not held")
		}
		ts.Check(e.lock.Unlock())
		e.lock = nil
	default:
		ts.Fatalf("usage: configlock hold|release")
	}
}

// unquote reads Go escape sequences in a script argument, so scripts can hold control bytes.
func unquote(ts *testscript.TestScript, s string) string {
	u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
	ts.Check(err)
	return u
}

// cmdHostile puts a hostile network path between the tool and the emulated Graph: a proxy on
// loopback that forwards everything except requests whose path matches PATHRE, which it answers
// itself. It sets INVICTI_SCIM_GRAPH_URL to the proxy.
//
//	hostile redirect PATHRE   307 to another port on the same host (Go would forward Authorization)
//	hostile huge PATHRE       200 application/json with a 40 MiB body
//	hostile html502 PATHRE    502 text/html, as a proxy's error page
//	hostile leaked N          exactly N requests reached the redirect target carrying a token
func cmdHostile(ts *testscript.TestScript, neg bool, args []string) {
	e := ts.Value("emu").(*emulators)
	if len(args) != 2 {
		ts.Fatalf("usage: hostile redirect|huge|html502 PATHRE, or hostile leaked N")
	}
	if args[0] == "leaked" {
		n := 0
		if e.leaked != nil {
			n = int(e.leaked.Load())
		}
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		if (n == want) == neg {
			ts.Fatalf("leaked: %d requests carried a token to the redirect target, want %d", n, want)
		}
		return
	}
	if neg {
		ts.Fatalf("usage: hostile MODE PATHRE")
	}
	re := regexp.MustCompile(args[1])
	target, err := url.Parse(e.tenant.URL)
	ts.Check(err)
	forward := httputil.NewSingleHostReverseProxy(target)
	if e.leaked == nil {
		e.leaked = &atomic.Int32{}
	}
	leaked := e.leaked
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"value":[]}`)
	}))
	ts.Defer(sink.Close)
	mode := args[0]
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !re.MatchString(r.URL.Path) {
			forward.ServeHTTP(w, r)
			return
		}
		switch mode {
		case "redirect":
			http.Redirect(w, r, sink.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		case "huge":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"value":[{"displayName":"`)
			chunk := []byte(strings.Repeat("x", 1<<20))
			for i := 0; i < 40; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			_, _ = io.WriteString(w, `"}]}`)
		case "html502":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>")
		default:
			ts.Fatalf("hostile: unknown mode %q", mode)
		}
	}))
	ts.Defer(proxy.Close)
	ts.Setenv("INVICTI_SCIM_GRAPH_URL", proxy.URL)
}
