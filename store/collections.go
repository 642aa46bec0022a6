package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Collection is the stored description of a TAXII collection.
type Collection struct {
	ID          string `json:"id"`
	APIRoot     string `json:"api_root"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Alias       string `json:"alias,omitempty"`
}

// EnsureCollection creates the collection's buckets if they are missing and
// records its description, replacing an earlier one. Objects already stored
// are kept. The caller has validated c.ID (a UUIDv4).
func (db *DB) EnsureCollection(ctx context.Context, c Collection) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketCollections).Put([]byte(c.ID), data); err != nil {
			return err
		}
		b, err := tx.Bucket(bucketC).CreateBucketIfNotExists([]byte(c.ID))
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketVersions, bucketAdded} {
			if _, err := b.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindCollectionByID returns the stored collection, or ErrCollectionNotFound.
func (db *DB) FindCollectionByID(ctx context.Context, id string) (*Collection, error) {
	var c *Collection
	err := db.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCollections).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%s: %w", id, ErrCollectionNotFound)
		}
		c = new(Collection)
		return json.Unmarshal(v, c)
	})
	return c, err
}
