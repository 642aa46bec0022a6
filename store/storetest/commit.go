package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Ensure that concurrent Add Objects requests, committed in shared
// transactions, all succeed with unique, increasing date_added values
// (INT-05), and that one request that fails (an unknown collection) fails
// alone without taking the others of its group with it.
func (s *suite) TestDB_AddObjects_GroupCommit(t *testing.T) {
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	const clients, each = 16, 20
	var wg sync.WaitGroup
	var failed, stored atomic.Int64
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				coll := collA
				if c == 0 && i%5 == 0 {
					coll = "00000000-0000-4000-8000-000000000000" // unknown
				}
				objs := benchIndicators(t, c*each+i, 1)
				st, err := db.AddObjects(context.Background(), &store.Submission{APIRoot: apiRoot, Collection: coll, Received: time.Now(), Objects: objs})
				switch {
				case coll != collA:
					if !errors.Is(err, store.ErrCollectionNotFound) {
						t.Errorf("unknown collection: err %v", err)
					}
					failed.Add(1)
				case err != nil:
					t.Errorf("AddObjects: %v", err)
				case st.SuccessCount != 1:
					t.Errorf("success_count %d", st.SuccessCount)
				default:
					stored.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	recs := allVersions(t, db, collA)
	if int64(len(recs)) != stored.Load() || failed.Load() != each/5 {
		t.Fatalf("stored %d versions, %d requests succeeded, %d failed", len(recs), stored.Load(), failed.Load())
	}
	for i := 1; i < len(recs); i++ {
		if !recs[i].DateAdded.After(recs[i-1].DateAdded) {
			t.Fatalf("date_added not strictly increasing at %d: %v then %v", i, recs[i-1].DateAdded, recs[i].DateAdded)
		}
	}
}
