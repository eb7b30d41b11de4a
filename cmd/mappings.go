package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

type mappingsOptions struct {
	graph  graphFlags
	app    appFlags
	File   string
	Preset string
	DryRun bool
	Yes    bool
	Fix    bool
}

func newMappingsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mappings",
		Short: "Export, compare, apply and check the provisioning job's attribute mappings",
		Long: `Work with the attribute mappings of the provisioning job (which Entra user and group
attributes become which SCIM attributes in Invicti), through the job's schema
(GET/PUT …/synchronization/jobs/{id}/schema).

  export   write the user and group mappings as YAML (-o json for JSON)
  diff     compare a file (or --preset invicti) with the tenant; exit 0 when equal, 1 when not
  apply    make the tenant's mappings equal to a file (plan first, confirm; --dry-run, --yes)
  check    find assigned users whose e-mail or name would be sent empty, and offer a fix

The file format and the Invicti preset are described in docs/mappings.md.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return flagErrorf("mappings %q: unknown action; expected export, diff, apply or check", args[0])
			}
			return flagErrorf("mappings needs an action: export, diff, apply or check")
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	cmd.AddCommand(newMappingsExportCmd(f), newMappingsDiffCmd(f), newMappingsApplyCmd(f), newMappingsCheckCmd(f))
	return cmd
}

func (o *mappingsOptions) register(cmd *cobra.Command) {
	o.graph.register(cmd)
	o.app.register(cmd)
}

func (o *mappingsOptions) registerSource(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.File, "file", "f", "", "Mappings file (YAML or JSON, as `mappings export` writes it; - for stdin)")
	cmd.Flags().StringVar(&o.Preset, "preset", "", "Use a shipped mapping set instead of a file: invicti")
	_ = cmd.RegisterFlagCompletionFunc("preset", fixedCompletion("invicti"))
}

func newMappingsExportCmd(f *Factory) *cobra.Command {
	opts := &mappingsOptions{}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the job's user and group mappings as YAML (or JSON with -o json)",
		Long: `Write the provisioning job's user and group attribute mappings to stdout: for each target
attribute, the source expression, whether it is used for matching, and its flow type.
--preset invicti writes the Invicti preset instead of reading the tenant.`,
		Example: `  invicti-scim mappings export > mappings.yaml
  invicti-scim mappings export -o json | jq '.users[] | select(.target | startswith("emails"))'
  invicti-scim mappings export --preset invicti`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			var m provision.Mappings
			if opts.Preset != "" {
				p, err := preset(opts.Preset)
				if err != nil {
					return err
				}
				m = p
			} else {
				s, err := openMappings(ctx, f, opts)
				defer s.stop()
				if err != nil {
					return err
				}
				if m, _, err = provision.ReadMappings(ctx, s.conn.Client, s.spID, s.jobID); err != nil {
					return permissionHint(err, provision.PermSync)
				}
				s.sp.Stop()
			}
			if f.JSON() {
				// ok, as in every JSON document; `mappings diff/apply -f` accept it back.
				return printJSON(f, struct {
					OK bool `json:"ok"`
					provision.Mappings
				}{true, m})
			}
			data, err := provision.MarshalMappingsYAML(m)
			if err != nil {
				return err
			}
			_, err = f.IO.Out.Write(data)
			return err
		},
	}
	opts.register(cmd)
	cmd.Flags().StringVar(&opts.Preset, "preset", "", "Write a shipped mapping set instead of the tenant's: invicti")
	return cmd
}

type mappingsDiffJSON struct {
	// OK says the comparison (and an apply) worked; diff's exit 1 says the mappings differ.
	OK      bool                      `json:"ok"`
	Equal   bool                      `json:"equal"`
	Changes []provision.MappingChange `json:"changes"`
	Applied bool                      `json:"applied,omitempty"`
	DryRun  bool                      `json:"dryRun,omitempty"`
}

func newMappingsDiffCmd(f *Factory) *cobra.Command {
	opts := &mappingsOptions{}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Compare a mappings file (or the Invicti preset) with the tenant",
		Long: `Compare a mappings file (-f FILE) or a preset (--preset invicti) with the job's mappings and
