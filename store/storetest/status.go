package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// findStatusByID is the status alone of FindStatusRecord.
func findStatusByID(ctx context.Context, db store.Store, apiRoot, id string) (*store.Status, error) {
	rec, err := db.FindStatusRecord(ctx, apiRoot, id)
	if err != nil {
		return nil, err
	}
	return &rec.Status, nil
}

func (s *suite) TestDB_FindStatusByID(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	objs := []store.Object{indicator(t, stixID("indicator", 1), created), malware(t, stixID("malware", 1), created)}
	fail := store.StatusDetail{ID: stixID("indicator", 2), Version: stixTime(created), Message: "/pattern: unbalanced brackets (pattern)"}
	added, err := db.AddObjects(ctx, &store.Submission{
		APIRoot: apiRoot, Collection: collA, Received: t0.Add(1500 * time.Millisecond),
		Objects: objs, Failures: []store.StatusDetail{fail},
	})
	if err != nil {
		t.Fatal(err)
	}

	// REQ-42, REQ-47: the status read back is the one Add Objects returned.
	t.Run("OK", func(t *testing.T) {
		got, err := findStatusByID(ctx, db, apiRoot, added.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, added) {
			t.Errorf("FindStatusByID = %+v\nwant %+v", got, added)
		}
		if got.RequestTimestamp != "2024-11-05T12:00:01.500000Z" || got.TotalCount != 3 || got.SuccessCount != 2 || got.FailureCount != 1 {
			t.Errorf("stored status = %+v", got)
		}
		// Still there after a reopen.
		db.MustReopen(t)
		if got, err := findStatusByID(ctx, db, apiRoot, added.ID); err != nil || !reflect.DeepEqual(got, added) {
			t.Errorf("after reopen: %+v, %v", got, err)
		}
	})

	// REQ-48: reachable only under the API root that created it.
	t.Run("OtherAPIRoot", func(t *testing.T) {
		if _, err := findStatusByID(ctx, db, otherRoot, added.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})

	t.Run("UnknownID", func(t *testing.T) { // REQ-43
		for _, id := range []string{seqUUID(99).String(), "", "not-a-uuid"} {
			if _, err := findStatusByID(ctx, db, apiRoot, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("FindStatusByID(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})

	// Every request gets its own status.
	t.Run("OnePerRequest", func(t *testing.T) {
		again := db.MustAdd(t, collA, objs[0])
		if again.ID == added.ID {
			t.Fatalf("two requests share status id %s", again.ID)
		}
		got, err := findStatusByID(ctx, db, apiRoot, again.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Errorf("got %+v, want %+v", got, again)
		}
		if first, err := findStatusByID(ctx, db, apiRoot, added.ID); err != nil || !reflect.DeepEqual(first, added) {
			t.Errorf("earlier status changed (REQ-47): %+v, %v", first, err)
		}
	})
}
