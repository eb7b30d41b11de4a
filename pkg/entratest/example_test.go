package entratest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// An emulated Entra tenant serves the Microsoft Graph calls of app provisioning over HTTP,
// like net/http/httptest: create an enterprise app from the non-gallery template with the
// tenant's default token.
func Example() {
	tenant := entratest.New(entratest.Options{})
	defer tenant.Close()

	req, _ := http.NewRequest(http.MethodPost, tenant.URL+"/v1.0/applicationTemplates/"+entratest.TemplateIDGlobal+"/instantiate",
		strings.NewReader(`{"displayName":"Invicti Platform"}`))
	req.Header.Set("Authorization", "Bearer "+tenant.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)

	fmt.Println(resp.StatusCode, len(tenant.Apps()), tenant.Apps()[0].DisplayName)
	// Output: 201 1 Invicti Platform
}

// Knobs switch behaviours whose public evidence is thin; the zero value is the best evidence.
// Here the v1.0 secrets PUT refuses the token URI, as Microsoft's onboarding agent saw.
func ExampleKnobs() {
	tenant := entratest.New(entratest.Options{Knobs: entratest.Knobs{RejectTokenURI: true}})
	defer tenant.Close()
	fmt.Println(tenant.Knobs().RejectTokenURI)
	// Output: true
}
