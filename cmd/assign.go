package cmd

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

// appFlags select the app: state by default, or explicit ids.
type appFlags struct {
	AppID string
	SPID  string
}

// namedBy is the flag that names the app ("" when neither does: the app setup recorded).
func (fl appFlags) namedBy() string {
	switch {
	case fl.SPID != "":
		return "--sp-id"
	case fl.AppID != "":
		return "--app-id"
	}
	return ""
}

func (fl *appFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&fl.AppID, "app-id", "", "The enterprise app's appId (default: the app recorded by setup)")
	cmd.Flags().StringVar(&fl.SPID, "sp-id", "", "The enterprise app's service principal object id (default: the app recorded by setup; with --app-id, both must name the same app)")
}

type assignOptions struct {
	graph    graphFlags
	app      appFlags
	Users    []string
	Groups   []string
	FromFile string
	Remove   bool
	Yes      bool
	DryRun   bool
	List     bool
}

func newAssignCmd(f *Factory) *cobra.Command {
	opts := &assignOptions{}
	cmd := &cobra.Command{
		Use:   "assign",
		Short: "Assign users and groups to the enterprise app (or remove them)",
		Long: `Assign users and security groups to the enterprise app so Entra provisions them into Invicti.

Users are named by user principal name, mail or object id; groups by display name or object id.
The app role is read from the app at run time (the role named "User"). Lookups and writes go
through Graph JSON batching (20 per $batch), so a thousand users take dozens of round trips,
not thousands. Already-assigned principals are reported as such; nothing is duplicated.

Groups must be security groups; assigning groups needs Entra ID P1 or P2, and members of
nested groups are not provisioned (a group that has nested groups is noted with their names,
one members read per group in the lookup round trip). The command exits 1 if any item
failed, after printing a line per item (or a list with -o json) so a script can retry just
the failures; each failure is also named on stderr with its reason.

--remove takes users out of the app's scope, and Entra's provisioning service then
deprovisions them in Invicti on its next cycle (it disables them there). So on a terminal it
shows what it will remove and asks first; without a terminal it needs --yes (exit 2 without
it, nothing removed). --dry-run shows what would change and changes nothing.`,
		Example: `  invicti-scim assign --user alice@contoso.com --user bob@contoso.com
  invicti-scim assign --group "Invicti Users"
  invicti-scim assign --from-file users.csv -o json
  invicti-scim assign --list
  invicti-scim assign --user alice@contoso.com --remove --dry-run
  invicti-scim assign --user alice@contoso.com --remove --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runAssign(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	opts.app.register(cmd)
	fs := cmd.Flags()
	fs.StringArrayVar(&opts.Users, "user", nil, "User principal name, mail or object id; repeatable")
	fs.StringArrayVar(&opts.Groups, "group", nil, "Security group display name or object id; repeatable")
	fs.StringVar(&opts.FromFile, "from-file", "", "Read principals from a file: one per line (# comments; group:NAME for groups) or CSV with a header naming the column (upn, user, mail, email, group)")
	fs.BoolVar(&opts.Remove, "remove", false, "Remove the assignments instead (Entra then deprovisions those users in Invicti); asks first on a terminal")
	fs.BoolVar(&opts.Yes, "yes", false, "Remove without asking (required for --remove when not interactive)")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "Look everyone up and show what would change, without assigning or removing anything")
	fs.BoolVar(&opts.List, "list", false, "List who is assigned to the app: type, name, role and since when (with -o json, a document)")
	return cmd
}

func runAssign(ctx context.Context, f *Factory, opts *assignOptions) error {
	if opts.List {
		return runAssignList(ctx, f, opts)
	}
	if opts.FromFile != "" {
		data, err := readInputFile(opts.FromFile, maxPrincipalFile)
		if err != nil {
			return flagErrorf("--from-file %s: %v", opts.FromFile, err)
		}
		text, err := provision.DecodeText("--from-file "+opts.FromFile, data)
		if err != nil {
			return err
		}
		users, groups, err := ParsePrincipalFile(strings.NewReader(text))
		if err != nil {
			return flagErrorf("--from-file %s: %v", opts.FromFile, err)
		}
		opts.Users = append(opts.Users, users...)
		opts.Groups = append(opts.Groups, groups...)
	}
	if len(opts.Users) == 0 && len(opts.Groups) == 0 {
		return flagErrorf("nothing to assign: pass --user, --group or --from-file")
	}
	for _, v := range opts.Users {
		if err := validUser("--user", v); err != nil {
			return err
		}
	}
	for _, v := range opts.Groups {
		if err := validPrincipal("--group", v); err != nil {
			return err
		}
	}
	if opts.Remove && !opts.Yes && !opts.DryRun && !f.CanPrompt() {
		return flagErrorf("assign --remove: Entra deprovisions removed users in Invicti; pass --yes to confirm when not running interactively (or --dry-run to see what would be removed)")
	}
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	defer s.stop()
	if err != nil {
		return err
	}
	sp, conn, spID := s.sp, s.conn, s.spID
	a := &provision.Assigner{Graph: conn.Client, Progress: spinnerOnly(sp)}
	if opts.Remove && !opts.DryRun {
		a.Confirm = func(ctx context.Context, changes []provision.AssignItem, _ bool) error {
			sp.Stop()
			return confirmRemoval(ctx, f, changes, opts.Yes)
		}
	}
	res, err := a.Run(ctx, provision.AssignRequest{ServicePrincipalID: spID, Users: opts.Users, Groups: opts.Groups, Remove: opts.Remove, DryRun: opts.DryRun})
	sp.Stop()
	if err != nil {
		return err
	}
	if opts.DryRun && opts.Remove && hasStatus(res, provision.StatusWillRemove) {
		ui.Err(f.IO).Check(ui.SymWarn, "dry run", removalWarning)
	}
	var failed error
	if !res.OK {
		failed = &exitError{code: ExitFailed, err: fmt.Errorf("%d of %d items failed", len(res.Failed()), len(res.Items))}
	}
	if f.JSON() {
		// "ok": false comes with "error", as in every JSON document (README).
		if err := printJSON(f, struct {
			*provision.AssignResult
			Error *errorJSON `json:"error,omitempty"`
		}{res, f.errJSON(failed)}); err != nil {
			return err
		}
	} else {
		printAssignTable(ui.Out(f.IO), res)
	}
	if failed != nil {
		reportAssignFailures(f, res)
	}
	return failed
}

// runAssignList prints who is assigned to the app.
func runAssignList(ctx context.Context, f *Factory, opts *assignOptions) error {
	if len(opts.Users) > 0 || len(opts.Groups) > 0 || opts.FromFile != "" || opts.Remove || opts.DryRun || opts.Yes {
		return flagErrorf("--list lists the assignments; it takes no --user, --group, --from-file, --remove, --dry-run or --yes")
	}
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	defer s.stop()
	if err != nil {
		return err
	}
	s.sp.Set("Reading the app's assignments")
	list, err := (&provision.Assigner{Graph: s.conn.Client}).List(ctx, s.spID)
	s.sp.Stop()
	if err != nil {
		return err
	}
	if f.JSON() {
		return printJSON(f, list)
	}
	p := ui.Out(f.IO)
	if len(list.Assigned) == 0 {
		p.Println("nobody is assigned to the app, so Entra provisions nobody: invicti-scim assign --user UPN or --group NAME")
		return nil
	}
	rows := make([][]string, 0, len(list.Assigned))
	for _, a := range list.Assigned {
		rows = append(rows, []string{a.Type, f.IO.Redactor.Line(a.Name), a.Role, a.AssignedAt.UTC().Format("2006-01-02 15:04 UTC"), a.PrincipalID})
	}
	p.Table([]string{"TYPE", "NAME", "ROLE", "ASSIGNED", "OBJECT ID"}, rows)
	return nil
}

// removalWarning is what removing an assignment sets off in Invicti.
const removalWarning = "removing an assignment takes the principal out of the app's scope: Entra's provisioning service then deprovisions the user (or the group's members) in Invicti on its next cycle, disabling them there"

// confirmRemoval shows what --remove will take away and why it matters, then asks (unless --yes).
func confirmRemoval(ctx context.Context, f *Factory, changes []provision.AssignItem, yes bool) error {
	lines := make([]string, 0, len(changes)+2)
	for _, it := range changes {
		name := it.Name
		if name == "" {
			name = it.Input
		}
		lines = append(lines, it.Type+" "+f.IO.Redactor.Line(name))
	}
	lines = append(lines, "", removalWarning)
	title := fmt.Sprintf("Will remove %d assignments", len(changes))
	if len(changes) == 1 {
		title = "Will remove 1 assignment"
	}
	ui.Err(f.IO).Panel(title, lines)
	if yes {
		return nil
	}
	ok, err := wizard.Confirm(ctx, f.wizardIO(), "Remove these assignments?", "Entra deprovisions them in Invicti on its next cycle.", false)
	if err != nil {
		return err
	}
	if !ok {
		return declined(f)
	}
	return nil
}

func hasStatus(res *provision.AssignResult, status string) bool {
	for _, it := range res.Items {
		if it.Status == status {
			return true
		}
	}
	return false
}

// reportAssignFailures names each failed item and its reason on stderr: errors belong there,
// whatever stdout carries (the table or the JSON document).
func reportAssignFailures(f *Factory, res *provision.AssignResult) {
	var lines []itemFailure
	for _, it := range res.Failed() {
		lines = append(lines, itemFailure{Type: it.Type, Name: it.Input, Reason: it.Error})
	}
	reportItemFailures(f, lines)
}

// itemFailure is one failed item of a multi-item command, for the stderr report.
type itemFailure struct {
	Type, Name, Reason string
}

// reportItemFailures writes one "error:" line per failed item to stderr.
func reportItemFailures(f *Factory, items []itemFailure) {
	p := ui.Err(f.IO)
	for _, it := range items {
		p.Errorf("%s", f.IO.Redactor.Line(fmt.Sprintf("%s %s: %s", it.Type, it.Name, it.Reason)))
	}
}

// validPrincipal checks a user or group name before any Graph call: not empty, at most 256
// characters, UTF-8, no control characters. flag ("--user", "--assign-group", …) starts the
// message; "" leaves it to the caller (a file line names its line).
func validPrincipal(flag, v string) error {
	t := strings.TrimSpace(v)
	name := func(shown string) string {
		if flag == "" {
			return shown
		}
		return flag + " " + shown
	}
	switch {
	case t == "" && strings.Contains(flag, "group"):
		return flagErrorf("%s: empty value; name the group by its name or object id", flag)
	case t == "" && flag != "":
		return flagErrorf("%s: empty value; name the user by user principal name, mail or object id", flag)
	case t == "":
		return flagErrorf("empty user or group name")
	case len(t) > 256:
		return flagErrorf("%s: longer than 256 characters", name(fmt.Sprintf("%q…", t[:20])))
	case !utf8.ValidString(t):
		return flagErrorf("%s: not valid UTF-8 (save the file as UTF-8)", name(fmt.Sprintf("%q", t)))
	case strings.ContainsFunc(t, unicode.IsControl):
		return flagErrorf("%s: contains control characters", name(fmt.Sprintf("%q", t)))
	}
	return nil
}

// validUser is validPrincipal for a user, plus the one shape rule that needs no Graph call: a
// user is named by user principal name, mail or object id, and none of them has whitespace
// (Microsoft Entra's UPN rules: "UserPrincipalName formats", learn.microsoft.com/entra/identity/
// hybrid/connect/plan-connect-userprincipalname; RFC 5322 addr-spec has no unquoted space), so
// "Alice Smith" is a display name and gets a usage error naming flag, instead of Graph's
// "Invalid object identifier" 400 after the run has begun. flag is "--user" or similar, or ""
// for a file line (the caller names the line).
func validUser(flag, v string) error {
	if err := validPrincipal(flag, v); err != nil {
		return err
	}
	t := strings.TrimSpace(v)
	if strings.ContainsFunc(t, unicode.IsSpace) {
		name := fmt.Sprintf("%q", t)
		if flag != "" {
			name = flag + " " + name
		}
		return flagErrorf("%s: not a user principal name, mail or object id (none has spaces): name the user as alice@contoso.com or by object id", name)
	}
	return nil
}

// ParsePrincipalFile reads --from-file: either one principal per line ("#" starts a comment,
// "group:NAME" marks a group), or CSV whose header names the column(s) to use.
func ParsePrincipalFile(r io.Reader) (users, groups []string, err error) {
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	first := ""
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			first = t
			break
		}
	}
	if strings.Contains(first, ",") || isCSVHeader(first) {
		return parseCSV(text)
	}
	for n, l := range lines {
		if i := strings.Index(l, "#"); i >= 0 && !strings.Contains(l, "#EXT#") {
			l = l[:i]
		}
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if err := validPrincipal("", t); err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		if g, ok := strings.CutPrefix(t, "group:"); ok {
			if g = strings.TrimSpace(g); g == "" {
				return nil, nil, fmt.Errorf("line %d: %q names no group", n+1, t)
			}
			groups = append(groups, g)
		} else {
			if err := validUser("", t); err != nil {
				return nil, nil, fmt.Errorf("line %d: %w (a group line starts with \"group:\")", n+1, err)
			}
			users = append(users, t)
		}
	}
	return users, groups, nil
}

var csvUserColumns = []string{"upn", "userprincipalname", "user", "mail", "email", "id", "objectid"}
var csvGroupColumns = []string{"group", "groupname", "displayname"}

// isCSVHeader recognises a one-column CSV by its header.
func isCSVHeader(line string) bool {
	h := strings.ToLower(strings.TrimSpace(line))
	for _, c := range append(append([]string{}, csvUserColumns...), csvGroupColumns...) {
		if h == c {
			return true
		}
	}
	return false
}

func parseCSV(text string) (users, groups []string, err error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	records, err := cr.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("CSV: %w", err)
	}
	if len(records) == 0 {
		return nil, nil, nil
	}
	userCol, groupCol := -1, -1
	for i, h := range records[0] {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case slices.Contains(csvUserColumns, h):
			if userCol < 0 {
				userCol = i
			}
		case slices.Contains(csvGroupColumns, h):
			groupCol = i
		}
	}
	if userCol < 0 && groupCol < 0 {
		return nil, nil, fmt.Errorf("CSV header %q names no column to use; name one upn, user, mail, email, id or group", strings.Join(records[0], ","))
	}
	for n, rec := range records[1:] {
		for _, c := range []struct {
			col int
			dst *[]string
		}{{userCol, &users}, {groupCol, &groups}} {
			if c.col < 0 || c.col >= len(rec) {
				continue
			}
			v := strings.TrimSpace(rec[c.col])
			if v == "" {
				continue
			}
			check := func(v string) error { return validPrincipal("", v) }
			if c.dst == &users {
				check = func(v string) error { return validUser("", v) }
			}
			if err := check(v); err != nil {
				return nil, nil, fmt.Errorf("CSV row %d: %w", n+2, err)
			}
			*c.dst = append(*c.dst, v)
		}
	}
	return users, groups, nil
}

func printAssignTable(p *ui.Printer, res *provision.AssignResult) {
	var rows [][]string
	for _, it := range res.Items {
		note := it.Error
		if note == "" {
			note = it.Warning
		}
		name := it.Name
		if name == "" {
			name = it.Input
		}
		rows = append(rows, []string{it.Type, name, it.Status, note})
	}
	p.Table([]string{"TYPE", "NAME", "STATUS", "NOTE"}, rows)
	if res.AppRoleID != "" { // setup --dry-run before the app (and its role) exists has none
		p.Printf("role %q (%s); %s\n", res.AppRoleName, res.AppRoleID, plural(res.BatchRoundTrips, "$batch round trip"))
	}
}
