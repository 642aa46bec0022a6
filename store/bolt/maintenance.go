package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// PruneStatuses deletes the statuses of requests received before the given
// time and returns how many it deleted. It works in bounded transactions,
// so it never holds the write lock for long.
func (db *DB) PruneStatuses(ctx context.Context, before time.Time) (int, error) {
	limit := binary.BigEndian.AppendUint64(nil, uint64(max(before.UnixMicro(), 0)))
	return db.pruneInChunks(ctx, 5000, func(tx *bbolt.Tx, chunk int) (n int, err error) {
		byTime := tx.Bucket(bucketStatusTime).Cursor()
		statuses := tx.Bucket(bucketStatus)
		for k, _ := byTime.First(); len(k) > 8 && bytes.Compare(k[:8], limit) < 0 && n < chunk; k, _ = byTime.First() {
			if err := statuses.Delete(k[8:]); err != nil {
				return n, err
			}
			if err := byTime.Delete(); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	})
}

// pruneInChunks calls prune in one write transaction after another, each
// allowed to delete at most chunk entries, until one fails or deletes
// fewer, and returns how many the calls deleted in all: a large prune
// never holds the write lock for long.
func (db *DB) pruneInChunks(ctx context.Context, chunk int, prune func(tx *bbolt.Tx, chunk int) (int, error)) (int, error) {
	total := 0
	for {
		n := 0
		err := db.update(ctx, func(tx *bbolt.Tx) error {
			var err error
			n, err = prune(tx, chunk)
			return err
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
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Size returns the size of the store file in bytes.
func (db *DB) Size(ctx context.Context) (int64, error) {
	var n int64
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}

// Verify checks the store: bbolt's own page consistency, then this
// package's invariants — every stored object has its version entry and
// every version entry its object, no date_added exceeds the collection's
// last_added, every collection has its buckets, every tombstone of the
// change feed is well formed and in order with what is stored, every
// status has its time index entry, and the directory's entries decode, sit
// under their own keys and keep the invariants DirectoryTx enforces. It
// returns the problems found (none means healthy); the
// error is for failing to check at all.
func (db *DB) Verify(ctx context.Context) ([]string, error) {
	var problems []string
	report := func(format string, args ...any) {
		if len(problems) < 1000 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			report("bbolt: %v", err)
		}
		verifyDirectory(tx, report)
		verifyWebhooks(tx, report)
		err := tx.Bucket(bucketCollections).ForEach(func(id, _ []byte) error {
			coll := tx.Bucket(bucketC).Bucket(id)
			if coll == nil {
				report("collection %s: no object buckets", id)
				return nil
			}
			versions, objects := coll.Bucket(bucketVersions), coll.Bucket(bucketObjects)
			if versions == nil || objects == nil {
				report("collection %s: missing versions or objects bucket", id)
				return nil
			}
			var last int64
			if v := coll.Get(keyLastAdded); len(v) == 8 {
				last = int64(binary.BigEndian.Uint64(v))
			}
			stored := int64(0)
			err := objects.ForEach(func(k, v []byte) error {
				stored++
				if err := ctx.Err(); err != nil {
					return err
				}
				if len(k) != 8 {
					report("collection %s: object key %x is not a date_added", id, k)
					return nil
				}
				da := int64(binary.BigEndian.Uint64(k))
				if da > last {
					report("collection %s: date_added %d above last_added %d", id, da, last)
				}
				r, err := decodeRecord(da, v, true)
				if err != nil {
					report("collection %s: object at date_added %d: %v", id, da, err)
					return nil
				}
				if back := versions.Get(versionsKey(string(r.id), r.vkey)); !bytes.Equal(back, k) {
					report("collection %s: object %s (date_added %d) has no version entry", id, r.id, da)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if n := getMicros(coll, keyVersionCount); n != stored {
				report("collection %s: version_count %d, but %d versions stored", id, n, stored)
			}
			err = versions.ForEach(func(vk, da []byte) error {
				if objects.Get(da) == nil {
					report("collection %s: version %q points to a missing object", id, vk)
				}
				return nil
			})
			if err != nil {
				return err
			}
			return verifyDeleted(ctx, coll, versions, objects, last, func(format string, args ...any) {
				report("collection %s: "+format, append([]any{id}, args...)...)
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
		return tx.Bucket(bucketStatus).ForEach(func(key, _ []byte) error {
			if !indexed[string(key)] {
				root, id, ok := bytes.Cut(key, []byte{0})
				if !ok { // a status written before keys named the API root
					root, id = nil, key
				}
				report("status %s of %s: no time index entry (it would never expire)", id, root)
			}
			return nil
		})
	})
	return problems, err
}

// Stats counts the collections, object versions and statuses, and reports
// the file's size.
func (db *DB) Stats(ctx context.Context) (store.Stats, error) {
	var s store.Stats
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		s.Size = tx.Size()
		s.Collections = tx.Bucket(bucketCollections).Stats().KeyN
		s.Statuses = tx.Bucket(bucketStatus).Stats().KeyN
		return tx.Bucket(bucketC).ForEachBucket(func(k []byte) error {
			if v := tx.Bucket(bucketC).Bucket(k).Bucket(bucketVersions); v != nil {
				s.ObjectVersions += v.Stats().KeyN
			}
			return nil
		})
	})
	return s, err
}
