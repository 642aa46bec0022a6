package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
	"github.com/eitaxii/eitaxii/store/storetest"
	"github.com/jackc/pgx/v5"
)

// Ensure that pruning is done by one node at a time: while another node
// holds the advisory lock, PruneStatuses deletes nothing; once it is
// released, it deletes what is due.
func TestPruneStatuses_AdvisoryLock(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	db, err := Open(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.MustCollection(t, db, storetest.APIRoot, storetest.CollA)
	for i := range 3 {
		storetest.MustAdd(t, db, storetest.T0, storetest.CollA, storetest.Indicators(t, i, 1)...)
	}
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockPruneStatus); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PruneStatuses(ctx, storetest.T0.Add(time.Hour)); n != 0 || err != nil {
		t.Errorf("while another node prunes: %d, %v; want 0, nil", n, err)
	}
	tx.Rollback(ctx)
	if n, err := db.PruneStatuses(ctx, storetest.T0.Add(time.Hour)); n != 3 || err != nil {
		t.Errorf("PruneStatuses = %d, %v; want 3, nil", n, err)
	}
	if s, err := db.Stats(ctx); err != nil || s.Statuses != 0 || s.ObjectVersions != 3 {
		t.Errorf("stats = %+v, %v", s, err)
	}
}
