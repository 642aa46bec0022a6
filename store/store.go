// Package store is eitaxii's storage contract: the types the server keeps
// (collections, object versions and their change feed, statuses, the
// directory, the audit log, console sessions), the interfaces a backend
// implements (Store, DirectoryTx, WebhookStore, SessionStore) and the
// errors their methods return. It imports no database; the bbolt backend
// is store/bolt, and a backend is chosen in cmd only.
//
// Every method takes a context, checked before the work starts. Values
// returned by a store are copies the caller owns. Errors are typed: callers
// test them with errors.Is, never by their text.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

var (
	// ErrNotFound is returned when a collection, object or status does not
	// exist. Callers test with errors.Is.
	ErrNotFound = errors.New("not found")
	// ErrCollectionNotFound wraps ErrNotFound for an unknown collection.
	ErrCollectionNotFound = fmt.Errorf("collection %w", ErrNotFound)
	// ErrBadCursor is returned, as a *CursorError, for a next token that
	// was not issued by this store for this collection, endpoint and
	// query, or that was altered.
	ErrBadCursor = errors.New("invalid next token")
	// ErrUnknownSchema is returned by a backend's open for a store written
	// by another layout version.
	ErrUnknownSchema = errors.New("unknown store schema version")
	// ErrUnavailable is returned, wrapped, when the backend cannot be
	// reached (a database server down or restarting). The call did
	// nothing; it may succeed when retried, and the backend reconnects by
	// itself.
	ErrUnavailable = errors.New("store unavailable")
	// ErrConflict is matched by every ConflictError: a directory change
	// that would break one of the directory's invariants.
	ErrConflict = errors.New("conflict")
)

// CursorError is the error for a next token the store refuses. Problem
// says what is wrong in words for the client ("malformed", "it belongs to
// another endpoint or collection"). It matches ErrBadCursor.
type CursorError struct {
	Problem string
}

func (e *CursorError) Error() string { return ErrBadCursor.Error() + ": " + e.Problem }

// Is reports whether target is ErrBadCursor.
func (e *CursorError) Is(target error) bool { return target == ErrBadCursor }

