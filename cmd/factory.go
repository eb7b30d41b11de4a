package cmd

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/httpx"
	"github.com/invicti-scim/invicti-scim/internal/iostreams"
	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/sandbox"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// BuildInfo is stamped by the release build.
type BuildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
}

// Factory hands commands their dependencies. Everything that does I/O is built lazily, so
// --help, version and flag errors never sign in or dial.
type Factory struct {
	IO     *iostreams.IOStreams
	Build  BuildInfo
	Getenv func(string) string
	// Unsetenv removes a variable from the environment child processes inherit (os.Unsetenv;
	// nil in tests: nothing to remove).
	Unsetenv  func(string) error
	Now       func() time.Time
	Transport http.RoundTripper // base transport; tests may replace it

	// Global flag values, bound by the root command.
	Output         string
	Debug          bool
	NonInteractive bool
	Accessible     bool
	NoColor        bool
	ConfigDir      string
	Timeout        time.Duration
	RequestTimeout time.Duration
	// WaitLock is how long a writing command waits for another run's config-dir lock (--wait-lock).
	WaitLock time.Duration

	// writes is set for commands that change the tenant or the state: they take the lock.
	writes bool
	lock   *state.Lock
	// timedOut reports whether --timeout (not one request's --request-timeout) ended the command.
	timedOut func() bool

	// jsonDone is set once a command printed its JSON document, so errors do not add a second;
	// jsonDoc is that document until the run ends and finishJSON writes it (cmd/jsondoc.go).
	jsonDone bool
	jsonDoc  []byte
	sandbox  *sandbox.Env
	// cleanups stop in-process emulators started by --sandbox.
	cleanups []func()
	// configDirTemporary: ConfigDir is setup --sandbox's own, removed when the run ends, so
	// nothing in it may be pointed at as a file to keep.
	configDirTemporary bool
}

func newFactory(build BuildInfo) *Factory {
	getenv := envSnapshot(os.Environ())
	return &Factory{
		IO:       iostreams.System(getenv),
		Build:    build,
		Getenv:   getenv,
		Unsetenv: os.Unsetenv,
		Now:      time.Now,
	}
}

// secretEnv are the tool's own secret variables, taken out of the process environment once
// read so no child process sees them.
var secretEnv = []string{"INVICTI_SCIM_CLIENT_SECRET", "INVICTI_SCIM_GRAPH_TOKEN"}

// envSnapshot is a getenv over the environment as it was at start-up.
func envSnapshot(environ []string) func(string) string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if _, dup := m[k]; !dup {
				m[k] = v
			}
		}
	}
	return func(k string) string { return m[k] }
}

// JSON reports whether -o json was asked for.
func (f *Factory) JSON() bool { return f.Output == "json" }

// CanPrompt reports whether the wizard may ask questions.
func (f *Factory) CanPrompt() bool {
	return !f.NonInteractive && f.IO.CanPrompt()
}

// Store is the state store in the config dir.
func (f *Factory) Store() (state.Store, error) {
	dir := f.ConfigDir
	if dir == "" {
		d, err := state.DefaultDir(f.Getenv)
		if err != nil {
			return state.Store{}, err
		}
		dir = d
	}
	return state.Store{Dir: dir, Now: f.Now}, nil
}

// loadState opens the state store and reads it. A command that writes (see writingCommand)
// first takes the config dir's lock and holds it until the process ends, so two runs cannot
// interleave their Graph writes and state saves (two setups would make two apps).
func (f *Factory) loadState(ctx context.Context) (state.Store, state.State, error) {
	store, err := f.Store()
	if err != nil {
		return store, state.State{}, err
	}
	if f.writes && f.lock == nil {
		l, err := store.Lock(ctx, f.WaitLock)
		if err != nil {
			return store, state.State{}, err
		}
		f.lock = l
		f.addCleanup(func() { _ = l.Unlock() })
	}
	st, err := store.Load()
	return store, st, err
}

// MaxResponseBytes bounds every HTTP answer the tool reads (docs/security.md): the largest
// real ones are Graph pages of 999 directory objects, a few MiB. Invicti answers have their
// own 1 MiB limit in pkg/invicti.
const MaxResponseBytes = 32 << 20

// HTTPClient returns a client for Invicti or Graph calls: the debug tracer when --debug, and
// for Graph the throttling retry. Every client refuses redirects and bounds answers.
func (f *Factory) HTTPClient(retry bool, onWait func(*http.Request, int, time.Duration)) *http.Client {
	rt := f.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	rt = &httpx.Limit{Next: rt, Max: MaxResponseBytes}
	if f.Debug {
		rt = &httpx.Tracer{Next: rt, Out: f.IO.ErrOut, Redactor: f.IO.Redactor, Now: f.Now}
	}
	if retry {
		return &http.Client{Transport: &httpx.Retry{Next: rt, OnWait: onWait, AttemptTimeout: f.requestTimeout(), Resend: graphResend}, CheckRedirect: httpx.RefuseRedirects}
	}
	return &http.Client{Transport: rt, Timeout: f.requestTimeout(), CheckRedirect: httpx.RefuseRedirects}
}

// graphResend says which Graph requests the transport may send again after a 503 or 504:
// reads and idempotent methods, plus two POSTs that are safe twice: validateCredentials (a
// check that changes nothing) and $batch (reads, and app role assignments whose duplicate Graph
// refuses as "already exists", which assign counts as done). Creates (instantiate, a new job)
// and start are not resent; the use case looks before it sends again.
func graphResend(req *http.Request) bool {
	if httpx.SafeToResend(req) {
		return true
	}
	p := req.URL.Path
	return req.Method == http.MethodPost && (strings.HasSuffix(p, "/validateCredentials") || strings.HasSuffix(p, "/$batch"))
}

// Checker is the direct Invicti check, over the same traced HTTP client as everything else.
func (f *Factory) Checker() *provision.Invicti {
	return provision.NewInvicti(f.HTTPClient(false, nil), f.Now)
}

func (f *Factory) requestTimeout() time.Duration {
	if f.RequestTimeout > 0 {
		return f.RequestTimeout
	}
	return 60 * time.Second
}

func (f *Factory) addCleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func (f *Factory) cleanup() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

// context applies --timeout to a command's context.
func (f *Factory) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.Timeout > 0 {
		ctx, cancel := context.WithTimeout(ctx, f.Timeout)
		f.timedOut = func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
		return ctx, cancel
	}
	return context.WithCancel(ctx)
}

// unsetenv removes k from the environment child processes inherit (see Unsetenv).
func (f *Factory) unsetenv(k string) {
	if f.Unsetenv != nil {
		_ = f.Unsetenv(k)
	}
}
