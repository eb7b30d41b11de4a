package invicti

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// transportProblem explains a request that got no HTTP answer.
func transportProblem(err error, ep Endpoints, target string) *Problem {
	host, port := hostPort(target)
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		reason := dnsErr.Err
		if dnsErr.IsNotFound {
			reason = "no such host"
		} else if dnsErr.IsTimeout {
			reason = "the DNS server did not answer in time"
		}
		if dnsErr.Name != "" {
			host = dnsErr.Name
		}
		return &Problem{
			Kind:    ProblemDNS,
			Message: fmt.Sprintf("cannot resolve %s (%s)", host, reason),
			Fix:     "Check the region or URL (" + ep.BaseURL + "). Invicti's hosts are platform.invicti.com (us), platform-eu.invicti.com (eu) and platform-ca.invicti.com (ca); an on-premises host must resolve in public DNS, because Microsoft Entra's cloud service calls it.",
		}
	case isTLSError(err):
		return tlsProblem(err, host)
	case errors.Is(err, context.Canceled):
		return &Problem{
			Kind:    ProblemCanceled,
			Message: "the check was cancelled before " + host + " answered",
			Fix:     "Run the check again and let it finish.",
		}
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return &Problem{
			Kind:    ProblemTimeout,
			Message: "no answer from " + host,
			Fix:     "Check that " + host + " is reachable from here (proxy, firewall, VPN). If Invicti's \"Restrict access to IP address\" is on, it also applies to client credentials: allow this machine's and Microsoft Entra's outbound IP addresses.",
		}
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(strings.ToLower(err.Error()), "connection refused") ||
		strings.Contains(strings.ToLower(err.Error()), "actively refused"):
		return &Problem{
			Kind:    ProblemConnection,
			Message: fmt.Sprintf("%s refused the connection", net.JoinHostPort(host, port)),
			Fix:     "Check the URL and port (" + ep.BaseURL + "): is the Invicti Platform running and listening there?",
		}
	}
	return &Problem{
		Kind:    ProblemConnection,
		Message: fmt.Sprintf("the connection to %s failed (%s)", host, shown(transportDetail(err))),
		Fix:     "Check network access to " + host + " (proxy, firewall, VPN) and try again.",
	}
}

func hostPort(target string) (host, port string) {
	u, err := url.Parse(target)
	if err != nil {
		return target, ""
	}
	host, port = u.Hostname(), u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return host, port
}

func isTLSError(err error) bool {
	var (
		cve  *tls.CertificateVerificationError
		uae  x509.UnknownAuthorityError
		he   x509.HostnameError
		cie  x509.CertificateInvalidError
		rhe  tls.RecordHeaderError
		alrt tls.AlertError
		ece  *tls.ECHRejectionError
	)
	return errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &cie) ||
		errors.As(err, &rhe) || errors.As(err, &alrt) || errors.As(err, &ece) ||
		strings.Contains(err.Error(), "tls: ") || strings.Contains(err.Error(), "x509: ")
}

func tlsProblem(err error, host string) *Problem {
	var (
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		rhe tls.RecordHeaderError
	)
	fix := "Microsoft Entra's provisioning service calls Invicti from the cloud and trusts only publicly trusted certificates: an on-premises Invicti needs a certificate from a public CA, valid for " + host + ", with the full chain installed."
	var reason string
	switch {
	case errors.As(err, &rhe) || errors.Is(err, http.ErrSchemeMismatch):
		return &Problem{
			Kind:    ProblemTLS,
			Message: host + " did not answer with TLS (is it plain http, or the wrong port?)",
			Fix:     "Use the https port of the Invicti Platform, or check the port number in the URL.",
		}
	case errors.As(err, &uae):
		reason = "the certificate is not signed by a trusted authority (self-signed or a private CA)"
	case errors.As(err, &he):
		reason = "the certificate is not valid for " + host
	case errors.As(err, &cie):
		if cie.Reason == x509.Expired {
			reason = "the certificate has expired or is not yet valid"
		} else {
			reason = "the certificate is invalid: " + cie.Error()
		}
	default:
		reason = "the TLS handshake failed: " + transportDetail(err)
	}
	return &Problem{Kind: ProblemTLS, Message: "TLS certificate problem with " + host + ": " + shown(reason), Fix: fix}
}
