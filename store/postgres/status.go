package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

// FindStatusRecord returns the status with the given id created under
// apiRoot, with its collection and publisher. Returns ErrNotFound when
// there is none, including a status of another API root (REQ-48): the API
// root is part of the key, so that case costs the same lookup as an
// unknown id.
func (db *DB) FindStatusRecord(ctx context.Context, apiRoot, id string) (_ *store.StatusRecord, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var doc []byte
	err = db.pool.QueryRow(ctx, "SELECT doc FROM statuses WHERE api_root = $1 AND id = $2", apiRoot, id).Scan(&doc)
	if errNoRows(err) {
		return nil, fmt.Errorf("status %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var rec store.StatusRecord
	if err := json.Unmarshal(doc, &rec); err != nil {
		return nil, fmt.Errorf("status %s: %w", id, err)
	}
	return &rec, nil
}

// pruneChunk bounds the rows one pruning transaction deletes, so that no
// transaction runs long.
const pruneChunk = 5000

// PruneStatuses deletes the statuses of requests received before the given
// time and returns how many it deleted, in transactions of at most 5,000
// rows. Each takes an advisory lock first: when another node is pruning,
// this call stops and leaves the rest to it. It returns no error of this
// package.
func (db *DB) PruneStatuses(ctx context.Context, before time.Time) (int, error) {
	return db.prune(ctx, lockPruneStatus, `
		WITH d AS (
			DELETE FROM statuses WHERE (api_root, id) IN (
				SELECT api_root, id FROM statuses WHERE received < $1 ORDER BY received LIMIT $2)
			RETURNING 1)
		SELECT count(*) FROM d`, before.UnixMicro())
}

// prune runs the chunked delete sql ($1 the bound, $2 the chunk size; it
// returns the count of rows deleted) until it deletes less than a chunk
// or another node holds lock.
func (db *DB) prune(ctx context.Context, lock int64, sql string, bound int64) (int, error) {
	total := 0
	for {
		n := int64(0)
		locked := false
		err := db.begin(ctx, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", lock).Scan(&locked); err != nil || !locked {
				return err
			}
			return tx.QueryRow(ctx, sql, bound, pruneChunk).Scan(&n)
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if !locked || n < pruneChunk {
			return total, nil
		}
	}
}

// errNoRows reports whether err is pgx's "no rows".
func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
