package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// ReadChanges returns up to limit changes of the collection with a cursor
// later than after (zero: from the first), ascending by cursor, with the
// collection's high-water mark (see store.ChangePage), all read from one
// snapshot by a single statement: the additions (object_versions by
// date_added) and the deletions (their tombstones by cursor) merged. A
// limit below 1 or above store.MaxChanges reads store.MaxChanges. Returns
// ErrCollectionNotFound.
func (db *DB) ReadChanges(ctx context.Context, collID string, after time.Time, limit int) (_ *store.ChangePage, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > store.MaxChanges {
		limit = store.MaxChanges
	}
	from := int64(-1) // changes with a cursor above this (µs)
	if !after.IsZero() {
		from = max(after.UnixMicro(), -1)
	}
	rows, err := db.pool.Query(ctx, `
		SELECT c.last_added, c.pruned_deleted, x.change_at, x.deleted, x.object_id, x.version, x.spec_version, x.raw
		FROM collections c
		LEFT JOIN LATERAL (
			SELECT * FROM (
				(SELECT date_added AS change_at, false AS deleted, object_id, version, spec_version, raw
				FROM object_versions WHERE collection = c.id AND date_added > $2 ORDER BY date_added LIMIT $3)
				UNION ALL
				(SELECT change_at, true, object_id, version, '', NULL::bytea
				FROM deletions WHERE collection = c.id AND change_at > $2 ORDER BY change_at LIMIT $3)
			) u ORDER BY change_at LIMIT $3
		) x ON true
		WHERE c.id = $1
		ORDER BY x.change_at`, collID, from, limit+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := &store.ChangePage{}
	found := false
	for rows.Next() {
		var last, pruned int64
		var at *int64
		var deleted *bool
		var id, version, spec *string
		var raw []byte
		if err := rows.Scan(&last, &pruned, &at, &deleted, &id, &version, &spec, &raw); err != nil {
			return nil, err
		}
		if !found {
			found = true
			if last > 0 {
				page.Newest = microsToTime(last)
			}
			page.Gap = from >= 0 && pruned > from
		}
		if at == nil {
			break // no change after from
		}
		if len(page.Changes) == limit {
			page.More = true
			break
		}
		c := store.Change{Cursor: microsToTime(*at), Deleted: *deleted, Record: store.Record{ID: *id, Version: *version}}
		if !*deleted {
			c.Record.SpecVersion, c.Record.MediaType, c.Record.DateAdded, c.Record.Raw = *spec, store.MediaTypeSTIX21, c.Cursor, raw
		}
		page.Changes = append(page.Changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s: %w", collID, store.ErrCollectionNotFound)
	}
	return page, nil
}

// PruneDeletions deletes the tombstones of the change feeds whose cursor
// is before the given time and returns how many it deleted, in
// transactions of at most 5,000 rows under an advisory lock (one node
// prunes at a time; see PruneStatuses), recording in each collection the
// greatest cursor pruned so that a reader further behind gets
// ChangePage.Gap. It returns no error of this package.
func (db *DB) PruneDeletions(ctx context.Context, before time.Time) (int, error) {
	return db.prune(ctx, lockPruneDeletions, `
		WITH d AS (
			DELETE FROM deletions WHERE (collection, change_at) IN (
				SELECT collection, change_at FROM deletions WHERE change_at < $1 ORDER BY change_at LIMIT $2)
			RETURNING collection, change_at),
		u AS (
			UPDATE collections c SET pruned_deleted = greatest(c.pruned_deleted, m.at)
			FROM (SELECT collection, max(change_at) AS at FROM d GROUP BY collection) m
			WHERE c.id = m.collection)
		SELECT count(*) FROM d`, max(before.UnixMicro(), 0))
}
