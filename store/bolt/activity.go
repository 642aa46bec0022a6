package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Collection activity (store.Activity). Each collection's bucket keeps
// "version_count", the number of versions stored, and a nested bucket
// added_by_hour/ of hour (8-byte µs of its start) -> versions added in that
// hour (8-byte). The transactions that store or delete versions update
// both; deleting a collection drops them with its bucket. Both are small
// and sit beside last_added, so keeping them costs a publish a key or two
// on pages it writes anyway.

var (
	keyVersionCount  = []byte("version_count")
	bucketAddedHours = []byte("added_by_hour")
)

// activity is what one transaction adds to a collection's counters: the
// versions it stored, by the hour of their date_added.
type activity struct {
	versions int64
	hours    []store.HourCount // ascending: date_added only grows
	last     int64             // hour (µs) of hours' last entry
}

// added counts one stored version with date_added da (µs).
func (a *activity) added(da int64) {
	a.versions++
	h := store.HourOf(da)
	if n := len(a.hours); n > 0 && a.last == h {
		a.hours[n-1].Added++
		return
	}
	a.last = h
	a.hours = append(a.hours, store.HourCount{Hour: microsToTime(h), Added: 1})
}

// apply adds a to the counters of coll: one write of version_count and
// one of each hour (see addHours).
func (a *activity) apply(coll *bbolt.Bucket) error {
	if a.versions == 0 {
		return nil
	}
	if err := addVersionCount(coll, a.versions); err != nil {
		return err
	}
	return addHours(coll, a.hours)
}

// addHours adds the counts of hours to added_by_hour/ and deletes the
// hours older than store.ActivityWindow before the newest hour written,
// which keeps the bucket bounded.
func addHours(coll *bbolt.Bucket, add []store.HourCount) error {
	if len(add) == 0 {
		return nil
	}
	hours, err := coll.CreateBucketIfNotExists(bucketAddedHours)
	if err != nil {
		return err
	}
	var newest int64
	for _, hc := range add {
		k := addedKey(hc.Hour.UnixMicro())
		n := int64(0)
		if v := hours.Get(k); len(v) == 8 {
			n = int64(binary.BigEndian.Uint64(v))
		}
		if err := hours.Put(k, addedKey(n+hc.Added)); err != nil {
			return err
		}
		newest = max(newest, hc.Hour.UnixMicro())
	}
	return dropOldHours(hours, newest)
}

// dropOldHours deletes the hour counts more than store.ActivityWindow
// before newest (µs).
func dropOldHours(hours *bbolt.Bucket, newest int64) error {
	oldest := newest - store.ActivityWindow.Microseconds()
	c := hours.Cursor()
	for k, _ := c.First(); len(k) == 8 && int64(binary.BigEndian.Uint64(k)) < oldest; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// addVersionCount adds delta (negative for deletions) to the collection's
// version_count.
func addVersionCount(coll *bbolt.Bucket, delta int64) error {
	return coll.Put(keyVersionCount, addedKey(getMicros(coll, keyVersionCount)+delta))
}

// CollectionActivity reads the collection's counters: version_count, the
// last key of objects/ (the newest date_added held) and added_by_hour/
// from since's hour. Returns store.ErrCollectionNotFound.
func (db *DB) CollectionActivity(ctx context.Context, collID string, since time.Time) (*store.Activity, error) {
	var a store.Activity
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		coll, _, objects, err := collectionBuckets(tx, collID)
		if err != nil {
			return err
		}
		a.Versions = getMicros(coll, keyVersionCount)
		if k, _ := objects.Cursor().Last(); len(k) == 8 {
			a.Newest = microsToTime(int64(binary.BigEndian.Uint64(k)))
		}
		hours := coll.Bucket(bucketAddedHours)
		if hours == nil {
			return nil
		}
		c := hours.Cursor()
		for k, v := c.Seek(addedKey(max(store.HourOf(since.UnixMicro()), 0))); len(k) == 8; k, v = c.Next() {
			if len(v) != 8 {
				return fmt.Errorf("store: collection %s: hour count %x: bad value", collID, k)
			}
			if n := int64(binary.BigEndian.Uint64(v)); n > 0 {
				a.Hours = append(a.Hours, store.HourCount{Hour: microsToTime(int64(binary.BigEndian.Uint64(k))), Added: n})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// countActivity computes the counters of a collection written by a build
// that kept none (no version_count): the versions stored, and the hour
// counts of those within store.ActivityWindow of the newest, read from
// objects/ by date_added. Open runs it once per such collection.
func countActivity(coll *bbolt.Bucket) error {
	if coll.Get(keyVersionCount) != nil {
		return nil
	}
	objects := coll.Bucket(bucketObjects)
	if objects == nil {
		return nil // Verify reports it
	}
	n := int64(objects.Stats().KeyN)
	if err := coll.Put(keyVersionCount, addedKey(n)); err != nil {
		return err
	}
	// Hour counts without a version_count are a leftover: recount them.
	if err := coll.DeleteBucket(bucketAddedHours); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	k, _ := objects.Cursor().Last()
	if len(k) != 8 {
		return nil
	}
	var a activity
	oldest := store.HourOf(int64(binary.BigEndian.Uint64(k))) - store.ActivityWindow.Microseconds()
	c := objects.Cursor()
	for k, _ := c.Seek(addedKey(max(oldest, 0))); len(k) == 8; k, _ = c.Next() {
		a.added(int64(binary.BigEndian.Uint64(k)))
	}
	return addHours(coll, a.hours)
}
