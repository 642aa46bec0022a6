package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/postgres"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
)

// leaseSessions counts the sessions holding the dispatch lease's advisory
// lock (a 64-bit key is split into classid, objid).
func leaseSessions(tb testing.TB, url string) int {
	tb.Helper()
	return mustQueryInt(tb, url, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'eitaxii webhook dispatch lease'
		AND a.datname = current_database()`)
}

type leaseResult struct {
	lease   context.Context
	release func()
	err     error
}

// askLease calls DispatchLease in the background.
func askLease(ctx context.Context, db *postgres.DB) <-chan leaseResult {
	ch := make(chan leaseResult, 1)
	go func() {
		l, r, err := db.DispatchLease(ctx)
		ch <- leaseResult{l, r, err}
	}()
	return ch
}

// awaitLease returns the lease askLease asked for, failing tb with what
// (what did not happen) unless it is granted within 10 s.
func awaitLease(tb testing.TB, waiting <-chan leaseResult, what string) leaseResult {
	tb.Helper()
	select {
	case r := <-waiting:
		if r.err != nil {
			tb.Fatalf("%s: %v", what, r.err)
		}
		return r
	case <-time.After(10 * time.Second):
		tb.Fatal(what)
		return leaseResult{}
	}
}

func waitDone(tb testing.TB, what string, ctx context.Context, within time.Duration) {
	tb.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(within):
		tb.Fatalf("%s: lease not done within %v", what, within)
	}
}

// Ensure that of two nodes on one database only one holds the dispatch
// lease at a time, and that the other gets it once the first closes its
// store, without releasing it.
func TestDispatchLease_TwoNodes(t *testing.T) {
	url := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second := mustOpen(t, url, postgres.Options{})

	lease1, _, err := first.DispatchLease(ctx)
	if err != nil {
		t.Fatalf("first node: %v", err)
	}
	// The second node waits for as long as its context lets it.
	short, cancelShort := context.WithTimeout(ctx, 1500*time.Millisecond)
	_, _, err = second.DispatchLease(short)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second node while the first holds the lease: err=%v, want context.DeadlineExceeded", err)
	}
	waiting := askLease(ctx, second)
	select {
	case r := <-waiting:
		t.Fatalf("second node got the lease while the first holds it (err %v)", r.err)
	case <-time.After(2500 * time.Millisecond): // past a ping of the holder
	}
	if lease1.Err() != nil {
		t.Fatalf("first node's lease ended: %v", lease1.Err())
	}
	if n := leaseSessions(t, url); n != 1 {
		t.Fatalf("%d sessions hold the lease, want 1", n)
	}

	first.Close()
	waitDone(t, "first node after Close", lease1, time.Second)
	r := awaitLease(t, waiting, "second node did not get the lease after the first closed")
	defer r.release()
	if r.lease.Err() != nil {
		t.Fatalf("second node's lease done at once: %v", r.lease.Err())
	}
	if _, _, err := first.DispatchLease(ctx); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("DispatchLease on a closed store: err=%v, want the store's", err)
	}
	if n := leaseSessions(t, url); n != 1 {
		t.Fatalf("%d sessions hold the lease, want 1", n)
	}

	// release hands it back: a third node takes it at its next try.
	third := mustOpen(t, url, postgres.Options{})
	waiting = askLease(ctx, third)
	r.release()
	r.release() // a second call does nothing
	waitDone(t, "second node after release", r.lease, time.Second)
	r = awaitLease(t, waiting, "third node did not get the lease after the second released it")
	r.release()
}

// Ensure that a node whose lease session dies (the server ends it, as it
// does when the node is cut off or frozen) loses the lease within a few
// seconds, and that the other node takes it over.
func TestDispatchLease_SessionLost(t *testing.T) {
	url := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := mustOpen(t, url, postgres.Options{})
	b := mustOpen(t, url, postgres.Options{})
	lease, release, err := a.DispatchLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	waiting := askLease(ctx, b)

	mustExec(t, url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'eitaxii webhook dispatch lease' AND datname = current_database()
		AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)`)
	waitDone(t, "holder after its session was terminated", lease, 10*time.Second)
	r := awaitLease(t, waiting, "the other node did not take the lease over")
	defer r.release()
	if n := leaseSessions(t, url); n != 1 {
		t.Fatalf("%d sessions hold the lease, want 1", n)
	}
	// The node that lost it waits again, as the dispatcher does.
	short, cancelShort := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancelShort()
	if _, _, err := a.DispatchLease(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the node that lost the lease: err=%v, want context.DeadlineExceeded", err)
	}
}

// Ensure that Verify reports what the webhook tables' constraints cannot
// refuse: a subscription without progress or without a secret, secrets
// numbered with a gap, a pending message not after the cursor, and a
// delivery log entry outside its window.
func TestVerify_Webhooks(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	ids := []string{"00000000-0000-4000-8000-00000000c0a1", "00000000-0000-4000-8000-00000000c0a2", "00000000-0000-4000-8000-00000000c0a3"}
	err = db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
		for _, id := range ids {
			w := store.Webhook{ID: id, Owner: "alice", Group: "g", Collection: "c", URL: "https://soc.example/h",
				Secrets: []store.WebhookSecret{{Key: []byte("k1")}, {Key: []byte("k2")}}}
			if err := tx.CreateWebhook(&w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := db.RecordDelivery(ctx, ids[1], store.WebhookState{}, &store.WebhookDelivery{Attempt: i, MessageID: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	if problems, err := db.Verify(ctx); err != nil || len(problems) != 0 {
		t.Fatalf("Verify before = %q, %v", problems, err)
	}
	mustExec(t, url, "DELETE FROM webhook_progress WHERE webhook = $1", ids[0])
	mustExec(t, url, "DELETE FROM webhook_secrets WHERE webhook = $1 AND position = 0", ids[1])
	mustExec(t, url, "DELETE FROM webhook_secrets WHERE webhook = $1", ids[2])
	mustExec(t, url, "UPDATE webhook_progress SET cursor_at = 10, pending = 10 WHERE webhook = $1", ids[2])
	mustExec(t, url, "UPDATE webhook_progress SET log_seq = 200 WHERE webhook = $1", ids[1])
	problems, err := db.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"webhook " + ids[0] + ": no progress row",
		"webhook " + ids[2] + ": no signing secret",
		"webhook " + ids[2] + ": pending message ends at 10 µs, not after the cursor 10 µs",
		"webhook " + ids[1] + ": 1 secrets numbered up to 1",
		"webhook " + ids[1] + ": delivery log entry 1 outside the window ending at 200",
	}
	for _, w := range want {
		if !slices.Contains(problems, w) {
			t.Errorf("Verify does not report %q; it reports %q", w, problems)
		}
	}
	if len(problems) != len(want)+2 { // entries 2 and 3 are outside the window too
		t.Errorf("Verify reports %d problems, want %d: %q", len(problems), len(want)+2, problems)
	}
}
