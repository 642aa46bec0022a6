package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// The change feed. Additions are the objects/ bucket itself (keyed by
// date_added, the cursor); deletions are tombstones in c/<coll>/deleted/,
// keyed by the cursor each drew from the same last_added sequence, so the
// two buckets merge into one order. Hints go to subscribers in process,
// from the commit handlers of the transactions that changed a collection:
// bbolt runs those after the commit, once the write lock is released, so a
// reader woken by a hint sees what it announces.

var (
	bucketDeleted    = []byte("deleted")
	keyPrunedDeleted = []byte("pruned_deleted") // greatest tombstone cursor pruned
)

// tombstone is one deleted version, the value of c/<coll>/deleted/ under
// its cursor: uvarint len(id) | id | version key (12) | version text.
// The version key lets Verify relate it to a version added again later.
type tombstone struct {
	id      []byte
	vkey    [vkeySize]byte
	version string
}

func (t *tombstone) encode() []byte {
	b := make([]byte, 0, binary.MaxVarintLen32+len(t.id)+vkeySize+len(t.version))
	b = binary.AppendUvarint(b, uint64(len(t.id)))
	b = append(b, t.id...)
	b = append(b, t.vkey[:]...)
	return append(b, t.version...)
}

func decodeTombstone(v []byte) (tombstone, error) {
	var t tombstone
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n+vkeySize {
		return t, errCorruptRecord
	}
	v = v[w:]
	t.id, v = v[:n:n], v[n:]
	copy(t.vkey[:], v)
	t.version = string(v[vkeySize:])
	return t, nil
}

// getMicros reads an 8-byte big-endian µs value of b; 0 when absent.
func getMicros(b *bbolt.Bucket, key []byte) int64 {
	if v := b.Get(key); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// Watch subscribes to the collection's change feed; see store.Store. In
// this backend the hint of a commit is in the channel before the write that
// made it returns. Returns ErrCollectionNotFound for an unknown
// collection, and an error once the store is closed.
func (db *DB) Watch(ctx context.Context, collID string) (<-chan time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Registered before the existence check: a deletion committed before
	// the check fails it, one committed after it drops this watcher when
	// it commits (dirTx.DeleteCollection).
	w, ok := db.feed.Add(collID)
	if !ok {
		return nil, errClosed
	}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		_, _, _, err := collectionBuckets(tx, collID)
		return err
	})
	if err != nil {
		db.feed.Remove(w)
		return nil, err
	}
	db.feed.Bind(ctx, w)
	return w.C(), nil
}

