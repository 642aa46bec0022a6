package bolt_test

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// Ensure that in this backend the hint of a commit is in the channel by the
// time the write returns (hints come from the commit handler, which runs
// before the write is answered), for adds in a group commit and deletes.
func TestDB_Watch_HintBeforeReturn(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	ch, err := db.Watch(ctx, collA)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, want time.Time) {
		t.Helper()
		select {
		case got := <-ch:
			if !got.Equal(want) {
				t.Errorf("%s: hint %s, want %s", what, got, want)
			}
		default:
			t.Errorf("%s: no hint when the write returned", what)
		}
	}
	db.MustAdd(t, collA, benchIndicators(t, 0, 3)...)
	check("add", dateAdded(2))
	if _, err := db.DeleteObject(ctx, collA, stixID("indicator", 1), store.Filter{}); err != nil {
		t.Fatal(err)
	}
	check("delete", dateAdded(3))
	// A request that stores nothing sends nothing.
	db.MustAdd(t, collA, benchIndicators(t, 0, 1)...)
	select {
	case got := <-ch:
		t.Errorf("hint %s for a request that stored nothing", got)
	default:
	}
}

// Ensure that Verify reports a tombstone out of the date_added sequence.
func TestDB_Verify_Tombstones(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	db.MustAdd(t, collA, benchIndicators(t, 0, 2)...)
	if _, err := db.DeleteObject(ctx, collA, stixID("indicator", 0), store.Filter{}); err != nil {
		t.Fatal(err)
	}
	if problems, err := db.Verify(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("Verify after a delete: %q, %v", problems, err)
	}
	// Move the tombstone onto the stored version's date_added and beyond
	// last_added: two problems.
	db.mustRewrite(t, func(tx *bbolt.Tx) error {
		d := tx.Bucket([]byte("c")).Bucket([]byte(collA)).Bucket([]byte("deleted"))
		k, v := d.Cursor().First()
		v = append([]byte(nil), v...)
		if err := d.Delete(k); err != nil {
			return err
		}
		if err := d.Put(binary.BigEndian.AppendUint64(nil, uint64(dateAdded(1).UnixMicro())), v); err != nil {
			return err
		}
		return d.Put(binary.BigEndian.AppendUint64(nil, uint64(dateAdded(9).UnixMicro())), v)
	})
	problems, err := db.Verify(ctx)
	if err != nil || len(problems) != 2 || !strings.Contains(problems[0], "also a stored version's date_added") || !strings.Contains(problems[1], "above last_added") {
		t.Fatalf("Verify on moved tombstones: %q, %v", problems, err)
	}
}
