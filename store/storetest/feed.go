package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// The change feed: Watch hints and ReadChanges by cursor.

// hintTimeout only guards against a hang: a hint is expected at once.
const hintTimeout = 30 * time.Second

// mustWatch subscribes to coll and fails the test on error.
func mustWatch(tb testing.TB, ctx context.Context, s store.Store, coll string) <-chan time.Time {
	tb.Helper()
	ch, err := s.Watch(ctx, coll)
	if err != nil {
		tb.Fatalf("Watch(%s): %v", coll, err)
	}
	return ch
}

// nextHint waits for a hint; it fails the test if none comes or the
// channel is closed.
func nextHint(tb testing.TB, ch <-chan time.Time) time.Time {
	tb.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			tb.Fatal("watch channel closed, want a hint")
		}
		return c
	case <-time.After(hintTimeout):
		tb.Fatal("no hint")
	}
	return time.Time{}
}

// hintUpTo receives hints until one reaches want, checking that they only
// move forward.
func hintUpTo(tb testing.TB, ch <-chan time.Time, want time.Time) (received int) {
	tb.Helper()
	var prev time.Time
	for {
		c := nextHint(tb, ch)
		received++
		if !c.After(prev) {
			tb.Fatalf("hint %s after hint %s: hints must only move forward", c, prev)
		}
		if c.After(want) {
			tb.Fatalf("hint %s beyond the newest cursor %s", c, want)
		}
		if c.Equal(want) {
			return received
		}
		prev = c
	}
}

// noHintPending fails tb if ch holds a hint (or is closed) after the hint
// of newest, the newest change, has been read.
func noHintPending(tb testing.TB, ch <-chan time.Time, newest time.Time) {
	tb.Helper()
	select {
	case c, ok := <-ch:
		tb.Errorf("hint %s (open %v) pending after the newest %s: nothing changed since", c, ok, newest)
	default:
	}
}

// mustClose waits until ch is closed, discarding hints.
func mustClose(tb testing.TB, ch <-chan time.Time) {
	tb.Helper()
	timeout := time.After(hintTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			tb.Fatal("watch channel not closed")
		}
	}
}

// mustReadChanges reads one page of changes and fails the test on error.
func mustReadChanges(tb testing.TB, s store.Store, coll string, after time.Time, limit int) *store.ChangePage {
	tb.Helper()
	pg, err := s.ReadChanges(context.Background(), coll, after, limit)
	if err != nil {
		tb.Fatalf("ReadChanges(%s, %s, %d): %v", coll, after, limit, err)
	}
	return pg
}

// change describes a Change in expectations.
type change struct {
	Cursor  time.Time
	Deleted bool
	rv
}

func (c change) String() string {
	if c.Deleted {
		return fmt.Sprintf("delete %s at %s", c.rv, c.Cursor.Format(store.TimestampLayout))
	}
	return fmt.Sprintf("add %s at %s", c.rv, c.Cursor.Format(store.TimestampLayout))
}

func changesOf(pg *store.ChangePage) []change {
	out := make([]change, len(pg.Changes))
	for i, c := range pg.Changes {
		out[i] = change{c.Cursor, c.Deleted, rv{c.Record.ID, c.Record.Version}}
	}
	return out
}

func equalChanges(a, b []change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Cursor.Equal(b[i].Cursor) || a[i].Deleted != b[i].Deleted || a[i].rv != b[i].rv {
			return false
		}
	}
	return true
}

