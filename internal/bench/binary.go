package bench

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StrippedFlags are the release build's size flags (see .goreleaser.yaml).
var StrippedFlags = []string{"-trimpath", "-ldflags=-s -w"}

// buildEnv is the release build's environment (.goreleaser.yaml builds with CGO_ENABLED=0,
// so the binary is static, like the hello world it is compared with).
var buildEnv = []string{"GOWORK=off", "CGO_ENABLED=0"}

// LinkOnlyPackage is a program that links the packages invicti-scim's commands import, runs
// their initialisers and exits: the start-up floor of any command while those dependencies
// stay.
const LinkOnlyPackage = "./internal/bench/cmd/linkonly"

// Binary is one built executable.
type Binary struct {
	Path      string
	Size      int64
	BuildTime time.Duration
}

// BinaryFigures compares invicti-scim's binaries with a hello-world Go program built the
// same way, and the start-up time of `invicti-scim --help` with the hello world's and
// /bin/true's.
type BinaryFigures struct {
	Plain, Stripped           Binary // invicti-scim
	HelloPlain, HelloStripped Binary // package main; func main() { println("hello") }
	LinkOnly                  Binary // LinkOnlyPackage, stripped

	Runs          int
	HelpPlain     time.Duration // median wall time of `invicti-scim --help` (plain build)
	HelpStripped  time.Duration // … (stripped build)
	HelloStart    time.Duration // median of the stripped hello world
	LinkOnlyStart time.Duration // median of LinkOnlyPackage (stripped)
	TrueStart     time.Duration // median of /bin/true (0 when absent)
	// Init is the time package initialisers take in `invicti-scim --help` (stripped), the
	// mean over the runs of GODEBUG=inittrace=1; InitTop the costliest packages.
	Init    time.Duration
	InitTop []PackageInit

	// Text is the machine code in the plain binary (`go tool nm -size`, T symbols); TextTop
	// the modules (or standard-library trees) with the most of it.
	Text    int64
	TextTop []PackageSize

	GoVersion      string
	CGOEnabled     string
	ModuleDir      string
	HelpOutputSize int
}

// ModuleDir finds the main module's directory from the working directory.
func ModuleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the invicti-scim module (go env GOMOD is empty); run from the repository")
	}
	return filepath.Dir(gomod), nil
}

func goEnv(ctx context.Context, key string) string {
	out, _ := exec.CommandContext(ctx, "go", "env", key).Output()
	return strings.TrimSpace(string(out))
}

// build runs go build of pkg in dir with the release environment and returns the binary.
func build(ctx context.Context, dir, pkg, out string, flags ...string) (Binary, error) {
	args := append([]string{"build"}, flags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), buildEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return Binary{}, fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	b := Binary{Path: out, BuildTime: time.Since(start)}
	st, err := os.Stat(out)
	if err != nil {
		return b, err
	}
	b.Size = st.Size()
	return b, nil
}

// helloSource is the baseline program: the smallest Go binary that prints something.
const helloSource = "package main\n\nfunc main() { println(\"hello\") }\n"

// MeasureBinary builds invicti-scim (plain and stripped) from moduleDir and a hello world
// (plain and stripped) in a temporary directory, then times `invicti-scim --help`, the hello
// world and /bin/true, runs times each (after one warm-up run), and keeps the medians.
func MeasureBinary(ctx context.Context, moduleDir string, runs int) (BinaryFigures, error) {
	f := BinaryFigures{Runs: runs, ModuleDir: moduleDir, GoVersion: goEnv(ctx, "GOVERSION"), CGOEnabled: "0"}
	tmp, err := os.MkdirTemp("", "invicti-scim-bench-bin-")
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(tmp)

	hello := filepath.Join(tmp, "hello")
	if err := os.MkdirAll(hello, 0o700); err != nil {
		return f, err
	}
	if err := os.WriteFile(filepath.Join(hello, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o600); err != nil {
		return f, err
	}
	if err := os.WriteFile(filepath.Join(hello, "main.go"), []byte(helloSource), 0o600); err != nil {
		return f, err
	}
	// The four builds run at once (they are not timed figures, and linking is mostly
	// single-threaded); the start-up timings below run alone.
	builds := []struct {
		dst   *Binary
		dir   string
		pkg   string
		name  string
		flags []string
	}{
		{&f.Plain, moduleDir, ".", "invicti-scim-plain", nil},
		{&f.Stripped, moduleDir, ".", "invicti-scim-stripped", StrippedFlags},
		{&f.LinkOnly, moduleDir, LinkOnlyPackage, "linkonly-stripped", StrippedFlags},
		{&f.HelloPlain, hello, ".", "hello-plain", nil},
		{&f.HelloStripped, hello, ".", "hello-stripped", StrippedFlags},
	}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			*b.dst, errs[i] = build(ctx, b.dir, b.pkg, filepath.Join(tmp, b.name), b.flags...)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return f, err
	}

	// Round robin, so that load from elsewhere on the machine hits every program alike.
	progs := []startProg{{path: f.Plain.Path, args: []string{"--help"}}, {path: f.Stripped.Path, args: []string{"--help"}}, {path: f.HelloStripped.Path}, {path: f.LinkOnly.Path}}
	if _, err := os.Stat("/bin/true"); err == nil {
		progs = append(progs, startProg{path: "/bin/true"})
	}
	if err := roundRobin(ctx, runs, progs); err != nil {
		return f, err
	}
	f.HelpPlain, f.HelpStripped, f.HelloStart, f.LinkOnlyStart = Median(progs[0].times), Median(progs[1].times), Median(progs[2].times), Median(progs[3].times)
	f.HelpOutputSize = len(progs[0].out)
	if len(progs) > 4 {
		f.TrueStart = Median(progs[4].times)
	}
	if f.Init, f.InitTop, err = initTrace(ctx, runs, f.Stripped.Path, "--help"); err != nil {
		return f, err
	}
	if f.Text, f.TextTop, err = textBySource(ctx, f.Plain.Path); err != nil {
		return f, err
	}
	return f, nil
}

