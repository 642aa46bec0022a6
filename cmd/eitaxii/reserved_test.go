package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
)

// Ensure that a store written before console was reserved, holding a group
// of that name, refuses to start with a message that says how to move it
// (issue 13: console is a reserved group name like taxii2 and admin).
func TestServe_RefusesReservedGroupInStore(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, storeFile), bolt.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The store contract does not check names (the config file and the
	// admin API do), as an older release's store would not have either.
	if err := db.ChangeDirectory(context.Background(), func(tx store.DirectoryTx) error {
		return tx.CreateGroup(&store.Group{Name: "console", Title: "Console operators"})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir},
		&env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	if code != 1 || !strings.Contains(errb.String(), `the store holds a sharing group named "console"`) ||
		!strings.Contains(errb.String(), "eitaxii admin groups create") {
		t.Fatalf("exit %d\nstderr: %s", code, errb.String())
	}
}
