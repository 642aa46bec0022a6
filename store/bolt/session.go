package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// Console sessions: sessions/ holds each session under its hash; two
// index buckets of keys only serve DeleteAccountSessions (by account) and
// PruneSessions (by expiry), so neither reads every session.

var (
	bucketSessions         = []byte("sessions")
	bucketSessionsAccount  = []byte("sessions_by_account")
	bucketSessionsExpiries = []byte("sessions_by_expiry")
)

// sessionRecord is the JSON of a session, times in µs (the store's
// precision) so that a session reads back as it was stored.
type sessionRecord struct {
	Account    string `json:"account"`
	Via        string `json:"via"`
	Credential string `json:"credential"`
	CSRF       string `json:"csrf"`
	Created    int64  `json:"created"`
	LastSeen   int64  `json:"last_seen"`
	Expires    int64  `json:"expires"`
}

func (r *sessionRecord) session(hash string) *store.Session {
	return &store.Session{Hash: hash, Account: r.Account, Via: r.Via, Credential: r.Credential, CSRF: r.CSRF,
		Created: microsToTime(r.Created), LastSeen: microsToTime(r.LastSeen), Expires: microsToTime(r.Expires)}
}

// sessionAccountKey is the key of sessions_by_account/: account 0x00 hash
// (an account name has no 0x00, so one account's keys are a prefix range).
func sessionAccountKey(account, hash string) []byte {
	return append(append(append(make([]byte, 0, len(account)+1+len(hash)), account...), 0), hash...)
}

// sessionExpiryKey is the key of sessions_by_expiry/: expires (8-byte µs)
// hash.
func sessionExpiryKey(expires int64, hash string) []byte {
	return append(addedKey(expires), hash...)
}

// CreateSession stores s with its index entries. Returns an error matching
// store.ErrInvalidSession for s out of bounds, a *store.ConflictError
// (SessionExists) for a hash already stored.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	if err := s.Validate(); err != nil {
		return err
	}
	rec := sessionRecord{Account: s.Account, Via: s.Via, Credential: s.Credential, CSRF: s.CSRF,
		Created: s.Created.UnixMicro(), LastSeen: s.LastSeen.UnixMicro(), Expires: s.Expires.UnixMicro()}
	v, err := json.Marshal(&rec)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		if sessions.Get([]byte(s.Hash)) != nil {
			return &store.ConflictError{Invariant: store.SessionExists, Key: s.Hash}
		}
		if err := sessions.Put([]byte(s.Hash), v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSessionsAccount).Put(sessionAccountKey(s.Account, s.Hash), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketSessionsExpiries).Put(sessionExpiryKey(rec.Expires, s.Hash), nil)
	})
}

// getSession reads the session under hash; nil when absent.
func getSession(tx *bbolt.Tx, hash string) (*sessionRecord, error) {
	v := tx.Bucket(bucketSessions).Get([]byte(hash))
	if v == nil {
		return nil, nil
	}
	var rec sessionRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("store: session: %w", err)
	}
	return &rec, nil
}

func sessionNotFound() error { return fmt.Errorf("session: %w", store.ErrNotFound) }

// FindSession returns the session under hash unless it expired by now;
// store.ErrNotFound otherwise.
func (db *DB) FindSession(ctx context.Context, hash string, now time.Time) (*store.Session, error) {
	var s *store.Session
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		rec, err := getSession(tx, hash)
		if err != nil {
			return err
		}
		if rec == nil || rec.Expires <= now.UnixMicro() {
			return sessionNotFound()
		}
		s = rec.session(hash)
		return nil
	})
	return s, err
}

// TouchSession rewrites the session's value with LastSeen set to seen;
// the indexes do not change. store.ErrNotFound when absent.
func (db *DB) TouchSession(ctx context.Context, hash string, seen time.Time) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		rec, err := getSession(tx, hash)
		if err != nil {
			return err
		}
		if rec == nil {
			return sessionNotFound()
		}
		rec.LastSeen = seen.UnixMicro()
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketSessions).Put([]byte(hash), v)
	})
}

// deleteSession removes the session under hash and its index entries;
// it reports whether there was one.
func deleteSession(tx *bbolt.Tx, hash string) (bool, error) {
	rec, err := getSession(tx, hash)
	if err != nil || rec == nil {
		return false, err
	}
	if err := tx.Bucket(bucketSessions).Delete([]byte(hash)); err != nil {
		return false, err
	}
	if err := tx.Bucket(bucketSessionsAccount).Delete(sessionAccountKey(rec.Account, hash)); err != nil {
		return false, err
	}
	return true, tx.Bucket(bucketSessionsExpiries).Delete(sessionExpiryKey(rec.Expires, hash))
}

// DeleteSession removes one session; store.ErrNotFound when absent.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		found, err := deleteSession(tx, hash)
		if err == nil && !found {
			return sessionNotFound()
		}
		return err
	})
}

// DeleteAccountSessions removes every session of account, found through
// sessions_by_account/, in one transaction (an account has few).
func (db *DB) DeleteAccountSessions(ctx context.Context, account string) (int, error) {
	n := 0
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		n = 0 // the count of this run only
		prefix := sessionAccountKey(account, "")
		var hashes []string
		c := tx.Bucket(bucketSessionsAccount).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			hashes = append(hashes, string(k[len(prefix):]))
		}
		for _, h := range hashes {
			found, err := deleteSession(tx, h)
			if err != nil {
				return err
			}
			if found {
				n++
			}
		}
		return nil
	})
	return n, err
}

// PruneSessions removes the sessions with Expires <= before, oldest expiry
// first, in bounded transactions.
func (db *DB) PruneSessions(ctx context.Context, before time.Time) (int, error) {
	limit := before.UnixMicro()
	return db.pruneInChunks(ctx, 5000, func(tx *bbolt.Tx, chunk int) (int, error) {
		c := tx.Bucket(bucketSessionsExpiries).Cursor()
		var hashes []string
		for k, _ := c.First(); len(k) > 8 && int64(binary.BigEndian.Uint64(k[:8])) <= limit && len(hashes) < chunk; k, _ = c.Next() {
			hashes = append(hashes, string(k[8:]))
		}
		for _, h := range hashes {
			if _, err := deleteSession(tx, h); err != nil {
				return 0, err
			}
		}
		return len(hashes), nil
	})
}
