package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// NotOursError means an output file a person named already exists and holds something the
// tool did not write there (its first bytes are not what Ours recognises), so writing would
// destroy it.
type NotOursError struct {
	What string // what the tool would have written, e.g. "a sandbox env file"
}

func (e *NotOursError) Error() string {
	return fmt.Sprintf("the file exists and is not %s; name a new file, or remove this one first", e.What)
}

// CheckOutputFile is the one check for a file a flag asks the tool to write (--env-file,
// --cert-out), made before the run changes anything, so a typo in the path cannot fail the
// run after the tenant was changed, and the tool never overwrites a file it did not write:
//
//   - the directory must exist (error "the directory D does not exist");
//   - the path must not be a directory;
//   - an existing regular file that is not empty must be one ours recognises from its first
//     4 KiB (else *NotOursError, what naming it), and must be writable;
//   - a new file must be creatable in the directory (checked with a temporary file, removed).
//
// Existing devices and pipes (/dev/stdout) are accepted as they are. The errors do not name
// the path: the caller names its flag and the path.
func CheckOutputFile(path, what string, ours func(head []byte) bool) error {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("the directory %s does not exist", dir)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		tmp, err := os.CreateTemp(dir, ".invicti-scim-check-*")
		if err != nil {
			return fmt.Errorf("cannot create a file in %s: %w", dir, pathErr(err))
		}
		name := tmp.Name()
		_ = tmp.Close()
		return os.Remove(name)
	case err != nil:
		return pathErr(err)
	case fi.IsDir():
		return errors.New("is a directory; name a file")
	case !fi.Mode().IsRegular():
		return nil
	}
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cannot write the file: %w", pathErr(err))
	}
	defer fh.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(fh, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return pathErr(err)
	}
	if n > 0 && ours != nil && !ours(head[:n]) {
		return &NotOursError{What: what}
	}
	return nil
}

// pathErr drops the *os.PathError's operation and path: callers name the file themselves.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
