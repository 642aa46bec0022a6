package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
	"github.com/eitaxii/eitaxii/store/storetest"
	"github.com/jackc/pgx/v5"
)

// Ensure that a write whose group failed after the group had decided it is
// carried out alone from scratch (the committer runs each write of a failed
// group again, alone): here the group's second write repeats the first's
// status id, so the group fails at its last round trip, and the first
// write, run alone, stores its object once and reports it in its status
// (REQ-72).
func TestRunGroup_RerunAlone(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.URL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.MustCollection(t, db, storetest.APIRoot, storetest.CollA)
	objs := storetest.Indicators(t, 0, 2)
	submission := func(o []store.Object) *store.Submission {
		return &store.Submission{APIRoot: storetest.APIRoot, Collection: storetest.CollA, Received: time.Now(), Objects: o}
	}
	w1 := &write{s: submission(objs[:1]), id: "status-1"}
	w2 := &write{s: submission(objs[1:]), id: "status-1"}
	run := func(ws ...*write) error {
		return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{}, func(tx pgx.Tx) error { return db.runGroup(ctx, tx, ws) })
	}
	if err := run(w1, w2); err == nil {
		t.Fatal("a group holding one status id twice committed")
	}
	if err := run(w1); err != nil {
		t.Fatalf("the first write alone: %v", err)
	}
	if w1.st == nil || w1.st.SuccessCount != 1 || len(w1.st.Successes) != 1 || w1.newest == 0 {
		t.Fatalf("the first write's result: %+v, newest %d", w1.st, w1.newest)
	}
	st, err := db.Stats(ctx)
	if err != nil || st.ObjectVersions != 1 {
		t.Fatalf("stored %+v (%v), want 1 version", st, err)
	}
}
