package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

// Webhook subscriptions (see migrations/0002_webhooks.sql): the
// configuration in webhooks and webhook_secrets, written only inside
// ChangeDirectory (so under the directory lock, with the audit row); the
// dispatcher's progress in webhook_progress and its delivery log in
// webhook_deliveries, written by RecordDelivery in one statement.

// querier is what the webhook reads need of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// webhookSelect reads subscriptions with their secrets (newest first) and
// progress, in one statement, hence from one snapshot. The progress row
// is joined LEFT so that a subscription missing it (which Verify reports)
// is still listed, with a zero State.
const webhookSelect = `SELECT w.id, w.owner, w.api_root, w.collection, w.url, w.types, w.include_objects, w.created,
	ARRAY(SELECT s.key FROM webhook_secrets s WHERE s.webhook = w.id ORDER BY s.position),
	ARRAY(SELECT s.created FROM webhook_secrets s WHERE s.webhook = w.id ORDER BY s.position),
	ARRAY(SELECT s.expires FROM webhook_secrets s WHERE s.webhook = w.id ORDER BY s.position),
	coalesce(p.disabled, false), coalesce(p.reason, ''), p.cursor_at, p.pending, coalesce(p.failures, 0),
	p.failing_since, p.next_attempt
FROM webhooks w LEFT JOIN webhook_progress p ON p.webhook = w.id`

// readWebhooks runs webhookSelect with the given condition and order.
func readWebhooks(ctx context.Context, q querier, tail string, args ...any) ([]store.Webhook, error) {
	rows, err := q.Query(ctx, webhookSelect+" "+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Webhook
	for rows.Next() {
		var (
			w                                     store.Webhook
			created, cursor, pending, since, next *int64
			keys                                  [][]byte
			keyCreated, keyExpires                []*int64
			st                                    = &w.State
		)
		if err := rows.Scan(&w.ID, &w.Owner, &w.Group, &w.Collection, &w.URL, &w.Types, &w.IncludeObjects, &created,
			&keys, &keyCreated, &keyExpires,
			&st.Disabled, &st.Reason, &cursor, &pending, &st.Failures, &since, &next); err != nil {
			return nil, err
		}
		if len(keys) != len(keyCreated) || len(keys) != len(keyExpires) {
			return nil, fmt.Errorf("postgres: webhook %s: secrets changed while read", w.ID)
		}
		for i, k := range keys {
			w.Secrets = append(w.Secrets, store.WebhookSecret{Key: k, Created: fromMicros(keyCreated[i]), Expires: fromMicros(keyExpires[i])})
		}
		if len(w.Types) == 0 {
			w.Types = nil
		}
		w.Created = fromMicros(created)
		st.Cursor, st.Pending, st.FailingSince, st.NextAttempt = fromMicros(cursor), fromMicros(pending), fromMicros(since), fromMicros(next)
		out = append(out, w)
	}
	return out, rows.Err()
}

// toMicros is t in µs since the epoch, or NULL for the zero time.
func toMicros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	us := t.UnixMicro()
	return &us
}

// fromMicros is toMicros' inverse, in UTC.
func fromMicros(us *int64) time.Time {
	if us == nil {
		return time.Time{}
	}
	return microsToTime(*us)
}

// Webhooks returns every subscription, sorted by id in byte order. The
// subscriptions are as few as the directory's entries and read whole like
// it (LoadDirectory): the contract asks for every one. It returns no error
// of this package but store.ErrUnavailable, as every method here when the
// database cannot be reached.
func (db *DB) Webhooks(ctx context.Context) (_ []store.Webhook, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return readWebhooks(ctx, db.pool, `ORDER BY w.id COLLATE "C"`)
}

// Webhook returns the subscription with the given id, or store.ErrNotFound.
func (db *DB) Webhook(ctx context.Context, id string) (_ *store.Webhook, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return readWebhook(ctx, db.pool, id)
}

func readWebhook(ctx context.Context, q querier, id string) (*store.Webhook, error) {
	ws, err := readWebhooks(ctx, q, "WHERE w.id = $1", id)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("webhook %q: %w", id, store.ErrNotFound)
	}
	return &ws[0], nil
}