// Ensure that a hint comes after the commit that changed the collection,
// carries its newest cursor, and that what it announces is readable.
func (s *suite) TestDB_Watch_AfterCommit(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	db.MustCollection(t, apiRoot, collB)
	ch := mustWatch(t, ctx, db, collA)
	if cap(ch) != 1 {
		t.Errorf("cap(watch channel) = %d, want 1", cap(ch))
	}

	obj := indicator(t, stixID("indicator", 1), created)
	db.MustAdd(t, collA, obj)
	hint := nextHint(t, ch)
	if want := dateAdded(0); !hint.Equal(want) {
		t.Fatalf("hint = %s, want the version's date_added %s", hint, want)
	}
	pg := mustReadChanges(t, db, collA, time.Time{}, 10)
	if len(pg.Changes) != 1 || !pg.Changes[0].Cursor.Equal(hint) {
		t.Fatalf("changes after hint %s = %v", hint, changesOf(pg))
	}
	if got := pg.Changes[0].Record; !bytes.Equal(got.Raw, obj.Raw) || got.ID != obj.Header.ID ||
		!got.DateAdded.Equal(hint) || got.SpecVersion != "2.1" || got.MediaType != store.MediaTypeSTIX21 {
		t.Errorf("added record = %+v, want %s with its stored bytes", got, obj.Header.ID)
	}
	if pg.More || !pg.Newest.Equal(hint) || pg.Gap {
		t.Errorf("page More=%v Newest=%s Gap=%v, want false %s false", pg.More, pg.Newest, pg.Gap, hint)
	}

	// A deletion is a change too.
	if _, err := db.DeleteObject(ctx, collA, obj.Header.ID, store.Filter{}); err != nil {
		t.Fatal(err)
	}
	if hint, want := nextHint(t, ch), dateAdded(1); !hint.Equal(want) {
		t.Errorf("hint after delete = %s, want %s", hint, want)
	}

	// Changes to another collection, and requests that change nothing,
	// send no hint: the next hint is the next change's.
	db.MustAdd(t, collB, obj)
	db.MustAdd(t, collA, malware(t, stixID("malware", 1), created))
	db.MustAdd(t, collA, malware(t, stixID("malware", 1), created)) // already present
	if _, err := db.DeleteObject(ctx, collA, stixID("malware", 9), store.Filter{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteObject(absent) = %v, want ErrNotFound", err)
	}
	db.MustAdd(t, collA, malware(t, stixID("malware", 2), created))
	want := dateAdded(3)
	if n := hintUpTo(t, ch, want); n > 2 {
		t.Errorf("%d hints for 2 changes", n)
	}
	noHintPending(t, ch, want)
}

// Ensure that a receiver that does not read holds up no writer and then
// finds only the newest cursor, never an older one after it.
func (s *suite) TestDB_Watch_LatestWins(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	ch := mustWatch(t, ctx, db, collA)
	const n = 20
	for i := range n {
		db.MustAdd(t, collA, indicator(t, stixID("indicator", i+1), created))
	}
	if _, err := db.DeleteObject(ctx, collA, stixID("indicator", 3), store.Filter{}); err != nil {
		t.Fatal(err)
	}
	newest := dateAdded(n)
	if got := hintUpTo(t, ch, newest); got > n+1 {
		t.Errorf("%d hints for %d changes", got, n+1)
	}
	noHintPending(t, ch, newest)
}

// Ensure that additions and deletions read back in one order by cursor,
// that each deleted version has its own cursor, and that a version
// deleted and added again is a new addition after its deletion.
func (s *suite) TestDB_ReadChanges_Order(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	a1 := indicator(t, stixID("indicator", 1), created)
	a2 := indicator(t, stixID("indicator", 1), created.Add(time.Hour))
	b := malware(t, stixID("malware", 1), created)
	c := ipv4(t, "ipv4-addr--"+seqUUID(7).String(), "192.0.2.7")
	db.MustAdd(t, collA, a1, b, a2) // cursors 0, 1, 2 (dateAdded)
	db.MustAdd(t, collA, c)         // 3
	// 4: delete a1 only.
	if n, err := db.DeleteObject(ctx, collA, a1.Header.ID, store.Filter{Versions: store.VersionSet{First: true}}); err != nil || n != 1 {
		t.Fatalf("DeleteObject(first) = %d, %v", n, err)
	}
	db.MustAdd(t, collA, a1) // 5: stored again, as new
	// 6, 7: delete both versions of the indicator.
	if n, err := db.DeleteObject(ctx, collA, a1.Header.ID, store.Filter{}); err != nil || n != 2 {
		t.Fatalf("DeleteObject(all) = %d, %v", n, err)
	}
	db.MustAdd(t, collA, a2) // 8
	// An SCO's version is its first date_added.
	cVersion := dateAdded(3).Format(store.TimestampLayout)

	// The additions that remain are the stored versions; a deleted one's
	// addition is gone, its tombstone remains.
	want := []change{
		{dateAdded(1), false, rvOf(b)},
		{dateAdded(3), false, rv{c.Header.ID, cVersion}},
		{dateAdded(4), true, rvOf(a1)},
		{dateAdded(6), true, rvOf(a1)},
		{dateAdded(7), true, rvOf(a2)},
		{dateAdded(8), false, rvOf(a2)},
	}
	pg := mustReadChanges(t, db, collA, time.Time{}, 100)
	if got := changesOf(pg); !equalChanges(got, want) {
		t.Fatalf("changes = %v\nwant %v", got, want)
	}
	if pg.More || !pg.Newest.Equal(dateAdded(8)) || pg.Gap {
		t.Errorf("More=%v Newest=%s Gap=%v, want false %s false", pg.More, pg.Newest, pg.Gap, dateAdded(8))
	}
	for _, ch := range pg.Changes {
		r := ch.Record
		if ch.Deleted {
			if r.Raw != nil || !r.DateAdded.IsZero() {
				t.Errorf("deletion %s carries Raw or DateAdded: %+v", r.ID, r)
			}
			continue
		}
		if !r.DateAdded.Equal(ch.Cursor) || r.Raw == nil {
			t.Errorf("addition %s: DateAdded %s, cursor %s, %d bytes", r.ID, r.DateAdded, ch.Cursor, len(r.Raw))
		}
	}
	if got := pg.Changes[0].Record.Raw; !bytes.Equal(got, b.Raw) {
		t.Errorf("addition bytes = %s, want the stored %s", got, b.Raw)
	}

	// after is exclusive, any instant works, and so does a limit cut.
	for _, tc := range []struct {
		after time.Time
		limit int
		want  []change
		more  bool
	}{
		{dateAdded(1), 100, want[1:], false},
		{dateAdded(3).Add(500 * time.Nanosecond), 100, want[2:], false},
		{dateAdded(4), 2, want[3:5], true},
		{dateAdded(7), 1, want[5:], false},
		{dateAdded(8), 100, nil, false},
		{time.Time{}, 3, want[:3], true},
	} {
		pg := mustReadChanges(t, db, collA, tc.after, tc.limit)
		if got := changesOf(pg); !equalChanges(got, tc.want) || pg.More != tc.more {
			t.Errorf("after %s limit %d: %v More=%v\nwant %v More=%v", tc.after, tc.limit, got, pg.More, tc.want, tc.more)
		}
		if !pg.Newest.Equal(dateAdded(8)) {
			t.Errorf("after %s: Newest = %s", tc.after, pg.Newest)
		}
	}

	// Out-of-range limits read MaxChanges, here everything.
	for _, limit := range []int{0, -1, store.MaxChanges + 1} {
		if pg := mustReadChanges(t, db, collA, time.Time{}, limit); len(pg.Changes) != len(want) || pg.More {
			t.Errorf("limit %d: %d changes, More=%v; want %d", limit, len(pg.Changes), pg.More, len(want))
		}
	}

	// The feed, like the objects, survives a reopen.
	db.MustReopen(t)
	if got := changesOf(mustReadChanges(t, db, collA, time.Time{}, 100)); !equalChanges(got, want) {
		t.Errorf("after reopen: %v", got)
	}

	t.Run("Empty", func(t *testing.T) {
		db.MustCollection(t, apiRoot, collB)
		pg := mustReadChanges(t, db, collB, time.Time{}, 10)
		if len(pg.Changes) != 0 || pg.More || !pg.Newest.IsZero() {
			t.Errorf("empty collection: %+v", pg)
		}
	})
}

// Ensure that a reader following Watch and ReadChanges while 4 writers
// add sees every version exactly once, in ascending order, at any limit.
func (s *suite) TestDB_ReadChanges_ConcurrentWriters(t *testing.T) {
	const writers, requests, perRequest = 4, 10, 3
	objs := benchIndicators(t, 1, writers*requests*perRequest)
	for _, limit := range []int{1, 7, 100} {
		t.Run(fmt.Sprintf("Limit%d", limit), func(t *testing.T) {
			ctx := context.Background()
			db := s.MustOpenDB(t)
			db.MustCollection(t, apiRoot, collA)
			ch := mustWatch(t, ctx, db, collA)

			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := range requests {
						first := (w*requests + r) * perRequest
						_, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collA,
							Received: db.Clock.Now(), Objects: objs[first : first+perRequest]})
						if err != nil {
							t.Errorf("writer %d: AddObjects: %v", w, err)
							return
						}
					}
				}()
			}

			seen := map[string]int{}
			var pos time.Time
			for len(seen) < len(objs) && !t.Failed() {
				pg := mustReadChanges(t, db, collA, pos, limit)
				if len(pg.Changes) > limit {
					t.Fatalf("%d changes for limit %d", len(pg.Changes), limit)
				}
				for _, c := range pg.Changes {
					if !c.Cursor.After(pos) {
						t.Fatalf("cursor %s after position %s", c.Cursor, pos)
					}
					if c.Deleted {
						t.Fatalf("deletion %v, none made", c.Record.ID)
					}
					pos = c.Cursor
					seen[c.Record.ID]++
				}
				if pg.More {
					if len(pg.Changes) != limit {
						t.Fatalf("More with %d changes for limit %d", len(pg.Changes), limit)
					}
					continue
				}
				if len(seen) < len(objs) {
					nextHint(t, ch)
				}
			}
			wg.Wait()
			for _, o := range objs {
				if n := seen[o.Header.ID]; n != 1 {
					t.Errorf("%s seen %d times, want once", o.Header.ID, n)
				}
			}
			if want := dateAdded(len(objs) - 1); !pos.Equal(want) {
				t.Errorf("last cursor = %s, want %s", pos, want)
			}
		})
	}
}

