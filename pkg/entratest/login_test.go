package entratest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestLoginRefreshToken: a device-code sign-in's refresh token buys new tokens for the client
// it was issued to only, as Entra's refresh grant does; an unknown one is refused.
func TestLoginRefreshToken(t *testing.T) {
	ten := New(Options{})
	defer ten.Close()
	l := ten.StartLogin()
	defer l.Close()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(l.CertPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	post := func(path string, form url.Values) (int, map[string]any) {
		t.Helper()
		res, err := hc.Post(l.URL+"/organizations/oauth2/v2.0/"+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, body
	}
	const client = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
	_, dc := post("devicecode", url.Values{"client_id": {client}, "scope": {"User.Read offline_access"}})
	code, tok := post("token", url.Values{"grant_type": {"device_code"}, "client_id": {client}, "device_code": {dc["device_code"].(string)}})
	rt, _ := tok["refresh_token"].(string)
	if code != http.StatusOK || rt == "" {
		t.Fatalf("device code: %d %v", code, tok)
	}
	if code, body := post("token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"another-client"}, "refresh_token": {rt}}); code != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("another client's refresh: %d %v", code, body)
	}
	code, next := post("token", url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {rt}})
	if code != http.StatusOK || next["access_token"] == "" || next["refresh_token"] == rt || next["scope"] != "User.Read" {
		t.Fatalf("refresh: %d %v", code, next)
	}
	if code, body := post("token", url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {"rt-unknown"}}); code != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("an unknown refresh token: %d %v", code, body)
	}
}
