package durable

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Ensure that Rename replaces the target with the source's bytes and
// leaves no source behind, and that it and SyncDir report what they
// could not do rather than pass over it.
func TestRename(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "new.tmp"), filepath.Join(dir, "state")
	for name, data := range map[string]string{from: "new", to: "old"} {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Rename(from, to); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if got, err := os.ReadFile(to); err != nil || string(got) != "new" {
		t.Errorf("target after Rename: %q, %v; want \"new\"", got, err)
	}
	if _, err := os.Lstat(from); !os.IsNotExist(err) {
		t.Errorf("source after Rename: %v, want it gone", err)
	}
	if err := Rename(from, to); !os.IsNotExist(err) {
		t.Errorf("Rename of a missing source: %v, want a not-exist error", err)
	}
	if got, _ := os.ReadFile(to); string(got) != "new" {
		t.Errorf("a failed Rename changed the target to %q", got)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("SyncDir of a missing directory: %v, want a not-exist error", err)
	}
}

// Ensure that WriteFile replaces the file with what fill wrote, in the
// mode asked for, and that a fill that fails leaves the old file as it
// was and no temporary file behind.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, 0o640, func(w io.Writer) error {
		_, err := io.WriteString(w, "new")
		return err
	}); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "new" {
		t.Errorf("after WriteFile: %q, %v; want \"new\"", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after WriteFile: %v, %v; want 0640", fi.Mode(), err)
	}
	failed := errors.New("fill failed")
	if err := WriteFile(path, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half")
		return failed
	}); !errors.Is(err, failed) {
		t.Errorf("WriteFile with a failing fill: %v, want its error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Errorf("a failed WriteFile changed the file to %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed WriteFile, want only the file", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "state"), 0o600, func(io.Writer) error { return nil }); !os.IsNotExist(err) {
		t.Errorf("WriteFile into a missing directory: %v, want a not-exist error", err)
	}
}
