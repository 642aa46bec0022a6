package bolt_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// Ensure that a status is stored under its API root, so that looking up
// another API root's status id from this one is a plain miss, the same
// work as an id that does not exist (issue 9: it answered measurably
// slower, REQ-48); and that a status written before keys named the API
// root is still found under its own root, and only there, until it
// expires.
func TestDB_StatusKeyedByAPIRoot(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	st := db.MustAdd(t, collA, indicator(t, stixID("indicator", 1), created))

	// A status written the old way, under its bare id (and without the
	// time index entry that Verify asks of a status).
	legacy := store.StatusRecord{APIRoot: apiRoot, Collection: collA, Status: store.Status{ID: seqUUID(77).String(), Status: "complete"}}
	db.mustRewrite(t, func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("status"))
		if b.Get([]byte(st.ID)) != nil {
			t.Errorf("status %s is stored under its bare id, where any API root's lookup reads it", st.ID)
		}
		data, err := json.Marshal(legacy)
		if err != nil {
			return err
		}
		return b.Put([]byte(legacy.Status.ID), data)
	})

	for _, tt := range []struct {
		root, id string
		found    bool
	}{
		{apiRoot, st.ID, true},
		{otherRoot, st.ID, false},
		{apiRoot, legacy.Status.ID, true},
		{otherRoot, legacy.Status.ID, false},
	} {
		rec, err := db.FindStatusRecord(ctx, tt.root, tt.id)
		switch {
		case tt.found && (err != nil || rec.Status.ID != tt.id):
			t.Errorf("FindStatusRecord(%s, %s) = %+v, %v", tt.root, tt.id, rec, err)
		case !tt.found && !errors.Is(err, store.ErrNotFound):
			t.Errorf("FindStatusRecord(%s, %s) = %v, want ErrNotFound", tt.root, tt.id, err)
		}
	}
}
