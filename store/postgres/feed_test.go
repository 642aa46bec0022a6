package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/postgres"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
	"github.com/eitaxii/eitaxii/store/storetest"
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
	mustExec(t, url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN eitaxii_objects' AND datname = current_database()")
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
