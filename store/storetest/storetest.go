// Package storetest is the conformance suite of the storage contract: the
// backend-independent tests of package store's Store, which every backend
// runs from its own tests with a constructor:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB, opts storetest.Options) (store.Store, func(testing.TB) store.Store) {
//			... open a new, empty store using opts ...
//		})
//	}
//
// The tests need the store's clock and status ids injected (a frozen clock
// makes date_added deterministic: the n-th version added is T0 + n µs) and
// the same data opened again (next tokens and statuses survive a reopen),
// hence Options and the reopen function.
package storetest

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/google/uuid"
)

// Options is what the suite injects into a store it opens.
type Options struct {
	// Now is the clock for date_added and status times.
	Now func() time.Time
	// NewID makes status ids.
	NewID func() uuid.UUID
}

// OpenFunc opens a new, empty store for one test with opts, and returns it
// with reopen, which opens the same data again with the same opts after the
// suite has closed the store. The suite verifies (Store.Verify) and closes
// every store it opens when the test ends.
type OpenFunc func(tb testing.TB, opts Options) (s store.Store, reopen func(tb testing.TB) store.Store)

// suite runs the tests against one backend.
type suite struct{ open OpenFunc }

// Run runs the conformance suite against the backend that open opens: each
// method of suite named Test<Name> is a subtest <Name>.
func Run(t *testing.T, open OpenFunc) {
	s := &suite{open: open}
	v := reflect.ValueOf(s)
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		name, ok := strings.CutPrefix(m.Name, "Test")
		if !ok {
			continue
		}
		t.Run(name, v.Method(i).Interface().(func(*testing.T)))
	}
}

// DB is a store opened by the suite, with its injected clock and ids.
type DB struct {
	store.Store
	Clock  *testClock
	IDs    *seqIDs
	reopen func(testing.TB) store.Store
}

// MustOpenDB opens a new store with a frozen clock at t0 and sequential
// status ids. At cleanup it is verified (Verify must find no problem),
// then closed.
func (s *suite) MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	db := &DB{Clock: &testClock{now: t0}, IDs: &seqIDs{}}
	db.Store, db.reopen = s.open(tb, Options{Now: db.Clock.Now, NewID: db.IDs.NewID})
	tb.Cleanup(func() {
		CheckConsistent(tb, db, nil)
		if err := db.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return db
}

// CheckConsistent fails tb if s is inconsistent: its Verify finds
// problems, or fails with an error that ignore (if not nil) does not
// excuse, such as that of a store the test has closed itself.
func CheckConsistent(tb testing.TB, s store.Store, ignore func(error) bool) {
	tb.Helper()
	if problems, err := s.Verify(context.Background()); err != nil {
		if ignore == nil || !ignore(err) {
			tb.Errorf("verify store: %v", err)
		}
	} else if len(problems) > 0 {
		tb.Errorf("verify store: %d problems: %q", len(problems), problems)
	}
}

// MustReopen closes the store and opens the same data again with the same
// clock and id generator.
func (db *DB) MustReopen(tb testing.TB) {
	tb.Helper()
	if err := db.Store.Close(); err != nil {
		tb.Fatalf("close store: %v", err)
	}
	db.Store = db.reopen(tb)
}

// MustCollection creates the collection id under root.
func (db *DB) MustCollection(tb testing.TB, root, id string) {
	tb.Helper()
	MustCollection(tb, db, root, id)
}

// MustAdd posts objs to coll in one Add Objects request received now and
// fails the test on error.
func (db *DB) MustAdd(tb testing.TB, coll string, objs ...store.Object) *store.Status {
	tb.Helper()
	return MustAdd(tb, db, db.Clock.Now(), coll, objs...)
}

// MustCollection creates the collection id under root in s.
func MustCollection(tb testing.TB, s store.Store, root, id string) {
	tb.Helper()
	c := store.Collection{ID: id, APIRoot: root, Title: "Collection " + id[:8]}
	if err := s.EnsureCollection(context.Background(), c); err != nil {
		tb.Fatalf("EnsureCollection(%s): %v", id, err)
	}
}

// MustAdd posts objs to coll of s, under the fixtures' API root, in one Add
// Objects request received at received, and fails the test on error.
func MustAdd(tb testing.TB, s store.Store, received time.Time, coll string, objs ...store.Object) *store.Status {
	tb.Helper()
	st, err := s.AddObjects(context.Background(), &store.Submission{
		APIRoot: apiRoot, Collection: coll, Received: received, Objects: objs,
	})
	if err != nil {
		tb.Fatalf("AddObjects: %v", err)
	}
	return st
}
