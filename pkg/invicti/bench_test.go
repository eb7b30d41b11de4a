package invicti

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// BenchmarkCheck runs the full direct check (token, ServiceProviderConfig,
// user query) against the in-process emulator.
func BenchmarkCheck(b *testing.B) {
	srv := scimtest.New(scimtest.Options{})
	defer srv.Close()
	srv.AddClient(checkClientID, checkSecret)
	for i := 0; i < 1000; i++ {
		srv.AddUser(scimtest.User{UserName: "user" + itoa(i) + "@example.com"})
	}
	c := &Checker{HTTP: &http.Client{Timeout: 10 * time.Second}}
	ep := EndpointsFor(srv.URL)
	ctx := context.Background()
	srv.ResetRequests()
	b.ReportAllocs()
	for b.Loop() {
		if res := c.Check(ctx, ep, goodCred); !res.OK {
			b.Fatalf("check failed: %+v", res.Problem())
		}
	}
	b.ReportMetric(float64(srv.RequestCount())/float64(b.N), "requests/op")
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var buf [20]byte
	n := len(buf)
	for i > 0 {
		n--
		buf[n] = byte('0' + i%10)
		i /= 10
	}
	return string(buf[n:])
}
