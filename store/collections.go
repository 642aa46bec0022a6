package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/eitaxii/eitaxii/access"
	bolt "go.etcd.io/bbolt"
)

// Collection is the stored description of a TAXII collection.
type Collection struct {
	ID          string `json:"id"`
	APIRoot     string `json:"api_root"` // the group it belongs to
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Alias       string `json:"alias,omitempty"`
	Policy      Policy `json:"policy"`
}

// Policy is what a collection enforces on Add Objects, and who may read and
// write it.
type Policy struct {
	// TLPCeiling refuses objects marked above this TLP level (clear,
	// green, amber, amber+strict, red); "" means no ceiling.
	TLPCeiling string `json:"tlp_ceiling,omitempty"`
	// RequireTLP refuses objects that carry no TLP marking, unless
	// DefaultTLP names the level to mark them with instead.
	RequireTLP bool   `json:"require_tlp,omitempty"`
	DefaultTLP string `json:"default_tlp,omitempty"`
	// Anonymize replaces created_by_ref with the group's identity; the
	// publisher is kept in the audit log only.
	Anonymize bool `json:"anonymize,omitempty"`
	// ReadRole and WriteRole are the least roles that may read and write;
	// "" means reader and publisher. A submissions collection that
	// members write and only admins read has WriteRole reader and ReadRole
	// admin.
	ReadRole  access.Role `json:"read_role,omitempty"`
	WriteRole access.Role `json:"write_role,omitempty"`
}

// EnsureCollection creates the collection's buckets if they are missing and
// records its description, replacing an earlier one. Objects already stored
// are kept. The caller has validated c.ID (a UUIDv4).
func (db *DB) EnsureCollection(ctx context.Context, c Collection) error {
	return db.update(ctx, func(tx *bolt.Tx) error { return putCollection(tx, &c) })
}

func putCollection(tx *bolt.Tx, c *Collection) error {
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
