package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// FindStatusRecord returns the status with the given id created under
// apiRoot, with its collection and publisher, for callers that decide who
// may see it. A status of another API root is reported as ErrNotFound
// (REQ-48).
func (db *DB) FindStatusRecord(ctx context.Context, apiRoot, id string) (*store.StatusRecord, error) {
	var rec store.StatusRecord
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketStatus)
		v := b.Get(statusKey(apiRoot, id))
		if v == nil {
			// Statuses written before keys named their API root; they
			// expire with the status retention.
			v = b.Get([]byte(id))
		}
		if v == nil {
			return fmt.Errorf("status %s: %w", id, store.ErrNotFound)
		}
		return unpackJSON(v, &rec)
	})
	if err != nil {
		return nil, err
	}
	if rec.APIRoot != apiRoot {
		return nil, fmt.Errorf("status %s: %w", id, store.ErrNotFound)
	}
	return &rec, nil
}

// putStatus writes a status and its time index entry inside tx.
func putStatus(tx *bbolt.Tx, rec *store.StatusRecord, at time.Time) error {
	data, err := packJSON(rec)
	if err != nil {
		return err
	}
	key := statusKey(rec.APIRoot, rec.Status.ID)
	if err := tx.Bucket(bucketStatus).Put(key, data); err != nil {
		return err
	}
	k := binary.BigEndian.AppendUint64(nil, uint64(at.UnixMicro()))
	k = append(k, key...)
	return tx.Bucket(bucketStatusTime).Put(k, nil)
}

// statusKey is a status's key in the status bucket (and, after the time,
// in the time index): its API root, a zero byte, its id. With the API root
// in the key, a status of another API root is a miss like an id that does
// not exist, in the same time: looking it up tells nothing (REQ-48).
func statusKey(apiRoot, id string) []byte {
	k := make([]byte, 0, len(apiRoot)+1+len(id))
	k = append(k, apiRoot...)
	k = append(k, 0)
	return append(k, id...)
}
