package invicti

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// SCIMClient makes SCIM requests to Invicti (reads, and CreateGroup) with a
// client-credentials token that it gets, caches and renews as needed.
// It is safe for concurrent use.
type SCIMClient struct {
	hc  *http.Client
	ep  Endpoints
	red *redactor
}

// Client returns a SCIMClient for ep using cred. Tokens are requested like
// Check does; ctx is used for those token requests for the life of the
// client (so it should outlive the client).
func (c *Checker) Client(ctx context.Context, ep Endpoints, cred Credentials) *SCIMClient {
	hc := c.httpClient()
	ts := clientCredentialsConfig(ep, cred).TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc))
	return &SCIMClient{
		hc: &http.Client{
			Transport:     &oauth2.Transport{Source: ts, Base: hc.Transport},
			Timeout:       hc.Timeout,
			CheckRedirect: hc.CheckRedirect,
			Jar:           hc.Jar,
		},
		ep:  ep,
		red: newRedactor(cred.ClientSecret),
	}
}

// SCIMUser is a user as Invicti's SCIM API returns it.
type SCIMUser struct {
	ID, UserName, DisplayName, GivenName, FamilyName, Email, ExternalID string
	Active                                                              bool
	Created, LastModified                                               string // RFC 3339 as returned, may be ""
}

// SCIMGroup is a group (an Invicti team) as Invicti's SCIM API returns it.
type SCIMGroup struct {
	ID, DisplayName string
	Members         []string // member ids
}

type wireUser struct {
	ID          string `json:"id"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
	ExternalID  string `json:"externalId"`
	Active      any    `json:"active"`
	Name        struct {
		GivenName  string `json:"givenName"`
		FamilyName string `json:"familyName"`
	} `json:"name"`
	Emails []struct {
		Value   string `json:"value"`
		Type    string `json:"type"`
		Primary any    `json:"primary"`
	} `json:"emails"`
	Meta struct {
		Created      string `json:"created"`
		LastModified string `json:"lastModified"`
	} `json:"meta"`
}

// scimBool reads a SCIM boolean, also as the strings "True"/"False" some
// implementations send.
func scimBool(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return strings.EqualFold(b, "true")
	}
	return false
}

func (w *wireUser) user() *SCIMUser {
	u := &SCIMUser{
		ID: w.ID, UserName: w.UserName, DisplayName: w.DisplayName, ExternalID: w.ExternalID,
		GivenName: w.Name.GivenName, FamilyName: w.Name.FamilyName,
		Active: scimBool(w.Active), Created: w.Meta.Created, LastModified: w.Meta.LastModified,
	}
	best := -1
	for i, e := range w.Emails {
		if scimBool(e.Primary) {
			best = i
			break
		}
		if best < 0 && strings.EqualFold(e.Type, "work") {
			best = i
		}
	}
	if best < 0 && len(w.Emails) > 0 {
		best = 0
	}
	if best >= 0 {
		u.Email = w.Emails[best].Value
	}
	return u
}

type wireGroup struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Members     []struct {
		Value string `json:"value"`
	} `json:"members"`
}

// FindUser looks a user up by userName (matched case-insensitively, as
// SCIM does). It returns nil, nil when there is none.
func (s *SCIMClient) FindUser(ctx context.Context, userName string) (*SCIMUser, error) {
	lr, err := s.list(ctx, StepUserQuery, "/Users", `userName eq `+filterString(userName))
	if err != nil {
		return nil, err
	}
	for _, raw := range lr.Resources {
		var w wireUser
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, s.notSCIM(StepUserQuery, "a user that does not parse: "+err.Error())
		}
		if strings.EqualFold(w.UserName, userName) {
			return w.user(), nil
		}
	}
	return nil, nil
}

// FindGroup looks a group (team) up by displayName. It returns nil, nil
// when there is none.
func (s *SCIMClient) FindGroup(ctx context.Context, displayName string) (*SCIMGroup, error) {
	lr, err := s.list(ctx, StepGroupQuery, "/Groups", `displayName eq `+filterString(displayName))
	if err != nil {
		return nil, err
	}
	for _, raw := range lr.Resources {
		var w wireGroup
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, s.notSCIM(StepGroupQuery, "a group that does not parse: "+err.Error())
		}
		if strings.EqualFold(w.DisplayName, displayName) {
			g := &SCIMGroup{ID: w.ID, DisplayName: w.DisplayName, Members: []string{}}
			for _, m := range w.Members {
				g.Members = append(g.Members, m.Value)
			}
			return g, nil
		}
	}
	return nil, nil
}

func (s *SCIMClient) notSCIM(step StepName, what string) error {
	p := notSCIMProblem(s.ep, s.red.snippet([]byte(what)), http.StatusOK)
	return &ProblemError{Step: step, Problem: *p}
}

func (s *SCIMClient) list(ctx context.Context, step StepName, path, filter string) (*listResponse, error) {
	u := s.ep.TenantURL + path + "?filter=" + filterQuery(filter)
	resp, err := scimGet(ctx, s.hc, u, "")
	if err != nil {
		return nil, s.requestError(step, err, u)
	}
	if p := responseProblem(resp, s.ep, u, s.red); p != nil {
		return nil, s.problem(step, p)
	}
	lr, p := parseListResponse(resp, s.ep, s.red)
	if p != nil {
		return nil, s.problem(step, p)
	}
	return lr, nil
}

func (s *SCIMClient) problem(step StepName, p *Problem) error {
	p.Message = s.red.clean(p.Message)
	p.Fix = s.red.clean(p.Fix)
	return &ProblemError{Step: step, Problem: *p}
}

// requestError explains a failed request: a failed token request (the
// oauth2 transport wraps it) or a transport error.
func (s *SCIMClient) requestError(step StepName, err error, u string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		st := 0
		if re.Response != nil {
			st = re.Response.StatusCode
		}
		return s.problem(StepToken, tokenProblem(re, st, s.ep, s.red))
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "oauth2: ") {
		// A token endpoint answer without a usable token.
		return s.problem(StepToken, &Problem{
			Kind:    ProblemUnexpected,
			Message: fmt.Sprintf("the token endpoint did not issue a usable token (%s)", s.red.snippet([]byte(strings.TrimPrefix(ue.Err.Error(), "oauth2: ")))),
			Fix:     "Check that " + s.ep.BaseURL + " is the Invicti Platform base URL; " + baseURLAdvice,
		})
	}
	// A transport failure while fetching the token is wrapped in the SCIM
	// request's error; report it against the token step.
	for e := err; errors.As(e, &ue); e = ue.Err {
		if ue.URL == s.ep.TokenURL {
			step, u = StepToken, s.ep.TokenURL
			break
		}
	}
	return s.problem(step, transportProblem(err, s.ep, u))
}
