package main

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdEmuSSO serves the emu subcommands for single sign-on and mappings (listed in main_test.go);
// it reports false for a command it does not know.
func cmdEmuSSO(ts *testscript.TestScript, e *emulators, neg bool, args []string) bool {
	check := func(ok bool, format string, a ...any) {
		if ok == neg {
			ts.Fatalf(format, a...)
		}
	}
	apps := e.tenant.Apps()
	spID := ""
	switch {
	case len(apps) > 0:
		spID = apps[len(apps)-1].ServicePrincipalID
	case args[0] != "claims-policies": // which also counts the policies left after teardown
		ts.Fatalf("no app in the emulated tenant")
	}
	switch args[0] {
	case "sso":
		s := e.tenant.SSOSettings(spID)
		ok := s.Mode == args[1]
		if len(args) > 3 {
			ok = ok && slices.Equal(s.IdentifierURIs, []string{os.Expand(args[2], ts.Getenv)}) &&
				slices.Equal(s.RedirectURIs, []string{os.Expand(args[3], ts.Getenv)})
		}
		check(ok, "sso: mode %q, identifiers %v, reply URLs %v", s.Mode, s.IdentifierURIs, s.RedirectURIs)
	case "sso-certs":
		n := len(e.tenant.SSOSettings(spID).SigningCertsExpiry)
		check(strconv.Itoa(n) == args[1], "signing certificates: have %d, want %s", n, args[1])
	case "age-cert":
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		e.tenant.AgeSigningCerts(spID, d)
	case "claims-policies":
		assigned, total := e.tenant.ClaimsPolicies(spID)
		ok := strconv.Itoa(len(assigned)) == args[1] && (len(args) < 3 || strconv.Itoa(total) == args[2])
		check(ok, "claims-mapping policies: %d assigned, %d in the tenant; want %v", len(assigned), total, args[1:])
	case "claims-def":
		assigned, _ := e.tenant.ClaimsPolicies(spID)
		re, err := regexp.Compile(args[1])
		ts.Check(err)
		ok := len(assigned) == 1 && re.MatchString(assigned[0].Definition)
		check(ok, "claims-mapping policy definition: %+v, want one matching %s", assigned, args[1])
	case "foreign-claims":
		e.tenant.AssignForeignClaimsPolicy(spID, args[1])
	case "invicti-email":
		found, email := false, ""
		for _, u := range e.invicti.Users() {
			if strings.EqualFold(u.UserName, args[1]) {
				found, email = true, u.Email
			}
		}
		check(found && email == args[2], "invicti user %s: found=%v, e-mail %q, want %q", args[1], found, email, args[2])
	default:
		return false
	}
	return true
}
