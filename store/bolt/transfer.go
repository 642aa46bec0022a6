package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

var _ store.Transfer = (*DB)(nil)

// ExportStatuses calls fn with every status record and the time its
// request was received (from the status time index), inside one read
// transaction.
func (db *DB) ExportStatuses(ctx context.Context, fn func(rec *store.StatusRecord, received time.Time) error) error {
	return db.view(ctx, func(tx *bbolt.Tx) error {
		statuses := tx.Bucket(bucketStatus)
		return tx.Bucket(bucketStatusTime).ForEach(func(k, _ []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(k) < 8 {
				return fmt.Errorf("store: status time index key %x too short", k)
			}
			v := statuses.Get(k[8:])
			if v == nil {
				return nil // indexed, but pruned or never written: nothing to copy
			}
			var rec store.StatusRecord
			if err := unpackJSON(v, &rec); err != nil {
				return err
			}
			return fn(&rec, microsToTime(int64(binary.BigEndian.Uint64(k[:8]))))
		})
	})
}

// ExportAudit calls fn with every audit event, oldest first, inside one
// read transaction.
func (db *DB) ExportAudit(ctx context.Context, fn func(ev *store.AuditEvent) error) error {
	return db.view(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketAudit).ForEach(func(_, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var ev store.AuditEvent
			if err := unpackJSON(v, &ev); err != nil {
				return err
			}
			return fn(&ev)
		})
	})
}

// ImportVersions stores recs with their date_added values in one write
// transaction, as AddObjects would have stored them then.
func (db *DB) ImportVersions(ctx context.Context, collID string, recs []store.Record, newest, deletedUpTo time.Time) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		coll, versions, objects, err := collectionBuckets(tx, collID)
		if err != nil {
			return err
		}
		last := getMicros(coll, keyLastAdded)
		var act activity
		for i := range recs {
			r := &recs[i]
			da := r.DateAdded.UnixMicro()
			if da <= last {
				return fmt.Errorf("%w: %s version %s: date_added %s is not after the collection's last change",
					store.ErrImport, r.ID, r.Version, r.DateAdded.UTC().Format(store.TimestampLayout))
			}
			vt, err := stix.ParseTimestamp(r.Version)
			if err != nil {
				return fmt.Errorf("%w: %s: version %q is not a timestamp", store.ErrImport, r.ID, r.Version)
			}
			rec := record{id: []byte(r.ID), vkey: versionKey(vt), specVersion: r.SpecVersion, version: r.Version,
				dateAdded: da, raw: bytes.Clone(r.Raw)}
			vk := versionsKey(r.ID, rec.vkey)
			if versions.Get(vk) != nil {
				return fmt.Errorf("%w: %s version %s is already present", store.ErrImport, r.ID, r.Version)
			}
			if err := objects.Put(addedKey(da), rec.encode()); err != nil {
				return err
			}
			if err := versions.Put(vk, addedKey(da)); err != nil {
				return err
			}
			last = da
			act.added(da)
		}
		if err := act.apply(coll); err != nil {
			return err
		}
		last = max(last, newest.UnixMicro())
		if !deletedUpTo.IsZero() {
			// As if those deletions had been pruned: readers from before
			// them get ChangePage.Gap.
			pruned := max(getMicros(coll, keyPrunedDeleted), min(deletedUpTo.UnixMicro(), last))
			if err := coll.Put(keyPrunedDeleted, addedKey(pruned)); err != nil {
				return err
			}
		}
		return coll.Put(keyLastAdded, addedKey(last))
	})
}

// ImportStatus stores a status record as it is, indexed by received.
func (db *DB) ImportStatus(ctx context.Context, rec *store.StatusRecord, received time.Time) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketStatus).Get(statusKey(rec.APIRoot, rec.Status.ID)) != nil {
			return fmt.Errorf("%w: status %s of %s is already present", store.ErrImport, rec.Status.ID, rec.APIRoot)
		}
		return putStatus(tx, rec, received)
	})
}
