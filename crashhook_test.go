package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// killAfterEnv is read only by this test binary when it runs as invicti-scim (the released
// binary never looks at it): "METHOD PATH-REGEXP N SIGNAL" sends SIGNAL to the process itself
// the moment it has read the answer to the N-th request matching METHOD and PATH-REGEXP. That
// is the crash point that matters: the service applied the write, the tool has the answer but
// has not recorded it yet.
const killAfterEnv = "INVICTI_SCIM_TEST_KILL_AFTER"

// killTransportFromEnv is the base transport for a run under the crash tests, or nil.
func killTransportFromEnv() http.RoundTripper {
	spec := os.Getenv(killAfterEnv)
	if spec == "" {
		return nil
	}
	f := strings.Fields(spec)
	if len(f) != 4 {
		panic(killAfterEnv + ": want METHOD PATH-REGEXP N SIGNAL, got " + spec)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil || n < 1 {
		panic(killAfterEnv + ": bad N " + f[2])
	}
	sig, ok := map[string]syscall.Signal{"KILL": syscall.SIGKILL, "INT": syscall.SIGINT}[f[3]]
	if !ok {
		panic(killAfterEnv + ": signal must be KILL or INT, got " + f[3])
	}
	return &killTransport{next: http.DefaultTransport, method: f[0], path: regexp.MustCompile(f[1]), nth: int32(n), sig: sig}
}

type killTransport struct {
	next   http.RoundTripper
	method string
	path   *regexp.Regexp
	nth    int32
	seen   atomic.Int32
	sig    syscall.Signal
}

func (k *killTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := k.next.RoundTrip(req)
	if err != nil || req.Method != k.method || !k.path.MatchString(req.URL.Path) || k.seen.Add(1) != k.nth {
		return resp, err
	}
	resp.Body = &killOnDone{ReadCloser: resp.Body, sig: k.sig}
	return resp, nil
}

// killOnDone signals the process once the body is read to the end or closed: the tool has the
// whole answer in hand.
type killOnDone struct {
	io.ReadCloser
	sig  syscall.Signal
	once sync.Once
}

func (b *killOnDone) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.fire()
	}
	return n, err
}

func (b *killOnDone) Close() error {
	err := b.ReadCloser.Close()
	b.fire()
	return err
}

func (b *killOnDone) fire() {
	b.once.Do(func() {
		if err := syscall.Kill(os.Getpid(), b.sig); err != nil {
			panic(fmt.Sprintf("kill self: %v", err))
		}
	})
}
