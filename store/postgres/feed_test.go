package postgres_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/postgres"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
	"github.com/eitaxii/eitaxii/store/storetest"
	"github.com/jackc/pgx/v5"
)

// hintWithin waits for a hint on ch of at least want, for at most d.
func hintWithin(tb testing.TB, ch <-chan time.Time, want time.Time, d time.Duration) {
	tb.Helper()
	timeout := time.After(d)
	for {
		select {
		case got, ok := <-ch:
			if !ok {
				tb.Fatal("watch channel closed")
			}
			if !got.Before(want) {
				return
			}
		case <-timeout:
			tb.Fatalf("no hint of %s within %s", want, d)
		}
	}
}

// watchOtherNode opens two stores, two nodes, on a new database with
// collection CollA, and returns the database's URL, the second store, and
// a watch of CollA on the first.
func watchOtherNode(t *testing.T) (url string, b *postgres.DB, ch <-chan time.Time) {
	t.Helper()
	url = pgtest.URL(t)
	a := mustOpen(t, url, postgres.Options{})
	b = mustOpen(t, url, postgres.Options{})
	storetest.MustCollection(t, a, storetest.APIRoot, storetest.CollA)
	ch, err := a.Watch(context.Background(), storetest.CollA)
	if err != nil {
		t.Fatal(err)
	}
	return url, b, ch
}

// Ensure that a node's watchers hear of another node's commits, keep
// hearing after their listening connection is killed (as when the
// database restarts), and are closed when another node deletes the
// collection.
func TestWatch_AcrossNodes(t *testing.T) {
	url, b, ch := watchOtherNode(t)
	ctx := context.Background()
	// The notification is delivered at once; the periodic read (2 s)
	// would do at worst.
	storetest.MustAdd(t, b, time.Now(), storetest.CollA, storetest.Indicators(t, 0, 1)...)
	last := storetest.AllVersions(t, b, storetest.CollA)[0].DateAdded
	hintWithin(t, ch, last, 10*time.Second)

	// Kill the listener's connection: it reconnects, re-listens and reads
	// what it may have missed.
	mustExec(t, url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN eitaxii_changes' AND datname = current_database()")
	storetest.MustAdd(t, b, time.Now(), storetest.CollA, storetest.Indicators(t, 1, 1)...)
	recs := storetest.AllVersions(t, b, storetest.CollA)
	hintWithin(t, ch, recs[len(recs)-1].DateAdded, 10*time.Second)

	if err := b.ChangeDirectory(ctx, func(tx store.DirectoryTx) error { return tx.DeleteCollection(storetest.CollA) }); err != nil {
		t.Fatal(err)
	}
	storetest.MustClose(t, ch)
}

// Ensure that a watcher keeps hearing of commits after the database
// restarts: the listener reconnects and listens again, and the stores'
// pools reconnect, without restarting the stores.
func TestWatch_DatabaseRestart(t *testing.T) {
	_, b, ch := watchOtherNode(t)
	ctx := context.Background()
	pgtest.Restart(t)
	// The first uses of a pool's connections after the restart may fail
	// until it has replaced them: publish until a request is stored.
	var st *store.Status
	var err error
	for try := 0; ; try++ {
		st, err = b.AddObjects(ctx, &store.Submission{APIRoot: storetest.APIRoot, Collection: storetest.CollA,
			Received: time.Now(), Objects: storetest.Indicators(t, 0, 1)})
		if err == nil {
			break
		}
		if try == 50 {
			t.Fatalf("publishing after the restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.SuccessCount != 1 {
		t.Fatalf("status %+v", st)
	}
	recs := storetest.AllVersions(t, b, storetest.CollA)
	hintWithin(t, ch, recs[len(recs)-1].DateAdded, 15*time.Second)
}

// Ensure what a commit notifies: on eitaxii_changes the collection id and
// its newest cursor (which the other nodes pass to their watchers without
// a read), the id alone when the collection is deleted; and on
// eitaxii_objects, the channel of earlier releases, the id alone, so that
// their nodes still hear this one's commits during a rolling upgrade.
func TestWatch_NotificationPayloads(t *testing.T) {
	url := pgtest.URL(t)
	db := mustOpen(t, url, postgres.Options{})
	storetest.MustCollection(t, db, storetest.APIRoot, storetest.CollA)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, ch := range []string{"eitaxii_changes", "eitaxii_objects"} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			t.Fatal(err)
		}
	}
	// next returns the next notification's channel and payload.
	next := func() (string, string) {
		t.Helper()
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n.Channel, n.Payload
	}
	want := func(what string, w map[string]string) {
		t.Helper()
		got := map[string]string{}
		for range w {
			ch, payload := next()
			got[ch] = payload
		}
		for ch, p := range w {
			if got[ch] != p {
				t.Errorf("%s: %s payload %q, want %q", what, ch, got[ch], p)
			}
		}
	}

	storetest.MustAdd(t, db, time.Now(), storetest.CollA, storetest.Indicators(t, 0, 2)...)
	recs := storetest.AllVersions(t, db, storetest.CollA)
	last := recs[len(recs)-1].DateAdded.UnixMicro()
	want("publish", map[string]string{
		"eitaxii_changes": storetest.CollA + " " + strconv.FormatInt(last, 10),
		"eitaxii_objects": storetest.CollA,
	})

	n, err := db.DeleteObject(ctx, storetest.CollA, recs[0].ID, store.Filter{})
	if err != nil || n != 1 {
		t.Fatalf("DeleteObject: %d, %v", n, err)
	}
	var newest int64
	withConn(t, url, "last_added", func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT last_added FROM collections WHERE id = $1", storetest.CollA).Scan(&newest)
	})
	want("delete", map[string]string{
		"eitaxii_changes": storetest.CollA + " " + strconv.FormatInt(newest, 10),
		"eitaxii_objects": storetest.CollA,
	})

	if err := db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error { return tx.DeleteCollection(storetest.CollA) }); err != nil {
		t.Fatal(err)
	}
	want("collection deleted", map[string]string{"eitaxii_changes": storetest.CollA, "eitaxii_objects": storetest.CollA})
}

// Ensure that the periodic read covers a lost notification even while
// notifications of other commits keep arriving: a change to one collection
// whose notification never came (here last_added moved by hand, as a
// commit the listener missed) is hinted to its watchers while another
// collection is published to without pause.
func TestWatch_LostNotificationUnderTraffic(t *testing.T) {
	url, b, _ := watchOtherNode(t)
	ctx := context.Background()
	a := mustOpen(t, url, postgres.Options{})
	storetest.MustCollection(t, b, storetest.APIRoot, storetest.CollB)
	storetest.MustAdd(t, b, time.Now(), storetest.CollB, storetest.Indicators(t, 0, 1)...)
	chB, err := a.Watch(ctx, storetest.CollB)
	if err != nil {
		t.Fatal(err)
	}
	before := storetest.AllVersions(t, b, storetest.CollB)[0].DateAdded
	lost := before.Add(time.Millisecond)
	mustExec(t, url, "UPDATE collections SET last_added = $2 WHERE id = $1", storetest.CollB, lost.UnixMicro())

	// Publish to CollA until CollB's watcher has its hint: with a read
	// only after a quiet feedPoll, it would never come.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			_, err := b.AddObjects(ctx, &store.Submission{APIRoot: storetest.APIRoot, Collection: storetest.CollA,
				Received: time.Now(), Objects: storetest.Indicators(t, i, 1)})
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	defer wg.Wait()
	defer close(stop)
	hintWithin(t, chB, lost, 15*time.Second)
}