type startProg struct {
	path  string
	args  []string
	times []time.Duration
	out   []byte
}

// roundRobin runs every program once to warm the page cache (not counted), then runs times
// each, one program after the other, with an empty stdin and no terminal, recording the
// wall time from fork to exit.
func roundRobin(ctx context.Context, runs int, progs []startProg) error {
	env := append(os.Environ(), "NO_COLOR=1", "INVICTI_SCIM_NON_INTERACTIVE=1")
	for i := 0; i <= max(runs, 1); i++ {
		for k := range progs {
			p := &progs[k]
			cmd := exec.CommandContext(ctx, p.path, p.args...) //nolint:gosec // G204: runs the binaries this harness just built
			cmd.Env = env
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err := cmd.Run()
			d := time.Since(start)
			if err != nil {
				return fmt.Errorf("%s %s: %w\n%s", p.path, strings.Join(p.args, " "), err, out.String())
			}
			if i > 0 {
				p.times = append(p.times, d)
			}
			p.out = out.Bytes()
		}
	}
	return nil
}

// Median is the middle value (the mean of the two middle values for an even count).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// PackageInit is one package's initialisation time.
type PackageInit struct {
	Package string
	Clock   time.Duration
}

// initTrace runs a program with GODEBUG=inittrace=1 and returns the mean total init clock
// time and the three costliest packages (mean per run).
func initTrace(ctx context.Context, runs int, path string, args ...string) (time.Duration, []PackageInit, error) {
	per := map[string]time.Duration{}
	var total time.Duration
	for i := 0; i < runs; i++ {
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", "NO_COLOR=1", "INVICTI_SCIM_NON_INTERACTIVE=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return 0, nil, fmt.Errorf("%s with GODEBUG=inittrace=1: %w", path, err)
		}
		// "init internal/bytealg @0.008 ms, 0.005 ms clock, 0 bytes, 0 allocs"
		for _, line := range strings.Split(stderr.String(), "\n") {
			fs := strings.Fields(line)
			if len(fs) < 7 || fs[0] != "init" || fs[6] != "clock," {
				continue
			}
			ms, err := strconv.ParseFloat(fs[4], 64)
			if err != nil {
				continue
			}
			d := time.Duration(ms * float64(time.Millisecond))
			per[fs[1]] += d
			total += d
		}
	}
	var top []PackageInit
	for p, d := range per {
		top = append(top, PackageInit{Package: p, Clock: d / time.Duration(runs)})
	}
	slices.SortFunc(top, func(a, b PackageInit) int { return cmp.Compare(b.Clock, a.Clock) })
	return total / time.Duration(runs), top[:min(3, len(top))], nil
}

// PackageSize is how much machine code one module (or standard-library tree) contributes.
type PackageSize struct {
	Source string // e.g. github.com/microsoftgraph/msgraph-sdk-go, or std:crypto
	Bytes  int64
}

// textBySource sums the sizes of the text symbols of a binary with symbols (`go tool nm
// -size`) by module: the first three path elements for a host-named path, else the first
// element of a standard-library path. It returns the total and the three largest.
func textBySource(ctx context.Context, path string) (int64, []PackageSize, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "nm", "-size", path).Output()
	if err != nil {
		return 0, nil, fmt.Errorf("go tool nm -size %s: %w", path, err)
	}
	per := map[string]int64{}
	var total int64
	for _, line := range strings.Split(string(out), "\n") {
		// "  a04de0      49866 T github.com/microsoftgraph/msgraph-sdk-go/models.CreateEntityFromDiscriminatorValue"
		fs := strings.Fields(line)
		if len(fs) < 4 || (fs[2] != "T" && fs[2] != "t") {
			continue
		}
		size, err := strconv.ParseInt(fs[1], 10, 64)
		if err != nil {
			continue
		}
		total += size
		per[symbolSource(strings.Join(fs[3:], " "))] += size
	}
	var top []PackageSize
	for src, n := range per {
		top = append(top, PackageSize{Source: src, Bytes: n})
	}
	slices.SortFunc(top, func(a, b PackageSize) int { return cmp.Compare(b.Bytes, a.Bytes) })
	return total, top[:min(3, len(top))], nil
}

// symbolSource maps a symbol to its module: "github.com/a/b/c.F" → "github.com/a/b",
// "crypto/tls.(*Conn).Read" → "std:crypto".
func symbolSource(sym string) string {
	pkg := sym
	if i := strings.IndexByte(pkg, '['); i >= 0 { // type arguments name other packages
		pkg = pkg[:i]
	}
	// The package path ends at the first '.' after the last '/'.
	slash := strings.LastIndexByte(pkg, '/')
	if dot := strings.IndexByte(pkg[slash+1:], '.'); dot >= 0 {
		pkg = pkg[:slash+1+dot]
	}
	parts := strings.Split(pkg, "/")
	if strings.Contains(parts[0], ".") {
		return strings.Join(parts[:min(3, len(parts))], "/")
	}
	return "std:" + parts[0]
}
