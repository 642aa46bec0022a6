package storetest

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
)

// findCollection returns the collection id as LoadDirectory reads it, or
// nil.
func (db *DB) findCollection(tb testing.TB, id string) *store.Collection {
	tb.Helper()
	d := db.mustLoad(tb)
	for i := range d.Collections {
		if d.Collections[i].ID == id {
			return &d.Collections[i]
		}
	}
	return nil
}

// Ensure that EnsureCollection creates a collection, and replaces the
// description of an existing one while keeping its objects.
func (s *suite) TestDB_EnsureCollection(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := s.MustOpenDB(t)
		want := store.Collection{ID: collA, APIRoot: apiRoot, Title: "Indicators", Description: "County feeds", Alias: "iocs",
			Policy: access.Policy{TLPCeiling: stix.TLPAmber, RequireTLP: true}}
		if err := db.EnsureCollection(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got := db.findCollection(t, collA); got == nil || *got != want {
			t.Errorf("collection = %+v, want %+v", got, want)
		}
		if pg, err := db.FindObjects(ctx, collA, store.Query{Limit: 10}); err != nil || len(pg.Records) != 0 {
			t.Errorf("new collection's objects: %v, %v", pg, err)
		}
	})

	t.Run("ReplaceKeepsObjects", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		db.MustAdd(t, collA, indicator(t, stixID("indicator", 1), created))
		if err := db.EnsureCollection(ctx, store.Collection{ID: collA, APIRoot: apiRoot, Title: "Renamed"}); err != nil {
			t.Fatal(err)
		}
		if got := db.findCollection(t, collA); got == nil || got.Title != "Renamed" || got.Description != "" {
			t.Errorf("collection after replace = %+v, want only the title Renamed", got)
		}
		if recs := allVersions(t, db, collA); len(recs) != 1 {
			t.Errorf("%d objects after EnsureCollection, want 1", len(recs))
		}
	})

	t.Run("ErrCollectionNotFound", func(t *testing.T) {
		db := s.MustOpenDB(t)
		_, err := db.FindObjects(ctx, collB, store.Query{Limit: 1})
		if !errors.Is(err, store.ErrCollectionNotFound) || !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("FindObjects = %v, want ErrCollectionNotFound wrapping ErrNotFound", err)
		}
	})
}

// methodCall is one call of a store method.
type methodCall struct {
	name string
	call func(ctx context.Context) error
}

// everyMethod returns a call of each method of the store contract, for
// the tests that every method keeps a rule (a done context, a closed
// store): object id and status statusID are in collA; the calls that
// write would add a new version, create collB, delete id and prune all
// that an hour after t0 allows. A method added to the contract is added
// here.
func everyMethod(tb testing.TB, db store.Store, id, statusID string) []methodCall {
	newObj := indicator(tb, stixID("indicator", 2), created)
	later := t0.Add(time.Hour)
	return []methodCall{
		{"EnsureCollection", func(ctx context.Context) error {
			return db.EnsureCollection(ctx, store.Collection{ID: collB, APIRoot: apiRoot})
		}},
		{"AddObjects", func(ctx context.Context) error {
			_, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collA, Received: t0, Objects: []store.Object{newObj}})
			return err
		}},
		{"FindObjects", func(ctx context.Context) error {
			_, err := db.FindObjects(ctx, collA, store.Query{Limit: 1})
			return err
		}},
		{"FindManifest", func(ctx context.Context) error {
			_, err := db.FindManifest(ctx, collA, store.Query{Limit: 1})
			return err
		}},
		{"FindObject", func(ctx context.Context) error {
			_, err := db.FindObject(ctx, collA, id, store.Query{Limit: 1})
			return err
		}},
		{"FindObjectVersions", func(ctx context.Context) error {
			_, err := db.FindObjectVersions(ctx, collA, id, store.Query{Limit: 1})
			return err
		}},
		{"DeleteObject", func(ctx context.Context) error { _, err := db.DeleteObject(ctx, collA, id, store.Filter{}); return err }},
		{"Watch", func(ctx context.Context) error { _, err := db.Watch(ctx, collA); return err }},
		{"ReadChanges", func(ctx context.Context) error { _, err := db.ReadChanges(ctx, collA, time.Time{}, 1); return err }},
		{"PruneDeletions", func(ctx context.Context) error { _, err := db.PruneDeletions(ctx, later); return err }},
		{"FindStatusRecord", func(ctx context.Context) error { _, err := db.FindStatusRecord(ctx, apiRoot, statusID); return err }},
		{"PruneStatuses", func(ctx context.Context) error { _, err := db.PruneStatuses(ctx, later); return err }},
		{"LoadDirectory", func(ctx context.Context) error { _, err := db.LoadDirectory(ctx); return err }},
		{"ChangeDirectory", func(ctx context.Context) error {
			return db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error { return tx.Audit(store.AuditEvent{Action: "admin.x.y"}) })
		}},
		{"RecordUse", func(ctx context.Context) error {
			return db.RecordUse(ctx, map[string]time.Time{"tok": t0}, map[string]time.Time{"alice": t0})
		}},
		{"AppendAudit", func(ctx context.Context) error {
			return db.AppendAudit(ctx, store.AuditEvent{Time: t0, Action: "read"})
		}},
		{"FindAudit", func(ctx context.Context) error { _, err := db.FindAudit(ctx, store.AuditQuery{}); return err }},
		{"PruneAudit", func(ctx context.Context) error { _, err := db.PruneAudit(ctx, later); return err }},
		{"Ping", func(ctx context.Context) error { return db.Ping(ctx) }},
		{"Backup", func(ctx context.Context) error { _, err := db.Backup(ctx, io.Discard); return err }},
		{"Size", func(ctx context.Context) error { _, err := db.Size(ctx); return err }},
		{"Stats", func(ctx context.Context) error { _, err := db.Stats(ctx); return err }},
		{"Verify", func(ctx context.Context) error { _, err := db.Verify(ctx); return err }},
	}
}

// Ensure that every method checks its context before it starts: a done
// context fails the call with the context's error and changes nothing.
func (s *suite) TestDB_CancelledContext(t *testing.T) {
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	id := stixID("indicator", 1)
	st := db.MustAdd(t, collA, indicator(t, id, created))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range everyMethod(t, db, id, st.ID) {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("%s = %v, want context.Canceled", tt.name, err)
			}
		})
	}

	// Nothing was written or deleted by the cancelled calls.
	bg := context.Background()
	if got, want := rvs(allVersions(t, db, collA)), []rv{{ID: id, Version: stixTime(created)}}; !slices.Equal(got, want) {
		t.Errorf("objects after cancelled calls = %v, want %v", got, want)
	}
	if c := db.findCollection(t, collB); c != nil {
		t.Errorf("collection created by a cancelled call: %+v", c)
	}
	if evs, err := db.FindAudit(bg, store.AuditQuery{}); err != nil || len(evs) != 0 {
		t.Errorf("audit rows written by cancelled calls: %+v, %v", evs, err)
	}
}
