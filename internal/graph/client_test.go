package graph

import "testing"

func TestValidateRootURLLoopbackOnlyForHTTP(t *testing.T) {
	ok := map[string]string{
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"http://127.5.6.7:1/v1.0":     "http://127.5.6.7:1",
		"http://[::1]:9000/":          "http://[::1]:9000",
		"http://localhost:1":          "http://localhost:1",
		"http://LOCALHOST:1":          "http://LOCALHOST:1",
		"https://graph.microsoft.com": "https://graph.microsoft.com",
	}
	for in, want := range ok {
		got, err := ValidateRootURL(in)
		if err != nil || got != want {
			t.Errorf("ValidateRootURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"http://127.attacker.example",
		"http://127.0.0.1.nip.io:8080",
		"http://localhost.attacker.example",
		"http://128.0.0.1",
		"http://10.0.0.1",
		"http://[::2]:80",
		"http://0x7f000001",
		"http://graph.microsoft.com",
	} {
		if got, err := ValidateRootURL(in); err == nil {
			t.Errorf("ValidateRootURL(%q) = %q, want an error: plain http to a non-loopback host", in, got)
		}
	}
}

func TestIsMicrosoftGraphHost(t *testing.T) {
	for in, want := range map[string]bool{
		"https://graph.microsoft.com":              true,
		"https://GRAPH.microsoft.us":               true,
		"https://microsoftgraph.chinacloudapi.cn":  true,
		"https://graph.microsoft.com.evil.example": false,
		"https://proxy.contoso.example":            false,
		"http://127.0.0.1:1":                       false,
	} {
		if got := IsMicrosoftGraphHost(in); got != want {
			t.Errorf("IsMicrosoftGraphHost(%q) = %v, want %v", in, got, want)
		}
	}
}