// recordDeliverySQL replaces the progress and, when $10 is true, appends
// the delivery under the next sequence number and drops the entries that
// fall out of the window, in one statement: the UPDATE locks the progress
// row, so the records of one subscription are serialized on every node and
// sequence numbers follow commit order. The DELETE sees the log as it was
// before the statement (data-modifying CTEs share one snapshot), which is
// all it trims. The statement returns one row when the subscription
// exists, none otherwise (then nothing is written: the INSERT and DELETE
// read the UPDATE's empty result).
const recordDeliverySQL = `WITH p AS (
	UPDATE webhook_progress SET disabled = $2, reason = $3, cursor_at = $4, pending = $5, failures = $6,
		failing_since = $7, next_attempt = $8, log_seq = log_seq + CASE WHEN $10::boolean THEN 1 ELSE 0 END
	WHERE webhook = $1 RETURNING log_seq
), ins AS (
	INSERT INTO webhook_deliveries (webhook, seq, time, message_id, attempt, first_at, last_at, changes, status, latency_ns, error)
	SELECT $1, p.log_seq, $11::bigint, $12::text, $13::integer, $14::bigint, $15::bigint, $16::integer, $17::integer, $18::bigint, $19::text
	FROM p WHERE $10::boolean
), dropped AS (
	DELETE FROM webhook_deliveries WHERE webhook = $1 AND seq <= (SELECT log_seq FROM p) - $9::bigint
)
SELECT log_seq FROM p`

// RecordDelivery replaces the State of subscription id with st and, if d
// is not nil, appends d to its delivery log (d.Error clipped to
// store.MaxWebhookError bytes on a rune boundary, the oldest entries
// beyond store.MaxWebhookDeliveries dropped), in one statement, so in one
// transaction. The configuration is not written. Concurrent records for
// different subscriptions do not wait for each other (each locks its own
// progress row; PostgreSQL flushes their commits together). Returns
// store.ErrNotFound when the subscription does not exist, in which case
// nothing is written.
func (db *DB) RecordDelivery(ctx context.Context, id string, st store.WebhookState, d *store.WebhookDelivery) (err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return err
	}
	var entry store.WebhookDelivery
	if d != nil {
		entry = *d
		entry.Error = store.ClipWebhookError(entry.Error)
	}
	var seq int64
	err = db.pool.QueryRow(ctx, recordDeliverySQL, id,
		st.Disabled, st.Reason, toMicros(st.Cursor), toMicros(st.Pending), st.Failures, toMicros(st.FailingSince), toMicros(st.NextAttempt),
		store.MaxWebhookDeliveries, d != nil,
		toMicros(entry.Time), entry.MessageID, entry.Attempt, toMicros(entry.First), toMicros(entry.Last), entry.Changes,
		entry.Status, int64(entry.Latency), entry.Error).Scan(&seq)
	if errNoRows(err) {
		return fmt.Errorf("webhook %q: %w", id, store.ErrNotFound)
	}
	return err
}

