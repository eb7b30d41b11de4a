package scimtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// An emulated Invicti Platform: get a token with the client-credentials grant, then query the
// SCIM API as Entra's Test Connection does.
func Example() {
	srv := scimtest.New(scimtest.Options{})
	defer srv.Close()
	srv.AddClient("my-client", "my-secret-0123456789")

	cfg := clientcredentials.Config{ClientID: "my-client", ClientSecret: "my-secret-0123456789", TokenURL: srv.TokenURL()}
	client := cfg.Client(context.Background())
	resp, err := client.Get(srv.TenantURL() + `/Users?filter=userName%20eq%20%22nobody%40contoso.example%22`)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	fmt.Println(resp.StatusCode == http.StatusOK, len(srv.Users()))
	// Output: true 0
}
