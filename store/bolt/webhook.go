package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// Webhook subscriptions live in webhooks/ (id -> JSON(Webhook), State
// included); each one's delivery log in webhook_log/<id>/ under an 8-byte
// sequence number, so the oldest entry is the bucket's first key and
// trimming the log to store.MaxWebhookDeliveries deletes from the front.

var (
	bucketWebhooks   = []byte("webhooks")
	bucketWebhookLog = []byte("webhook_log")
)

// Webhooks returns every subscription, sorted by id (the bucket's order).
func (db *DB) Webhooks(ctx context.Context) ([]store.Webhook, error) {
	var out []store.Webhook
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return loadAll(tx, bucketWebhooks, &out)
	})
	return out, err
}

// Webhook returns one subscription, or store.ErrNotFound.
func (db *DB) Webhook(ctx context.Context, id string) (*store.Webhook, error) {
	var w *store.Webhook
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		w, err = get[store.Webhook](tx, bucketWebhooks, id, "webhook")
		return err
	})
	return w, err
}

// RecordDelivery replaces the subscription's State and appends d to its
// log in one transaction. Deliveries of many subscriptions run at once,
// so the writes go through the group committer of Add Objects (commit.go),
// which commits concurrent writes together without a batching delay; fn
// is safe to run again (the committer reruns a write alone when the group
// it was in failed, after rolling that group back).
func (db *DB) RecordDelivery(ctx context.Context, id string, st store.WebhookState, d *store.WebhookDelivery) error {
	return db.commits.Commit(ctx, func(tx *bbolt.Tx) error {
		w, err := get[store.Webhook](tx, bucketWebhooks, id, "webhook")
		if err != nil {
			return err
		}
		w.State = st
		if err := put(tx, bucketWebhooks, id, w); err != nil {
			return err
		}
		if d == nil {
			return nil
		}
		entry := *d
		entry.Error = store.ClipWebhookError(entry.Error)
		data, err := json.Marshal(&entry)
		if err != nil {
			return err
		}
		log, err := tx.Bucket(bucketWebhookLog).CreateBucketIfNotExists([]byte(id))
		if err != nil {
			return err
		}
		seq, err := log.NextSequence()
		if err != nil {
			return err
		}
		if err := log.Put(binary.BigEndian.AppendUint64(nil, seq), data); err != nil {
			return err
		}
		// Drop what falls out of the window: at most one entry per call
		// once the log is full.
		c := log.Cursor()
		for k, _ := c.First(); k != nil && len(k) == 8 && binary.BigEndian.Uint64(k)+store.MaxWebhookDeliveries <= seq; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// WebhookDeliveries returns up to limit log entries, newest first.
func (db *DB) WebhookDeliveries(ctx context.Context, id string, limit int) ([]store.WebhookDelivery, error) {
	if limit < 1 || limit > store.MaxWebhookDeliveries {
		limit = store.MaxWebhookDeliveries
	}
	var out []store.WebhookDelivery
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketWebhooks).Get([]byte(id)) == nil {
			return fmt.Errorf("webhook %q: %w", id, store.ErrNotFound)
		}
		log := tx.Bucket(bucketWebhookLog).Bucket([]byte(id))
		if log == nil {
			return nil
		}
		c := log.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var d store.WebhookDelivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("store: %s/%s/%x: %w", bucketWebhookLog, id, k, err)
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// DispatchLease returns at once: the store file is locked to this process
// while it is open, so no other process can dispatch from it.
func (db *DB) DispatchLease(ctx context.Context) (context.Context, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	lease, cancel := context.WithCancel(ctx)
	return lease, cancel, nil
}

// Webhook returns the subscription with the given id.
func (t *dirTx) Webhook(id string) (*store.Webhook, error) {
	return get[store.Webhook](t.tx, bucketWebhooks, id, "webhook")
}

// CreateWebhook adds a new subscription with an empty log.
func (t *dirTx) CreateWebhook(w *store.Webhook) error {
	if err := create(t.tx, bucketWebhooks, w.ID, w, store.WebhookExists); err != nil {
		return err
	}
	// A log left by a subscription of the same id cannot exist (delete
	// removes it), but make sure the new one starts empty.
	if t.tx.Bucket(bucketWebhookLog).Bucket([]byte(w.ID)) != nil {
		return t.tx.Bucket(bucketWebhookLog).DeleteBucket([]byte(w.ID))
	}
	return nil
}

// UpdateWebhook replaces an existing subscription.
func (t *dirTx) UpdateWebhook(w *store.Webhook) error {
	return replace(t.tx, bucketWebhooks, w.ID, w, "webhook")
}

// DeleteWebhook deletes a subscription and its log.
func (t *dirTx) DeleteWebhook(id string) error {
	if err := del(t.tx, bucketWebhooks, id, "webhook"); err != nil {
		return err
	}
	if t.tx.Bucket(bucketWebhookLog).Bucket([]byte(id)) != nil {
		return t.tx.Bucket(bucketWebhookLog).DeleteBucket([]byte(id))
	}
	return nil
}

// verifyWebhooks reports subscriptions that do not decode or sit under
// another key, logs without a subscription, and log entries that do not
// decode or overflow the window.
func verifyWebhooks(tx *bbolt.Tx, report func(format string, args ...any)) {
	hooks := verifyKeys(tx, bucketWebhooks, report, func(w *store.Webhook) string { return w.ID })
	ids := make([]string, len(hooks))
	for i := range hooks {
		w := &hooks[i]
		ids[i] = w.ID
		if len(w.Secrets) == 0 {
			report("%s/%s: no signing secret", bucketWebhooks, w.ID)
		}
		if !w.State.Pending.IsZero() && !w.State.Pending.After(w.State.Cursor) {
			report("%s/%s: pending message ends at %v, not after the cursor %v", bucketWebhooks, w.ID, w.State.Pending, w.State.Cursor)
		}
	}
	_ = tx.Bucket(bucketWebhookLog).ForEach(func(id, v []byte) error {
		log := tx.Bucket(bucketWebhookLog).Bucket(id)
		if v != nil || log == nil {
			report("%s/%s: not a bucket", bucketWebhookLog, id)
			return nil
		}
		if _, ok := slices.BinarySearch(ids, string(id)); !ok {
			report("%s/%s: a delivery log without its webhook", bucketWebhookLog, id)
		}
		n := 0
		_ = log.ForEach(func(k, v []byte) error {
			n++
			var d store.WebhookDelivery
			if len(k) != 8 {
				report("%s/%s/%x: key is not a sequence number", bucketWebhookLog, id, k)
			} else if err := json.Unmarshal(v, &d); err != nil {
				report("%s/%s/%x: %v", bucketWebhookLog, id, k, err)
			}
			return nil
		})
		if n > store.MaxWebhookDeliveries {
			report("%s/%s: %d entries, more than %d", bucketWebhookLog, id, n, store.MaxWebhookDeliveries)
		}
		return nil
	})
}
