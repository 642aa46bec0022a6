// Package postgres is eitaxii's PostgreSQL backend, an implementation of
// the contract in package store for several eitaxii nodes sharing one
// database. It uses jackc/pgx/v5 (pgxpool).
//
// The schema is the SQL under migrations/, embedded in the binary and
// applied by Open in order, inside one transaction holding an advisory
// lock, so nodes starting together do not race; the applied versions are
// kept in schema_migrations, and a database written by a newer build is
// refused. See migrations/0001_init.sql for the tables and why each index
// exists.
//
// Publishing serializes per collection across nodes: the Add Objects
// transaction locks the collection's row (SELECT ... FOR UPDATE), reads the
// greatest date_added handed out so far (last_added) and gives each new
// version date_added = max(clock, last + 1 µs). Commit order is therefore
// date_added order, so a poller that has read up to some date_added can
// never later find an older one appear. Pages are keyset queries on
// (collection, date_added), never OFFSET. Objects are stored and served as
// the exact bytes posted (bytea).
//
// Add Objects requests that arrive while a commit is in progress share the
// next transaction (group commit, see committer). Directory changes run
// one at a time across nodes (an advisory lock), so the directory's
// invariants hold however many nodes write; the schema's unique indexes
// back them (one account per certificate fingerprint, one collection per
// alias in a group), and a version row counts the changes so that nodes
// notice each other's (DirectoryVersion).
//
// The change feed (Watch, ReadChanges) reads by cursor: additions are the
// versions by date_added, deletions are tombstones with cursors drawn from
// the same sequence. Commits NOTIFY a channel as a wake-up hint; each
// store listens on one connection of its own, re-listens after the
// database restarts, and reads its watched collections' newest cursors
// every few seconds in case a notification was lost (see notify.go).
//
// Webhook subscriptions (migrations/0002_webhooks.sql) are changed inside
// ChangeDirectory, under its lock and with its audit rows; the
// dispatcher's progress and the delivery log, capped per subscription,
// are written by RecordDelivery in one statement. The dispatcher runs on
// one node at a time: DispatchLease holds a session-level advisory lock
// on a connection of its own, which PostgreSQL releases when that session
// ends, so a node that dies hands the lease over without an expiry to
// wait for (see lease.go).
//
// next tokens are stateless and signed with a key kept in the database, so
// every node accepts every node's tokens. Work that must run once across
// nodes (status, audit and tombstone pruning) takes an advisory
// transaction lock.
package postgres

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Advisory lock keys (one 64-bit key space per database, shared with any
// other application using advisory locks there, hence keys unlikely to be
// chosen by hand: "eitaxi" in ASCII followed by a small number).
const (
	lockMigrate     int64 = 0x656974617869_0001
	lockPruneStatus int64 = 0x656974617869_0002
	lockPruneAudit  int64 = 0x656974617869_0003
	// lockPruneDeletions guards the pruning of the change feed's tombstones.
	lockPruneDeletions int64 = 0x656974617869_0004
	// lockDirectory serializes directory changes across nodes.
	lockDirectory int64 = 0x656974617869_0005
	// lockDispatch is the webhook dispatch lease, a session-level lock
	// (see lease.go).
	lockDispatch int64 = 0x656974617869_0006
	// lockPruneSessions guards the pruning of expired console sessions.
	lockPruneSessions int64 = 0x656974617869_0007
)

// Options configure a DB. The zero value is usable.
type Options struct {
	// Now is the clock used for date_added and status times; time.Now if nil.
	Now func() time.Time
	// NewID makes status ids; uuid.New (v4) if nil. It must be safe for
	// concurrent use.
	NewID func() uuid.UUID
	// MaxConns bounds the connections the store opens; 0 means pgxpool's
	// default (the larger of 4 and the number of CPUs) or the URL's
	// pool_max_conns.
	MaxConns int32
}

// DB is a PostgreSQL-backed store.Store. It is safe for concurrent use,
// also by several processes on one database.
type DB struct {
	pool      *pgxpool.Pool
	now       func() time.Time
	newID     func() uuid.UUID
	cursorKey []byte
	feed      *feed
	commits   *committer
	leases    *leases
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string), applies the schema migrations it lacks and loads the
// next-token key, creating it at the first Open. It returns an error
// wrapping store.ErrUnknownSchema when the database has a schema version
// newer than this build knows, and an error that names no password when
// the URL is malformed or the database is unreachable.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = uuid.New
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its message; say no more than that.
		return nil, fmt.Errorf("postgres: invalid database URL: %w", redact(err, ""))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	password := cfg.ConnConfig.Password
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", redact(err, password))
	}
	db := &DB{pool: pool, now: opts.Now, newID: opts.NewID, leases: newLeases()}
	db.feed = newFeed(db)
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", redact(err, password))
	}
	db.commits = db.newCommitter(pool)
	return db, nil
}

