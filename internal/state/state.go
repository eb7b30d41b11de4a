// Package state remembers what setup created, so re-runs find it again. It holds ids and
// URLs only, never a secret, in a 0600 file.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// FileName is the state file inside the config dir.
const FileName = "state.json"

// State is everything the tool remembers between runs.
type State struct {
	Version int      `json:"version"`
	Cloud   string   `json:"cloud,omitempty"`
	Tenant  string   `json:"tenantId,omitempty"`
	App     *App     `json:"app,omitempty"`
	Invicti *Invicti `json:"invicti,omitempty"`
	Setup   Setup    `json:"setup"`
	// Manifest is the manifest `apply -f` last applied here (nil: none), for drift.
	Manifest *Manifest `json:"manifest,omitempty"`
	Updated  time.Time `json:"updatedAt"`
}

// Manifest records the last applied manifest: its file, SHA-256 and time, and the
// assignments it stood for (resolved to object ids), so status can tell when the tenant
// drifted from it without reading the file or the secret again.
type Manifest struct {
	Path        string      `json:"path"`
	SHA256      string      `json:"sha256"`
	AppliedAt   time.Time   `json:"appliedAt"`
	Tenant      string      `json:"tenant,omitempty"`
	Assignments []Principal `json:"assignments,omitempty"`
	// LeftInPlace are the assignments the manifest does not name that apply saw and left in
	// place (it ran without --prune): prune candidates, not drift. One assigned later is not
	// here, and is drift. A record written before this field existed has none, so every
	// assignment besides the manifest counts as added since until the next apply.
	LeftInPlace []Principal `json:"leftInPlace,omitempty"`
}

// Principal is one assigned user or group.
type Principal struct {
	ID   string `json:"id"`
	Type string `json:"type"` // user or group
	Name string `json:"name"` // as the manifest names it
}

// App identifies the Entra enterprise app.
type App struct {
	DisplayName        string `json:"displayName"`
	ApplicationID      string `json:"applicationId"`
	AppID              string `json:"appId"`
	ServicePrincipalID string `json:"servicePrincipalId"`
	JobID              string `json:"jobId,omitempty"`
	AppRoleID          string `json:"appRoleId,omitempty"`
	// CreatedAt is when this tool created the app (zero when it adopted an existing one):
	// a young app that 404s is still replicating, an old one was deleted.
	CreatedAt time.Time `json:"createdAt,omitempty"`
	// ClaimsPolicyID is the claims-mapping policy `sso --claims` made and assigned to this app
	// ("" when none): teardown deletes it by this id when the app was deleted elsewhere.
	ClaimsPolicyID string `json:"claimsPolicyId,omitempty"`
}

// Invicti identifies the Invicti side (no secret).
type Invicti struct {
	Region        string `json:"region"`
	BaseURL       string `json:"baseUrl"`
	TenantURL     string `json:"tenantUrl"`
	TokenEndpoint string `json:"tokenEndpoint"`
	ClientID      string `json:"clientId"`
}

// Setup records how far setup got, so an interrupted run can say where it resumes.
type Setup struct {
	LastStep      string `json:"lastStep,omitempty"`
	Completed     bool   `json:"completed"`
	GuidedPending bool   `json:"guidedPending,omitempty"`
	SecretsKeySet string `json:"secretsKeySet,omitempty"`
	// SettingsWriter is how the settings got into Entra: secrets, connectivity (the
	// experimental beta endpoint, then Experimental is set) or portal.
	SettingsWriter string `json:"settingsWriter,omitempty"`
	Experimental   bool   `json:"experimental,omitempty"`
	CompletedSteps int    `json:"completedSteps,omitempty"`
	// Pending is a create that was sent but whose answer may never have arrived (the process
	// was killed): a re-run waits for the object to appear before creating a twin.
	Pending *Pending `json:"pending,omitempty"`
}

// Pending records an in-flight create.
type Pending struct {
	Op                 string    `json:"op"` // instantiate, create-job
	Name               string    `json:"name,omitempty"`
	ServicePrincipalID string    `json:"servicePrincipalId,omitempty"`
	At                 time.Time `json:"at"`
}

