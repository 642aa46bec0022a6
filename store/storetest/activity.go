package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// hour is the start of the hour n hours after t0's (t0 is on the hour).
func hour(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }

// mustActivity reads the activity of coll since since.
func mustActivity(tb testing.TB, db store.Store, coll string, since time.Time) *store.Activity {
	tb.Helper()
	a, err := db.CollectionActivity(context.Background(), coll, since)
	if err != nil {
		tb.Fatalf("CollectionActivity(%s): %v", coll, err)
	}
	return a
}

// checkActivity fails tb unless coll's activity since since is want.
func checkActivity(tb testing.TB, db store.Store, step, coll string, since time.Time, want store.Activity) {
	tb.Helper()
	got := mustActivity(tb, db, coll, since)
	if got.Versions != want.Versions || !got.Newest.Equal(want.Newest) || !reflect.DeepEqual(got.Hours, want.Hours) {
		tb.Errorf("%s: activity %+v\nwant %+v", step, *got, want)
	}
}

// Ensure that CollectionActivity counts the versions a collection holds
// (new versions only: a duplicate, blind or not, stores nothing; a
// deletion takes its versions off), reports the newest date_added held,
// and buckets additions by the UTC hour of their date_added, from since's
// hour, keeping no more than store.ActivityWindow of hours.
func (s *suite) TestActivity_Counts(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	if _, err := db.CollectionActivity(ctx, collA, time.Time{}); !errors.Is(err, store.ErrCollectionNotFound) {
		t.Errorf("CollectionActivity of an unknown collection = %v, want ErrCollectionNotFound", err)
	}
	db.MustCollection(t, apiRoot, collA)
	db.MustCollection(t, apiRoot, collB)
	checkActivity(t, db, "empty", collA, time.Time{}, store.Activity{})

	id1, id2, id3, sco := stixID("indicator", 1), stixID("indicator", 2), stixID("indicator", 3), stixID("ipv4-addr", 4)
	// 12:00 (t0, the clock frozen): date_added t0, t0+1µs, ...
	db.MustAdd(t, collA, indicator(t, id1, created), indicator(t, id2, created), ipv4(t, sco, "198.51.100.1"))
	checkActivity(t, db, "three added", collA, time.Time{}, store.Activity{Versions: 3, Newest: dateAdded(2),
		Hours: []store.HourCount{{Hour: hour(0), Added: 3}}})

	// Duplicates store nothing (the SCO is one by its id alone); the new
	// version of id1 is the only version added, at t0+3µs (INT-05).
	db.MustAdd(t, collA, indicator(t, id1, created), ipv4(t, sco, "198.51.100.1"), indicator(t, id1, created.Add(time.Hour)))
	_, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collA, Received: t0, Blind: true,
		Objects: []store.Object{indicator(t, id2, created)}})
	if err != nil {
		t.Fatal(err)
	}
	checkActivity(t, db, "after duplicates", collA, time.Time{}, store.Activity{Versions: 4, Newest: dateAdded(3),
		Hours: []store.HourCount{{Hour: hour(0), Added: 4}}})

	// 13:30: the next hour's bucket.
	db.Clock.Set(t0.Add(90 * time.Minute))
	db.MustAdd(t, collA, indicator(t, id3, created), indicator(t, id3, created.Add(time.Minute)))
	at1330 := t0.Add(90 * time.Minute)
	both := []store.HourCount{{Hour: hour(0), Added: 4}, {Hour: hour(1), Added: 2}}
	checkActivity(t, db, "the next hour", collA, time.Time{}, store.Activity{Versions: 6, Newest: at1330.Add(time.Microsecond), Hours: both})
	// since is truncated to its hour; hours before it are left out.
	checkActivity(t, db, "since 12:59", collA, t0.Add(59*time.Minute), store.Activity{Versions: 6, Newest: at1330.Add(time.Microsecond), Hours: both})
	checkActivity(t, db, "since 13:00", collA, hour(1), store.Activity{Versions: 6, Newest: at1330.Add(time.Microsecond), Hours: both[1:]})
	checkActivity(t, db, "since 14:00", collA, hour(2), store.Activity{Versions: 6, Newest: at1330.Add(time.Microsecond)})
	// Another collection's counters are its own.
	checkActivity(t, db, "collection B", collB, time.Time{}, store.Activity{})

	// Deleting the newest version takes it off the count and off Newest;
	// the hours count additions, and keep it.
	if n, err := db.DeleteObject(ctx, collA, id3, store.Filter{Versions: store.VersionSet{Last: true}}); err != nil || n != 1 {
		t.Fatalf("DeleteObject = %d, %v", n, err)
	}
	checkActivity(t, db, "after a deletion", collA, time.Time{}, store.Activity{Versions: 5, Newest: at1330, Hours: both})
	db.MustReopen(t)
	checkActivity(t, db, "after a reopen", collA, time.Time{}, store.Activity{Versions: 5, Newest: at1330, Hours: both})
	if _, err := db.CollectionActivity(ctx, stixID("x", 9), time.Time{}); !errors.Is(err, store.ErrCollectionNotFound) {
		t.Errorf("CollectionActivity of an unknown collection = %v, want ErrCollectionNotFound", err)
	}

	// 50 hours later: the hours more than ActivityWindow before the newest
	// one written are dropped.
	db.Clock.Set(hour(50).Add(time.Minute))
	db.MustAdd(t, collA, malware(t, stixID("malware", 5), created))
	checkActivity(t, db, "two days later", collA, time.Time{}, store.Activity{Versions: 6, Newest: hour(50).Add(time.Minute),
		Hours: []store.HourCount{{Hour: hour(50), Added: 1}}})

	// Deleting every version leaves a collection that holds none.
	for _, id := range []string{id1, id2, id3, sco, stixID("malware", 5)} {
		if _, err := db.DeleteObject(ctx, collA, id, store.Filter{}); err != nil {
			t.Fatalf("DeleteObject(%s) = %v", id, err)
		}
	}
	checkActivity(t, db, "all deleted", collA, time.Time{}, store.Activity{Hours: []store.HourCount{{Hour: hour(50), Added: 1}}})
}

