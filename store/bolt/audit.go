package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

var bucketAudit = []byte("audit")

// appendAudit writes one event; the key is its time (µs) and the bucket's
// next sequence number, so keys are unique and sort by time.
func appendAudit(tx *bbolt.Tx, ev *store.AuditEvent) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	data, err := packJSON(ev)
	if err != nil {
		return err
	}
	k := binary.BigEndian.AppendUint64(nil, uint64(ev.Time.UnixMicro()))
	k = binary.BigEndian.AppendUint64(k, seq)
	return b.Put(k, data)
}

// AppendAudit appends events in one transaction. Events with a zero Time
// get the store clock's.
func (db *DB) AppendAudit(ctx context.Context, evs ...store.AuditEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		for i := range evs {
			if evs[i].Time.IsZero() {
				evs[i].Time = db.now()
			}
			if err := appendAudit(tx, &evs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindAudit returns the events q selects, oldest first (newest first with
// q.Newest, reading the keys backwards from q.Until).
func (db *DB) FindAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	if q.Limit <= 0 {
		q.Limit = 10000
	}
	var out []store.AuditEvent
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		start := binary.BigEndian.AppendUint64(nil, uint64(max(q.Since.UnixMicro(), 0)))
		var until []byte
		if !q.Until.IsZero() {
			until = binary.BigEndian.AppendUint64(nil, uint64(max(q.Until.UnixMicro(), 0)))
		}
		var k, v []byte
		step := c.Next
		switch {
		case !q.Newest:
			k, v = c.Seek(start)
		case until == nil:
			k, v = c.Last()
			step = c.Prev
		default:
			// The first key at or after until, then the one before it.
			if k, _ = c.Seek(until); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
			step = c.Prev
		}
		for n := 0; k != nil && len(out) < q.Limit; k, v = step() {
			if !q.Newest && until != nil && bytes.Compare(k[:8], until) >= 0 || q.Newest && bytes.Compare(k[:8], start) < 0 {
				break
			}
			if n++; n&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var ev store.AuditEvent
			if err := unpackJSON(v, &ev); err != nil {
				return err
			}
			if matches(&q, &ev) {
				out = append(out, ev)
			}
		}
		return nil
	})
	return out, err
}

// matches reports whether ev passes q's filters.
func matches(q *store.AuditQuery, ev *store.AuditEvent) bool {
	if q.Account != "" && ev.Account != q.Account {
		return false
	}
	if q.Collection != "" && ev.Collection != q.Collection {
		return false
	}
	if q.Group != "" && ev.Group != q.Group {
		return false
	}
	if q.Action != "" {
		if q.Action[len(q.Action)-1] == '.' {
			return len(ev.Action) >= len(q.Action) && ev.Action[:len(q.Action)] == q.Action
		}
		return ev.Action == q.Action
	}
	return true
}

// PruneAudit deletes the events older than before and returns how many it
// deleted. It works in bounded transactions so that it never holds the
// write lock for long.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	limit := binary.BigEndian.AppendUint64(nil, uint64(max(before.UnixMicro(), 0)))
	return db.pruneInChunks(ctx, 10000, func(tx *bbolt.Tx, chunk int) (n int, err error) {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0 && n < chunk; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	})
}
