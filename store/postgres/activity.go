package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

// Collection activity (store.Activity): collections.versions and
// collection_hours (migrations/0003_console.sql), kept by the
// transactions that add and delete versions under the collection's row
// lock; deleting a collection cascades to its hours.

// hourCounts groups the versions a transaction stores (ascending by
// date_added) by the hour of their date_added, as collection_hours keys
// them.
func hourCounts(rows []newRow) (hours, added []int64) {
	for _, r := range rows {
		h := store.HourOf(r.v.dateAdded)
		if n := len(hours); n > 0 && hours[n-1] == h {
			added[n-1]++
			continue
		}
		hours, added = append(hours, h), append(added, 1)
	}
	return hours, added
}

// addHoursSQL adds $3 (counts) to the hours $2 of collection $1, and
// drops its hours older than store.ActivityWindow ($4 µs) before the
// newest of them, in one statement. The two parts cannot touch the same
// row: what is dropped is older than every hour added.
const addHoursSQL = `
	WITH old AS (
		DELETE FROM collection_hours WHERE collection = $1 AND hour < (SELECT max(h) FROM unnest($2::bigint[]) h) - $4::bigint)
	INSERT INTO collection_hours (collection, hour, added)
	SELECT $1, h, n FROM unnest($2::bigint[], $3::bigint[]) AS x (h, n)
	ON CONFLICT (collection, hour) DO UPDATE SET added = collection_hours.added + EXCLUDED.added`

// queueAddHours queues the hour counts of the versions rows stored in
// collection collID; nothing when rows is empty.
func queueAddHours(b *pgx.Batch, collID string, rows []newRow) {
	if len(rows) == 0 {
		return
	}
	hours, added := hourCounts(rows)
	b.Queue(addHoursSQL, collID, hours, added, store.ActivityWindow.Microseconds())
}

// CollectionActivity reads the collection's counters in one query: its
// versions column, its newest date_added (the end of its primary key
// range) and its hours from since's. Returns store.ErrCollectionNotFound.
func (db *DB) CollectionActivity(ctx context.Context, collID string, since time.Time) (_ *store.Activity, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var a store.Activity
	var newest *int64
	var hours, added []int64
	err = db.pool.QueryRow(ctx, `
		SELECT c.versions,
			(SELECT max(date_added) FROM object_versions o WHERE o.collection = c.id),
			ARRAY(SELECT hour FROM collection_hours h WHERE h.collection = c.id AND h.hour >= $2 ORDER BY hour),
			ARRAY(SELECT added FROM collection_hours h WHERE h.collection = c.id AND h.hour >= $2 ORDER BY hour)
		FROM collections c WHERE c.id = $1`, collID, store.HourOf(since.UnixMicro())).
		Scan(&a.Versions, &newest, &hours, &added)
	if errNoRows(err) {
		return nil, fmt.Errorf("%s: %w", collID, store.ErrCollectionNotFound)
	}
	if err != nil {
		return nil, err
	}
	if newest != nil {
		a.Newest = microsToTime(*newest)
	}
	if len(hours) != len(added) {
		return nil, fmt.Errorf("store: collection %s: %d hours, %d counts", collID, len(hours), len(added))
	}
	for i, h := range hours {
		a.Hours = append(a.Hours, store.HourCount{Hour: microsToTime(h), Added: added[i]})
	}
	return &a, nil
}
