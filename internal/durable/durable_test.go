package durable

import (
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
