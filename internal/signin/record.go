package signin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// RecordFile is the sign-in record's name in the config dir.
const RecordFile = "signin.json"

// recordVersion is the record file's format; a newer one is refused with the fix.
const recordVersion = 1

// maxRecord bounds what Load reads: a record is well under 2 KiB.
const maxRecord = 64 << 10

// Record is what `auth login` keeps in the config dir (mode 0600) so later runs sign in the
// same way without asking: the method, where it signed in, and for a person's sign-in the
// azidentity.AuthenticationRecord that finds the account in the token cache. It holds no
// token or secret: the tokens stay in the OS-protected cache (or nowhere).
type Record struct {
	Version  int       `json:"version"`
	Method   Mode      `json:"method"`
	Cloud    string    `json:"cloud"`              // --cloud name
	LoginURL string    `json:"loginUrl"`           // authority host signed in at
	GraphURL string    `json:"graphUrl"`           // Graph root the scopes name
	ClientID string    `json:"clientId,omitempty"` // public client (browser, device code)
	Tenant   string    `json:"tenant,omitempty"`   // --tenant given at sign-in ("" = organizations)
	TenantID string    `json:"tenantId"`           // the tenant signed in to
	Account  string    `json:"account"`            // UPN, or the app for app-only sign-ins
	Cache    CacheKind `json:"cache"`
	// ExpiresOn is when the access token issued at sign-in expires (the cache refreshes it).
	ExpiresOn time.Time `json:"expiresOn"`
	SavedAt   time.Time `json:"savedAt"`
	// Auth is azidentity's account record (browser and device code only).
	Auth azidentity.AuthenticationRecord `json:"-"`
}

// recordJSON is the file's shape: the azidentity record is optional (azure-cli keeps none),
// and azidentity refuses to decode one without a version.
type recordJSON struct {
	Record
	AuthRecord *azidentity.AuthenticationRecord `json:"authenticationRecord,omitempty"`
}

// Person reports whether the record is a person's browser or device-code sign-in.
func (r *Record) Person() bool { return person(r.Method) }

func newRecord(mode Mode, c *Conn, auth azidentity.AuthenticationRecord, expires time.Time) *Record {
	clientID := ""
	if person(mode) {
		clientID = c.Opts.PublicClientID
		if clientID == "" {
			clientID = graph.DefaultPublicClientID
		}
	}
	return &Record{
		Version: recordVersion, Method: mode, Cloud: c.Cloud.Name, LoginURL: c.Cloud.LoginURL, GraphURL: c.Cloud.GraphURL,
		ClientID: clientID, Tenant: c.Opts.Tenant, TenantID: auth.TenantID, Account: auth.Username, Cache: c.Cache,
		ExpiresOn: expires.UTC(), SavedAt: time.Now().UTC(), Auth: auth,
	}
}

// fits reports whether this run's cloud, hosts, public client and tenant match the record's.
func (r *Record) fits(req Request, c Cloud) bool {
	if !strings.EqualFold(r.Cloud, c.Name) || !strings.EqualFold(r.LoginURL, c.LoginURL) || !strings.EqualFold(r.GraphURL, c.GraphURL) {
		return false
	}
	if r.Person() {
		id := req.GraphClientID
		if id == "" {
			id = graph.DefaultPublicClientID
		}
		if !strings.EqualFold(id, r.ClientID) {
			return false
		}
	}
	t := strings.TrimSpace(req.Tenant)
	return t == "" || strings.EqualFold(t, r.Tenant) || strings.EqualFold(t, r.TenantID)
}

// RecordStore reads and writes the sign-in record in Dir.
type RecordStore struct{ Dir string }

// Path is the record file's path.
func (s RecordStore) Path() string { return filepath.Join(s.Dir, RecordFile) }

// Load reads the record: nil and no error when there is none. A damaged or unknown record is
// an *Error naming the file and the fix (`invicti-scim auth logout`).
func (s RecordStore) Load() (*Record, error) {
	p := s.Path()
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("cannot read the sign-in record %s: %v", p, err), HintText: "fix its permissions, or run `invicti-scim auth logout` to remove it"}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("cannot read the sign-in record %s: %v", p, err), HintText: "run `invicti-scim auth logout` to remove it, then sign in again"}
	}
	damaged := func(why string) error {
		return &Error{Msg: fmt.Sprintf("the sign-in record %s is damaged: %s", p, why), HintText: "run `invicti-scim auth logout` to remove it, then `invicti-scim auth login` to sign in again"}
	}
	if len(b) > maxRecord {
		return nil, damaged(fmt.Sprintf("larger than %d KiB", maxRecord>>10))
	}
	var rj recordJSON
	if err := json.Unmarshal(b, &rj); err != nil {
		return nil, damaged(err.Error())
	}
	r := rj.Record
	switch {
	case r.Version > recordVersion:
		return nil, &Error{Msg: fmt.Sprintf("the sign-in record %s was written by a newer invicti-scim (format %d)", p, r.Version), HintText: "update invicti-scim, or run `invicti-scim auth logout` and sign in again"}
	case r.Version < 1 || !validMode(r.Method):
		return nil, damaged("no format version or sign-in method")
	case r.Person() && (rj.AuthRecord == nil || rj.AuthRecord.HomeAccountID == ""):
		return nil, damaged("a " + string(r.Method) + " sign-in without its account record")
	}
	if rj.AuthRecord != nil {
		r.Auth = *rj.AuthRecord
	}
	return &r, nil
}

// Save writes the record with mode 0600 (the config dir 0700), replacing any other at once.
func (s RecordStore) Save(r *Record) error {
	rj := recordJSON{Record: *r}
	if r.Person() {
		a := r.Auth
		rj.AuthRecord = &a
	}
	b, err := json.MarshalIndent(rj, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("save the sign-in record: %w", err)
	}
	if err := state.WriteFileAtomic(s.Path(), ".signin-*.json", append(b, '\n')); err != nil {
		return fmt.Errorf("save the sign-in record: %w", err)
	}
	return nil
}

// Delete removes the record; it reports whether there was one.
func (s RecordStore) Delete() (bool, error) {
	err := os.Remove(s.Path())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("remove the sign-in record: %w", err)
}
