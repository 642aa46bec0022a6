package bolt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/eitaxii/eitaxii/internal/durable"
	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Offline operations: the commands that work on a store file while no
// server runs (eitaxii backup --data-dir, restore, check). Every file they
// write goes through a temporary file in the same directory that is
// synced, verified and only then renamed into place, so a failed or
// interrupted run never leaves a partial file under the final name.

// ErrLocked is returned (wrapped) when another process, a running server,
// holds the lock of a store file: by Open once its LockTimeout has passed,
// and by Lock, Check and Restore. Callers test with errors.Is.
var ErrLocked = errors.New("the store is locked by another process")

// OfflineLockTimeout is how long Lock, Check and Restore wait for the lock
// of a store file. A server holds it for as long as it runs, so a short
// wait is enough to tell a live store.
const OfflineLockTimeout = 500 * time.Millisecond

// lockedError is bbolt's lock timeout, reported as ErrLocked with bbolt's
// own text.
type lockedError struct{ err error }

func (e *lockedError) Error() string        { return e.err.Error() }
func (e *lockedError) Unwrap() error        { return e.err }
func (e *lockedError) Is(target error) bool { return target == ErrLocked }

// locked returns err, marked as ErrLocked if it is bbolt's lock timeout.
func locked(err error) error {
	if errors.Is(err, berrors.ErrTimeout) {
		return &lockedError{err}
	}
	return err
}

// Lock takes a shared lock on the store file at path, which fails with
// ErrLocked while a server holds it, and returns its release. A file that
// is not a store (a damaged one being replaced) cannot be locked this way
// and is not in use either: release is then a no-op and err nil.
func Lock(path string) (release func(), err error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: OfflineLockTimeout})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%s: %w", path, locked(err))
	case err != nil:
		return func() {}, nil
	}
	return func() { db.Close() }, nil
}

// Check opens the store file at path, runs Verify, counts its contents
// with Stats and closes it. It never creates a file: a missing one is an
// error wrapping os.ErrNotExist. A file a server holds is ErrLocked; a
// file of another layout version wraps store.ErrUnknownSchema. problems
// lists what Verify found (none means healthy).
func Check(ctx context.Context, path string) (problems []string, stats store.Stats, err error) {
	if _, err := os.Stat(path); err != nil {
		return nil, stats, err
	}
	db, err := Open(path, Options{LockTimeout: OfflineLockTimeout})
	if err != nil {
		return nil, stats, err
	}
	problems, err = db.Verify(ctx)
	if err == nil {
		stats, err = db.Stats(ctx)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return problems, stats, err
}

// SaveCopy writes a store file to path: fill writes it to path.tmp (a
// leftover of an earlier run is replaced), which is synced, handed to
// verify, and renamed to path only if verify returns nil. It returns the
// bytes fill wrote. On any error path.tmp is removed and path untouched,
// except when only the directory's sync failed (see durable.Rename); an
// error of fill or verify is returned as it is.
func SaveCopy(path string, fill func(io.Writer) (int64, error), verify func(tmp string) error) (int64, error) {
	tmp := path + ".tmp"
	n, err := writeSynced(tmp, fill)
	if err != nil {
		return n, err
	}
	if err := verify(tmp); err != nil {
		os.Remove(tmp)
		return n, err
	}
	if err := durable.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return n, err
	}
	return n, nil
}

// Restore installs a copy of the file src as the store file target. The
// copy is made next to target, as target.restore.tmp, so that the final
// rename is atomic, synced, and handed to verify (src itself is never
// opened as a store: opening writes to it); an error of verify stops the
// restore and is returned as it is. Then, holding target's lock (ErrLocked
// while a server holds it), an existing target is kept as keep, by a hard
// link where possible so that there is no moment without a store (a
// server started then would create an empty one), and the copy is renamed
// over target. A keep that already exists is an error wrapping
// os.ErrExist. It returns the bytes copied and keep if the old store was
// kept, else "".
func Restore(src, target, keep string, verify func(tmp string) error) (n int64, kept string, err error) {
	tmp := target + ".restore.tmp"
	n, err = writeSynced(tmp, func(w io.Writer) (int64, error) {
		f, err := os.Open(src)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		return io.Copy(w, f)
	})
	if err != nil {
		return n, "", err
	}
	defer os.Remove(tmp) // a no-op once renamed
	if err := verify(tmp); err != nil {
		return n, "", err
	}

	release, err := Lock(target)
	if err != nil {
		return n, "", err
	}
	defer release()
	if _, err := os.Lstat(target); err == nil {
		kept = keep
		if err := os.Link(target, keep); err != nil {
			if errors.Is(err, os.ErrExist) {
				return n, "", &keepExistsError{keep}
			}
			if err := os.Rename(target, keep); err != nil {
				return n, "", fmt.Errorf("keep the old store as %s: %w", keep, err)
			}
		}
	}
	if err := durable.Rename(tmp, target); err != nil {
		return n, "", err
	}
	return n, kept, nil
}

// keepExistsError is Restore's error when the name to keep the old store
// under is taken.
type keepExistsError struct{ keep string }

func (e *keepExistsError) Error() string {
	return "keep the old store: " + e.keep + " already exists; try again in a second"
}
func (e *keepExistsError) Is(target error) bool { return target == os.ErrExist }

// writeSynced creates path (replacing a leftover of an earlier run), fills
// it, and syncs it to disk (durable.Fill). On failure it removes the file.
func writeSynced(path string, fill func(io.Writer) (int64, error)) (n int64, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	err = durable.Fill(f, func(w io.Writer) (err error) {
		n, err = fill(w)
		return err
	})
	return n, err
}
