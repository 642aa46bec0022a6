package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

var _ store.Transfer = (*DB)(nil)

// ExportStatuses calls fn with every status record and the time its
// request was received, in no particular order, and stops at fn's first
// error, which it returns. The rows stream from one query: memory stays
// bounded whatever the number of statuses. It returns no error of this
// package.
func (db *DB) ExportStatuses(ctx context.Context, fn func(rec *store.StatusRecord, received time.Time) error) error {
	var received int64
	return exportDocs(ctx, db, "SELECT doc, received FROM statuses", []any{&received}, func(rec *store.StatusRecord) error {
		return fn(rec, microsToTime(received))
	})
}

// ExportAudit calls fn with every audit event, oldest first, and stops at
// fn's first error, which it returns. It returns no error of this package.
func (db *DB) ExportAudit(ctx context.Context, fn func(ev *store.AuditEvent) error) error {
	return exportDocs(ctx, db, "SELECT doc FROM audit ORDER BY time, seq", nil, fn)
}

// exportDocs runs query, whose rows are a JSON document followed by the
// columns scanned into more, and calls fn with each document decoded into
// a new T, more holding the rest of its row; it stops at fn's first
// error, which it returns. The rows stream: memory stays bounded.
func exportDocs[T any](ctx context.Context, db *DB, query string, more []any, fn func(*T) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rows, err := db.pool.Query(ctx, query)
	if err != nil {
		return err
	}
	var doc []byte
	_, err = pgx.ForEachRow(rows, append([]any{&doc}, more...), func() error {
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return err
		}
		return fn(v)
	})
	return err
}

// ImportVersions stores recs, object versions of collection collID as
// another store read them, in one transaction holding the collection's
// row lock, keeping their date_added values; the latest and first flags
// are set as publishing would. recs must be ascending by DateAdded and
// later than every change the collection has; the collection's last_added
// becomes the greatest of its own, the last record's DateAdded and newest.
// Nothing is stored when it fails. Returns ErrCollectionNotFound, or an
// error matching ErrImport for records out of order, a version already
// present, or a version that is not a timestamp.
func (db *DB) ImportVersions(ctx context.Context, collID string, recs []store.Record, newest, deletedUpTo time.Time) error {
	return db.begin(ctx, func(tx pgx.Tx) error {
		last, err := lockCollection(ctx, tx, collID)
		if err != nil {
			return err
		}
		sub := &store.Submission{Collection: collID, Objects: make([]store.Object, len(recs))}
		for i := range recs {
			sub.Objects[i].Header.ID = recs[i].ID
		}
		objects, err := loadStates(ctx, tx, sub)
		if err != nil {
			return err
		}
		var rows []newRow
		for i := range recs {
			r := &recs[i]
			da := r.DateAdded.UnixMicro()
			if da <= last {
				return fmt.Errorf("%w: %s at date_added %s is not after the collection's last change %s", store.ErrImport,
					r.ID, r.DateAdded.Format(store.TimestampLayout), microsToTime(last).Format(store.TimestampLayout))
			}
			at, err := time.Parse(time.RFC3339Nano, r.Version)
			if err != nil {
				return fmt.Errorf("%w: %s: version %q is not a timestamp", store.ErrImport, r.ID, r.Version)
			}
			o := objects[r.ID]
			v := &version{key: vkeyOf(at), dateAdded: da, text: r.Version, raw: r.Raw}
			if o.versions[v.key] != nil {
				return fmt.Errorf("%w: %s version %s is already present", store.ErrImport, r.ID, r.Version)
			}
			o.add(v)
			rows = append(rows, newRow{id: r.ID, typ: typeOf(r.ID), specVersion: specVersion(r.SpecVersion), v: v})
			last = da
		}
		b := &pgx.Batch{}
		if err := insertVersions(ctx, tx, b, collID, rows, objects); err != nil {
			return err
		}
		queueClearFlags(b, collID, objects)
		last = max(last, newest.UnixMicro())
		// Deletions are not imported; as if they had been pruned, readers
		// from before the last of them get ChangePage.Gap.
		pruned := int64(0)
		if !deletedUpTo.IsZero() {
			pruned = min(deletedUpTo.UnixMicro(), last)
		}
		b.Queue(withHours(`UPDATE collections SET last_added = greatest(last_added, $5),
			pruned_deleted = greatest(pruned_deleted, $6), versions = versions + $7 WHERE id = $1`),
			append(hoursArgs(collID, rows), last, pruned, len(rows))...)
		return tx.SendBatch(ctx, b).Close()
	})
}

// ImportStatus stores a status record as it is, received at the given
// time for the status retention. It returns an error matching ErrImport
// when the API root already has a status with that id.
func (db *DB) ImportStatus(ctx context.Context, rec *store.StatusRecord, received time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	doc, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO statuses (api_root, id, collection, account, received, doc)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		rec.APIRoot, rec.Status.ID, rec.Collection, rec.Account, received.UnixMicro(), string(doc))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: API root %s already has status %s", store.ErrImport, rec.APIRoot, rec.Status.ID)
	}
	return nil
}
