// Package sandbox runs the whole product against in-process emulators: an emulated Entra
// tenant (Graph v1.0 subset) and an emulated Invicti Platform, with demo users. It is what
// `setup --sandbox` uses, so anyone can see the tool work without an account.
package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// Options tunes the emulators' realism.
type Options struct {
	Latency          time.Duration // per request, both emulators
	ReplicationDelay time.Duration // Entra's eventual consistency after creates
	ProvisionDelay   time.Duration // assignment → provision-on-demand delay
}

// Defaults are quick enough for a demo yet show the replication waits.
func Defaults() Options {
	return Options{Latency: 5 * time.Millisecond, ReplicationDelay: 1500 * time.Millisecond, ProvisionDelay: 2 * time.Second}
}

// Env is a running sandbox.
type Env struct {
	Tenant       *entratest.Tenant
	Invicti      *scimtest.Server
	GraphURL     string
	GraphToken   string
	InvictiURL   string
	ClientID     string
	ClientSecret string
	DemoUser     string // a user to assign and provision
	DemoGroup    string // a small security group
}

// Start runs both emulators on loopback ports.
func Start(o Options) *Env {
	inv := scimtest.New(scimtest.Options{Latency: o.Latency})
	t := entratest.New(entratest.Options{Latency: o.Latency, ReplicationDelay: o.ReplicationDelay, ProvisionDelay: o.ProvisionDelay})
	seedDemo(t)
	secret := randomHex(24)
	inv.AddClient("sandbox-scim-client", secret)
	return &Env{
		Tenant: t, Invicti: inv,
		GraphURL: t.URL, GraphToken: t.Token(), InvictiURL: inv.URL,
		ClientID: "sandbox-scim-client", ClientSecret: secret,
		DemoUser: "alice@contoso.example", DemoGroup: "Invicti Users",
	}
}

// Close stops both emulators.
func (e *Env) Close() {
	e.Tenant.Close()
	e.Invicti.Close()
}

// DemoRegisteredApp is the sandbox's App-registrations app: made without the non-gallery
// template, it cannot provision, and invicti-scim never adopts it.
const DemoRegisteredApp = "Invicti Scanner (app registration)"

// seedDemo is the demo tenant: entratest's demo users and groups plus an app registration.
func seedDemo(t *entratest.Tenant) {
	t.SeedDemo()
	t.AddRegisteredApp(DemoRegisteredApp)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
