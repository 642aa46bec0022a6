package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Console sessions (migrations/0003_console.sql): one row per session,
// read and written by its hash; each call is one statement on the pool,
// so every node sees every node's sessions at once.

func sessionNotFound() error { return fmt.Errorf("session: %w", store.ErrNotFound) }

// CreateSession inserts s. Returns an error matching
// store.ErrInvalidSession for s out of bounds, a *store.ConflictError
// (SessionExists) for a hash already stored (the primary key decides,
// however many nodes create at once).
func (db *DB) CreateSession(ctx context.Context, s store.Session) (err error) {
	defer unavailable(&err)
	if err := s.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO sessions (hash, account, via, credential, csrf, created, last_seen, expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (hash) DO NOTHING`,
		s.Hash, s.Account, s.Via, s.Credential, s.CSRF, s.Created.UnixMicro(), s.LastSeen.UnixMicro(), s.Expires.UnixMicro())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return &store.ConflictError{Invariant: store.SessionExists, Key: s.Hash}
	}
	return nil
}

// FindSession returns the session under hash unless it expired by now;
// store.ErrNotFound otherwise.
func (db *DB) FindSession(ctx context.Context, hash string, now time.Time) (_ *store.Session, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := store.Session{Hash: hash}
	var created, seen, expires int64
	err = db.pool.QueryRow(ctx, `SELECT account, via, credential, csrf, created, last_seen, expires
		FROM sessions WHERE hash = $1 AND expires > $2`, hash, now.UnixMicro()).
		Scan(&s.Account, &s.Via, &s.Credential, &s.CSRF, &created, &seen, &expires)
	if errNoRows(err) {
		return nil, sessionNotFound()
	}
	if err != nil {
		return nil, err
	}
	s.Created, s.LastSeen, s.Expires = microsToTime(created), microsToTime(seen), microsToTime(expires)
	return &s, nil
}

// TouchSession sets the session's last_seen, one UPDATE by primary key.
// store.ErrNotFound when absent.
func (db *DB) TouchSession(ctx context.Context, hash string, seen time.Time) error {
	return db.execSession(ctx, "UPDATE sessions SET last_seen = $2 WHERE hash = $1", hash, seen.UnixMicro())
}

// DeleteSession removes one session; store.ErrNotFound when absent.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	return db.execSession(ctx, "DELETE FROM sessions WHERE hash = $1", hash)
}

// execSession runs a statement on one session, ErrNotFound when it
// touched no row.
func (db *DB) execSession(ctx context.Context, sql string, args ...any) (err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return sessionNotFound()
	}
	return nil
}

// DeleteAccountSessions removes every session of account (through the
// account index) and returns how many.
func (db *DB) DeleteAccountSessions(ctx context.Context, account string) (_ int, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM sessions WHERE account = $1", account)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// PruneSessions removes the sessions with expires <= before, in
// transactions of at most 5,000 rows under an advisory lock (see prune):
// when another node is pruning, this call leaves the rest to it.
func (db *DB) PruneSessions(ctx context.Context, before time.Time) (_ int, err error) {
	defer unavailable(&err)
	return db.prune(ctx, lockPruneSessions, `
		WITH d AS (
			DELETE FROM sessions WHERE hash IN (
				SELECT hash FROM sessions WHERE expires <= $1 ORDER BY expires LIMIT $2)
			RETURNING 1)
		SELECT count(*) FROM d`, before.UnixMicro())
}
