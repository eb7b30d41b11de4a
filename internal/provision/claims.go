package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// SAML claims through a claims-mapping policy
// (https://learn.microsoft.com/graph/api/resources/claimsmappingpolicy): sso keeps Entra's
// default claims unless --claims names some; then it creates a policy of its own (display name
// ClaimsPolicyPrefix + the app's name), assigns it to the app's service principal, and
// replaces or removes it on later runs. Such a policy supersedes the claims configured in the
// portal's "Attributes & Claims" blade for that app (Microsoft's "Claims customization using
// PowerShell and Claims Mapping Policy" page), which ClaimsPortalWarning says.

// ClaimsGraph is what claims customisation needs from Microsoft Graph (implemented by
// *graph.Client).
type ClaimsGraph interface {
	ServicePrincipalClaimsPolicies(ctx context.Context, spID string) ([]graph.ClaimsPolicy, error)
	CreateClaimsPolicy(ctx context.Context, displayName, definition string) (graph.ClaimsPolicy, error)
	AssignClaimsPolicy(ctx context.Context, spID, policyID string) error
	UnassignClaimsPolicy(ctx context.Context, spID, policyID string) error
	DeleteClaimsPolicy(ctx context.Context, policyID string) error
	// ClaimsPolicyAppliesTo lists what a policy is assigned to: sso --disable deletes the
	// tool's policy only when this app alone uses it.
	ClaimsPolicyAppliesTo(ctx context.Context, policyID string) ([]string, error)
}

var _ ClaimsGraph = (*graph.Client)(nil)

// Permissions for claims-mapping policies (the Graph reference pages of the calls).
const (
	PermPolicyWrite = "Policy.ReadWrite.ApplicationConfiguration"
	PermPolicyRead  = "Policy.Read.All"
)

// ClaimsPolicyPrefix starts the display name of every policy this tool creates; a policy
// without it is someone else's and is never changed.
const ClaimsPolicyPrefix = "invicti-scim claims: "

// ClaimsPortalWarning is said on stderr whenever sso assigns a policy.
const ClaimsPortalWarning = "a claims-mapping policy supersedes the claims set in the app's \"Attributes & Claims\" blade in the Entra admin centre: edits there no longer apply while it is assigned (`invicti-scim sso --claims default` removes it)"

// samlClaimNS is the namespace of the short claim names --claims accepts.
const samlClaimNS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"

// ShortClaims are the short SAML claim names --claims accepts, each standing for
// samlClaimNS + name (the claim types Entra's default SAML token carries; "Customize SAML
// token claims", learn.microsoft.com/entra/identity-platform/saml-claims-customization).
var ShortClaims = []string{"emailaddress", "givenname", "surname", "name", "nameidentifier"}

// ClaimSources are the user attributes --claims accepts as user.<ID>: the "user" source IDs
// of Microsoft's claims-mapping policy reference ("Claims customization using a policy",
// learn.microsoft.com/entra/identity-platform/reference-claims-customization, table "Source
// and ID values"), lower-case as that table gives them.
var ClaimSources = []string{
	"mail", "userprincipalname", "givenname", "surname", "displayname", "objectid",
	"employeeid", "onpremisessamaccountname", "onpremisesuserprincipalname", "mailnickname",
	"othermail", "department", "jobtitle", "companyname",
}

// ClaimMapping is one claim of a policy: the SAML claim type (a full URI) and the user
// attribute it comes from.
type ClaimMapping struct {
	Claim  string `json:"claim"`
	Source string `json:"source"` // user.<ID>, e.g. user.mail
}

// ClaimsSpec is what --claims asks for: Entra's defaults, or these mappings.
type ClaimsSpec struct {
	Default  bool
	Mappings []ClaimMapping // sorted by Claim
}

// ClaimsState is the app's claims as sso, status and -o json show them.
type ClaimsState struct {
	// Default is true when no claims-mapping policy is assigned: Entra's default claims.
	Default  bool           `json:"default"`
	PolicyID string         `json:"policyId,omitempty"`
	Policy   string         `json:"policy,omitempty"`  // display name
	Foreign  bool           `json:"foreign,omitempty"` // not made by this tool
	Mappings []ClaimMapping `json:"mappings,omitempty"`
	// Unknown says why the claims could not be read (e.g. no Policy.Read.All).
	Unknown string `json:"unknown,omitempty"`
}

// String is the one-line summary status prints.
func (s *ClaimsState) String() string {
	switch {
	case s == nil:
		return "-"
	case s.Unknown != "":
		return "unknown (" + s.Unknown + ")"
	case s.Default:
		return "Entra defaults"
	}
	parts := make([]string, 0, len(s.Mappings))
	for _, m := range s.Mappings {
		parts = append(parts, ShortClaim(m.Claim)+"="+m.Source)
	}
	owner := "policy"
	if s.Foreign {
		owner = "foreign policy"
	}
	desc := strings.Join(parts, ", ")
	if desc == "" {
		desc = "custom definition"
	}
	return fmt.Sprintf("%s (%s %q)", desc, owner, s.Policy)
}

