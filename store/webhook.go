package store

import (
	"context"
	"time"
	"unicode/utf8"
)

// Webhooks. A webhook is a subscription of one account (its owner) to one
// collection: the dispatcher (package delivery) POSTs the collection's
// changes to the subscription's URL, signed with its secrets, in cursor
// order, and keeps its progress and a short log of its attempts here.
//
// A subscription is created, rotated and deleted by the admin API inside
// Store.ChangeDirectory (DirectoryTx.CreateWebhook and friends), so the
// change and its audit row are one transaction; the dispatcher records its
// progress with WebhookStore.RecordDelivery, which writes only the
// subscription's State and never its configuration. A subscription
// outlives its owner and its collection: deleting either leaves it in
// place, and the dispatcher disables it with a reason the next time it
// looks (access is decided at delivery time against the directory).

// MaxWebhookDeliveries is how many delivery log entries a backend keeps
// per subscription; RecordDelivery drops the oldest beyond it.
const MaxWebhookDeliveries = 100

// MaxWebhookError is the longest WebhookDelivery.Error a backend keeps, in
// bytes; RecordDelivery clips a longer one.
const MaxWebhookError = 512

// ClipWebhookError returns s cut to at most MaxWebhookError bytes, on a
// rune boundary: the Error a backend keeps.
func ClipWebhookError(s string) string {
	if len(s) <= MaxWebhookError {
		return s
	}
	s = s[:MaxWebhookError]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Webhook is a subscription.
type Webhook struct {
	// ID is the subscription's id, a UUID chosen by the caller.
	ID string `json:"id"`
	// Owner is the account whose read access the deliveries are bound by.
	Owner string `json:"owner"`
	// Group and Collection name the collection delivered.
	Group      string `json:"group"`
	Collection string `json:"collection"`
	// URL is the target the messages are POSTed to.
	URL string `json:"url"`
	// Types, if not empty, restricts the objects delivered to these STIX
	// types (deletions of other types are not delivered either).
	Types []string `json:"types,omitempty"`
	// IncludeObjects sends each object's stored bytes; without it a
	// message is a notice of the cursor range only.
	IncludeObjects bool `json:"include_objects,omitempty"`
	// Secrets sign the messages, newest first; every secret not yet
	// expired signs every message (a rotation keeps the old one for a
	// grace period). A backend keeps the secret itself, not a hash: HMAC
	// needs it to sign. The admin API shows a secret once, when it is
	// made, and never again.
	Secrets []WebhookSecret `json:"secrets"`
	Created time.Time       `json:"created"`
	// State is the dispatcher's progress.
	State WebhookState `json:"state"`
}

// WebhookSecret is one signing secret.
type WebhookSecret struct {
	// Key is the raw HMAC-SHA256 key.
	Key     []byte    `json:"key"`
	Created time.Time `json:"created"`
	// Expires is when the secret stops signing (zero: never). A rotation
	// sets it on the secrets it replaces.
	Expires time.Time `json:"expires,omitzero"`
}

// WebhookState is what the dispatcher records of a subscription.
type WebhookState struct {
	// Disabled stops deliveries; Reason says why, for the admin API.
	Disabled bool   `json:"disabled,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Cursor is the position after the last change the target
	// acknowledged (2xx); deliveries resume after it. Zero: before every
	// change, which is where a new subscription starts unless its creator
	// chose the collection's newest cursor.
	Cursor time.Time `json:"cursor,omitzero"`
	// Pending, if set, is the last cursor of the message in flight, kept
	// while it is retried so that its retries carry the same changes
	// under the same webhook-id.
	Pending time.Time `json:"pending,omitzero"`
	// Failures counts the consecutive failed attempts of the message in
	// flight; FailingSince is when its first attempt failed.
	Failures     int       `json:"failures,omitempty"`
	FailingSince time.Time `json:"failing_since,omitzero"`
	// NextAttempt is when the next retry is due (zero: now).
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// WebhookDelivery is one attempt to deliver a message, in the
// subscription's delivery log.
type WebhookDelivery struct {
	Time time.Time `json:"time"`
	// MessageID is the message's webhook-id; Attempt counts from 1 for
	// each message.
	MessageID string `json:"message_id"`
	Attempt   int    `json:"attempt"`
	// First and Last are the cursors of the message's first and last
	// change; Changes counts them.
	First   time.Time `json:"first,omitzero"`
	Last    time.Time `json:"last,omitzero"`
	Changes int       `json:"changes"`
	// Status is the HTTP status answered, 0 when there was none (refused
	// address, timeout, connection error).
	Status  int           `json:"status"`
	Latency time.Duration `json:"latency"`
	// Error says what failed, clipped to MaxWebhookError bytes; "" for a
	// 2xx.
	Error string `json:"error,omitempty"`
}

// WebhookStore is the part of the contract the dispatcher and the admin
// API's readers use; changes to a subscription's configuration go through
// DirectoryTx. Besides the errors listed, every method may return the
// context's error and an error from the backend itself, as Store's.
type WebhookStore interface {
	// Webhooks returns every subscription, sorted by id. It returns no
	// error of this package.
	Webhooks(ctx context.Context) ([]Webhook, error)
	// Webhook returns the subscription with the given id, or ErrNotFound.
	Webhook(ctx context.Context, id string) (*Webhook, error)
	// RecordDelivery replaces the State of subscription id with st and,
	// if d is not nil, appends d to its delivery log (clipping d.Error,
	// dropping the oldest entries beyond MaxWebhookDeliveries), in one
	// transaction. The subscription's configuration (URL, secrets, ...) is
	// left as it is. Returns ErrNotFound when the subscription does not
	// exist (it was deleted meanwhile), in which case nothing is written.
	RecordDelivery(ctx context.Context, id string, st WebhookState, d *WebhookDelivery) error
	// WebhookDeliveries returns up to limit entries of the subscription's
	// delivery log, newest first (a limit below 1 or above
	// MaxWebhookDeliveries reads MaxWebhookDeliveries). Returns
	// ErrNotFound when the subscription does not exist.
	WebhookDeliveries(ctx context.Context, id string, limit int) ([]WebhookDelivery, error)
	// DispatchLease blocks until this process may run the webhook
	// dispatcher, which must run in one process per store at a time, and
	// returns a context that is done when the lease is lost (or ctx is
	// done), with release, which gives the lease up. The dispatcher calls
	// it once at start and again after losing the lease. A single-process
	// backend (bbolt: the file is locked to one process) returns at once;
	// a shared one (PostgreSQL) holds an advisory lock on a connection of
	// its own, and loses the lease with that connection. Returns ctx's
	// error when ctx is done before the lease is held, and no error of
	// this package.
	DispatchLease(ctx context.Context) (lease context.Context, release func(), err error)
}