// Store is what the server asks of a backend. Implementations are safe for
// concurrent use. Besides the errors listed, every method may return the
// context's error when ctx is done before the work starts, and an error
// from the backend itself (I/O, corruption, a closed store) that matches
// none of this package's errors.
type Store interface {
	// WebhookStore keeps webhook subscriptions' progress and delivery
	// logs (see webhook.go).
	WebhookStore
	// SessionStore keeps the console's sessions (see session.go).
	SessionStore

	// AddObjects stores the objects of s in one transaction together with
	// the status that reports them, and returns that status (complete,
	// REQ-72). Each new version gets a date_added that is unique and
	// strictly increasing within the collection at µs precision, in
	// envelope order (INT-05). A version already present (same id and
	// version instant) is a success that stores nothing and keeps the
	// original date_added (REQ-67, REQ-106); if its bytes differ, the
	// message says the content was not replaced (AMB-04). Objects without
	// created or modified (SCOs) are versioned by their first date_added
	// (REQ-107). s.Audit, if set, is appended in the same transaction.
	// Returns ErrCollectionNotFound for an unknown collection, in which
	// case nothing is stored.
	AddObjects(ctx context.Context, s *Submission) (*Status, error)

	// CollectionActivity returns the collection's Activity (see
	// activity.go), from counters the backend keeps, in time independent
	// of how many objects the collection holds; Hours start at since
	// truncated to the hour. Returns ErrCollectionNotFound for an unknown
	// collection.
	CollectionActivity(ctx context.Context, collID string, since time.Time) (*Activity, error)

	// FindObjects returns a page of the collection's object versions
	// (TAXII Get Objects, §5.4), ascending by date_added. Without
	// match[version] only the latest version of each object is returned
	// (REQ-62). Returns ErrCollectionNotFound or ErrBadCursor.
	FindObjects(ctx context.Context, collID string, q Query) (*Page, error)
	// FindManifest is FindObjects without the objects' bytes (TAXII Get
	// Object Manifests, §5.3). Returns ErrCollectionNotFound or
	// ErrBadCursor.
	FindManifest(ctx context.Context, collID string, q Query) (*Page, error)
	// FindObject returns a page of the versions of one object (TAXII Get
	// an Object, §5.6), the latest by default; match[id] and match[type]
	// are ignored (REQ-78). Returns ErrNotFound when the collection holds
	// no version of the object, whatever the filters (REQ-76),
	// ErrCollectionNotFound or ErrBadCursor.
	FindObject(ctx context.Context, collID, objectID string, q Query) (*Page, error)
	// FindObjectVersions returns a page of every version of one object
	// (TAXII Get Object Versions, §5.8); match[version] does not apply
	// (REQ-84). Returns ErrNotFound, ErrCollectionNotFound or
	// ErrBadCursor, as FindObject.
	FindObjectVersions(ctx context.Context, collID, objectID string, q Query) (*Page, error)
	// DeleteObject deletes the versions of an object that f selects (TAXII
	// Delete an Object, §5.7); with no match[version] every version is
	// deleted (AMB-03). It returns the number of versions deleted. Returns
	// ErrNotFound when the object is absent or the filters select none of
	// its versions (REQ-83), ErrCollectionNotFound for an unknown
	// collection.
	DeleteObject(ctx context.Context, collID, objectID string, f Filter) (int, error)

	// Watch subscribes to a collection's change feed (cursors: see
	// Change). The channel receives the collection's newest cursor
	// (ChangePage.Newest) after each commit that adds versions to it or
	// deletes some, and only once that commit is readable (a backend may
	// deliver it shortly after the write returns: PostgreSQL's
	// notifications are asynchronous). It holds one value: a hint not yet
	// received is replaced by a newer one, so a slow receiver never holds
	// up a writer and never receives an older cursor after a newer one.
	// Hints carry no data and may repeat a position already read: a
	// receiver reads by cursor with ReadChanges. To lose nothing, call
	// Watch first, then read from the position kept, then read again after
	// each hint. The channel is closed when ctx is done, when the
	// collection is deleted and when the store closes. Returns
	// ErrCollectionNotFound for an unknown collection.
	Watch(ctx context.Context, collID string) (<-chan time.Time, error)
	// ReadChanges returns up to limit changes of the collection with a
	// cursor later than after (zero: from the first), ascending by cursor,
	// with the collection's high-water mark (see ChangePage). A limit below
	// 1 or above MaxChanges reads MaxChanges. Returns
	// ErrCollectionNotFound.
	ReadChanges(ctx context.Context, collID string, after time.Time, limit int) (*ChangePage, error)
	// PruneDeletions deletes the deletion records (tombstones) of the
	// change feeds whose cursor is before the given time, and returns how
	// many it deleted, without holding the write lock for long. It is run
	// with PruneStatuses, with the same retention: a reader further behind
	// than that gets ChangePage.Gap. It returns no error of this package.
	PruneDeletions(ctx context.Context, before time.Time) (int, error)

	// FindStatusRecord returns the status with the given id created under
	// apiRoot, with its collection and publisher. Returns ErrNotFound when
	// there is none, including a status of another API root (REQ-48).
	FindStatusRecord(ctx context.Context, apiRoot, id string) (*StatusRecord, error)
	// PruneStatuses deletes the statuses of requests received before the
	// given time and returns how many it deleted, without holding the
	// write lock for long. It returns no error of this package.
	PruneStatuses(ctx context.Context, before time.Time) (int, error)

	// EnsureCollection creates the collection if it is missing and records
	// its description, replacing an earlier one; objects already stored
	// are kept. The caller has validated c.ID (a UUIDv4). It returns no
	// error of this package.
	EnsureCollection(ctx context.Context, c Collection) error
	// LoadDirectory reads the whole directory. It returns no error of this
	// package.
	LoadDirectory(ctx context.Context) (*Directory, error)
	// ChangeDirectory runs fn in one write transaction and commits it when
	// fn returns nil; when fn returns an error nothing fn did is kept, and
	// that error is returned as it is. Audit rows fn adds with
	// DirectoryTx.Audit are written in the same transaction, so a change
	// and its audit record are stored together or not at all. The
	// directory's invariants are checked in that transaction (see
	// DirectoryTx), so of two concurrent calls that create the same name
	// one succeeds and the other's fn sees a ConflictError. fn may be
	// called more than once (a backend retries a transaction that lost a
	// serialization race) and must not keep state across calls; tx is
	// valid only until fn returns. A LoadDirectory that starts after
	// ChangeDirectory returned nil sees the change.
	ChangeDirectory(ctx context.Context, fn func(tx DirectoryTx) error) error
	// DirectoryVersion returns the directory's version: a number that every
	// committed ChangeDirectory and EnsureCollection changes, whichever
	// process on the same store made it, and that nothing else changes
	// (RecordUse does not; a rolled-back change does not). A server reads
	// it before LoadDirectory and polls it to learn cheaply that its
	// in-memory directory is stale, which is how a change made on one
	// node reaches the others. It returns no error of this package but
	// ErrUnavailable.
	DirectoryVersion(ctx context.Context) (uint64, error)
	// RecordUse records when tokens were last used and when accounts last
	// read, in one transaction; entries that no longer exist are skipped
	// and times never move backwards. It returns no error of this package.
	RecordUse(ctx context.Context, tokens, reads map[string]time.Time) error

	// AppendAudit appends events in one transaction; events with a zero
	// Time get the store clock's. It returns no error of this package.
	AppendAudit(ctx context.Context, evs ...AuditEvent) error
	// FindAudit returns the events q selects, oldest first (newest first
	// with q.Newest). It returns no error of this package.
	FindAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	// PruneAudit deletes the events older than before and returns how many
	// it deleted, without holding the write lock for long. It returns no
	// error of this package.
	PruneAudit(ctx context.Context, before time.Time) (int, error)

	// Ping checks that the store is open and writable. It returns no error
	// of this package.
	Ping(ctx context.Context) error
	// Backup writes a consistent copy of the whole store to w while writers
	// go on, in the backend's own format, and returns the bytes written.
	// It returns no error of this package.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	// Size returns the size of the store in bytes. It returns no error of
	// this package.
	Size(ctx context.Context) (int64, error)
	// Stats counts what the store holds. It returns no error of this
	// package.
	Stats(ctx context.Context) (Stats, error)
	// Verify checks the store's consistency and invariants. It returns the
	// problems found (none means healthy); the error is for failing to
	// check at all, and is none of this package's.
	Verify(ctx context.Context) ([]string, error)
	// Close finishes the writes already submitted, then closes the store,
	// waiting for open reads to finish. Calls made afterwards fail.
	Close() error
}