// Ensure that a watch channel is closed when its context ends, when its
// collection is deleted and when the store closes, and only then.
func (s *suite) TestDB_Watch_Close(t *testing.T) {
	ctx := context.Background()
	t.Run("ContextDone", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		wctx, cancel := context.WithCancel(ctx)
		ch := mustWatch(t, wctx, db, collA)
		other := mustWatch(t, ctx, db, collA)
		cancel()
		mustClose(t, ch)
		// The other subscriber still hears.
		db.MustAdd(t, collA, indicator(t, stixID("indicator", 1), created))
		if got := nextHint(t, other); !got.Equal(dateAdded(0)) {
			t.Errorf("hint = %s, want %s", got, dateAdded(0))
		}
		if _, err := db.Watch(wctx, collA); !errors.Is(err, context.Canceled) {
			t.Errorf("Watch(done ctx) = %v, want context.Canceled", err)
		}
	})

	t.Run("CollectionDeleted", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		db.MustCollection(t, apiRoot, collB)
		db.MustAdd(t, collA, indicator(t, stixID("indicator", 1), created))
		if _, err := db.DeleteObject(ctx, collA, stixID("indicator", 1), store.Filter{}); err != nil {
			t.Fatal(err)
		}
		ch := mustWatch(t, ctx, db, collA)
		other := mustWatch(t, ctx, db, collB)
		err := db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error { return tx.DeleteCollection(collA) })
		if err != nil {
			t.Fatal(err)
		}
		mustClose(t, ch)
		if _, err := db.ReadChanges(ctx, collA, time.Time{}, 10); !errors.Is(err, store.ErrCollectionNotFound) {
			t.Errorf("ReadChanges(deleted) = %v, want ErrCollectionNotFound", err)
		}
		// A collection created again under the id starts a new feed: the
		// tombstones went with the collection.
		db.MustCollection(t, apiRoot, collA)
		if pg := mustReadChanges(t, db, collA, time.Time{}, 10); len(pg.Changes) != 0 {
			t.Errorf("recreated collection's feed = %v, want empty", changesOf(pg))
		}
		db.MustAdd(t, collB, indicator(t, stixID("indicator", 2), created))
		if got := nextHint(t, other); got.IsZero() {
			t.Error("zero hint")
		}
	})

	t.Run("StoreClosed", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		ch := mustWatch(t, ctx, db, collA)
		old := db.Store
		db.MustReopen(t)
		mustClose(t, ch)
		if _, err := old.Watch(ctx, collA); err == nil {
			t.Error("Watch on a closed store succeeded")
		}
	})
}