// Store reads and writes the state file in one directory.
type Store struct {
	Dir string
	Now func() time.Time
}

// Path is the state file's path.
func (s Store) Path() string { return filepath.Join(s.Dir, FileName) }

// Load reads the state; a missing file is an empty state.
func (s Store) Load() (State, error) {
	data, err := readBounded(s.Path(), MaxStateBytes)
	if errors.Is(err, os.ErrNotExist) {
		return State{Version: 1}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("state file %s is damaged (%w); move it away and re-run setup: it finds the app again by its tag", s.Path(), err)
	}
	return st, nil
}

// Save writes the state atomically with mode 0600 (directory 0700).
func (s Store) Save(st State) error {
	if err := s.ensureDir(); err != nil {
		return err
	}
	st.Version = 1
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	st.Updated = now().UTC()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(s.Path(), ".state-*.json", append(data, '\n')); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// WriteFileAtomic writes data to path with mode 0600 through a temporary file (named by
// pattern, as os.CreateTemp takes it) in the same directory, synced and renamed over path: a
// crash leaves the old file or the new one, never half of either. CreateTemp makes the file
// 0600 already; Chmod says so for umasks and filesystems that ignore the create mode.
func WriteFileAtomic(path, pattern string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// MaxStateBytes bounds the state file: it holds a handful of ids and URLs (under 2 KiB), so
// anything near this size is not ours and is refused instead of read whole.
const MaxStateBytes = 1 << 20

// readBounded reads a regular file of at most limit bytes. A FIFO, device or directory in its
// place is refused without opening it (opening a FIFO blocks until a writer comes, and
// /dev/zero never ends), and a larger file is an error naming the limit.
func readBounded(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d bytes a state file can be", path, fi.Size(), limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is more than the %d bytes a state file can be", path, limit)
	}
	return data, nil
}

// TooLargeError is a file longer than the limit ReadFileLimited was given.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string { return fmt.Sprintf("larger than %d KiB", e.Limit>>10) }

// ReadFileLimited reads a file a person named (a flag, a manifest entry, a wizard answer), at
// most limit bytes. Pipes and other non-regular files stay allowed (--client-secret-file
// <(pass show invicti) is a good habit), so the bound, not the file type, is what stops
// /dev/zero or a runaway file from filling memory. A file that cannot be opened is the
// *os.PathError's own error (the caller names the file in its own words); a read error is
// returned as it is; a longer file is a *TooLargeError.
func ReadFileLimited(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, pathErr(err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return data, nil
}

// ensureDir creates the config dir with mode 0700, and tightens an existing one that others
// can read or enter: it holds which tenant and app this admin manages, and the lock.
func (s Store) ensureDir() error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	if runtime.GOOS == "windows" {
		// Windows has ACLs, not mode bits; the user profile's ACL already applies.
		return nil
	}
	fi, err := os.Stat(s.Dir)
	if err != nil {
		return fmt.Errorf("config dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("config dir %s is not a directory", s.Dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(s.Dir, 0o700); err != nil { //nolint:gosec // G302: a directory needs its x bit; 0700 is owner-only
			return fmt.Errorf("config dir %s is open to other users (mode %04o) and could not be set to 0700: %w", s.Dir, fi.Mode().Perm(), err)
		}
	}
	return nil
}

// Remove deletes the state file; a missing file is fine. removed reports whether there was
// one, so a second teardown never claims to have removed what was already gone.
func (s Store) Remove() (removed bool, err error) {
	err = os.Remove(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// DefaultDir is $INVICTI_SCIM_CONFIG_DIR, else $XDG_CONFIG_HOME/invicti-scim, else the
// platform's user config dir.
func DefaultDir(getenv func(string) string) (string, error) {
	if d := getenv("INVICTI_SCIM_CONFIG_DIR"); d != "" {
		return d, nil
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "invicti-scim"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "invicti-scim"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config dir: set --config-dir or INVICTI_SCIM_CONFIG_DIR")
	}
	return filepath.Join(d, "invicti-scim"), nil
}