list what applying it would add, change or remove. Exits 0 when they are equal and 1 when
they differ, like diff(1). Exit 1 is also a failure (a Graph error), so with -o json read
"ok": a difference is "ok": true with the changes (a verdict, not an error), a failure is
"ok": false with "error" (see invicti-scim help exit-codes).`,
		Example: `  invicti-scim mappings diff -f mappings.yaml
  invicti-scim mappings diff --preset invicti`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runMappingsChange(ctx, f, opts, false)
		},
	}
	opts.register(cmd)
	opts.registerSource(cmd)
	return cmd
}

func newMappingsApplyCmd(f *Factory) *cobra.Command {
	opts := &mappingsOptions{}
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Make the job's mappings equal to a file (plan, confirm, apply)",
		Long: `Show what would change (as mappings diff does), ask for confirmation, then replace the job's
user and group attribute mappings with the file's (or the preset's) in one schema PUT.
Mappings take effect in the next provisioning cycle or provision on demand. Nothing is
written when the tenant already matches.`,
		Example: `  invicti-scim mappings apply -f mappings.yaml
  invicti-scim mappings apply --preset invicti --dry-run
  invicti-scim mappings apply -f mappings.yaml --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runMappingsChange(ctx, f, opts, true)
		},
	}
	opts.register(cmd)
	opts.registerSource(cmd)
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "Show the plan; change nothing")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "Do not ask for confirmation")
	return cmd
}

func preset(name string) (provision.Mappings, error) {
	if strings.EqualFold(name, "invicti") {
		return provision.InvictiPreset(), nil
	}
	return provision.Mappings{}, flagErrorf("--preset %q: unknown preset; expected invicti", name)
}

// wantedMappings reads -f FILE or --preset (usage errors before any network).
func wantedMappings(f *Factory, opts *mappingsOptions) (provision.Mappings, error) {
	switch {
	case opts.File != "" && opts.Preset != "":
		return provision.Mappings{}, flagErrorf("give -f/--file or --preset, not both")
	case opts.Preset != "":
		return preset(opts.Preset)
	case opts.File == "":
		return provision.Mappings{}, flagErrorf("-f/--file is required (a file from `invicti-scim mappings export`), or --preset invicti")
	}
	var data []byte
	var err error
	if opts.File == "-" {
		data, err = io.ReadAll(f.IO.In)
	} else {
		data, err = os.ReadFile(opts.File)
	}
	if err != nil {
		return provision.Mappings{}, flagErrorf("-f %s: %v", opts.File, err)
	}
	m, err := provision.ParseMappings(data)
	if err != nil {
		return provision.Mappings{}, flagErrorf("-f %s: %v", opts.File, err)
	}
	return m, nil
}

func openMappings(ctx context.Context, f *Factory, opts *mappingsOptions) (*appSession, error) {
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	if err != nil {
		return s, err
	}
	s.sp.Set("Reading the provisioning job's mappings")
	if s.jobID, err = resolveJob(ctx, s.conn, s.spID, s.jobID); err != nil {
		return s, permissionHint(err, provision.PermSync)
	}
	return s, nil
}

