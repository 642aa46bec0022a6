package bolt_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"go.etcd.io/bbolt"
)

// Ensure that a backup taken while the store is open is a consistent store
// holding the same objects, and that Verify finds a healthy store healthy
// and reports a broken index.
func TestDB_BackupAndVerify(t *testing.T) {
	db := MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	db.MustAdd(t, collA, benchIndicators(t, 0, 50)...)
	ctx := context.Background()

	if problems, err := db.Verify(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("Verify on a healthy store: %v %v", problems, err)
	}
	var buf bytes.Buffer
	n, err := db.Backup(ctx, &buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup = %d, %v (buffer %d)", n, err, buf.Len())
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	restored, err := bolt.Open(copyPath, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	p, err := restored.FindObjects(ctx, collA, store.Query{Limit: 1000})
	if err != nil || len(p.Records) != 50 {
		t.Fatalf("restored copy: %d records, %v", len(p.Records), err)
	}
	if problems, err := restored.Verify(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("Verify on the copy: %v %v", problems, err)
	}

	// Break the copy's index behind the store's back: Verify must say so.
	restored.Close()
	mustUpdateFile(t, copyPath, func(tx *bbolt.Tx) error {
		versions := tx.Bucket([]byte("c")).Bucket([]byte(collA)).Bucket([]byte("versions"))
		k, _ := versions.Cursor().First()
		return versions.Delete(k)
	})
	broken, err := bolt.Open(copyPath, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close()
	problems, err := broken.Verify(ctx)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "has no version entry") {
		t.Fatalf("Verify on a broken index: %q, %v", problems, err)
	}
}
