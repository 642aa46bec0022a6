package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Retention, backup, statistics, use records and a closed store: the
// maintenance side of the contract.

// Ensure that statuses older than the retention are removed and younger
// ones kept (REQ-43: at least 24 h is the caller's choice of cut-off).
func (s *suite) TestDB_PruneStatuses(t *testing.T) {
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		st, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collA,
			Received: t0.Add(time.Duration(i) * time.Hour), Objects: benchIndicators(t, i, 1)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	n, err := db.PruneStatuses(ctx, t0.Add(90*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("PruneStatuses = %d, %v; want 2", n, err)
	}
	for i, id := range ids {
		_, err := db.FindStatusRecord(ctx, apiRoot, id)
		if gone := errors.Is(err, store.ErrNotFound); gone != (i < 2) {
			t.Errorf("status %d: err %v", i, err)
		}
	}
	if n, err := db.PruneStatuses(ctx, t0.Add(90*time.Minute)); err != nil || n != 0 {
		t.Errorf("PruneStatuses again = %d, %v; want 0", n, err)
	}
	// The objects themselves stay.
	if recs := allVersions(t, db, collA); len(recs) != 3 {
		t.Fatalf("%d objects after pruning statuses, want 3", len(recs))
	}
}

// countingWriter counts what Backup writes without keeping it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// Ensure that Backup writes something, says how much, and runs while
// writers go on. (What a backup holds is the backend's format; restoring
// it is tested by each backend.)
func (s *suite) TestDB_Backup(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	db.MustAdd(t, collA, benchIndicators(t, 0, 20)...)

	const writers, requests = 2, 10
	objs := benchIndicators(t, 100, writers*requests)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for r := range requests {
				o := objs[w*requests+r]
				if _, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collA,
					Received: t0, Objects: []store.Object{o}}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	close(start)
	var cw countingWriter
	n, err := db.Backup(ctx, &cw)
	wg.Wait()
	if err != nil || n <= 0 || n != cw.n {
		t.Fatalf("Backup = %d, %v; wrote %d bytes", n, err, cw.n)
	}
	if recs := allVersions(t, db, collA); len(recs) != 20+len(objs) {
		t.Errorf("%d versions after backup with writers, want %d", len(recs), 20+len(objs))
	}

	// A failing writer fails the backup.
	if _, err := db.Backup(ctx, failingWriter{}); err == nil {
		t.Error("Backup to a failing writer succeeded")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

// Ensure that Stats counts collections, current object versions and
// statuses, and that Size and Ping answer on an open store.
func (s *suite) TestDB_Stats(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	st, err := db.Stats(ctx)
	if err != nil || st.Collections != 0 || st.ObjectVersions != 0 || st.Statuses != 0 {
		t.Fatalf("Stats of an empty store = %+v, %v", st, err)
	}
	db.MustCollection(t, apiRoot, collA)
	db.MustCollection(t, apiRoot, collB)
	x := stixID("indicator", 1)
	db.MustAdd(t, collA, indicator(t, x, created), indicator(t, x, created.Add(time.Hour)), malware(t, stixID("malware", 1), created))
	db.MustAdd(t, collB, indicator(t, x, created))
	if _, err := db.DeleteObject(ctx, collA, x, store.Filter{Versions: store.VersionSet{First: true}}); err != nil {
		t.Fatal(err)
	}
	st, err = db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Stats{Collections: 2, ObjectVersions: 3, Statuses: 2, Size: st.Size}); st != want || st.Size <= 0 {
		t.Errorf("Stats = %+v, want %+v with a positive size", st, want)
	}
	if size, err := db.Size(ctx); err != nil || size <= 0 {
		t.Errorf("Size = %d, %v", size, err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
}

// Ensure that RecordUse moves last-use times forward only, and skips
// tokens and accounts that do not exist.
func (s *suite) TestDB_RecordUse(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	err := db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
		if err := tx.CreateOrganization(&store.Organization{Name: "clerks", Created: t0}); err != nil {
			return err
		}
		if err := tx.CreateAccount(&store.Account{Name: "alice", Organization: "clerks", Kind: "person", Created: t0}); err != nil {
			return err
		}
		return tx.CreateToken(&store.Token{ID: "tok1", Account: "alice", Name: "feed", Hash: "00", Created: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	used := func() (lastUsed, lastRead time.Time) {
		t.Helper()
		d := db.mustLoad(t)
		if len(d.Tokens) != 1 || len(d.Accounts) != 1 {
			t.Fatalf("directory holds %d tokens and %d accounts, want 1 and 1", len(d.Tokens), len(d.Accounts))
		}
		return d.Tokens[0].LastUsed, d.Accounts[0].LastRead
	}
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	for _, tt := range []struct {
		name       string
		at         time.Time
		wantUse    time.Time
		wantAtRead time.Time
	}{
		{"First", t2, t2, t2},
		{"Earlier", t1, t2, t2},
		{"Later", t2.Add(time.Second), t2.Add(time.Second), t2.Add(time.Second)},
	} {
		err := db.RecordUse(ctx, map[string]time.Time{"tok1": tt.at, "gone": tt.at}, map[string]time.Time{"alice": tt.at, "bob": tt.at})
		if err != nil {
			t.Fatalf("%s: RecordUse: %v", tt.name, err)
		}
		if u, r := used(); !u.Equal(tt.wantUse) || !r.Equal(tt.wantAtRead) {
			t.Errorf("%s: last used %s, last read %s; want %s, %s", tt.name, u, r, tt.wantUse, tt.wantAtRead)
		}
	}
	if err := db.RecordUse(ctx, nil, nil); err != nil {
		t.Errorf("RecordUse(nothing) = %v", err)
	}
}

// Ensure that every method fails, rather than hangs or succeeds, once the
// store is closed.
func (s *suite) TestDB_AfterClose(t *testing.T) {
	clock := &testClock{now: t0}
	db, _ := s.open(t, Options{Now: clock.Now, NewID: (&seqIDs{}).NewID})
	MustCollection(t, db, apiRoot, collA)
	obj := indicator(t, stixID("indicator", 1), created)
	MustAdd(t, db, t0, collA, obj)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range everyMethod(t, db, obj.Header.ID, seqUUID(1).String()) {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tt.call(ctx) }()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("%s after Close succeeded", tt.name)
				}
			case <-time.After(hintTimeout):
				t.Fatalf("%s after Close hangs", tt.name)
			}
		})
	}
}

// auditActions lists the actions and accounts of events, for comparisons.
func auditActions(evs []store.AuditEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = fmt.Sprintf("%s:%s", ev.Action, ev.Account)
	}
	return out
}

