package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store/bolt"
)

// Ensure that a store file held by an open DB is reported as ErrLocked by
// Open, Lock and Check, and is free again once the DB is closed.
func TestLocked(t *testing.T) {
	db := MustOpenDB(t)
	if _, err := bolt.Open(db.Path, bolt.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("Open of a held file: %v, want ErrLocked", err)
	} else if !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Open of a held file: %q, want bbolt's text", err)
	}
	if _, err := bolt.Lock(db.Path); !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("Lock of a held file: %v, want ErrLocked", err)
	}
	if _, _, err := bolt.Check(context.Background(), db.Path); !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("Check of a held file: %v, want ErrLocked", err)
	}
	db.MustCollection(t, apiRoot, collA)
	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	db.DB = nil
	release, err := bolt.Lock(db.Path)
	if err != nil {
		t.Fatalf("Lock of a free file: %v", err)
	}
	release()
	problems, stats, err := bolt.Check(context.Background(), db.Path)
	if err != nil || len(problems) > 0 || stats.Collections != 1 {
		t.Fatalf("Check = %v, %+v, %v; want no problems and 1 collection", problems, stats, err)
	}
	db.MustReopen(t)
}

// Ensure that Check never creates a store, and that Lock does not refuse a
// file that is no store at all (nothing can hold it).
func TestCheck_NotAStore(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.db")
	if _, _, err := bolt.Check(context.Background(), missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Check of a missing file: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Check created %s", missing)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a store "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	release, err := bolt.Lock(garbage)
	if err != nil {
		t.Fatalf("Lock of a garbage file: %v", err)
	}
	release()
	if _, _, err := bolt.Check(context.Background(), garbage); err == nil {
		t.Fatal("Check of a garbage file: no error")
	}
}

// Ensure that SaveCopy renames the copy into place only when verify
// accepts it, and leaves no temporary file either way.
func TestSaveCopy(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "copy")
	fill := func(w io.Writer) (int64, error) { n, err := w.Write([]byte("data")); return int64(n), err }
	refused := errors.New("refused")
	if _, err := bolt.SaveCopy(out, fill, func(string) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("SaveCopy with a refusing verify: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refused copy installed: %v", err)
	}
	var seen string
	n, err := bolt.SaveCopy(out, fill, func(tmp string) error { seen = tmp; return nil })
	if err != nil || n != 4 {
		t.Fatalf("SaveCopy = %d, %v", n, err)
	}
	if got, err := os.ReadFile(out); err != nil || string(got) != "data" {
		t.Fatalf("copy holds %q, %v", got, err)
	}
	if _, err := os.Stat(seen); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file %s left behind: %v", seen, err)
	}
}

// Ensure that Restore keeps the store it replaces, refuses while the
// target is held, and returns verify's error as it is.
func TestRestore(t *testing.T) {
	src := MustOpenDB(t)
	src.MustCollection(t, apiRoot, collA)
	backup := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Backup(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	target := MustOpenDB(t)
	keep := target.Path + ".bak"
	ok := func(string) error { return nil }
	if _, _, err := bolt.Restore(backup, target.Path, keep, ok); !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("Restore over a held store: %v, want ErrLocked", err)
	}
	if err := target.DB.Close(); err != nil {
		t.Fatal(err)
	}
	target.DB = nil
	refused := errors.New("refused")
	if _, _, err := bolt.Restore(backup, target.Path, keep, func(string) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("Restore with a refusing verify: %v", err)
	}
	_, kept, err := bolt.Restore(backup, target.Path, keep, ok)
	if err != nil || kept != keep {
		t.Fatalf("Restore = %q, %v; want the old store kept as %q", kept, err, keep)
	}
	if _, _, err := bolt.Restore(backup, target.Path, keep, ok); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Restore with keep taken: %v, want ErrExist", err)
	}
	_, stats, err := bolt.Check(context.Background(), target.Path)
	if err != nil || stats.Collections != 1 {
		t.Fatalf("restored store: %+v, %v; want 1 collection", stats, err)
	}
	target.MustReopen(t)
}
