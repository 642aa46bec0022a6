package bolt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// The token of one store file is valid for that file only, even at the
// same path after the file is replaced (the HMAC key lives in the file).
func TestDB_FindObjects_NextOtherFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "taxii.db")
	open := func() *DB {
		db := &DB{Path: path, Clock: newClock(t0), IDs: &seqIDs{}}
		db.MustReopen(t)
		db.MustCollection(t, apiRoot, collA)
		for i := range 3 {
			db.MustAdd(t, collA, indicator(t, stixID("indicator", i), created.Add(time.Hour)))
		}
		return db
	}
	db := open()
	pg, err := db.FindObjects(ctx, collA, store.Query{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	db = open()
	defer db.Close()
	if _, err := db.FindObjects(ctx, collA, store.Query{Next: pg.Next, Limit: 1}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("token of a replaced file: %v, want ErrBadCursor", err)
	}
}