// ShortClaim shows a claim URI in the namespace --claims abbreviates by its short name.
func ShortClaim(uri string) string {
	if rest, ok := strings.CutPrefix(uri, samlClaimNS); ok && slices.Contains(ShortClaims, rest) {
		return rest
	}
	return uri
}

const claimsFix = "use CLAIM=SOURCE, e.g. --claims nameidentifier=user.mail, or --claims default"

// ParseClaims parses the --claims values (each CLAIM=SOURCE[,CLAIM=SOURCE…], or the single
// word default). CLAIM is a short name from ShortClaims or an absolute URI; SOURCE is
// user.<ID> with ID from ClaimSources (case-insensitive). A claim named twice is an error.
// Errors name the flag, the bad value and the fix.
func ParseClaims(values []string) (ClaimsSpec, error) {
	var spec ClaimsSpec
	var items []string
	for _, v := range values {
		for _, it := range strings.Split(v, ",") {
			items = append(items, strings.TrimSpace(it))
		}
	}
	if len(items) == 0 {
		return spec, fmt.Errorf("--claims: no value: %s", claimsFix)
	}
	for _, it := range items {
		if strings.EqualFold(it, "default") {
			if len(items) > 1 {
				return spec, fmt.Errorf("--claims default cannot be combined with other claims: give either default or CLAIM=SOURCE pairs")
			}
			return ClaimsSpec{Default: true}, nil
		}
	}
	for _, it := range items {
		claimRaw, srcRaw, ok := strings.Cut(it, "=")
		claimRaw, srcRaw = strings.TrimSpace(claimRaw), strings.TrimSpace(srcRaw)
		if !ok || claimRaw == "" || srcRaw == "" {
			return spec, fmt.Errorf("--claims %q: expected CLAIM=SOURCE, e.g. --claims nameidentifier=user.mail, or --claims default", it)
		}
		claim, err := parseClaimType(claimRaw)
		if err != nil {
			return spec, err
		}
		src, err := parseClaimSource(srcRaw)
		if err != nil {
			return spec, err
		}
		if slices.ContainsFunc(spec.Mappings, func(m ClaimMapping) bool { return m.Claim == claim }) {
			return spec, fmt.Errorf("--claims %q: the claim %s is given twice: give each claim once", it, ShortClaim(claim))
		}
		spec.Mappings = append(spec.Mappings, ClaimMapping{Claim: claim, Source: src})
	}
	slices.SortFunc(spec.Mappings, func(a, b ClaimMapping) int { return strings.Compare(a.Claim, b.Claim) })
	return spec, nil
}

func parseClaimType(raw string) (string, error) {
	if slices.Contains(ShortClaims, strings.ToLower(raw)) {
		return samlClaimNS + strings.ToLower(raw), nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || strings.ContainsAny(raw, " \"") {
		return "", fmt.Errorf("--claims: unknown claim %q: use one of %s or a full claim-type URI (e.g. %semailaddress)",
			raw, strings.Join(ShortClaims, ", "), samlClaimNS)
	}
	return raw, nil
}

func parseClaimSource(raw string) (string, error) {
	id, ok := strings.CutPrefix(strings.ToLower(raw), "user.")
	if !ok || !slices.Contains(ClaimSources, id) {
		return "", fmt.Errorf("--claims: unknown source %q: use user.<attribute> with one of %s (Entra's claims-mapping source list)",
			raw, strings.Join(ClaimSources, ", "))
	}
	return "user." + id, nil
}

// claimsDefinition is the JSON document of a claims-mapping policy (claimsMappingPolicy
// resource: Version 1, IncludeBasicClaimSet, ClaimsSchema entries with Source, ID and
// SamlClaimType).
type claimsDefinition struct {
	ClaimsMappingPolicy struct {
		Version              int                 `json:"Version"`
		IncludeBasicClaimSet string              `json:"IncludeBasicClaimSet"`
		ClaimsSchema         []claimsSchemaEntry `json:"ClaimsSchema"`
	} `json:"ClaimsMappingPolicy"`
}

type claimsSchemaEntry struct {
	Source        string `json:"Source"`
	ID            string `json:"ID"`
	SamlClaimType string `json:"SamlClaimType"`
}

// ClaimsDefinition is the policy definition for these mappings: the basic claim set kept,
// plus one ClaimsSchema entry per mapping.
func ClaimsDefinition(ms []ClaimMapping) string {
	var d claimsDefinition
	d.ClaimsMappingPolicy.Version = 1
	d.ClaimsMappingPolicy.IncludeBasicClaimSet = "true"
	d.ClaimsMappingPolicy.ClaimsSchema = []claimsSchemaEntry{}
	for _, m := range ms {
		d.ClaimsMappingPolicy.ClaimsSchema = append(d.ClaimsMappingPolicy.ClaimsSchema,
			claimsSchemaEntry{Source: "user", ID: strings.TrimPrefix(m.Source, "user."), SamlClaimType: m.Claim})
	}
	b, _ := json.Marshal(d) //nolint:errchkjson // strings only: cannot fail
	return string(b)
}

// ParseClaimsDefinition reads the mappings of a policy definition (only user-sourced SAML
// claims; other entries are skipped), sorted by claim.
func ParseClaimsDefinition(def string) ([]ClaimMapping, error) {
	var d claimsDefinition
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		return nil, fmt.Errorf("the policy definition is not a ClaimsMappingPolicy document: %w", err)
	}
	var out []ClaimMapping
	for _, e := range d.ClaimsMappingPolicy.ClaimsSchema {
		if strings.EqualFold(e.Source, "user") && e.SamlClaimType != "" {
			out = append(out, ClaimMapping{Claim: e.SamlClaimType, Source: "user." + strings.ToLower(e.ID)})
		}
	}
	slices.SortFunc(out, func(a, b ClaimMapping) int { return strings.Compare(a.Claim, b.Claim) })
	return out, nil
}