// DirectoryTx changes the directory inside one write transaction of
// Store.ChangeDirectory. The caller validates the fields of what it writes
// (names, titles, policies); the transaction enforces the directory's
// invariants itself, against what it sees, so they hold however many
// servers write to one store: names and ids are unique, a certificate
// fingerprint authenticates one account, an alias names one collection of
// its group, an organization with accounts or a group with collections is
// not deleted. A change that would break one fails with a *ConflictError
// (errors.Is(err, ErrConflict)) and writes nothing.
//
// Create methods add what does not exist yet; Update methods replace what
// exists, keyed by its name or id. Besides the errors listed, a method may
// return an error from the backend that matches none of this package's.
// After a method returns an error fn must return an error too: a backend
// may be unable to go on with the transaction, which is rolled back.
type DirectoryTx interface {
	// Audit appends ev to the audit log as part of the change; a zero Time
	// becomes the store clock's.
	Audit(ev AuditEvent) error

	// Organization returns the named organization, or ErrNotFound.
	Organization(name string) (*Organization, error)
	// CreateOrganization adds a new organization. Returns a ConflictError
	// (OrganizationExists) when one of that name exists.
	CreateOrganization(o *Organization) error
	// UpdateOrganization replaces the organization of that name. Returns
	// ErrNotFound when there is none.
	UpdateOrganization(o *Organization) error
	// DeleteOrganization deletes an organization. Returns ErrNotFound when
	// it does not exist, a ConflictError (OrganizationHasAccounts) while
	// it still has accounts.
	DeleteOrganization(name string) error

	// Account returns the named account, or ErrNotFound.
	Account(name string) (*Account, error)
	// CreateAccount adds a new account; the caller has made sure that its
	// organization exists. Returns a ConflictError: AccountExists when an
	// account of that name exists, CertificateRegistered when one of its
	// certificates is another account's (fingerprints compare as
	// access.HashKey decodes them).
	CreateAccount(a *Account) error
	// UpdateAccount replaces the account of that name. Returns ErrNotFound
	// when there is none, a ConflictError (CertificateRegistered) when one
	// of its certificates is another account's.
	UpdateAccount(a *Account) error
	// DeleteAccount deletes an account with its tokens and memberships.
	// Returns ErrNotFound when it does not exist.
	DeleteAccount(name string) error

	// Token returns the token with the given id, or ErrNotFound.
	Token(id string) (*Token, error)
	// Tokens returns the tokens of an account ("" for all), sorted by id.
	Tokens(account string) ([]Token, error)
	// CreateToken adds a new token; the caller has made sure that its
	// account exists. Returns a ConflictError (TokenExists) when a token
	// with that id exists.
	CreateToken(tok *Token) error
	// UpdateToken replaces the token with that id. Returns ErrNotFound
	// when there is none.
	UpdateToken(tok *Token) error

	// Group returns the named group, or ErrNotFound.
	Group(name string) (*Group, error)
	// Groups returns every group, sorted by name.
	Groups() ([]Group, error)
	// CreateGroup adds a new group. Returns a ConflictError (GroupExists)
	// when one of that name exists.
	CreateGroup(g *Group) error
	// UpdateGroup replaces the group of that name, members included.
	// Returns ErrNotFound when there is none.
	UpdateGroup(g *Group) error
	// DeleteGroup deletes a group. Returns ErrNotFound when it does not
	// exist, a ConflictError (GroupHasCollections) while it still has
	// collections.
	DeleteGroup(name string) error

	// Collection returns the collection with the given id, or
	// ErrCollectionNotFound.
	Collection(id string) (*Collection, error)
	// CreateCollection adds a new, empty collection to the group c.APIRoot,
	// which the caller has made sure exists. Returns a ConflictError:
	// CollectionExists when a collection with that id exists (in any
	// group), AliasTaken when another collection of the group has c's
	// alias.
	CreateCollection(c *Collection) error
	// UpdateCollection replaces the description of the collection with
	// that id; its objects are kept and its group does not change. Returns
	// ErrCollectionNotFound when there is none (or c.APIRoot is not its
	// group), a ConflictError (AliasTaken) when another collection of the
	// group has c's alias.
	UpdateCollection(c *Collection) error
	// DeleteCollection deletes a collection and every object stored in it.
	// Returns ErrNotFound when it does not exist. Its webhooks stay (the
	// dispatcher disables them).
	DeleteCollection(id string) error

	// Webhook returns the webhook subscription with the given id, or
	// ErrNotFound.
	Webhook(id string) (*Webhook, error)
	// CreateWebhook adds a new subscription, with an empty delivery log;
	// the caller has made sure that its owner and collection exist.
	// Returns a ConflictError (WebhookExists) when one with that id
	// exists.
	CreateWebhook(w *Webhook) error
	// UpdateWebhook replaces the subscription with that id, its State
	// included (read it in the same transaction to keep the dispatcher's
	// progress). Returns ErrNotFound when there is none.
	UpdateWebhook(w *Webhook) error
	// DeleteWebhook deletes a subscription and its delivery log. Returns
	// ErrNotFound when it does not exist.
	DeleteWebhook(id string) error
}

// Stats counts what a store holds.
type Stats struct {
	Collections    int
	ObjectVersions int
	Statuses       int
	Size           int64 // bytes
}
