package invicti

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
)

// StepGroupCreate names SCIMClient.CreateGroup's request in a ProblemError.
const StepGroupCreate StepName = "groupCreate"

// CreateGroup creates an Invicti team through SCIM (POST /Groups, RFC 7644 §3.3) with this
// displayName and no members. Invicti's "Configure your SCIM directory" page
// (https://docs.invicti.com/ip/scim-configure-directory) asks for teams, with their roles and
// collections, to exist before users arrive; Entra later matches its group to this team by
// displayName (the default matching attribute of its group mappings), so the names must be
// equal. An existing team with this name is returned as it is (created false): SCIM answers
// 409 uniqueness for a duplicate, so the lookup comes first.
func (s *SCIMClient) CreateGroup(ctx context.Context, displayName string) (g *SCIMGroup, created bool, err error) {
	if g, err := s.FindGroup(ctx, displayName); err != nil || g != nil {
		return g, false, err
	}
	body, err := json.Marshal(map[string]any{"schemas": []string{SchemaGroup}, "displayName": displayName})
	if err != nil {
		return nil, false, err
	}
	u := s.ep.TenantURL + "/Groups"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", "application/scim+json")
	req.Header.Set("Accept", "application/scim+json, application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, false, s.requestError(StepGroupCreate, err, u)
	}
	r, err := readSCIMResponse(resp)
	if err != nil {
		return nil, false, s.requestError(StepGroupCreate, err, u)
	}
	if p := responseProblem(r, s.ep, u, s.red); p != nil {
		return nil, false, s.problem(StepGroupCreate, p)
	}
	var w wireGroup
	if err := json.Unmarshal(r.body, &w); err != nil || w.ID == "" {
		return nil, false, s.notSCIM(StepGroupCreate, "a created group without an id")
	}
	return &SCIMGroup{ID: w.ID, DisplayName: w.DisplayName, Members: []string{}}, true, nil
}
