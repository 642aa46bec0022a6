package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
)

// findCollection returns the collection id as LoadDirectory reads it, or
// nil.
func findCollection(tb testing.TB, s store.Store, id string) *store.Collection {
	tb.Helper()
	d, err := s.LoadDirectory(context.Background())
	if err != nil {
		tb.Fatalf("LoadDirectory: %v", err)
	}
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
		if got := findCollection(t, db, collA); got == nil || *got != want {
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
		if got := findCollection(t, db, collA); got == nil || got.Title != "Renamed" || got.Description != "" {
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

// Ensure that every method checks its context before it starts: a done
// context fails the call with the context's error and changes nothing.
func (s *suite) TestDB_CancelledContext(t *testing.T) {
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	id := stixID("indicator", 1)
	st := db.MustAdd(t, collA, indicator(t, id, created))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	newObj := indicator(t, stixID("indicator", 2), created)
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"EnsureCollection", func() error { return db.EnsureCollection(ctx, store.Collection{ID: collB, APIRoot: apiRoot}) }},
		{"AddObjects", func() error {
			_, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collA, Received: t0, Objects: []store.Object{newObj}})
			return err
		}},
		{"FindObjects", func() error { _, err := db.FindObjects(ctx, collA, store.Query{Limit: 1}); return err }},
		{"FindManifest", func() error { _, err := db.FindManifest(ctx, collA, store.Query{Limit: 1}); return err }},
		{"FindObject", func() error { _, err := db.FindObject(ctx, collA, id, store.Query{Limit: 1}); return err }},
		{"FindObjectVersions", func() error { _, err := db.FindObjectVersions(ctx, collA, id, store.Query{Limit: 1}); return err }},
		{"DeleteObject", func() error { _, err := db.DeleteObject(ctx, collA, id, store.Filter{}); return err }},
		{"Watch", func() error { _, err := db.Watch(ctx, collA); return err }},
		{"ReadChanges", func() error { _, err := db.ReadChanges(ctx, collA, time.Time{}, 1); return err }},
		{"PruneDeletions", func() error { _, err := db.PruneDeletions(ctx, t0.Add(time.Hour)); return err }},
		{"FindStatusRecord", func() error { _, err := db.FindStatusRecord(ctx, apiRoot, st.ID); return err }},
		{"PruneStatuses", func() error { _, err := db.PruneStatuses(ctx, t0.Add(time.Hour)); return err }},
		{"LoadDirectory", func() error { _, err := db.LoadDirectory(ctx); return err }},
		{"ChangeDirectory", func() error {
			return db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error { return tx.Audit(store.AuditEvent{Action: "admin.x.y"}) })
		}},
		{"RecordUse", func() error { return db.RecordUse(ctx, map[string]time.Time{"tok": t0}, nil) }},
		{"AppendAudit", func() error { return db.AppendAudit(ctx, store.AuditEvent{Time: t0, Action: "read"}) }},
		{"FindAudit", func() error { _, err := db.FindAudit(ctx, store.AuditQuery{}); return err }},
		{"PruneAudit", func() error { _, err := db.PruneAudit(ctx, t0.Add(time.Hour)); return err }},
		{"Ping", func() error { return db.Ping(ctx) }},
		{"Backup", func() error { _, err := db.Backup(ctx, &countingWriter{}); return err }},
		{"Size", func() error { _, err := db.Size(ctx); return err }},
		{"Stats", func() error { _, err := db.Stats(ctx); return err }},
		{"Verify", func() error { _, err := db.Verify(ctx); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("%s = %v, want context.Canceled", tt.name, err)
			}
		})
	}

	// Nothing was written or deleted by the cancelled calls.
	bg := context.Background()
	if got, want := rvs(allVersions(t, db, collA)), []rv{{ID: id, Version: stixTime(created)}}; !equalRVs(got, want) {
		t.Errorf("objects after cancelled calls = %v, want %v", got, want)
	}
	if c := findCollection(t, db, collB); c != nil {
		t.Errorf("collection created by a cancelled call: %+v", c)
	}
	if evs, err := db.FindAudit(bg, store.AuditQuery{}); err != nil || len(evs) != 0 {
		t.Errorf("audit rows written by cancelled calls: %+v, %v", evs, err)
	}
}