// Ensure that a deleted collection's counters go with it: a collection
// created again under the same id starts from nothing.
func (s *suite) TestActivity_DeleteCollection(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	db.MustAdd(t, collA, benchIndicators(t, 1, 3)...)
	db.mustChange(t, func(tx store.DirectoryTx) error { return tx.DeleteCollection(collA) })
	if _, err := db.CollectionActivity(ctx, collA, time.Time{}); !errors.Is(err, store.ErrCollectionNotFound) {
		t.Errorf("CollectionActivity of a deleted collection = %v, want ErrCollectionNotFound", err)
	}
	db.MustCollection(t, apiRoot, collA)
	checkActivity(t, db, "created again", collA, time.Time{}, store.Activity{})
	db.MustAdd(t, collA, benchIndicators(t, 1, 1)...)
	if a := mustActivity(t, db, collA, time.Time{}); a.Versions != 1 || len(a.Hours) != 1 || a.Hours[0].Added != 1 {
		t.Errorf("after one addition to the new collection: %+v, want 1 version, 1 added", *a)
	}
}

// Ensure that Copy leaves the copy's counters right: the versions it holds
// and its newest date_added as the source's, and the hours counting the
// versions copied, by their date_added (a version deleted from the source
// before the copy is not among them).
func (s *suite) TestActivity_Copy(t *testing.T) {
	ctx := context.Background()
	src := s.MustOpenDB(t)
	src.seedDirectory(t)
	src.MustAdd(t, collA, benchIndicators(t, 1, 3)...)
	src.Clock.Set(t0.Add(70 * time.Minute))
	src.MustAdd(t, collA, benchIndicators(t, 4, 2)...)
	src.MustAdd(t, collB, benchIndicators(t, 6, 1)...)
	if _, err := src.DeleteObject(ctx, collA, stixID("indicator", 2), store.Filter{}); err != nil {
		t.Fatal(err)
	}
	dst := s.MustOpenDB(t)
	if _, err := store.Copy(ctx, transfer(t, dst), transfer(t, src)); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	newestA := t0.Add(70 * time.Minute).Add(time.Microsecond)
	checkActivity(t, src, "source A", collA, time.Time{}, store.Activity{Versions: 4, Newest: newestA,
		Hours: []store.HourCount{{Hour: hour(0), Added: 3}, {Hour: hour(1), Added: 2}}})
	checkActivity(t, dst, "copy of A", collA, time.Time{}, store.Activity{Versions: 4, Newest: newestA,
		Hours: []store.HourCount{{Hour: hour(0), Added: 2}, {Hour: hour(1), Added: 2}}})
	checkActivity(t, dst, "copy of B", collB, time.Time{}, *mustActivity(t, src, collB, time.Time{}))
	// The copy goes on counting from there (under status ids of its own:
	// it holds the source's).
	dst.Clock.Set(t0.Add(80 * time.Minute))
	dst.IDs.n = 1000
	dst.MustAdd(t, collA, benchIndicators(t, 7, 1)...)
	if a := mustActivity(t, dst, collA, hour(1)); a.Versions != 5 || len(a.Hours) != 1 || a.Hours[0].Added != 3 {
		t.Errorf("the copy after one more addition: %+v, want 5 versions, 3 added at 13:00", *a)
	}
}
