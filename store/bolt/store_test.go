package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/storetest"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The fixtures are the conformance suite's (store/storetest).
var (
	t0      = storetest.T0
	created = storetest.Created
)

const (
	apiRoot   = storetest.APIRoot
	otherRoot = storetest.OtherRoot
	collA     = storetest.CollA
	collB     = storetest.CollB
)

type (
	testClock = storetest.Clock
	seqIDs    = storetest.SeqIDs
)

var (
	seqUUID         = storetest.SeqUUID
	stixID          = storetest.STIXID
	indicator       = storetest.Indicator
	benchIndicators = storetest.Indicators
	dateAdded       = storetest.DateAdded
	newClock        = storetest.NewClock
)

// DB is a store on a temp bbolt file, with its injected clock and id
// generator, so that a test can close and reopen the same file.
type DB struct {
	*bolt.DB
	Path  string
	Clock *testClock
	IDs   *seqIDs
	// Unverified skips the check at cleanup, for a test that leaves the
	// file inconsistent on purpose.
	Unverified bool
}

// MustOpenDB opens a store on a new file in tb.TempDir() with a frozen clock
// at t0 and sequential status ids. At cleanup it is verified (Verify must
// find no problem), then closed.
func MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	db := &DB{
		Path:  filepath.Join(tb.TempDir(), "taxii.db"),
		Clock: newClock(t0),
		IDs:   &seqIDs{},
	}
	db.MustReopen(tb)
	tb.Cleanup(func() {
		if !db.Unverified { // left inconsistent on purpose
			storetest.CheckConsistent(tb, db, func(err error) bool {
				return errors.Is(err, berrors.ErrDatabaseNotOpen) // closed by the test
			})
		}
		if err := db.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return db
}

// MustReopen closes the store if it is open and opens the same file again
// with the same clock and id generator.
func (db *DB) MustReopen(tb testing.TB) {
	tb.Helper()
	if db.DB != nil {
		if err := db.DB.Close(); err != nil {
			tb.Fatalf("close store: %v", err)
		}
	}
	sdb, err := bolt.Open(db.Path, db.options())
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	db.DB = sdb
}

func (db *DB) options() bolt.Options {
	return bolt.Options{Now: db.Clock.Now, NewID: db.IDs.NewID, LockTimeout: 100 * time.Millisecond}
}

// MustCollection creates the collection id under root.
func (db *DB) MustCollection(tb testing.TB, root, id string) {
	tb.Helper()
	storetest.MustCollection(tb, db, root, id)
}

// MustAdd posts objs to coll in one Add Objects request received now and
// fails the test on error.
func (db *DB) MustAdd(tb testing.TB, coll string, objs ...store.Object) *store.Status {
	tb.Helper()
	return storetest.MustAdd(tb, db, db.Clock.Now(), coll, objs...)
}

// mustRewrite closes the store, changes its file with fn in one bbolt
// transaction, and opens it again, unverified at cleanup (fn may leave it
// inconsistent on purpose).
func (db *DB) mustRewrite(tb testing.TB, fn func(tx *bbolt.Tx) error) {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	mustUpdateFile(tb, db.Path, fn)
	db.DB = nil
	db.Unverified = true
	db.MustReopen(tb)
}

// mustUpdateFile changes the bbolt file at path, which no store holds
// open, with fn in one bbolt transaction.
func mustUpdateFile(tb testing.TB, path string, fn func(tx *bbolt.Tx) error) {
	tb.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	err = raw.Update(fn)
	if cerr := raw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func TestOpen(t *testing.T) {
	t.Run("CreatesBuckets", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		bdb, err := bbolt.Open(db.Path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		err = bdb.View(func(tx *bbolt.Tx) error {
			for _, name := range []string{"meta", "collections", "c", "status", "status_by_time"} {
				if tx.Bucket([]byte(name)) == nil {
					t.Errorf("bucket %q missing", name)
				}
			}
			meta := tx.Bucket([]byte("meta"))
			if meta == nil {
				return nil
			}
			if v := meta.Get([]byte("schema")); len(v) == 0 {
				t.Error("meta/schema not written")
			}
			if v := meta.Get([]byte("cursor_key")); len(v) < 16 {
				t.Errorf("meta/cursor_key = %d bytes, want a key of at least 16", len(v))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ReopenKeepsData", func(t *testing.T) {
		db := MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		obj := indicator(t, stixID("indicator", 1), created)
		st := db.MustAdd(t, collA, obj)
		db.MustReopen(t)

		ctx := context.Background()
		c, err := findCollection(ctx, db, collA)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != collA || c.APIRoot != apiRoot {
			t.Errorf("collection after reopen = %+v", c)
		}
		pg, err := db.FindObjects(ctx, collA, store.Query{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Records) != 1 || string(pg.Records[0].Raw) != string(obj.Raw) || !pg.Records[0].DateAdded.Equal(dateAdded(0)) {
			t.Errorf("objects after reopen = %+v", pg.Records)
		}
		if _, err := db.FindStatusRecord(ctx, apiRoot, st.ID); err != nil {
			t.Errorf("status after reopen: %v", err)
		}
	})

	t.Run("ErrUnknownSchema", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		mustUpdateFile(t, db.Path, func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("999"))
		})

		sdb, err := bolt.Open(db.Path, db.options())
		if !errors.Is(err, store.ErrUnknownSchema) {
			if sdb != nil {
				sdb.Close()
			}
			t.Fatalf("Open = %v, want ErrUnknownSchema", err)
		}
		// A refused file is released, not left locked.
		bdb, err := bbolt.Open(db.Path, 0o600, &bbolt.Options{Timeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatalf("file still locked after refused Open: %v", err)
		}
		bdb.Close()
	})

	t.Run("SecondOpenTimesOut", func(t *testing.T) {
		db := MustOpenDB(t)
		done := make(chan error, 1)
		go func() {
			sdb, err := bolt.Open(db.Path, bolt.Options{LockTimeout: 50 * time.Millisecond})
			if err == nil {
				sdb.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, berrors.ErrTimeout) {
				t.Fatalf("second Open = %v, want a lock timeout", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("second Open of a locked file hangs")
		}
	})
}

// findCollection returns the stored description of collection id, read
// through the contract's LoadDirectory, or ErrCollectionNotFound.
func findCollection(ctx context.Context, s store.Store, id string) (*store.Collection, error) {
	d, err := s.LoadDirectory(ctx)
	if err != nil {
		return nil, err
	}
	for i := range d.Collections {
		if d.Collections[i].ID == id {
			return &d.Collections[i], nil
		}
	}
	return nil, fmt.Errorf("%s: %w", id, store.ErrCollectionNotFound)
}