// ForeignClaimsPolicyError is returned when the app already has a claims-mapping policy this
// tool did not make: sso never replaces or removes another's policy.
type ForeignClaimsPolicyError struct{ Policy graph.ClaimsPolicy }

func (e *ForeignClaimsPolicyError) Error() string {
	return fmt.Sprintf("the app already has the claims-mapping policy %q (id %s), not made by invicti-scim; an app takes one claims-mapping policy, so --claims leaves it alone",
		e.Policy.DisplayName, e.Policy.ID)
}

// Hint says how to go on.
func (e *ForeignClaimsPolicyError) Hint() string {
	return fmt.Sprintf("keep that policy and run sso without --claims, or unassign it (Graph: DELETE /servicePrincipals/{id}/claimsMappingPolicies/%s/$ref; PowerShell: Remove-MgServicePrincipalClaimMappingPolicyByRef) and run again", e.Policy.ID)
}

// readClaims splits the assigned policies into this tool's and someone else's.
func readClaims(ctx context.Context, g ClaimsGraph, spID string) (ours []graph.ClaimsPolicy, foreign *graph.ClaimsPolicy, err error) {
	ps, err := g.ServicePrincipalClaimsPolicies(ctx, spID)
	if err != nil {
		return nil, nil, err
	}
	for i := range ps {
		if strings.HasPrefix(ps[i].DisplayName, ClaimsPolicyPrefix) {
			ours = append(ours, ps[i])
		} else if foreign == nil {
			foreign = &ps[i]
		}
	}
	return ours, foreign, nil
}

func stateOf(p *graph.ClaimsPolicy, foreign bool) *ClaimsState {
	if p == nil {
		return &ClaimsState{Default: true}
	}
	ms, _ := ParseClaimsDefinition(p.Definition)
	return &ClaimsState{PolicyID: p.ID, Policy: p.DisplayName, Foreign: foreign, Mappings: ms}
}

// ReadClaims reports the app's claims; an error reading them (such as a token without
// Policy.Read.All) is reported in Unknown, not returned, so status still shows the rest.
func ReadClaims(ctx context.Context, g ClaimsGraph, spID string) *ClaimsState {
	ours, foreign, err := readClaims(ctx, g, spID)
	switch {
	case err != nil:
		if graph.IsAuth(err) {
			return &ClaimsState{Unknown: "reading claims needs " + PermPolicyRead}
		}
		return &ClaimsState{Unknown: err.Error()}
	case foreign != nil:
		return stateOf(foreign, true)
	case len(ours) > 0:
		return stateOf(&ours[0], false)
	}
	return stateOf(nil, false)
}

func claimsPermission(err error) error {
	if graph.IsAuth(err) && !graph.IsExpiredToken(err) {
		return &PermissionError{Op: "claims-mapping policy", Permission: PermPolicyWrite + " (create/delete) and " + PermApplication + " with " + PermPolicyRead + " (assign)", Err: err}
	}
	return err
}

