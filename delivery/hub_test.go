package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
)

const (
	apiRoot = "election-officials"
	collA   = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	collB   = "52892447-4d7e-4f70-b94d-d7f22742ff63"
)

// waitLimit bounds every wait for something the test expects: a failure
// deadline, never a measure of speed.
const waitLimit = 10 * time.Second

var validator = sync.OnceValue(func() *stix.Validator {
	v, err := stix.NewValidator()
	if err != nil {
		panic(err)
	}
	return v
})

// openStore opens a real bbolt store in a temporary directory with
// collections collA and collB, closed when the test ends.
func openStore(tb testing.TB) *bolt.DB {
	tb.Helper()
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "eitaxii.db"), bolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, id := range []string{collA, collB} {
		if err := db.EnsureCollection(context.Background(), store.Collection{ID: id, APIRoot: apiRoot, Title: "t"}); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

func indicatorID(n int) string { return fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", n, n) }

// add publishes indicators lo..hi-1 to coll in one request.
func add(tb testing.TB, db store.Store, coll string, lo, hi int) {
	tb.Helper()
	sub := &store.Submission{APIRoot: apiRoot, Collection: coll, Account: "publisher", Received: time.Now()}
	for n := lo; n < hi; n++ {
		raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00.000Z"}`,
			indicatorID(n), n%250)
		h, findings := validator().Check([]byte(raw))
		if len(findings) > 0 {
			tb.Fatalf("invalid test object: %s", stix.Summarize(findings, 3))
		}
		sub.Objects = append(sub.Objects, store.Object{Header: h, Raw: []byte(raw)})
	}
	st, err := db.AddObjects(context.Background(), sub)
	if err != nil || st.SuccessCount != hi-lo {
		tb.Fatalf("add: %v %+v", err, st)
	}
}

// next returns the subscription's next change, failing the test if it
// ends or none comes.
func next(tb testing.TB, s *delivery.Subscription) *store.Change {
	tb.Helper()
	select {
	case c := <-s.C():
		return c
	case <-s.Done():
		tb.Fatalf("subscription ended: %v", s.Err())
	case <-time.After(waitLimit):
		tb.Fatal("no change")
	}
	return nil
}

func waitEnd(tb testing.TB, s *delivery.Subscription) error {
	tb.Helper()
	select {
	case <-s.Done():
		return s.Err()
	case <-time.After(waitLimit):
		tb.Fatal("subscription did not end")
	}
	return nil
}

func subscribe(tb testing.TB, h *delivery.Hub, coll string) *delivery.Subscription {
	tb.Helper()
	s, err := h.Subscribe(context.Background(), coll)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// readAll reads the store's changes after from, as the stream's replay does.
func readAll(tb testing.TB, db store.Store, coll string, from time.Time) []store.Change {
	tb.Helper()
	var out []store.Change
	for {
		p, err := db.ReadChanges(context.Background(), coll, from, 0)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, p.Changes...)
		if len(p.Changes) > 0 {
			from = p.Changes[len(p.Changes)-1].Cursor
		}
		if !p.More {
			return out
		}
	}
}

// Ensure that every subscriber of a collection gets every change committed
// after it subscribed, once, in cursor order, deletions included, and
// nothing of another collection.
func TestHub_FanOut(t *testing.T) {
	db := openStore(t)
	add(t, db, collA, 0, 2) // before anyone subscribed: not queued
	h := delivery.NewHub(db, delivery.HubOptions{})
	defer h.Close()
	s1, s2 := subscribe(t, h, collA), subscribe(t, h, collA)
	other := subscribe(t, h, collB)
	add(t, db, collA, 2, 5)
	add(t, db, collA, 5, 6)
	want := readAll(t, db, collA, time.Time{})[2:]
	if _, err := db.DeleteObject(context.Background(), collA, indicatorID(3), store.Filter{}); err != nil {
		t.Fatal(err)
	}
	// The deletion's change; the store no longer reads the addition it
	// deleted, but subscribers got it live.
	all := readAll(t, db, collA, want[len(want)-1].Cursor)
	if len(want) != 4 || len(all) != 1 || !all[0].Deleted {
		t.Fatalf("store changes %d then %v, want 4 additions and a deletion", len(want), all)
	}
	want = append(want, all[0])
	for _, s := range []*delivery.Subscription{s1, s2} {
		for i, w := range want {
			got := next(t, s)
			if !got.Cursor.Equal(w.Cursor) || got.Deleted != w.Deleted || got.Record.ID != w.Record.ID {
				t.Fatalf("change %d: %s %v %s, want %s %v %s", i, got.Cursor, got.Deleted, got.Record.ID, w.Cursor, w.Deleted, w.Record.ID)
			}
			if !w.Deleted && string(got.Record.Raw) != string(w.Record.Raw) {
				t.Errorf("change %d: bytes differ from the store's", i)
			}
		}
		select {
		case c := <-s.C():
			t.Errorf("extra change %s", c.Cursor)
		default:
		}
		if q := s.Queued(); !q.Equal(want[len(want)-1].Cursor) {
			t.Errorf("Queued %s, want the last cursor %s", q, want[len(want)-1].Cursor)
		}
	}
	select {
	case c := <-other.C():
		t.Errorf("collection B's subscriber got %s of A", c.Record.ID)
	default:
	}
}

// Ensure that a subscriber that does not keep up is dropped with ErrSlow
// once its queue is full, without holding up the others, and that it
// loses nothing: reading the store from its last change gives the rest.
func TestHub_SlowSubscriberDropped(t *testing.T) {
	db := openStore(t)
	h := delivery.NewHub(db, delivery.HubOptions{Queue: 2})
	defer h.Close()
	slow, fast := subscribe(t, h, collA), subscribe(t, h, collA)
	var fastGot []time.Time
	for n := 0; n < 5; n++ {
		add(t, db, collA, n, n+1)
		fastGot = append(fastGot, next(t, fast).Cursor)
	}
	if err := waitEnd(t, slow); !errors.Is(err, delivery.ErrSlow) {
		t.Fatalf("slow subscriber ended with %v, want ErrSlow", err)
	}
	if fast.Err() != nil {
		t.Fatalf("fast subscriber ended: %v", fast.Err())
	}
	// The slow one handled the first change it was given, then resumes
	// from it: queue and store together hold everything, once.
	var last time.Time
	select {
	case c := <-slow.C():
		last = c.Cursor
	default:
		t.Fatal("the dropped subscriber's queue is empty; it held the changes queued before the drop")
	}
	got := []time.Time{last}
	for _, c := range readAll(t, db, collA, last) {
		got = append(got, c.Cursor)
	}
	if fmt.Sprint(got) != fmt.Sprint(fastGot) {
		t.Errorf("resumed slow subscriber saw %v, want %v", got, fastGot)
	}
}

// Ensure that the feed of a collection stops with its last subscriber and
// a later subscriber starts a new one that works, and that a cancelled
// context ends a subscription.
func TestHub_Resubscribe(t *testing.T) {
	db := openStore(t)
	h := delivery.NewHub(db, delivery.HubOptions{})
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := h.Subscribe(ctx, collA)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := waitEnd(t, s); !errors.Is(err, delivery.ErrUnsubscribed) {
		t.Fatalf("ended with %v, want ErrUnsubscribed", err)
	}
	add(t, db, collA, 0, 1)
	s2 := subscribe(t, h, collA)
	add(t, db, collA, 1, 2)
	if c := next(t, s2); c.Record.ID != indicatorID(1) {
		t.Errorf("new subscriber got %s, want %s (changes before it subscribed are not queued)", c.Record.ID, indicatorID(1))
	}
}

// Ensure that deleting the collection ends its subscriptions with
// ErrFeedEnded, that Close ends the others with ErrClosed, and that
// Subscribe refuses an unknown collection and a closed hub.
func TestHub_End(t *testing.T) {
	db := openStore(t)
	h := delivery.NewHub(db, delivery.HubOptions{})
	if _, err := h.Subscribe(context.Background(), "no-such-collection"); !errors.Is(err, store.ErrCollectionNotFound) {
		t.Errorf("unknown collection: %v, want ErrCollectionNotFound", err)
	}
	a, b := subscribe(t, h, collA), subscribe(t, h, collB)
	err := db.ChangeDirectory(context.Background(), func(tx store.DirectoryTx) error { return tx.DeleteCollection(collA) })
	if err != nil {
		t.Fatal(err)
	}
	if err := waitEnd(t, a); !errors.Is(err, delivery.ErrFeedEnded) {
		t.Errorf("deleted collection: %v, want ErrFeedEnded", err)
	}
	h.Close()
	if err := waitEnd(t, b); !errors.Is(err, delivery.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if _, err := h.Subscribe(context.Background(), collB); !errors.Is(err, delivery.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

// Ensure the seam a replaying subscriber relies on, while a publisher
// writes: subscribe, read the store from a position to its end, then take
// from the queue what is later than the last change read; together they
// are every change after the position, once, in order.
func TestHub_SubscribeThenReplay(t *testing.T) {
	db := openStore(t)
	h := delivery.NewHub(db, delivery.HubOptions{})
	defer h.Close()
	const objects = 60
	errc := make(chan error, 1)
	go func() {
		for n := 0; n < objects; n++ {
			// One version per request, each a commit and a hint.
			err := addErr(db, collA, n)
			if err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	type subscriber struct {
		s        *delivery.Subscription
		from     time.Time
		got      []time.Time
		replayed time.Time
	}
	var subs []*subscriber
	for i := 0; i < 8; i++ {
		sc := &subscriber{}
		if cs := readAll(t, db, collA, time.Time{}); len(cs) > 0 {
			sc.from = cs[len(cs)/2].Cursor // somewhere in the past
		}
		sc.s = subscribe(t, h, collA)
		sc.replayed = sc.from
		for _, c := range readAll(t, db, collA, sc.from) {
			sc.got = append(sc.got, c.Cursor)
			sc.replayed = c.Cursor
		}
		subs = append(subs, sc)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for i, sc := range subs {
		want := readAll(t, db, collA, sc.from)
		for len(sc.got) < len(want) {
			c := next(t, sc.s)
			if c.Cursor.After(sc.replayed) {
				sc.got = append(sc.got, c.Cursor)
			}
		}
		var w []time.Time
		for _, c := range want {
			w = append(w, c.Cursor)
		}
		if fmt.Sprint(sc.got) != fmt.Sprint(w) {
			t.Errorf("subscriber %d from %s: got %v, want %v", i, sc.from, sc.got, w)
		}
	}
}

func addErr(db store.Store, coll string, n int) error {
	raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00.000Z"}`, indicatorID(n))
	h, findings := validator().Check([]byte(raw))
	if len(findings) > 0 {
		return fmt.Errorf("invalid test object: %s", stix.Summarize(findings, 3))
	}
	_, err := db.AddObjects(context.Background(), &store.Submission{APIRoot: apiRoot, Collection: coll, Account: "p",
		Received: time.Now(), Objects: []store.Object{{Header: h, Raw: []byte(raw)}}})
	return err
}