func runMappingsChange(ctx context.Context, f *Factory, opts *mappingsOptions, apply bool) error {
	want, err := wantedMappings(f, opts)
	if err != nil {
		return err
	}
	if apply && !opts.Yes && !opts.DryRun && !f.CanPrompt() {
		return flagErrorf("mappings apply changes what Entra sends to Invicti: pass --yes to confirm when not running interactively (or --dry-run)")
	}
	s, err := openMappings(ctx, f, opts)
	defer s.stop()
	if err != nil {
		return err
	}
	have, schema, err := provision.ReadMappings(ctx, s.conn.Client, s.spID, s.jobID)
	if err != nil {
		return permissionHint(err, provision.PermSync)
	}
	s.sp.Stop()
	changes := provision.DiffMappings(want, have)
	out := mappingsDiffJSON{OK: true, Equal: len(changes) == 0, Changes: changes, DryRun: apply && opts.DryRun}
	if out.Changes == nil {
		out.Changes = []provision.MappingChange{}
	}
	if !f.JSON() {
		printMappingChanges(f, changes)
	}
	if apply && len(changes) > 0 && !opts.DryRun {
		if !opts.Yes {
			ok, err := wizard.Confirm(ctx, f.wizardIO(), fmt.Sprintf("Apply %d mapping change(s)?", len(changes)),
				"Entra sends the new values in the next provisioning cycle or provision on demand.", false)
			if err != nil {
				return err
			}
			if !ok {
				return declined(f)
			}
		}
		s.sp.Set("Saving the mappings")
		if err := provision.ApplyMappings(ctx, s.conn.Client, s.spID, s.jobID, schema, want); err != nil {
			return permissionHint(err, provision.PermSync)
		}
		s.sp.Stop()
		out.Applied = true
	}
	if f.JSON() {
		if err := printJSON(f, out); err != nil {
			return err
		}
	} else if apply {
		switch {
		case out.Applied:
			ui.Out(f.IO).Check(ui.SymOK, fmt.Sprintf("applied %d mapping change(s)", len(changes)), "")
		case opts.DryRun && len(changes) > 0:
			ui.Out(f.IO).Println("dry run: nothing was changed")
		}
	}
	if !apply && len(changes) > 0 {
		return silent(ExitFailed)
	}
	return nil
}

func printMappingChanges(f *Factory, changes []provision.MappingChange) {
	p := ui.Out(f.IO)
	if len(changes) == 0 {
		p.Check(ui.SymOK, "the mappings are equal", "")
		return
	}
	for _, c := range changes {
		switch c.Kind {
		case "add":
			p.Printf("+ %s %s ← %s\n", c.Object, c.Target, c.To)
		case "remove":
			p.Printf("- %s %s ← %s\n", c.Object, c.Target, c.From)
		default:
			p.Printf("~ %s %s ← %s (now %s)\n", c.Object, c.Target, c.To, c.From)
		}
	}
	p.Printf("%d difference(s)\n", len(changes))
}

type mappingsCheckJSON struct {
	*provision.MappingCheck
	OK    bool `json:"ok"`
	Fixed bool `json:"fixed,omitempty"`
}