// claimsPrecheck reads this tool's assigned policies before sso writes anything, and refuses
// when a foreign policy is assigned.
func (c *SSOConfigurator) claimsPrecheck(ctx context.Context, req SSORequest) ([]graph.ClaimsPolicy, error) {
	if c.Claims == nil {
		return nil, errors.New("claims customisation is not available here")
	}
	ours, foreign, err := readClaims(ctx, c.Claims, req.ServicePrincipalID)
	if err != nil {
		return nil, claimsPermission(err)
	}
	if foreign != nil {
		return nil, &ForeignClaimsPolicyError{Policy: *foreign}
	}
	return ours, nil
}

// recordPolicy hands the id of the tool's policy now assigned ("" once none is) to
// req.OnClaimsPolicy, when set.
func recordPolicy(req SSORequest, id string) error {
	if req.OnClaimsPolicy == nil {
		return nil
	}
	if err := req.OnClaimsPolicy(id); err != nil {
		return fmt.Errorf("the claims-mapping policy %s is in place, but recording it in the state failed: %w", dashIfEmpty(id), err)
	}
	return nil
}

// applyClaims is sso's claims step: Entra's defaults (remove this tool's policy) or the
// spec's mappings (a policy of this tool's with that definition assigned). A foreign policy
// is never touched. Graph lets a service principal hold one claims-mapping policy (see
// pkg/entratest/claims.go), so a change unassigns the old policy before assigning the new.
func (c *SSOConfigurator) applyClaims(ctx context.Context, req SSORequest, ours []graph.ClaimsPolicy, res *SSOResult, step func(string, bool, string) bool) error {
	g := c.Claims
	spec := *req.Claims
	var cur []ClaimMapping
	if len(ours) > 0 {
		cur, _ = ParseClaimsDefinition(ours[0].Definition)
	}
	if spec.Default {
		res.Claims = &ClaimsState{Default: true}

		names := make([]string, 0, len(ours))
		for _, p := range ours {
			names = append(names, p.DisplayName)
		}
		if step("claims: Entra defaults", len(ours) > 0, "remove "+dashIfEmpty(strings.Join(names, ", "))) {
			for _, p := range ours {
				if err := g.UnassignClaimsPolicy(ctx, req.ServicePrincipalID, p.ID); err != nil {
					return claimsPermission(err)
				}
				if err := g.DeleteClaimsPolicy(ctx, p.ID); err != nil {
					return claimsPermission(err)
				}
			}
			if err := recordPolicy(req, ""); err != nil {
				return err
			}
		}
		if req.DryRun && len(ours) > 0 {
			res.Claims = stateOf(&ours[0], false)
		}
		return nil
	}
	same := len(ours) == 1 && slices.Equal(cur, spec.Mappings)
	want := &ClaimsState{Policy: ClaimsPolicyPrefix + req.AppName, Mappings: spec.Mappings}
	if same {
		if !req.DryRun {
			// A policy made before the state recorded policies gets recorded now.
			if err := recordPolicy(req, ours[0].ID); err != nil {
				return err
			}
		}
		res.Claims = stateOf(&ours[0], false)
		step("claims", false, res.Claims.String())
		return nil
	}
	if !step("claims", true, want.String()) {
		res.Claims = want
		if req.DryRun && len(ours) > 0 {
			res.Claims = stateOf(&ours[0], false)
		}
		return nil
	}
	p, err := g.CreateClaimsPolicy(ctx, want.Policy, ClaimsDefinition(spec.Mappings))
	if err != nil {
		return claimsPermission(err)
	}
	for _, old := range ours {
		if err := g.UnassignClaimsPolicy(ctx, req.ServicePrincipalID, old.ID); err != nil {
			_ = g.DeleteClaimsPolicy(ctx, p.ID) // nothing assigned it yet: leave no orphan
			return claimsPermission(err)
		}
	}
	if err := g.AssignClaimsPolicy(ctx, req.ServicePrincipalID, p.ID); err != nil {
		// Put the old policy back so the app keeps the claims it had.
		var rerr error
		if len(ours) > 0 {
			rerr = g.AssignClaimsPolicy(ctx, req.ServicePrincipalID, ours[0].ID)
		}
		_ = g.DeleteClaimsPolicy(ctx, p.ID)
		return claimsPermission(errors.Join(err, rerr))
	}
	if err := recordPolicy(req, p.ID); err != nil {
		return err
	}
	for _, old := range ours {
		if err := g.DeleteClaimsPolicy(ctx, old.ID); err != nil {
			// The old policy is unassigned now, so no sso run finds it again: only its id does.
			return fmt.Errorf("the new claims policy is assigned, but the old one %s is unassigned and could not be deleted (delete it with Graph: %s): %w",
				old.ID, graphDeleteFix(old.ID), claimsPermission(err))
		}
	}
	want.PolicyID = p.ID
	res.Claims = want
	res.ClaimsApplied = true
	return nil
}
