package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PruneStatuses deletes the statuses of requests received before the given
// time and returns how many it deleted. It works in bounded transactions,
// so it never holds the write lock for long.
func (db *DB) PruneStatuses(ctx context.Context, before time.Time) (int, error) {
	limit := binary.BigEndian.AppendUint64(nil, uint64(max(before.UnixMicro(), 0)))
	const chunk = 5000
	total := 0
	for {
		n := 0
		err := db.update(ctx, func(tx *bolt.Tx) error {
			byTime := tx.Bucket(bucketStatusTime).Cursor()
			statuses := tx.Bucket(bucketStatus)
			for k, _ := byTime.First(); k != nil && len(k) > 8 && bytes.Compare(k[:8], limit) < 0 && n < chunk; k, _ = byTime.First() {
				if err := statuses.Delete(k[8:]); err != nil {
					return err
				}
				if err := byTime.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n < chunk {
			return total, err
		}
	}
}

// Backup writes a consistent copy of the whole store to w from a read
// transaction: writers go on while it runs. It returns the bytes written.
// The copy is a bbolt file that Open accepts.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Size returns the size of the store file in bytes.
func (db *DB) Size(ctx context.Context) (int64, error) {
	var n int64
	err := db.view(ctx, func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}

// Verify checks the store: bbolt's own page consistency, then this
// package's invariants — every index entry points to a stored version with
// the same date_added and back, no date_added exceeds the collection's
// last_added, every collection has its buckets, and every status has its
// time index entry. It returns the problems found (none means healthy); the
// error is for failing to check at all.
func (db *DB) Verify(ctx context.Context) ([]string, error) {
	var problems []string
	report := func(format string, args ...any) {
		if len(problems) < 1000 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	err := db.view(ctx, func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			report("bbolt: %v", err)
		}
		err := tx.Bucket(bucketCollections).ForEach(func(id, _ []byte) error {
			coll := tx.Bucket(bucketC).Bucket(id)
			if coll == nil {
				report("collection %s: no object buckets", id)
				return nil
			}
			versions, added := coll.Bucket(bucketVersions), coll.Bucket(bucketAdded)
			if versions == nil || added == nil {
				report("collection %s: missing versions or added bucket", id)
				return nil
			}
			var last int64
			if v := coll.Get(keyLastAdded); len(v) == 8 {
				last = int64(binary.BigEndian.Uint64(v))
			}
			err := added.ForEach(func(k, vk []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				da := int64(binary.BigEndian.Uint64(k))
				if da > last {
					report("collection %s: date_added %d above last_added %d", id, da, last)
				}
				v := versions.Get(vk)
				if v == nil {
					report("collection %s: index entry %d points to missing version %q", id, da, vk)
					return nil
				}
				r, err := decodeRecord(v)
				if err != nil {
					report("collection %s: version %q: %v", id, vk, err)
				} else if r.dateAdded != da {
					report("collection %s: index entry %d points to version %q added at %d", id, da, vk, r.dateAdded)
				}
				return nil
			})
			if err != nil {
				return err
			}
			return versions.ForEach(func(vk, v []byte) error {
				r, err := decodeRecord(v)
				if err != nil {
					report("collection %s: version %q: %v", id, vk, err)
					return nil
				}
				if back := added.Get(addedKey(r.dateAdded)); !bytes.Equal(back, vk) {
					report("collection %s: version %q (date_added %d) has no index entry", id, vk, r.dateAdded)
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		indexed := map[string]bool{}
		err = tx.Bucket(bucketStatusTime).ForEach(func(k, _ []byte) error {
			if len(k) > 8 {
				indexed[string(k[8:])] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketStatus).ForEach(func(id, _ []byte) error {
			if !indexed[string(id)] {
				report("status %s: no time index entry (it would never expire)", id)
			}
			return nil
		})
	})
	return problems, err
}