// ReadChanges returns up to limit changes after the cursor after; see
// store.Store. Returns ErrCollectionNotFound.
func (db *DB) ReadChanges(ctx context.Context, collID string, after time.Time, limit int) (*store.ChangePage, error) {
	if limit < 1 || limit > store.MaxChanges {
		limit = store.MaxChanges
	}
	// Cursors are whole µs: the first one later than after is after's
	// µs floor plus one (Seek of 0 when reading from the start).
	var from int64
	if !after.IsZero() && after.UnixMicro() >= 0 {
		from = after.UnixMicro() + 1
	}
	page := &store.ChangePage{}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		coll, _, objects, err := collectionBuckets(tx, collID)
		if err != nil {
			return err
		}
		last := getMicros(coll, keyLastAdded)
		if last > 0 {
			page.Newest = microsToTime(last)
		}
		page.Gap = from > 0 && getMicros(coll, keyPrunedDeleted) >= from
		start := addedKey(from)
		oc := objects.Cursor()
		ok, ov := oc.Seek(start)
		var dc *bbolt.Cursor
		var dk, dv []byte
		if d := coll.Bucket(bucketDeleted); d != nil {
			dc = d.Cursor()
			dk, dv = dc.Seek(start)
		}
		for ok != nil || dk != nil {
			if len(page.Changes) == limit {
				page.More = true
				return nil
			}
			if dk == nil || (ok != nil && bytes.Compare(ok, dk) < 0) {
				r, err := decodeRecord(int64(binary.BigEndian.Uint64(ok)), ov, true)
				if err != nil {
					return err
				}
				rec := toRecord(&r, true)
				page.Changes = append(page.Changes, store.Change{Cursor: rec.DateAdded, Record: rec})
				ok, ov = oc.Next()
				continue
			}
			t, err := decodeTombstone(dv)
			if err != nil {
				return err
			}
			at := microsToTime(int64(binary.BigEndian.Uint64(dk)))
			page.Changes = append(page.Changes, store.Change{Cursor: at, Deleted: true,
				Record: store.Record{ID: string(t.id), Version: t.version}})
			dk, dv = dc.Next()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// PruneDeletions deletes the tombstones with a cursor before the given
// time, in bounded transactions, and records per collection the greatest
// cursor pruned (for ChangePage.Gap). It returns how many it deleted.
func (db *DB) PruneDeletions(ctx context.Context, before time.Time) (int, error) {
	limit := max(before.UnixMicro(), 0)
	// Only collections with something to prune get a write transaction:
	// each costs a commit, and most collections delete nothing.
	var ids [][]byte
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketC)
		return c.ForEachBucket(func(k []byte) error {
			if d := c.Bucket(k).Bucket(bucketDeleted); d != nil {
				if first, _ := d.Cursor().First(); len(first) == 8 && int64(binary.BigEndian.Uint64(first)) < limit {
					ids = append(ids, bytes.Clone(k))
				}
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, id := range ids {
		n, err := db.pruneInChunks(ctx, 5000, func(tx *bbolt.Tx, chunk int) (n int, err error) {
			coll := tx.Bucket(bucketC).Bucket(id)
			if coll == nil { // deleted meanwhile
				return 0, nil
			}
			d := coll.Bucket(bucketDeleted)
			if d == nil {
				return 0, nil
			}
			pruned := getMicros(coll, keyPrunedDeleted)
			c := d.Cursor()
			for k, _ := c.First(); len(k) == 8 && n < chunk; k, _ = c.First() {
				at := int64(binary.BigEndian.Uint64(k))
				if at >= limit {
					break
				}
				if err := c.Delete(); err != nil {
					return n, err
				}
				pruned = max(pruned, at)
				n++
			}
			if n == 0 {
				return 0, nil
			}
			return n, coll.Put(keyPrunedDeleted, addedKey(pruned))
		})
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// verifyDeleted checks a collection's tombstones: each is decodable, under a
// cursor no greater than last_added and shared with no stored version (all
// cursors come from one sequence), and a version it names that is stored
// again was added after the deletion. The pruned mark is no greater than
// last_added either.
func verifyDeleted(ctx context.Context, coll, versions, objects *bbolt.Bucket, last int64, report func(string, ...any)) error {
	if p := getMicros(coll, keyPrunedDeleted); p > last {
		report("pruned_deleted %d above last_added %d", p, last)
	}
	d := coll.Bucket(bucketDeleted)
	if d == nil {
		return nil
	}
	return d.ForEach(func(k, v []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(k) != 8 {
			report("tombstone key %x is not a cursor", k)
			return nil
		}
		at := int64(binary.BigEndian.Uint64(k))
		if at > last {
			report("tombstone cursor %d above last_added %d", at, last)
		}
		if objects.Get(k) != nil {
			report("tombstone cursor %d is also a stored version's date_added", at)
		}
		t, err := decodeTombstone(v)
		if err != nil {
			report("tombstone at %d: %v", at, err)
			return nil
		}
		if da := versions.Get(versionsKey(string(t.id), t.vkey)); len(da) == 8 && int64(binary.BigEndian.Uint64(da)) < at {
			report("version %s %s deleted at %d but stored with an earlier date_added", t.id, t.version, at)
		}
		return nil
	})
}