// WebhookDeliveries returns up to limit entries of the subscription's
// delivery log, newest first (a limit below 1 or above
// store.MaxWebhookDeliveries reads store.MaxWebhookDeliveries), in one
// statement: the subscription's row joined with its newest entries, one
// row with NULLs when the log is empty, none when the subscription does
// not exist. Returns store.ErrNotFound then.
func (db *DB) WebhookDeliveries(ctx context.Context, id string, limit int) (_ []store.WebhookDelivery, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > store.MaxWebhookDeliveries {
		limit = store.MaxWebhookDeliveries
	}
	rows, err := db.pool.Query(ctx, `SELECT d.seq, d.time, d.message_id, d.attempt, d.first_at, d.last_at, d.changes, d.status, d.latency_ns, d.error
		FROM webhooks w LEFT JOIN LATERAL (
			SELECT * FROM webhook_deliveries d WHERE d.webhook = w.id ORDER BY d.seq DESC LIMIT $2
		) d ON true
		WHERE w.id = $1 ORDER BY d.seq DESC`, id, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := false
	out := []store.WebhookDelivery{}
	for rows.Next() {
		found = true
		var (
			seq                      *int64
			at, first, last, latency *int64
			msg, errText             *string
			attempt, changes, status *int32
		)
		if err := rows.Scan(&seq, &at, &msg, &attempt, &first, &last, &changes, &status, &latency, &errText); err != nil {
			return nil, err
		}
		if seq == nil {
			continue // the empty log's row
		}
		out = append(out, store.WebhookDelivery{
			Time: fromMicros(at), MessageID: *msg, Attempt: int(*attempt), First: fromMicros(first), Last: fromMicros(last),
			Changes: int(*changes), Status: int(*status), Latency: time.Duration(*latency), Error: *errText,
		})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("webhook %q: %w", id, store.ErrNotFound)
	}
	return out, nil
}

// Webhook returns the subscription with the given id, or ErrNotFound.
func (t *dirTx) Webhook(id string) (*store.Webhook, error) {
	return readWebhook(t.ctx, t.tx, id)
}

// CreateWebhook adds a new subscription with its secrets, w.State as its
// progress and an empty delivery log (a subscription of the same id
// deleted earlier took its log with it: the delete cascades). Returns a
// ConflictError (WebhookExists) when one with that id exists.
func (t *dirTx) CreateWebhook(w *store.Webhook) error {
	if err := t.create(store.WebhookExists, w.ID,
		"INSERT INTO webhooks (id, owner, api_root, collection, url, types, include_objects, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		webhookArgs(w)...); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("INSERT INTO webhook_progress (webhook) VALUES ($1)", w.ID)
	queueWebhookState(b, w)
	queueSecrets(b, w)
	return t.tx.SendBatch(t.ctx, b).Close()
}

// UpdateWebhook replaces the subscription with that id: configuration,
// secrets and State (its delivery log is kept). Returns ErrNotFound when
// there is none.
func (t *dirTx) UpdateWebhook(w *store.Webhook) error {
	if err := t.execFound("webhook", w.ID,
		"UPDATE webhooks SET owner = $2, api_root = $3, collection = $4, url = $5, types = $6, include_objects = $7, created = $8 WHERE id = $1",
		webhookArgs(w)...); err != nil {
		return err
	}
	b := &pgx.Batch{}
	// A subscription written by a broken build might lack its progress
	// row: make sure it has one (Verify reports the lack).
	b.Queue("INSERT INTO webhook_progress (webhook) VALUES ($1) ON CONFLICT DO NOTHING", w.ID)
	queueWebhookState(b, w)
	b.Queue("DELETE FROM webhook_secrets WHERE webhook = $1", w.ID)
	queueSecrets(b, w)
	return t.tx.SendBatch(t.ctx, b).Close()
}

// DeleteWebhook deletes a subscription with its secrets, progress and
// delivery log (the foreign keys cascade). Returns ErrNotFound when it
// does not exist.
func (t *dirTx) DeleteWebhook(id string) error {
	return t.execFound("webhook", id, "DELETE FROM webhooks WHERE id = $1", id)
}

func webhookArgs(w *store.Webhook) []any {
	var types []string
	if len(w.Types) > 0 {
		types = w.Types // else NULL: pgx writes a nil slice as NULL
	}
	return []any{w.ID, w.Owner, w.Group, w.Collection, w.URL, types, w.IncludeObjects, toMicros(w.Created)}
}

func queueWebhookState(b *pgx.Batch, w *store.Webhook) {
	st := &w.State
	b.Queue(`UPDATE webhook_progress SET disabled = $2, reason = $3, cursor_at = $4, pending = $5, failures = $6,
		failing_since = $7, next_attempt = $8 WHERE webhook = $1`,
		w.ID, st.Disabled, st.Reason, toMicros(st.Cursor), toMicros(st.Pending), st.Failures, toMicros(st.FailingSince), toMicros(st.NextAttempt))
}

func queueSecrets(b *pgx.Batch, w *store.Webhook) {
	for i, s := range w.Secrets {
		key := s.Key
		if key == nil {
			key = []byte{} // the column is NOT NULL; an empty key is the caller's to refuse
		}
		b.Queue("INSERT INTO webhook_secrets (webhook, position, key, created, expires) VALUES ($1, $2, $3, $4, $5)",
			w.ID, i, key, toMicros(s.Created), toMicros(s.Expires))
	}
}
