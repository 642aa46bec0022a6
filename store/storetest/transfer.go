package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// transfer returns db as a store.Transfer: every backend implements it, so
// that `eitaxii migrate` can copy from and into it.
func transfer(tb testing.TB, db *DB) store.Transfer {
	tb.Helper()
	tr, ok := db.Store.(store.Transfer)
	if !ok {
		tb.Fatalf("%T does not implement store.Transfer", db.Store)
	}
	return tr
}

// Ensure that Copy copies a store into an empty one with every directory
// entry, object version (date_added and bytes), status and audit row as it
// was, keeps cursors ordered past the source's last change, and refuses a
// destination that is not empty.
func (s *suite) TestTransfer_Copy(t *testing.T) {
	ctx := context.Background()
	src := s.MustOpenDB(t)
	src.seedWebhooks(t) // the directory fixture and two subscriptions
	dir := src.mustLoad(t)
	id1, id2, sco := stixID("indicator", 1), stixID("indicator", 2), stixID("ipv4-addr", 3)
	for i := range 3 {
		src.MustAdd(t, collA, indicator(t, id1, created.Add(time.Duration(i)*time.Hour)))
	}
	st := src.MustAdd(t, collA, indicator(t, id2, created), ipv4(t, sco, "198.51.100.9"))
	src.MustAdd(t, collB, malware(t, stixID("malware", 4), created))
	// A deletion leaves a gap in date_added and a cursor past the last
	// version: the copy must keep both.
	if _, err := src.DeleteObject(ctx, collA, id2, store.Filter{}); err != nil {
		t.Fatal(err)
	}
	if err := src.AppendAudit(ctx, store.AuditEvent{Time: t0.Add(time.Hour), Action: "admin.account.update", Account: dirAlice}); err != nil {
		t.Fatal(err)
	}
	// A subscription's progress is copied with it.
	if err := src.RecordDelivery(ctx, hookA, store.WebhookState{Cursor: dateAdded(1), Failures: 2},
		&store.WebhookDelivery{Time: t0, Attempt: 1, Status: 503}); err != nil {
		t.Fatal(err)
	}
	if err := src.RecordUse(ctx, map[string]time.Time{tokAlice: t0.Add(time.Minute)}, map[string]time.Time{dirBob: t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}

	dst := s.MustOpenDB(t)
	rep, err := store.Copy(ctx, transfer(t, dst), transfer(t, src))
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	want := store.CopyReport{Organizations: len(dir.Organizations), Accounts: len(dir.Accounts), Tokens: len(dir.Tokens),
		Groups: len(dir.Groups), Collections: len(dir.Collections), Webhooks: 2, ObjectVersions: 5, Statuses: 5, AuditEvents: 1, Sampled: rep.Sampled}
	if *rep != want || rep.Sampled < 2 {
		t.Errorf("report %+v, want %+v with at least one sample per non-empty collection", *rep, want)
	}
	if got, want := dst.mustLoad(t), src.mustLoad(t); !reflect.DeepEqual(got, want) {
		t.Errorf("directory copied as %+v\nwant %+v", got, want)
	}
	if got, want := mustWebhooks(t, dst), mustWebhooks(t, src); !reflect.DeepEqual(got, want) {
		t.Errorf("webhooks copied as %+v\nwant %+v", got, want)
	}
	for _, coll := range []string{collA, collB} {
		got, want := mustReadChanges(t, dst, coll, time.Time{}, 0), mustReadChanges(t, src, coll, time.Time{}, 0)
		var added []store.Change
		for _, ch := range want.Changes {
			if !ch.Deleted {
				added = append(added, ch)
			}
		}
		if !reflect.DeepEqual(got.Changes, added) {
			t.Errorf("%s: versions copied as %+v\nwant %+v", coll, got.Changes, added)
		}
		if !got.Newest.Equal(want.Newest) {
			t.Errorf("%s: newest cursor %v, want the source's %v", coll, got.Newest, want.Newest)
		}
		// Deletions are not copied: a reader resuming from before one is
		// told of a gap, so that it rebuilds rather than miss it.
		for _, ch := range want.Changes {
			if !ch.Deleted {
				continue
			}
			before := ch.Cursor.Add(-time.Microsecond)
			if pg := mustReadChanges(t, dst, coll, before, 0); !pg.Gap {
				t.Errorf("%s: reading the copy from before the source's deletion at %v gives no gap", coll, ch.Cursor)
			}
			if pg := mustReadChanges(t, dst, coll, ch.Cursor, 0); pg.Gap {
				t.Errorf("%s: reading the copy from the deletion's own cursor %v gives a gap", coll, ch.Cursor)
			}
		}
	}
	gotSt, err := dst.FindStatusRecord(ctx, apiRoot, st.ID)
	wantSt, _ := src.FindStatusRecord(ctx, apiRoot, st.ID)
	if err != nil || !reflect.DeepEqual(gotSt, wantSt) {
		t.Errorf("status copied as %+v, %v; want %+v", gotSt, err, wantSt)
	}
	gotAudit, err1 := dst.FindAudit(ctx, store.AuditQuery{})
	wantAudit, err2 := src.FindAudit(ctx, store.AuditQuery{})
	if err1 != nil || err2 != nil || !reflect.DeepEqual(gotAudit, wantAudit) {
		t.Errorf("audit copied as %+v (%v), want %+v (%v)", gotAudit, err1, wantAudit, err2)
	}
	// Statuses keep their received time: retention prunes them as on the
	// source.
	if n, err := dst.PruneStatuses(ctx, t0.Add(time.Second)); err != nil || n != 5 {
		t.Errorf("PruneStatuses on the copy = %d, %v; want all 5", n, err)
	}

	// What is added after the copy comes after everything copied.
	dst.Clock.Set(t0) // a clock behind the copied cursors
	next := MustAdd(t, dst, t0, collA, indicator(t, stixID("indicator", 9), created))
	pg, err := dst.FindObject(ctx, collA, next.Successes[0].ID, store.Query{Limit: 1})
	if err != nil || len(pg.Records) != 1 {
		t.Fatalf("a version added after the copy: %+v, %v", pg, err)
	}
	if newest := mustReadChanges(t, src, collA, time.Time{}, 0).Newest; !pg.Records[0].DateAdded.After(newest) {
		t.Errorf("a version added after the copy has date_added %v, want one after the source's newest cursor %v", pg.Records[0].DateAdded, newest)
	}

	if _, err := store.Copy(ctx, transfer(t, dst), transfer(t, src)); !errors.Is(err, store.ErrNotEmpty) {
		t.Errorf("Copy into a store that is not empty = %v, want ErrNotEmpty", err)
	}
}

// Ensure that ImportVersions refuses what it cannot store as it is, and
// stores nothing of a refused batch.
func (s *suite) TestTransfer_ImportRefuses(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	tr := transfer(t, db)
	rec := func(n int, version string) store.Record {
		o := indicator(t, stixID("indicator", n), created)
		return store.Record{ID: o.Header.ID, Version: version, SpecVersion: "2.1", MediaType: store.MediaTypeSTIX21,
			DateAdded: dateAdded(n), Raw: o.Raw}
	}
	v := stixTime(created)
	for _, tt := range []struct {
		name string
		recs []store.Record
	}{
		{"OutOfOrder", []store.Record{rec(2, v), rec(1, v)}},
		{"SameVersionTwice", []store.Record{rec(1, v), {ID: rec(1, v).ID, Version: v, SpecVersion: "2.1", DateAdded: dateAdded(5), Raw: rec(1, v).Raw}}},
		{"VersionNotATimestamp", []store.Record{rec(1, v), rec(2, "yesterday")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tr.ImportVersions(ctx, collA, tt.recs, time.Time{}, time.Time{}); !errors.Is(err, store.ErrImport) {
				t.Fatalf("ImportVersions = %v, want ErrImport", err)
			}
			if recs := allVersions(t, db, collA); len(recs) != 0 {
				t.Fatalf("%d versions stored by a refused import", len(recs))
			}
		})
	}
	if err := tr.ImportVersions(ctx, collB, []store.Record{rec(1, v)}, time.Time{}, time.Time{}); !errors.Is(err, store.ErrCollectionNotFound) {
		t.Errorf("ImportVersions into an unknown collection = %v, want ErrCollectionNotFound", err)
	}
	if err := tr.ImportVersions(ctx, collA, []store.Record{rec(3, v)}, time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := tr.ImportVersions(ctx, collA, []store.Record{rec(2, v)}, time.Time{}, time.Time{}); !errors.Is(err, store.ErrImport) {
		t.Errorf("ImportVersions before the collection's last change = %v, want ErrImport", err)
	}
}
