package invicti_test

import (
	"context"
	"fmt"

	"github.com/invicti-scim/invicti-scim/pkg/invicti"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// The Tenant URL and Token Endpoint Entra needs, derived from a region.
func ExampleResolveEndpoints() {
	ep, err := invicti.ResolveEndpoints("eu", "")
	if err != nil {
		panic(err)
	}
	fmt.Println(ep.TenantURL)
	fmt.Println(ep.TokenURL)
	// Output:
	// https://platform-eu.invicti.com/api/scim/v2
	// https://platform-eu.invicti.com/oauth/token?audience=https://platform-eu.invicti.com/api
}

// The JSON Invicti returns when a SCIM client registration is created.
func ExampleParseCredentialsJSON() {
	cred, err := invicti.ParseCredentialsJSON("--credentials-file", []byte(`{"credentials":{"clientId":"0a1b2c3d","clientSecret":"s3cr3t-0123456789"}}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(cred.ClientID)
	// Output: 0a1b2c3d
}

// The direct check makes the calls Entra's Test Connection makes: a client-credentials token,
// ServiceProviderConfig, and a filter query for a user that does not exist.
func ExampleChecker_Check() {
	srv := scimtest.New(scimtest.Options{})
	defer srv.Close()
	srv.AddClient("0a1b2c3d", "s3cr3t-0123456789")

	res := (&invicti.Checker{}).Check(context.Background(), invicti.EndpointsFor(srv.URL),
		invicti.Credentials{ClientID: "0a1b2c3d", ClientSecret: "s3cr3t-0123456789"})
	fmt.Println(res.OK)
	// Output: true
}
