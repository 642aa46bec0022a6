package storetest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// The webhook fixtures: two subscriptions on collA of the directory
// fixture, alice's and bob's.
const (
	hookA = "00000000-0000-4000-8000-00000000c0a1"
	hookB = "00000000-0000-4000-8000-00000000c0b1"
)

func testWebhook(id, owner string) store.Webhook {
	return store.Webhook{
		ID: id, Owner: owner, Group: apiRoot, Collection: collA,
		URL: "https://soc.example/hooks/" + owner, Types: []string{"indicator"}, IncludeObjects: true,
		Secrets: []store.WebhookSecret{{Key: []byte("0123456789abcdef0123456789abcdef"), Created: t0}},
		Created: t0,
	}
}

// seedWebhooks writes the directory fixture and both subscriptions.
func (db *DB) seedWebhooks(tb testing.TB) []store.Webhook {
	tb.Helper()
	db.seedDirectory(tb)
	want := []store.Webhook{testWebhook(hookA, dirAlice), testWebhook(hookB, dirBob)}
	want[1].Types, want[1].IncludeObjects = nil, false
	db.mustChange(tb, func(tx store.DirectoryTx) error {
		for i := range want {
			if err := tx.CreateWebhook(&want[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return want
}

func mustWebhooks(tb testing.TB, s store.Store) []store.Webhook {
	tb.Helper()
	got, err := s.Webhooks(context.Background())
	if err != nil {
		tb.Fatalf("Webhooks: %v", err)
	}
	return got
}

// TestDB_Webhook_CRUD: subscriptions come back as written, sorted by id,
// through the store and through a transaction, and survive a reopen; an
// id is unique; update and delete of an unknown one are ErrNotFound.
func (s *suite) TestDB_Webhook_CRUD(t *testing.T) {
	db := s.MustOpenDB(t)
	ctx := context.Background()
	want := db.seedWebhooks(t)
	if got := mustWebhooks(t, db); !reflect.DeepEqual(got, want) {
		t.Fatalf("Webhooks=%+v, want %+v", got, want)
	}
	if got, err := db.Webhook(ctx, hookA); err != nil {
		t.Fatal(err)
	} else if !reflect.DeepEqual(*got, want[0]) {
		t.Fatalf("Webhook=%+v, want %+v", *got, want[0])
	}
	if _, err := db.Webhook(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Webhook(unknown) err=%v, want ErrNotFound", err)
	}

	t.Run("ErrWebhookExists", func(t *testing.T) {
		err := db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
			w := testWebhook(hookA, dirBob)
			return tx.CreateWebhook(&w)
		})
		var ce *store.ConflictError
		if !errors.As(err, &ce) || ce.Invariant != store.WebhookExists || ce.Key != hookA {
			t.Fatalf("err=%v, want a WebhookExists conflict on %s", err, hookA)
		}
		if got := mustWebhooks(t, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("after the conflict Webhooks=%+v, want %+v", got, want)
		}
	})

	t.Run("Update", func(t *testing.T) {
		rotated := store.WebhookSecret{Key: []byte("fedcba9876543210fedcba9876543210"), Created: t0.Add(time.Hour)}
		db.mustChange(t, func(tx store.DirectoryTx) error {
			w, err := tx.Webhook(hookA)
			if err != nil {
				return err
			}
			w.Secrets[0].Expires = t0.Add(25 * time.Hour)
			w.Secrets = append([]store.WebhookSecret{rotated}, w.Secrets...)
			return tx.UpdateWebhook(w)
		})
		want[0].Secrets[0].Expires = t0.Add(25 * time.Hour)
		want[0].Secrets = append([]store.WebhookSecret{rotated}, want[0].Secrets...)
		if got := mustWebhooks(t, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("Webhooks=%+v, want %+v", got, want)
		}
		for name, fn := range map[string]func(tx store.DirectoryTx) error{
			"UpdateWebhook": func(tx store.DirectoryTx) error {
				w := testWebhook("00000000-0000-4000-8000-000000000000", dirAlice)
				return tx.UpdateWebhook(&w)
			},
			"DeleteWebhook": func(tx store.DirectoryTx) error { return tx.DeleteWebhook("00000000-0000-4000-8000-000000000000") },
			"Webhook": func(tx store.DirectoryTx) error {
				_, err := tx.Webhook("00000000-0000-4000-8000-000000000000")
				return err
			},
		} {
			if err := db.ChangeDirectory(ctx, fn); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s(unknown) err=%v, want ErrNotFound", name, err)
			}
		}
	})

	t.Run("Reopen", func(t *testing.T) {
		db.MustReopen(t)
		if got := mustWebhooks(t, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("after reopen Webhooks=%+v, want %+v", got, want)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		if err := db.RecordDelivery(ctx, hookB, store.WebhookState{}, &store.WebhookDelivery{Time: t0, MessageID: "m", Attempt: 1, Status: 200}); err != nil {
			t.Fatal(err)
		}
		db.mustChange(t, func(tx store.DirectoryTx) error { return tx.DeleteWebhook(hookB) })
		if got := mustWebhooks(t, db); !reflect.DeepEqual(got, want[:1]) {
			t.Fatalf("Webhooks=%+v, want %+v", got, want[:1])
		}
		if _, err := db.WebhookDeliveries(ctx, hookB, 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("WebhookDeliveries(deleted) err=%v, want ErrNotFound", err)
		}
		// A new subscription under the same id starts with an empty log.
		db.mustChange(t, func(tx store.DirectoryTx) error {
			w := testWebhook(hookB, dirBob)
			return tx.CreateWebhook(&w)
		})
		if log, err := db.WebhookDeliveries(ctx, hookB, 0); err != nil || len(log) != 0 {
			t.Fatalf("WebhookDeliveries(recreated)=%v, %v; want empty", log, err)
		}
	})
}

// TestDB_Webhook_RollBack: a subscription created in a change that fails
// is not kept, and neither is its audit row.
func (s *suite) TestDB_Webhook_RollBack(t *testing.T) {
	db := s.MustOpenDB(t)
	ctx := context.Background()
	db.seedDirectory(t)
	errStop := errors.New("stop")
	err := db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
		w := testWebhook(hookA, dirAlice)
		if err := tx.CreateWebhook(&w); err != nil {
			return err
		}
		if err := tx.Audit(store.AuditEvent{Action: "admin.webhook.create", Target: "webhook " + hookA}); err != nil {
			return err
		}
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("err=%v, want fn's", err)
	}
	if got := mustWebhooks(t, db); len(got) != 0 {
		t.Fatalf("Webhooks=%+v, want none", got)
	}
	if evs, err := db.FindAudit(ctx, store.AuditQuery{Action: "admin.webhook.create"}); err != nil || len(evs) != 0 {
		t.Fatalf("audit=%v, %v; want none", evs, err)
	}
}

// TestDB_Webhook_RecordDelivery: the state is replaced and the
// configuration kept; the log is newest first, bounded, clipped; an
// unknown subscription is ErrNotFound and writes nothing.
func (s *suite) TestDB_Webhook_RecordDelivery(t *testing.T) {
	db := s.MustOpenDB(t)
	ctx := context.Background()
	want := db.seedWebhooks(t)

	st := store.WebhookState{Cursor: dateAdded(3), Pending: dateAdded(5), Failures: 2, FailingSince: t0.Add(time.Minute), NextAttempt: t0.Add(2 * time.Minute)}
	long := strings.Repeat("é", store.MaxWebhookError) // 2 bytes each
	n := store.MaxWebhookDeliveries + 7
	for i := 1; i <= n; i++ {
		d := &store.WebhookDelivery{Time: t0.Add(time.Duration(i) * time.Second), MessageID: "msg", Attempt: i,
			First: dateAdded(4), Last: dateAdded(5), Changes: 2, Status: 503, Latency: time.Duration(i) * time.Millisecond, Error: long}
		if err := db.RecordDelivery(ctx, hookA, st, d); err != nil {
			t.Fatalf("RecordDelivery %d: %v", i, err)
		}
	}
	want[0].State = st
	if got := mustWebhooks(t, db); !reflect.DeepEqual(got, want) {
		t.Fatalf("Webhooks=%+v, want %+v", got, want)
	}
	log, err := db.WebhookDeliveries(ctx, hookA, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != store.MaxWebhookDeliveries {
		t.Fatalf("len(log)=%d, want %d", len(log), store.MaxWebhookDeliveries)
	}
	for i, d := range log {
		if got, want := d.Attempt, n-i; got != want {
			t.Fatalf("log[%d].Attempt=%d, want %d (newest first)", i, got, want)
		}
		if len(d.Error) > store.MaxWebhookError || !strings.HasPrefix(long, d.Error) || len(d.Error) < store.MaxWebhookError-4 {
			t.Fatalf("log[%d].Error is %d bytes, want clipped to at most %d", i, len(d.Error), store.MaxWebhookError)
		}
	}
	if got := log[0]; got.Status != 503 || got.Latency != time.Duration(n)*time.Millisecond || !got.First.Equal(dateAdded(4)) || !got.Last.Equal(dateAdded(5)) || got.Changes != 2 || got.MessageID != "msg" {
		t.Fatalf("log[0]=%+v", got)
	}
	if short, err := db.WebhookDeliveries(ctx, hookA, 3); err != nil || len(short) != 3 || short[0].Attempt != n {
		t.Fatalf("WebhookDeliveries(limit 3)=%d entries, %v", len(short), err)
	}
	if log, err := db.WebhookDeliveries(ctx, hookB, 0); err != nil || len(log) != 0 {
		t.Fatalf("hookB log=%v, %v; want empty", log, err)
	}

	// A state-only record (nil delivery) adds nothing to the log.
	st2 := store.WebhookState{Disabled: true, Reason: "410 Gone", Cursor: dateAdded(5)}
	if err := db.RecordDelivery(ctx, hookA, st2, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Webhook(ctx, hookA); err != nil || !reflect.DeepEqual(got.State, st2) || !reflect.DeepEqual(got.Secrets, want[0].Secrets) {
		t.Fatalf("Webhook=%+v, %v", got, err)
	}
	if log, _ := db.WebhookDeliveries(ctx, hookA, 0); len(log) != store.MaxWebhookDeliveries || log[0].Attempt != n {
		t.Fatalf("a state-only record changed the log")
	}

	unknown := "00000000-0000-4000-8000-000000000000"
	if err := db.RecordDelivery(ctx, unknown, st, &store.WebhookDelivery{Time: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RecordDelivery(unknown) err=%v, want ErrNotFound", err)
	}
	if _, err := db.WebhookDeliveries(ctx, unknown, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("WebhookDeliveries(unknown) err=%v, want ErrNotFound", err)
	}

	db.MustReopen(t)
	if got, err := db.Webhook(ctx, hookA); err != nil || !reflect.DeepEqual(got.State, st2) {
		t.Fatalf("after reopen State=%+v, %v; want %+v", got.State, err, st2)
	}
	if log, _ := db.WebhookDeliveries(ctx, hookA, 0); len(log) != store.MaxWebhookDeliveries {
		t.Fatalf("after reopen len(log)=%d", len(log))
	}
}

// TestDB_Webhook_ConcurrentRecords: deliveries of several subscriptions
// recorded at once are all kept, each in its own log.
func (s *suite) TestDB_Webhook_ConcurrentRecords(t *testing.T) {
	db := s.MustOpenDB(t)
	ctx := context.Background()
	db.seedWebhooks(t)
	const per = 20
	var wg sync.WaitGroup
	for _, id := range []string{hookA, hookB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= per; i++ {
				st := store.WebhookState{Cursor: dateAdded(i)}
				if err := db.RecordDelivery(ctx, id, st, &store.WebhookDelivery{Time: t0, MessageID: id, Attempt: i, Status: 204}); err != nil {
					t.Errorf("RecordDelivery %s %d: %v", id, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range []string{hookA, hookB} {
		w, err := db.Webhook(ctx, id)
		if err != nil || !w.State.Cursor.Equal(dateAdded(per)) {
			t.Fatalf("%s: Webhook=%+v, %v; want cursor %v", id, w, err, dateAdded(per))
		}
		log, err := db.WebhookDeliveries(ctx, id, 0)
		if err != nil || len(log) != per {
			t.Fatalf("%s: %d log entries, %v; want %d", id, len(log), err, per)
		}
		for _, d := range log {
			if d.MessageID != id {
				t.Fatalf("%s: log holds %q's entry", id, d.MessageID)
			}
		}
	}
}

// TestDB_DispatchLease: a store grants the lease to its one caller; the
// lease ends with release and with the caller's context.
func (s *suite) TestDB_DispatchLease(t *testing.T) {
	db := s.MustOpenDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, release, err := db.DispatchLease(ctx)
	if err != nil {
		t.Fatalf("DispatchLease: %v", err)
	}
	if lease.Err() != nil {
		t.Fatalf("lease done at once: %v", lease.Err())
	}
	release()
	select {
	case <-lease.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("lease not done after release")
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	lease2, release2, err := db.DispatchLease(ctx2)
	if err != nil {
		t.Fatalf("DispatchLease again: %v", err)
	}
	defer release2()
	cancel2()
	select {
	case <-lease2.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("lease not done after its context")
	}
	if _, _, err := db.DispatchLease(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("DispatchLease(done ctx) err=%v, want context.Canceled", err)
	}
}
