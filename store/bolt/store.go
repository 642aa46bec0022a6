// Package bolt is eitaxii's embedded backend, the default implementation of
// the contract in package store: collections, object versions with their
// date_added index, paging cursors, statuses, the directory and the audit
// log, in one bbolt file. (The package is named bolt after its directory;
// inside it go.etcd.io/bbolt keeps its own name, bbolt.)
//
// Layout (DESIGN.md's, except that objects are keyed by date_added and
// the per-id index points to them: appends then fill pages, paging reads
// one bucket in order, and the store stays small):
//
//	meta/                  "schema" -> version, "cursor_key" -> HMAC key for next tokens,
//	                       "directory_version" -> uint64 bumped by every directory change
//	collections/           collID -> JSON(Collection)
//	c/<collID>/objects/    date_added (8-byte big-endian Unix µs) -> record (id, version, raw object)
//	c/<collID>/versions/   type 0x00 UUID (16) versionKey (12) -> date_added
//	c/<collID>/deleted/    cursor (8-byte µs) -> tombstone (id, version) of a deleted version
//	c/<collID>             "last_added" -> the greatest date_added or cursor ever handed out,
//	                       "pruned_deleted" -> the greatest tombstone cursor pruned,
//	                       "version_count" -> versions stored (8-byte; see activity.go)
//	c/<collID>/added_by_hour/  hour (8-byte µs) -> versions added in it (8-byte), the
//	                       store.ActivityWindow before the newest hour only
//	status/                statusID -> JSON(statusRecord)
//	status_by_time/        request time (8-byte µs) statusID -> nil, for retention
//	orgs/, accounts/, tokens/, groups/   name or id -> JSON (the directory)
//	audit/                 time (8-byte µs) sequence (8-byte) -> JSON(AuditEvent)
//	webhooks/              subscription id -> JSON(Webhook), its configuration and its State
//	webhook_log/<id>/      sequence (8-byte) -> JSON(WebhookDelivery), the newest
//	                       store.MaxWebhookDeliveries attempts of subscription id
//	sessions/              session hash -> JSON(sessionRecord), console sessions
//	sessions_by_account/   account 0x00 hash -> nil
//	sessions_by_expiry/    expires (8-byte µs) hash -> nil
//
// Buckets added after the first release (sessions, version_count and
// added_by_hour) are created by Open in a file that lacks them, which
// therefore keeps schema version 1: older builds ignore them.
//
// The directory has no index buckets: its unique keys are the bucket keys,
// and the other invariants (a certificate fingerprint registered to one
// account, an alias unique in its group) are checked by reading the
// accounts or collections in the write transaction that makes the change,
// which bbolt's single writer makes atomic; Verify checks them the same way.
//
// Every method takes a context, checked before a transaction starts; bbolt
// itself does not watch contexts. Values returned by the store are copies
// the caller owns.
package bolt

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/google/uuid"
	"go.etcd.io/bbolt"
)

// initialMmapSize is bbolt's initial memory map: 1 GiB of address space.
const initialMmapSize = 1 << 30

// pageSize is the page size of new store files. STIX objects are around a
// kilobyte, so a 4 KiB page holds only a few and splits leave a fifth of
// it empty; 16 KiB pages fill to within a few percent. (A file keeps the
// page size it was created with.)
const pageSize = 16 << 10

// schemaVersion is the layout version this code reads and writes. Open
// refuses a file of any other version: migrations are explicit code.
const schemaVersion = "1"

var (
	bucketMeta        = []byte("meta")
	bucketCollections = []byte("collections")
	bucketC           = []byte("c")
	bucketVersions    = []byte("versions")
	bucketObjects     = []byte("objects")
	bucketStatus      = []byte("status")
	bucketStatusTime  = []byte("status_by_time")
	keySchema         = []byte("schema")
	keyCursorKey      = []byte("cursor_key")
	keyLastAdded      = []byte("last_added")
	keyDirVersion     = []byte("directory_version")
)