// Ensure that FindAudit returns events oldest first (in append order at
// one instant), or the newest first with Newest, and filters by time
// (Since inclusive, Until exclusive), account, collection, group and
// action (exact, or a prefix ending in "."), up to Limit; and that audit rows written with a request (Add Objects, a
// directory change) are stored with it or not at all.
func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func (s *suite) TestDB_FindAudit(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	h := time.Hour
	err := db.AppendAudit(ctx,
		store.AuditEvent{Time: t0.Add(2 * h), Action: "read", Account: "carol", Group: apiRoot, Collection: collB, Detail: "objects"},
		store.AuditEvent{Time: t0, Action: "read", Account: "alice", Collection: collA, Detail: "manifest"},
		store.AuditEvent{Time: t0.Add(h), Action: "auth.refused", Account: "alice", Count: 3, RemoteAddr: "192.0.2.1"},
		store.AuditEvent{Time: t0.Add(h), Action: "admin.account.create", Account: "root", Group: apiRoot, Target: "account alice"},
	)
	if err != nil {
		t.Fatal(err)
	}
	db.Clock.Set(t0.Add(3 * h))
	if err := db.AppendAudit(ctx, store.AuditEvent{Action: "publisher", Account: "dave"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAudit(ctx); err != nil {
		t.Errorf("AppendAudit() = %v", err)
	}

	all := []string{"read:alice", "auth.refused:alice", "admin.account.create:root", "read:carol", "publisher:dave"}
	for _, tt := range []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"All", store.AuditQuery{}, all},
		{"Since", store.AuditQuery{Since: t0.Add(h)}, all[1:]},
		{"Until", store.AuditQuery{Until: t0.Add(h)}, all[:1]},
		{"Between", store.AuditQuery{Since: t0.Add(h), Until: t0.Add(2 * h)}, all[1:3]},
		{"Account", store.AuditQuery{Account: "alice"}, all[:2]},
		{"Collection", store.AuditQuery{Collection: collA}, all[:1]},
		{"AccountAndCollection", store.AuditQuery{Account: "alice", Collection: collB}, nil},
		{"Action", store.AuditQuery{Action: "read"}, []string{all[0], all[3]}},
		{"ActionPrefix", store.AuditQuery{Action: "admin."}, all[2:3]},
		{"PrefixWithoutDot", store.AuditQuery{Action: "pub"}, nil},
		{"NotAPrefixOfPublisher", store.AuditQuery{Action: "publish"}, nil},
		{"Limit", store.AuditQuery{Limit: 2}, all[:2]},
		{"LimitAfterFilter", store.AuditQuery{Account: "carol", Limit: 1}, all[3:4]},
		{"Group", store.AuditQuery{Group: apiRoot}, []string{all[2], all[3]}},
		{"Newest", store.AuditQuery{Newest: true}, reversed(all)},
		{"NewestLimit", store.AuditQuery{Newest: true, Limit: 2}, []string{all[4], all[3]}},
		{"NewestBetween", store.AuditQuery{Since: t0.Add(h), Until: t0.Add(2 * h), Newest: true}, []string{all[2], all[1]}},
		{"NewestUntilPastTheEnd", store.AuditQuery{Until: t0.Add(5 * h), Newest: true, Limit: 1}, all[4:]},
		{"NewestAfterFilter", store.AuditQuery{Account: "alice", Newest: true, Limit: 1}, all[1:2]},
		{"NewestOfGroup", store.AuditQuery{Group: apiRoot, Action: "read", Newest: true}, all[3:4]},
	} {
		got, err := db.FindAudit(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if a := auditActions(got); !slices.Equal(a, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, a, tt.want)
		}
	}

	// Fields come back as written; a zero Time got the store clock's.
	got, err := db.FindAudit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) {
		t.Fatalf("%d events, want %d", len(got), len(all))
	}
	if ev := got[1]; !ev.Time.Equal(t0.Add(h)) || ev.Count != 3 || ev.RemoteAddr != "192.0.2.1" {
		t.Errorf("auth.refused row = %+v", ev)
	}
	if ev := got[4]; !ev.Time.Equal(t0.Add(3 * h)) {
		t.Errorf("row without a time got %s, want the clock's %s", ev.Time, t0.Add(3*h))
	}

	t.Run("WithAddObjects", func(t *testing.T) {
		obj := indicator(t, stixID("indicator", 1), created)
		received := t0.Add(4 * h)
		st, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collA, Account: "pub",
			Received: received, Objects: []store.Object{obj},
			Audit: &store.AuditEvent{Action: "publish", Account: "pub", Collection: collA}})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := db.FindAudit(ctx, store.AuditQuery{Action: "publish"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Fatalf("%d publish rows, want 1", len(evs))
		}
		ev := evs[0]
		if !ev.Time.Equal(received) || ev.StatusID != st.ID || ev.Count != 1 || len(ev.Objects) != 1 || ev.Objects[0] != (store.ObjectRef{ID: obj.Header.ID, Version: stixTime(created)}) {
			t.Errorf("publish row = %+v, want the request's time, status %s, 1 object", ev, st.ID)
		}
		// A request refused for an unknown collection leaves no row.
		_, err = db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collB, Received: received,
			Objects: []store.Object{obj}, Audit: &store.AuditEvent{Action: "publish", Account: "pub2"}})
		if !errors.Is(err, store.ErrCollectionNotFound) {
			t.Fatalf("AddObjects(unknown collection) = %v", err)
		}
		if evs, _ := db.FindAudit(ctx, store.AuditQuery{Account: "pub2"}); len(evs) != 0 {
			t.Errorf("rows of a refused request: %+v", evs)
		}
	})

	t.Run("WithChangeDirectory", func(t *testing.T) {
		db.Clock.Set(t0.Add(5 * h))
		refused := errors.New("refused")
		err := db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
			if err := tx.Audit(store.AuditEvent{Action: "admin.group.create", Account: "rolled-back"}); err != nil {
				return err
			}
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatalf("ChangeDirectory = %v, want fn's error", err)
		}
		err = db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
			return tx.Audit(store.AuditEvent{Action: "admin.group.create", Account: "kept"})
		})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := db.FindAudit(ctx, store.AuditQuery{Action: "admin.group.create"})
		if err != nil {
			t.Fatal(err)
		}
		if a := auditActions(evs); !slices.Equal(a, []string{"admin.group.create:kept"}) || !evs[0].Time.Equal(t0.Add(5*h)) {
			t.Errorf("directory audit rows = %+v, want the committed one at the clock's time", evs)
		}
	})
}

// Ensure that PruneAudit deletes exactly the events older than its bound.
func (s *suite) TestDB_PruneAudit(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	var evs []store.AuditEvent
	for i := range 5 {
		evs = append(evs, store.AuditEvent{Time: t0.Add(time.Duration(i) * time.Hour), Action: "read", Account: fmt.Sprint("a", i)})
	}
	if err := db.AppendAudit(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	n, err := db.PruneAudit(ctx, t0.Add(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneAudit = %d, %v; want 2", n, err)
	}
	got, err := db.FindAudit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if a := auditActions(got); !slices.Equal(a, []string{"read:a2", "read:a3", "read:a4"}) {
		t.Errorf("after pruning: %q", a)
	}
	if n, err := db.PruneAudit(ctx, t0.Add(2*time.Hour)); err != nil || n != 0 {
		t.Errorf("PruneAudit again = %d, %v; want 0", n, err)
	}
}
