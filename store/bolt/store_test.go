package bolt_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/google/uuid"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// t0 is where every test clock starts.
var t0 = time.Date(2024, 11, 5, 12, 0, 0, 0, time.UTC)

const (
	apiRoot   = "election-isac"
	otherRoot = "vendors"
	collA     = "2f0d3c52-8a43-4c4e-9d5e-3b1f6a7c9e01"
	collB     = "7b1e4d2a-0c6f-4f8e-a1b2-c3d4e5f60718"
)

// testClock is an injectable clock. It returns the same instant until it is
// moved, which is the worst case for date_added uniqueness (INT-05).
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// seqIDs hands out UUIDv4-shaped ids 1, 2, 3, ... so statuses are predictable.
type seqIDs struct {
	mu sync.Mutex
	n  uint64
}

func (s *seqIDs) NewID() uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return seqUUID(s.n)
}

func seqUUID(n uint64) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[8:], n)
	u[6] = 0x40             // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

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
		Clock: &testClock{now: t0},
		IDs:   &seqIDs{},
	}
	db.MustReopen(tb)
	tb.Cleanup(func() {
		if problems, err := db.Verify(context.Background()); errors.Is(err, berrors.ErrDatabaseNotOpen) || db.Unverified {
			// Closed by the test, or left inconsistent on purpose.
		} else if err != nil {
			tb.Errorf("verify store: %v", err)
		} else if len(problems) > 0 {
			tb.Errorf("verify store: %d problems: %q", len(problems), problems)
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
	c := store.Collection{ID: id, APIRoot: root, Title: "Collection " + id[:8]}
	if err := db.EnsureCollection(context.Background(), c); err != nil {
		tb.Fatalf("EnsureCollection(%s): %v", id, err)
	}
}

// MustAdd posts objs to coll in one Add Objects request received now and
// fails the test on error.
func (db *DB) MustAdd(tb testing.TB, coll string, objs ...store.Object) *store.Status {
	tb.Helper()
	st, err := db.AddObjects(context.Background(), &store.Submission{
		APIRoot: apiRoot, Collection: coll, Received: db.Clock.Now(), Objects: objs,
	})
	if err != nil {
		tb.Fatalf("AddObjects: %v", err)
	}
	return st
}

var validator = sync.OnceValue(func() *stix.Validator {
	v, err := stix.NewValidator()
	if err != nil {
		panic(err)
	}
	return v
})

// mustObject validates raw with the real STIX validator and returns it as a
// store object; the test fails on any finding.
func mustObject(tb testing.TB, raw string) store.Object {
	tb.Helper()
	h, findings := validator().Check([]byte(raw))
	if len(findings) > 0 {
		tb.Fatalf("test object is invalid: %s\n%s", stix.Summarize(findings, 5), raw)
	}
	return store.Object{Header: h, Raw: []byte(raw)}
}

// stixID returns a deterministic, valid STIX id of type typ.
func stixID(typ string, n int) string {
	return fmt.Sprintf("%s--%08x-0000-4000-8000-%012x", typ, n, n)
}

// stixTime formats t as a STIX timestamp with millisecond precision.
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// created is the created time of every test SDO; versions are created+N.
var created = time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)

// indicatorJSON is a valid STIX 2.1 indicator.
func indicatorJSON(id string, modified time.Time, name string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,`+
		`"name":%q,"indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.100.7']",`+
		`"pattern_type":"stix","valid_from":%q}`,
		id, stixTime(created), stixTime(modified), name, stixTime(created))
}

func indicator(tb testing.TB, id string, modified time.Time) store.Object {
	tb.Helper()
	return mustObject(tb, indicatorJSON(id, modified, "Voter registration portal phishing"))
}

func malware(tb testing.TB, id string, modified time.Time) store.Object {
	tb.Helper()
	return mustObject(tb, fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":%q,"created":%q,"modified":%q,`+
		`"name":"BallotLocker","is_family":true}`, id, stixTime(created), stixTime(modified)))
}

// ipv4 is an SCO: no created, no modified (REQ-107).
func ipv4(tb testing.TB, id, value string) store.Object {
	tb.Helper()
	return mustObject(tb, fmt.Sprintf(`{"type":"ipv4-addr","spec_version":"2.1","id":%q,"value":%q}`, id, value))
}

// dateAdded is the date_added the store hands the n-th version (0-based)
// added to a collection while the clock is frozen at t0: t0 + n µs (INT-05).
func dateAdded(n int) time.Time { return t0.Add(time.Duration(n) * time.Microsecond) }

// rv names one object version in expectations.
type rv struct{ ID, Version string }

func (r rv) String() string { return r.ID + "@" + r.Version }