// Ensure that both methods report an unknown collection.
func (s *suite) TestDB_Watch_ErrCollectionNotFound(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	if ch, err := db.Watch(ctx, collB); !errors.Is(err, store.ErrCollectionNotFound) || ch != nil {
		t.Errorf("Watch = %v, %v; want nil, ErrCollectionNotFound", ch, err)
	}
	if pg, err := db.ReadChanges(ctx, collB, time.Time{}, 10); !errors.Is(err, store.ErrCollectionNotFound) || pg != nil {
		t.Errorf("ReadChanges = %v, %v; want nil, ErrCollectionNotFound", pg, err)
	}
}

// Ensure that PruneDeletions removes only the tombstones older than its
// bound, and that a reader further behind than that is told of the gap.
func (s *suite) TestDB_PruneDeletions(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	db.MustCollection(t, apiRoot, collB)
	x, y := indicator(t, stixID("indicator", 1), created), indicator(t, stixID("indicator", 2), created)
	db.MustAdd(t, collA, x, y) // cursors t0, t0+1µs
	// Tombstone at t0+2µs.
	if _, err := db.DeleteObject(ctx, collA, x.Header.ID, store.Filter{}); err != nil {
		t.Fatal(err)
	}
	db.MustAdd(t, collB, x)
	// Tombstone at t0+1µs in B.
	if _, err := db.DeleteObject(ctx, collB, x.Header.ID, store.Filter{}); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	db.Clock.Set(later)
	if _, err := db.DeleteObject(ctx, collA, y.Header.ID, store.Filter{}); err != nil {
		t.Fatal(err)
	}

	if n, err := db.PruneDeletions(ctx, t0.Add(30*time.Minute)); err != nil || n != 2 {
		t.Fatalf("PruneDeletions = %d, %v; want 2", n, err)
	}
	want := []change{{later, true, rvOf(y)}}
	pg := mustReadChanges(t, db, collA, time.Time{}, 10)
	if got := changesOf(pg); !equalChanges(got, want) || pg.Gap || !pg.Newest.Equal(later) {
		t.Errorf("after pruning: %v Gap=%v Newest=%s; want %v false %s", got, pg.Gap, pg.Newest, want, later)
	}
	if pg := mustReadChanges(t, db, collB, time.Time{}, 10); len(pg.Changes) != 0 || !pg.Newest.Equal(dateAdded(1)) {
		t.Errorf("collection B after pruning: %v Newest=%s", changesOf(pg), pg.Newest)
	}
	// Behind the pruned deletion: told. At or past it: not.
	for _, tc := range []struct {
		after time.Time
		gap   bool
	}{{dateAdded(0), true}, {dateAdded(1), true}, {dateAdded(2), false}, {later, false}} {
		if pg := mustReadChanges(t, db, collA, tc.after, 10); pg.Gap != tc.gap {
			t.Errorf("after %s: Gap = %v, want %v", tc.after, pg.Gap, tc.gap)
		}
	}
	if n, err := db.PruneDeletions(ctx, t0.Add(30*time.Minute)); err != nil || n != 0 {
		t.Errorf("PruneDeletions again = %d, %v; want 0", n, err)
	}
	if n, err := db.PruneDeletions(ctx, later.Add(time.Microsecond)); err != nil || n != 1 {
		t.Errorf("PruneDeletions(all) = %d, %v; want 1", n, err)
	}
	if pg := mustReadChanges(t, db, collA, dateAdded(2), 10); len(pg.Changes) != 0 || !pg.Gap {
		t.Errorf("after pruning all: %v Gap=%v", changesOf(pg), pg.Gap)
	}
}
