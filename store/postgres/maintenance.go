package postgres

import (
	"context"
	"fmt"
	"io"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

// backupTables are the tables Backup copies, in an order a restore can
// load them in (referenced tables first).
var backupTables = []string{"schema_migrations", "settings", "organizations", "accounts", "account_certificates",
	"tokens", "groups", "group_members", "collections", "object_versions", "deletions", "statuses", "audit",
	"webhooks", "webhook_secrets", "webhook_progress", "webhook_deliveries", "collection_hours", "sessions"}

// Backup writes a consistent copy of the whole store to w while writers go
// on, and returns the bytes written. The copy is read from one snapshot (a
// repeatable-read, read-only transaction) and is a text archive: a line
// "eitaxii-postgres-backup 1 schema N", then for each table a line "table
// NAME" followed by its rows in PostgreSQL's COPY text format, ended by a
// line "\.", and a last line "end". Each table's part can be loaded back
// into an empty database of the same schema with COPY NAME FROM STDIN.
// The copy holds what the database holds, the next-token key and the
// password and token hashes included: keep it as safe as the database.
// For a database-level backup use pg_dump or continuous archiving, which
// operators of PostgreSQL already run; this one is what `eitaxii backup`
// can take from any node without database tools. It returns no error of
// this package; an error of w ends the backup with that error.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var version int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(cw, "eitaxii-postgres-backup 1 schema %d\n", version); err != nil {
			return err
		}
		for _, table := range backupTables {
			if _, err := fmt.Fprintf(cw, "table %s\n", table); err != nil {
				return err
			}
			if _, err := tx.Conn().PgConn().CopyTo(ctx, cw, "COPY "+table+" TO STDOUT"); err != nil {
				return err
			}
			if _, err := io.WriteString(cw, "\\.\n"); err != nil {
				return err
			}
		}
		_, err := io.WriteString(cw, "end\n")
		return err
	})
	return cw.n, err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Size returns the size of the database in bytes (pg_database_size: tables,
// indexes and TOAST). It returns no error of this package.
func (db *DB) Size(ctx context.Context) (_ int64, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err = db.pool.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
	return n, err
}

// Stats counts the collections, object versions and statuses, and reports
// the database's size. It returns no error of this package.
func (db *DB) Stats(ctx context.Context) (_ store.Stats, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return store.Stats{}, err
	}
	var s store.Stats
	err = db.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM collections), (SELECT count(*) FROM object_versions),
		(SELECT count(*) FROM statuses), pg_database_size(current_database())`).
		Scan(&s.Collections, &s.ObjectVersions, &s.Statuses, &s.Size)
	return s, err
}

// maxProblems bounds the problems Verify reports.
const maxProblems = 1000

// Verify checks the invariants the schema's constraints do not enforce:
// the schema version is this build's; no date_added or deletion cursor
// exceeds its collection's last_added (else a later change could reuse
// it), and no cursor is both a version's and a deletion's; each
// object has exactly one latest and one first version, and they are its
// greatest and smallest; each version's type is its id's; the
// certificate index matches the accounts' certificates; and each webhook
// subscription has its progress row, at least one secret (numbered
// without gaps), a pending message (if any) ending after its cursor, and
// a delivery log within its window of store.MaxWebhookDeliveries entries.
// It reads from one snapshot. It returns the problems found (none means
// healthy); the error is for failing to check at all, and is none of
// this package's.
func (db *DB) Verify(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var problems []string
	checks := []struct {
		sql    string
		format func(pgx.Rows) (string, error)
	}{
		{`SELECT coalesce(max(version), 0) FROM schema_migrations HAVING coalesce(max(version), 0) <> ` + fmt.Sprint(SchemaVersion()),
			scanf("schema version %d, this build writes " + fmt.Sprint(SchemaVersion()))},
		{`SELECT c.id, c.last_added, m.da FROM collections c
			JOIN (SELECT collection, max(date_added) AS da FROM object_versions GROUP BY collection) m ON m.collection = c.id
			WHERE m.da > c.last_added`,
			scanf("collection %s: last_added %d below its greatest date_added %d")},
		{`SELECT c.id, c.versions, coalesce(m.n, 0) FROM collections c
			LEFT JOIN (SELECT collection, count(*) AS n FROM object_versions GROUP BY collection) m ON m.collection = c.id
			WHERE c.versions <> coalesce(m.n, 0)`,
			scanf("collection %s: versions counter %d, but %d versions stored")},
		{`SELECT c.id, c.last_added, m.at FROM collections c
			JOIN (SELECT collection, max(change_at) AS at FROM deletions GROUP BY collection) m ON m.collection = c.id
			WHERE m.at > c.last_added OR c.pruned_deleted > c.last_added`,
			scanf("collection %s: last_added %d below its greatest deletion cursor %d or the pruned mark")},
		{`SELECT d.collection, d.change_at FROM deletions d
			JOIN object_versions o ON o.collection = d.collection AND o.date_added = d.change_at`,
			scanf("collection %s: cursor %d is both a version's date_added and a deletion's")},
		{`SELECT collection, object_id, count(*) FROM (
				SELECT collection, object_id, is_latest, is_first,
					row_number() OVER (PARTITION BY collection, object_id ORDER BY version_s DESC, version_ns DESC) = 1 AS latest,
					row_number() OVER (PARTITION BY collection, object_id ORDER BY version_s, version_ns) = 1 AS first
				FROM object_versions) r
			WHERE is_latest <> latest OR is_first <> first GROUP BY 1, 2`,
			scanf("collection %s: object %s: %d versions with a wrong latest or first flag")},
		{`SELECT collection, date_added, object_id, type FROM object_versions WHERE type <> split_part(object_id, '--', 1)`,
			scanf("collection %s: date_added %d: object %s stored with type %q")},
		{`WITH f AS (` + certificatesSQL + `)
			SELECT f.account, f.written FROM f
			WHERE NOT EXISTS (SELECT 1 FROM account_certificates c WHERE c.fingerprint = f.fingerprint AND c.account = f.account)`,
			scanf("account %s: certificate %s missing from the certificate index")},
		{`WITH f AS (` + certificatesSQL + `)
			SELECT c.account, c.fingerprint FROM account_certificates c
			WHERE NOT EXISTS (SELECT 1 FROM f WHERE f.fingerprint = c.fingerprint AND f.account = c.account)`,
			scanf("account %s: the certificate index has %s, which the account does not list")},
		// Webhooks: a subscription has one progress row (the foreign key
		// only says a progress row has a subscription); its secrets are
		// numbered from 0 without gaps (their order is their age); its
		// delivery log holds the window below log_seq only, so no more than
		// store.MaxWebhookDeliveries entries.
		{`SELECT w.id FROM webhooks w WHERE NOT EXISTS (SELECT 1 FROM webhook_progress p WHERE p.webhook = w.id)`,
			scanf("webhook %s: no progress row")},
		{`SELECT w.id FROM webhooks w WHERE NOT EXISTS (SELECT 1 FROM webhook_secrets s WHERE s.webhook = w.id)`,
			scanf("webhook %s: no signing secret")},
		// A message in flight ends after the acknowledged cursor (NULL: the
		// zero time, before every change).
		{`SELECT webhook, pending, cursor_at FROM webhook_progress WHERE pending <= cursor_at`,
			scanf("webhook %s: pending message ends at %d µs, not after the cursor %d µs")},
		{`SELECT webhook, count(*), max(position) FROM webhook_secrets GROUP BY webhook HAVING max(position) <> count(*) - 1`,
			scanf("webhook %s: %d secrets numbered up to %d")},
		{`SELECT d.webhook, d.seq, p.log_seq FROM webhook_deliveries d JOIN webhook_progress p ON p.webhook = d.webhook
			WHERE d.seq > p.log_seq OR d.seq <= p.log_seq - ` + fmt.Sprint(store.MaxWebhookDeliveries),
			scanf("webhook %s: delivery log entry %d outside the window ending at %d")},
	}
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		for _, c := range checks {
			rows, err := tx.Query(ctx, c.sql+" LIMIT "+fmt.Sprint(maxProblems))
			if err != nil {
				return err
			}
			for rows.Next() && len(problems) < maxProblems {
				p, err := c.format(rows)
				if err != nil {
					rows.Close()
					return err
				}
				problems = append(problems, p)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return problems, err
}

// certificatesSQL lists every certificate the accounts list (account,
// written, fingerprint), fingerprint as the directory indexes it (see
// fingerprint: lower-case hex without colons when it is a SHA-256).
const certificatesSQL = `SELECT a.name AS account, w AS written,
		CASE WHEN lower(replace(w, ':', '')) ~ '^[0-9a-f]{64}$' THEN lower(replace(w, ':', '')) ELSE w END AS fingerprint
	FROM accounts a, jsonb_array_elements_text(coalesce(a.doc->'certificates', '[]')) w`

// scanf returns a row formatter: the row's values, in format.
func scanf(format string) func(pgx.Rows) (string, error) {
	return func(rows pgx.Rows) (string, error) {
		vals, err := rows.Values()
		if err != nil {
			return "", err
		}
		return fmt.Sprintf(format, vals...), nil
	}
}
