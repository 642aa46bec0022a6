// Package durable makes a file's replacement survive a crash. A renamed
// file is in place for every reader at once, but the rename itself is
// written to disk only when its directory is synced; until then a crash
// can bring back the old name.
package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

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