// redact returns err, or an error of the same message without password
// when it contains it (pgx names hosts and users in connection errors,
// never passwords, but a password might reach a message some other way).
func redact(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "xxxxx"))
}

// migration is one embedded SQL file, applied as schema version n.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. Their
// names are NNNN_description.sql, numbered from 1 without gaps.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this build writes: the number of
// embedded migrations.
func SchemaVersion() int {
	ms, _ := migrations()
	return len(ms)
}

// migrate brings the schema up to date and loads the cursor key, all in
// one transaction under an advisory lock: nodes opening the same database
// at once apply each migration exactly once, and a failed migration leaves
// nothing behind (PostgreSQL's DDL is transactional).
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockMigrate); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY,
			name text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`)
		if err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return err
		}
		if current > len(ms) {
			return fmt.Errorf("%w: the database has schema version %d, this build knows up to %d; run a newer eitaxii",
				store.ErrUnknownSchema, current, len(ms))
		}
		for _, m := range ms[current:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
				return err
			}
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO settings (name, value) VALUES ('cursor_key', $1) ON CONFLICT (name) DO NOTHING", key); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT value FROM settings WHERE name = 'cursor_key'").Scan(&db.cursorKey)
	})
}

// Ping checks that the database answers and accepts writes (a read-only
// standby does not).
func (db *DB) Ping(ctx context.Context) (err error) {
	defer unavailable(&err)
	var readOnly string
	if err := db.pool.QueryRow(ctx, "SHOW transaction_read_only").Scan(&readOnly); err != nil {
		return err
	}
	if readOnly == "on" {
		return errors.New("postgres: the database is read-only (a standby?)")
	}
	return nil
}

// Close ends the dispatch lease if this store holds it (closing its
// session, so another node may take it), finishes the Add Objects requests
// already submitted, closes every Watch channel and the connections,
// waiting for the queries in progress to finish. Calls made afterwards
// fail.
func (db *DB) Close() error {
	db.leases.close()
	db.commits.Close()
	db.feed.close()
	db.pool.Close()
	return nil
}

// begin runs fn in a read-write transaction after checking ctx; it commits
// when fn returns nil and rolls back otherwise, returning fn's error as it
// is.
func (db *DB) begin(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, fn)
}

// lockCollectionSQL locks a collection's row ($1) for the rest of the
// transaction and reads its last_added (see scanLocked).
const lockCollectionSQL = "SELECT last_added FROM collections WHERE id = $1 FOR UPDATE"

// lockCollection locks the collection's row for the rest of tx and returns
// its last_added, or ErrCollectionNotFound.
func lockCollection(ctx context.Context, tx pgx.Tx, collID string) (int64, error) {
	return scanLocked(tx.QueryRow(ctx, lockCollectionSQL, collID), collID)
}

// scanLocked reads the answer of lockCollectionSQL for collID: its
// last_added, or ErrCollectionNotFound.
func scanLocked(row pgx.Row, collID string) (int64, error) {
	var last int64
	err := row.Scan(&last)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%s: %w", collID, store.ErrCollectionNotFound)
	}
	return last, err
}

func microsToTime(us int64) time.Time { return time.UnixMicro(us).UTC() }
