// Package durable makes a file's replacement survive a crash. A renamed
// file is in place for every reader at once, but the rename itself is
// written to disk only when its directory is synced; until then a crash
// can bring back the old name.
package durable

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile replaces path with what fill writes, so that after a crash
// path holds its old bytes or the new ones, never a mix: fill writes a new
// temporary file of mode perm in path's directory, which is synced and
// renamed over path (see Rename). On error the temporary file is removed
// and path left as it was, unless only the directory's sync failed.
func WriteFile(path string, perm os.FileMode, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	if err := Fill(tmp, func(w io.Writer) error {
		if err := tmp.Chmod(perm); err != nil {
			return err
		}
		return fill(w)
	}); err != nil {
		return err
	}
	if err := Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name()) // gone already if only the sync failed
		return err
	}
	return nil
}

// Fill writes f, a file just created, with fill, then syncs and closes
// it. On error it removes f.
func Fill(f *os.File, fill func(io.Writer) error) (err error) {
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	return f.Sync()
}

// Rename renames from to to, then syncs to's directory (see SyncDir).
// Whoever wrote from has synced it already: Rename makes durable only
// the name. An error of the sync comes after the rename: to is then the
// new file, which a crash may still undo.
func Rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	if err := SyncDir(filepath.Dir(to)); err != nil {
		return fmt.Errorf("renamed %s, but not durably: %w", to, err)
	}
	return nil
}

// SyncDir writes dir's entries to disk, so that the renames and new files
// in it survive a crash. A file system that cannot sync a directory
// (os.ErrInvalid) leaves nothing to do and is not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
