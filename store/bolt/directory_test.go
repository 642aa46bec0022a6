package bolt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// Ensure that a directory entry that does not decode is reported as the
// corruption it is, never as a missing entry (which the admin API would
// answer 404 and let a create overwrite), and that Verify names it.
func TestDirTx_UndecodableEntry(t *testing.T) {
	db := MustOpenDB(t)
	db.Unverified = true // the file is corrupted on purpose
	db.MustCollection(t, apiRoot, collA)
	db.mustRewrite(t, func(tx *bbolt.Tx) error {
		if err := tx.Bucket([]byte("collections")).Put([]byte(collA), []byte("{not json")); err != nil {
			return err
		}
		return tx.Bucket([]byte("accounts")).Put([]byte("alice"), []byte(`{"name":`))
	})

	ctx := context.Background()
	for name, read := range map[string]func(tx store.DirectoryTx) error{
		"Collection": func(tx store.DirectoryTx) error { _, err := tx.Collection(collA); return err },
		"Account":    func(tx store.DirectoryTx) error { _, err := tx.Account("alice"); return err },
	} {
		err := db.ChangeDirectory(ctx, read)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of an undecodable entry = %v, want a decoding error that is not ErrNotFound", name, err)
		}
	}
	problems, err := db.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"collections/" + collA, "accounts/alice"} {
		if !strings.Contains(strings.Join(problems, "\n"), want) {
			t.Errorf("Verify = %q, want a problem naming %s", problems, want)
		}
	}
}