func newMappingsCheckCmd(f *Factory) *cobra.Command {
	opts := &mappingsOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Find assigned users whose e-mail or name would be sent empty, and offer the fix",
		Long: `Evaluate the job's user mappings for every assigned user (direct assignments and the direct
members of assigned groups) and report the users whose work e-mail, given name or family
name would reach Invicti empty: how many, and who (the first 10). A user without a mailbox
(no mail) is the usual case: the default mapping takes the e-mail from mail only.

For the e-mail the fix is a mapping change, Coalesce([mail], [userPrincipalName]); --fix
applies it after confirmation (--yes to skip it). The change reaches Invicti in the next
cycle or provision on demand. Exits 0 when nothing is empty (or the fix was applied), 1
otherwise.`,
		Example: `  invicti-scim mappings check
  invicti-scim mappings check --fix --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runMappingsCheck(ctx, f, opts)
		},
	}
	opts.register(cmd)
	cmd.Flags().BoolVar(&opts.Fix, "fix", false, "Apply the offered mapping fix (asks first unless --yes)")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "With --fix: do not ask for confirmation")
	return cmd
}

func runMappingsCheck(ctx context.Context, f *Factory, opts *mappingsOptions) error {
	if opts.Yes && !opts.Fix {
		return flagErrorf("--yes only applies with --fix")
	}
	if opts.Fix && !opts.Yes && !f.CanPrompt() {
		return flagErrorf("mappings check --fix changes what Entra sends to Invicti: pass --yes to confirm when not running interactively")
	}
	s, err := openMappings(ctx, f, opts)
	defer s.stop()
	if err != nil {
		return err
	}
	s.sp.Set("Checking what the mappings send for each assigned user")
	res, err := provision.CheckMappings(ctx, s.conn.Client, s.spID, s.jobID)
	if err != nil {
		return permissionHint(err, provision.PermSync)
	}
	s.sp.Stop()
	out := mappingsCheckJSON{MappingCheck: res, OK: res.OK()}
	if !f.JSON() {
		printMappingCheck(f, res)
	}
	if fixed, some := res.Fixed(); some && opts.Fix {
		if !opts.Yes {
			ok, err := wizard.Confirm(ctx, f.wizardIO(), "Apply the e-mail fallback to the mappings?",
				"The work e-mail becomes "+fixOf(res)+"; Entra sends it in the next cycle or provision on demand.", false)
			if err != nil {
				return err
			}
			if !ok {
				return declined(f)
			}
		}
		s.sp.Set("Saving the mappings")
		if err := provision.ApplyMappings(ctx, s.conn.Client, s.spID, s.jobID, res.Schema, fixed); err != nil {
			return permissionHint(err, provision.PermSync)
		}
		s.sp.Stop()
		out.Fixed = true
		if !f.JSON() {
			ui.Out(f.IO).Check(ui.SymOK, "mapping fixed", "the next provisioning cycle or `invicti-scim provision` sends the e-mail")
		}
	}
	if f.JSON() {
		if err := printJSON(f, out); err != nil {
			return err
		}
	}
	if !out.OK && !out.Fixed {
		return mappingsCheckFailure(res)
	}
	return nil
}

// mappingsCheckFailure is the error of a check that found empty attributes (exit 1): what is
// empty for how many users, with the fix as the hint.
func mappingsCheckFailure(c *provision.MappingCheck) error {
	var empty []string
	for _, fd := range c.Findings {
		if fd.Count > 0 {
			empty = append(empty, fmt.Sprintf("%s empty for %d", fd.What, fd.Count))
		}
	}
	err := fmt.Errorf("mappings check: %s of %d assigned users", strings.Join(empty, ", "), c.UsersChecked)
	hint := "fill the attributes in Entra or map a fallback (docs/mappings.md)"
	if _, some := c.Fixed(); some {
		hint = "invicti-scim mappings check --fix (maps the work e-mail to " + fixOf(c) + ")"
	}
	return &provision.HintedError{Err: err, HintText: hint}
}

func fixOf(c *provision.MappingCheck) string {
	for _, fd := range c.Findings {
		if fd.Fix != "" {
			return fd.Fix
		}
	}
	return ""
}

func printMappingCheck(f *Factory, c *provision.MappingCheck) {
	p := ui.Out(f.IO)
	p.Printf("checked %d assigned user(s)\n", c.UsersChecked)
	for _, fd := range c.Findings {
		src := fd.Source
		if src == "" {
			src = "not mapped"
		}
		switch {
		case fd.Unpredictable:
			p.Check(ui.SymSkip, fd.Target+" ← "+src, "uses a function the check cannot evaluate; not checked")
		case fd.Count == 0:
			p.Check(ui.SymOK, fd.Target+" ← "+src, "filled for everyone")
		default:
			more := ""
			if fd.Count > len(fd.Users) {
				more = fmt.Sprintf(" and %d more", fd.Count-len(fd.Users))
			}
			p.Check(ui.SymWarn, fmt.Sprintf("%s ← %s: empty for %d user(s)", fd.Target, src, fd.Count),
				"no "+fd.What+": "+strings.Join(fd.Users, ", ")+more)
			if fd.Fix != "" {
				p.Printf("  fix: map %s ← %s (invicti-scim mappings check --fix)\n", fd.Target, fd.Fix)
			} else {
				p.Printf("  fix: fill the attribute in Entra for these users, or map a fallback (docs/mappings.md)\n")
			}
		}
	}
}
