package bolt_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// Ensure that a file written before collections kept activity counters
// (no version_count, no added_by_hour/, no session buckets) gets them
// right at Open: the versions stored, and the hours of those within
// store.ActivityWindow of the newest; and that a leftover hour bucket
// without a version_count is recounted, not trusted.
func TestOpen_CountsActivityOfAnOlderFile(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	db.MustCollection(t, apiRoot, collB)
	// Three days before t0 (outside the window of the newest hour), two
	// at t0, one at t0+70min; one deletion.
	db.Clock.Set(t0.Add(-72 * time.Hour))
	db.MustAdd(t, collA, benchIndicators(t, 1, 1)...)
	db.Clock.Set(t0)
	db.MustAdd(t, collA, benchIndicators(t, 2, 3)...)
	db.Clock.Set(t0.Add(70 * time.Minute))
	db.MustAdd(t, collA, benchIndicators(t, 5, 1)...)
	if _, err := db.DeleteObject(ctx, collA, stixID("indicator", 3), store.Filter{}); err != nil {
		t.Fatal(err)
	}
	db.MustAdd(t, collB, benchIndicators(t, 6, 2)...)

	// Take the file back to the layout of the build before: what this
	// change added is removed (collB keeps a wrong hour count, as a file
	// half-written by some build might). Until the counters are back,
	// Verify reports them.
	db.mustRewrite(t, func(tx *bbolt.Tx) error {
		for _, name := range []string{"sessions", "sessions_by_account", "sessions_by_expiry"} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		for _, id := range []string{collA, collB} {
			coll := tx.Bucket([]byte("c")).Bucket([]byte(id))
			if coll.Get([]byte("version_count")) == nil || coll.Bucket([]byte("added_by_hour")) == nil {
				t.Errorf("%s: no counters to remove: the layout changed, update this test", id)
			}
			if err := coll.Delete([]byte("version_count")); err != nil {
				return err
			}
			if id == collA {
				if err := coll.DeleteBucket([]byte("added_by_hour")); err != nil {
					return err
				}
				continue
			}
			k := binary.BigEndian.AppendUint64(nil, uint64(t0.Add(70*time.Minute).Truncate(time.Hour).UnixMicro()))
			if err := coll.Bucket([]byte("added_by_hour")).Put(k, binary.BigEndian.AppendUint64(nil, 99)); err != nil {
				return err
			}
		}
		return nil
	})
	db.Unverified = false

	for _, tt := range []struct {
		coll string
		want store.Activity
	}{
		{collA, store.Activity{Versions: 4, Newest: t0.Add(70 * time.Minute),
			Hours: []store.HourCount{{Hour: t0, Added: 2}, {Hour: t0.Add(time.Hour), Added: 1}}}},
		{collB, store.Activity{Versions: 2, Newest: t0.Add(70 * time.Minute).Add(time.Microsecond),
			Hours: []store.HourCount{{Hour: t0.Add(time.Hour), Added: 2}}}},
	} {
		got, err := db.CollectionActivity(ctx, tt.coll, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Versions != tt.want.Versions || !got.Newest.Equal(tt.want.Newest) || !reflect.DeepEqual(got.Hours, tt.want.Hours) {
			t.Errorf("%s: activity after Open %+v\nwant %+v", tt.coll, *got, tt.want)
		}
	}
	if problems, err := db.Verify(ctx); err != nil || len(problems) > 0 {
		t.Errorf("Verify after Open: %q, %v", problems, err)
	}
	// The session buckets are back too.
	s := store.Session{Hash: strings.Repeat("0a", 32), Account: "alice", Via: store.SessionViaPassword, Credential: "c", CSRF: "t",
		Created: t0, LastSeen: t0, Expires: t0.Add(time.Hour)}
	if err := db.CreateSession(ctx, s); err != nil {
		t.Errorf("CreateSession on the older file: %v", err)
	}
	// Counted once: a second Open keeps what writes changed since.
	db.MustAdd(t, collA, benchIndicators(t, 8, 1)...)
	db.MustReopen(t)
	if got, err := db.CollectionActivity(ctx, collA, t0.Add(time.Hour)); err != nil || got.Versions != 5 || len(got.Hours) != 1 || got.Hours[0].Added != 2 {
		t.Errorf("after one more addition and a reopen: %+v, %v; want 5 versions, 2 added at 13:00", got, err)
	}
}

// Ensure that Verify reports a version counter that differs from what is
// stored.
func TestDB_Verify_VersionCount(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	db.MustAdd(t, collA, benchIndicators(t, 0, 2)...)
	db.mustRewrite(t, func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("c")).Bucket([]byte(collA)).Put([]byte("version_count"), binary.BigEndian.AppendUint64(nil, 3))
	})
	problems, err := db.Verify(ctx)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "version_count 3, but 2 versions stored") {
		t.Fatalf("Verify with a wrong counter: %q, %v", problems, err)
	}
}

// CollectionActivity of a collection of 1k and of 100k versions added over
// the last day: the cost follows the hours kept, not the objects.
func BenchmarkDB_CollectionActivity(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			db := MustOpenDB(b)
			db.MustCollection(b, apiRoot, collA)
			const requests = 24
			start := time.Now().Add(-24 * time.Hour)
			for r := range requests { // one request an hour
				db.Clock.Set(start.Add(time.Duration(r) * time.Hour))
				db.MustAdd(b, collA, benchIndicators(b, r*n/requests, n/requests)...)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				a, err := db.CollectionActivity(ctx, collA, start)
				if err != nil || len(a.Hours) < requests {
					b.Fatalf("CollectionActivity = %+v, %v", a, err)
				}
			}
		})
	}
}