func rvOf(o store.Object) rv {
	v := o.Header.Modified
	if v == "" {
		v = o.Header.Created
	}
	return rv{o.Header.ID, v}
}

func rvs(recs []store.Record) []rv {
	out := make([]rv, len(recs))
	for i, r := range recs {
		out[i] = rv{r.ID, r.Version}
	}
	return out
}

func equalRVs(a, b []rv) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
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
		c, err := db.FindCollectionByID(ctx, collA)
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
		if _, err := db.FindStatusByID(ctx, apiRoot, st.ID); err != nil {
			t.Errorf("status after reopen: %v", err)
		}
	})

	t.Run("ErrUnknownSchema", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		bdb, err := bbolt.Open(db.Path, 0o600, &bbolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := bdb.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("999"))
		}); err != nil {
			t.Fatal(err)
		}
		if err := bdb.Close(); err != nil {
			t.Fatal(err)
		}

		sdb, err := bolt.Open(db.Path, db.options())
		if !errors.Is(err, store.ErrUnknownSchema) {
			if sdb != nil {
				sdb.Close()
			}
			t.Fatalf("Open = %v, want ErrUnknownSchema", err)
		}
		// A refused file is released, not left locked.
		bdb, err = bbolt.Open(db.Path, 0o600, &bbolt.Options{Timeout: 100 * time.Millisecond})
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

func TestDB_EnsureCollection(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		want := store.Collection{ID: collA, APIRoot: apiRoot, Title: "Indicators", Description: "County feeds", Alias: "iocs"}
		if err := db.EnsureCollection(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindCollectionByID(ctx, collA)
		if err != nil {
			t.Fatal(err)
		}
		if *got != want {
			t.Errorf("FindCollectionByID = %+v, want %+v", *got, want)
		}
	})

	t.Run("ReplaceKeepsObjects", func(t *testing.T) {
		db := MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		db.MustAdd(t, collA, indicator(t, stixID("indicator", 1), created))
		if err := db.EnsureCollection(ctx, store.Collection{ID: collA, APIRoot: apiRoot, Title: "Renamed"}); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindCollectionByID(ctx, collA)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "Renamed" {
			t.Errorf("Title = %q, want %q", got.Title, "Renamed")
		}
		pg, err := db.FindObjects(ctx, collA, store.Query{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Records) != 1 {
			t.Errorf("%d objects after EnsureCollection, want 1", len(pg.Records))
		}
	})

	t.Run("ErrCollectionNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		_, err := db.FindCollectionByID(ctx, collB)
		if !errors.Is(err, store.ErrCollectionNotFound) || !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("FindCollectionByID = %v, want ErrCollectionNotFound wrapping ErrNotFound", err)
		}
	})
}

// Every method checks its context before it starts a transaction.
func TestDB_CancelledContext(t *testing.T) {
	db := MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	id := stixID("indicator", 1)
	st := db.MustAdd(t, collA, indicator(t, id, created))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	newObj := indicator(t, stixID("indicator", 2), created)
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"EnsureCollection", func() error { return db.EnsureCollection(ctx, store.Collection{ID: collB, APIRoot: apiRoot}) }},
		{"FindCollectionByID", func() error { _, err := db.FindCollectionByID(ctx, collA); return err }},
		{"AddObjects", func() error {
			_, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collA, Received: t0, Objects: []store.Object{newObj}})
			return err
		}},
		{"FindObjects", func() error { _, err := db.FindObjects(ctx, collA, store.Query{Limit: 1}); return err }},
		{"FindManifest", func() error { _, err := db.FindManifest(ctx, collA, store.Query{Limit: 1}); return err }},
		{"FindObject", func() error { _, err := db.FindObject(ctx, collA, id, store.Query{Limit: 1}); return err }},
		{"FindObjectVersions", func() error { _, err := db.FindObjectVersions(ctx, collA, id, store.Query{Limit: 1}); return err }},
		{"DeleteObject", func() error { _, err := db.DeleteObject(ctx, collA, id, store.Filter{}); return err }},
		{"FindStatusByID", func() error { _, err := db.FindStatusByID(ctx, apiRoot, st.ID); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("%s = %v, want context.Canceled", tt.name, err)
			}
		})
	}

	// Nothing was written or deleted by the cancelled calls.
	pg, err := db.FindObjects(context.Background(), collA, store.Query{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rvs(pg.Records), []rv{{id, stixTime(created)}}; !equalRVs(got, want) {
		t.Errorf("objects after cancelled calls = %v, want %v", got, want)
	}
	if _, err := db.FindCollectionByID(context.Background(), collB); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("collection created by a cancelled call: %v", err)
	}
}