// Options configure a DB. The zero value is usable.
type Options struct {
	// Now is the clock used for date_added and status times; time.Now if nil.
	Now func() time.Time
	// NewID makes status ids; uuid.New (v4) if nil.
	NewID func() uuid.UUID
	// LockTimeout bounds the wait for another process's lock on the file;
	// 1s if zero.
	LockTimeout time.Duration
	// OnCommit, if set, is told how long each group commit of Add Objects
	// writes took and how many writes it held (for metrics).
	OnCommit func(d time.Duration, writes int)
}

// DB is a bbolt-backed store.Store. It is safe for concurrent use.
type DB struct {
	bolt      *bbolt.DB
	commits   *committer
	feed      *store.Watchers
	now       func() time.Time
	newID     func() uuid.UUID
	cursorKey []byte
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the store file at path. It returns an
// error wrapping store.ErrUnknownSchema for a file of another layout
// version, and one wrapping ErrLocked (and bbolt's timeout error) when
// another process holds the file for longer than opts.LockTimeout.
func Open(path string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = uuid.New
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	// A large initial map means bbolt rarely remaps as the file grows; a
	// remap waits for every read transaction, so without it a long backup
	// or a slow poll could stall publishing. It reserves address space,
	// not memory.
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.LockTimeout, FreelistType: bbolt.FreelistMapType, InitialMmapSize: initialMmapSize, PageSize: pageSize})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, locked(err))
	}
	db := &DB{bolt: bdb, now: opts.Now, newID: opts.NewID, feed: new(store.Watchers)}
	if err := bdb.Update(db.initialize); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.commits = newCommitter(bdb, opts.OnCommit)
	return db, nil
}

// initialize creates the fixed buckets and checks the schema version. After
// it, a missing fixed bucket means corruption, not "not found".
func (db *DB) initialize(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	switch v := meta.Get(keySchema); {
	case v == nil:
		if err := meta.Put(keySchema, []byte(schemaVersion)); err != nil {
			return err
		}
	case string(v) != schemaVersion:
		return fmt.Errorf("%w: file has %q, this build reads %q", store.ErrUnknownSchema, v, schemaVersion)
	}
	if k := meta.Get(keyCursorKey); k != nil {
		db.cursorKey = append([]byte(nil), k...)
	} else {
		db.cursorKey = make([]byte, 32)
		if _, err := rand.Read(db.cursorKey); err != nil {
			return err
		}
		if err := meta.Put(keyCursorKey, db.cursorKey); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketCollections, bucketC, bucketStatus, bucketStatusTime,
		bucketOrgs, bucketAccounts, bucketTokens, bucketGroups, bucketAudit, bucketWebhooks, bucketWebhookLog,
		bucketSessions, bucketSessionsAccount, bucketSessionsExpiries} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	// A file written before collections kept activity counters gets them
	// now, once: countActivity skips a collection that has them.
	c := tx.Bucket(bucketC)
	return c.ForEachBucket(func(id []byte) error { return countActivity(c.Bucket(id)) })
}

// Ping checks that the store is open and writable, with an empty write
// transaction.
func (db *DB) Ping(ctx context.Context) error {
	return db.update(ctx, func(*bbolt.Tx) error { return nil })
}

// Close finishes the writes already submitted, then closes the file,
// waiting for open transactions to finish, and closes every Watch channel.
// Writes submitted afterwards fail.
func (db *DB) Close() error {
	db.commits.Close()
	db.feed.Close()
	return db.bolt.Close()
}

// view and update run fn in a read or write transaction after checking ctx.
func (db *DB) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.View(fn)
}

// update also closes, after the commit, the Watch channels of collections
// the write deleted.
func (db *DB) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.Update(fn)
}

// collectionBuckets returns the versions and objects buckets of a
// collection and its own bucket, or ErrCollectionNotFound.
func collectionBuckets(tx *bbolt.Tx, collID string) (coll, versions, objects *bbolt.Bucket, err error) {
	coll = tx.Bucket(bucketC).Bucket([]byte(collID))
	if coll == nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", collID, store.ErrCollectionNotFound)
	}
	return coll, coll.Bucket(bucketVersions), coll.Bucket(bucketObjects), nil
}
