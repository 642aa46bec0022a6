package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

// queueAudit queues the insert of one audit event in b.
func queueAudit(b *pgx.Batch, ev *store.AuditEvent) error {
	doc, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	b.Queue("INSERT INTO audit (time, action, account, collection, doc) VALUES ($1, $2, $3, $4, $5)",
		ev.Time.UnixMicro(), ev.Action, ev.Account, ev.Collection, string(doc))
	return nil
}

// AppendAudit appends events in one transaction; events with a zero Time
// get the store clock's. It returns no error of this package.
func (db *DB) AppendAudit(ctx context.Context, evs ...store.AuditEvent) (err error) {
	defer unavailable(&err)
	if len(evs) == 0 {
		return ctx.Err()
	}
	b := &pgx.Batch{}
	for i := range evs {
		ev := evs[i]
		if ev.Time.IsZero() {
			ev.Time = db.now()
		}
		if err := queueAudit(b, &ev); err != nil {
			return err
		}
	}
	return db.begin(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
}

// maxAudit is the default and greatest number of events FindAudit returns.
const maxAudit = 10000

// FindAudit returns the events q selects, oldest first (newest first with
// q.Newest), at most q.Limit (10,000 when 0). It returns no error of this package.
func (db *DB) FindAudit(ctx context.Context, q store.AuditQuery) (_ []store.AuditEvent, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = maxAudit
	}
	a := args{}
	sql := "SELECT doc FROM audit WHERE time >= " + a.add(max(q.Since.UnixMicro(), 0))
	if !q.Until.IsZero() {
		sql += " AND time < " + a.add(q.Until.UnixMicro())
	}
	if q.Account != "" {
		sql += " AND account = " + a.add(q.Account)
	}
	if q.Collection != "" {
		sql += " AND collection = " + a.add(q.Collection)
	}
	if q.Group != "" {
		sql += " AND doc->>'group' = " + a.add(q.Group)
	}
	if q.Action != "" {
		if q.Action[len(q.Action)-1] == '.' {
			sql += " AND starts_with(action, " + a.add(q.Action) + ")"
		} else {
			sql += " AND action = " + a.add(q.Action)
		}
	}
	if q.Newest {
		sql += " ORDER BY time DESC, seq DESC LIMIT " + a.add(q.Limit)
	} else {
		sql += " ORDER BY time, seq LIMIT " + a.add(q.Limit)
	}
	rows, err := db.pool.Query(ctx, sql, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var ev store.AuditEvent
		if err := json.Unmarshal(doc, &ev); err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// PruneAudit deletes the events older than before and returns how many it
// deleted, in transactions of at most 5,000 rows, each under an advisory
// lock so that only one node prunes at a time (see PruneStatuses). It
// returns no error of this package.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	return db.prune(ctx, lockPruneAudit, `
		WITH d AS (
			DELETE FROM audit WHERE seq IN (
				SELECT seq FROM audit WHERE time < $1 ORDER BY time, seq LIMIT $2)
			RETURNING 1)
		SELECT count(*) FROM d`, max(before.UnixMicro(), 0))
}
