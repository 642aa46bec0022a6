package bolt

import (
	"context"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// EnsureCollection creates the collection's buckets if they are missing and
// records its description, replacing an earlier one. Objects already stored
// are kept. The caller has validated c.ID (a UUIDv4).
func (db *DB) EnsureCollection(ctx context.Context, c store.Collection) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if err := putCollection(tx, &c); err != nil {
			return err
		}
		return bumpDirectoryVersion(tx)
	})
}

func putCollection(tx *bbolt.Tx, c *store.Collection) error {
	if err := put(tx, bucketCollections, c.ID, c); err != nil {
		return err
	}
	b, err := tx.Bucket(bucketC).CreateBucketIfNotExists([]byte(c.ID))
	if err != nil {
		return err
	}
	for _, name := range [][]byte{bucketVersions, bucketObjects} {
		if _, err := b.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}
