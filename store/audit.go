package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketAudit = []byte("audit")

// AuditEvent is one row of the append-only audit log: who did what, to
// which collection, when.
type AuditEvent struct {
	Time time.Time `json:"time"`
	// Action is "publish", "read" (objects, manifest, object, versions:
	// see Detail), "delete", "auth.refused", "ratelimit", or
	// "admin.<resource>.<verb>".
	Action       string      `json:"action"`
	Account      string      `json:"account,omitempty"`
	Organization string      `json:"organization,omitempty"`
	Group        string      `json:"group,omitempty"`
	Collection   string      `json:"collection,omitempty"`
	StatusID     string      `json:"status_id,omitempty"`
	Objects      []ObjectRef `json:"objects,omitempty"`
	// Count is the number of objects read, stored or deleted; for
	// auth.refused, the number of refusals from RemoteAddr naming Account
	// that the row stands for (they are written at most once a minute per
	// address and account: the first at once, the rest in one row a
	// minute or more later, with the time and request of the latest).
	Count          int    `json:"count,omitempty"`
	DateAddedFirst string `json:"date_added_first,omitempty"`
	DateAddedLast  string `json:"date_added_last,omitempty"`
	// Target names what an admin change changed ("account alice").
	Target     string `json:"target,omitempty"`
	Detail     string `json:"detail,omitempty"`
	RemoteAddr string `json:"remote_addr,omitempty"`
}

// ObjectRef names one object version.
type ObjectRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// AuditQuery selects audit events; zero fields do not filter.
type AuditQuery struct {
	Since, Until time.Time // Since inclusive, Until exclusive
	Account      string
	Collection   string
	Action       string // exact, or a prefix ending in "." ("admin.")
	Limit        int    // at most this many, oldest first; 0 means 10,000
}

// appendAudit writes one event; the key is its time (µs) and the bucket's
// next sequence number, so keys are unique and sort by time.
func appendAudit(tx *bolt.Tx, ev *AuditEvent) error {
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
func (db *DB) AppendAudit(ctx context.Context, evs ...AuditEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
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

// FindAudit returns the events q selects, oldest first.
func (db *DB) FindAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	if q.Limit <= 0 {
		q.Limit = 10000
	}
	var out []AuditEvent
	err := db.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		start := binary.BigEndian.AppendUint64(nil, uint64(max(q.Since.UnixMicro(), 0)))
		var until []byte
		if !q.Until.IsZero() {
			until = binary.BigEndian.AppendUint64(nil, uint64(max(q.Until.UnixMicro(), 0)))
		}
		n := 0
		for k, v := c.Seek(start); k != nil && len(out) < q.Limit; k, v = c.Next() {
			if until != nil && bytes.Compare(k[:8], until) >= 0 {
				break
			}
			if n++; n&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var ev AuditEvent
			if err := unpackJSON(v, &ev); err != nil {
				return err
			}
			if q.matches(&ev) {
				out = append(out, ev)
			}
		}
		return nil
	})
	return out, err
}

func (q *AuditQuery) matches(ev *AuditEvent) bool {
	if q.Account != "" && ev.Account != q.Account {
		return false
	}
	if q.Collection != "" && ev.Collection != q.Collection {
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
	total := 0
	for {
		n := 0
		err := db.update(ctx, func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketAudit).Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0 && n < 10000; k, _ = c.First() {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n < 10000 {
			return total, err
		}
	}
}
