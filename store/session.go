package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/access"
)

// Console sessions. The analyst console signs a browser in with a random
// secret in a cookie; the store keeps the secret's SHA-256 only, so that a
// copy of the store (a backup, a database dump) signs nobody in. Sessions
// live in the store, not in a node's memory, so that every node behind a
// load balancer accepts every node's sessions.
//
// Sessions are ephemeral: Copy (eitaxii migrate) does not copy them, and a
// user signs in again after a migration. Backups keep them as they are
// (bbolt's backup is the whole file; PostgreSQL's copies the sessions
// table too), which is harmless: a backup holds hashes, not secrets, and
// every session ends at its Expires however it comes back.

// The bounds CreateSession checks, in bytes.
const (
	// MaxSessionCredential bounds Session.Credential.
	MaxSessionCredential = 256
	// MaxSessionCSRF bounds Session.CSRF.
	MaxSessionCSRF = 128
)

// Session.Via values: how the session signed in.
const (
	SessionViaPassword    = "password"
	SessionViaCertificate = "certificate"
)

// ErrInvalidSession is matched by the error of CreateSession for a Session
// that breaks one of its bounds; the error names the field.
var ErrInvalidSession = errors.New("invalid session")

// Session is a signed-in console session. The store keeps only the
// SHA-256 of the secret the browser holds. A store keeps times at µs
// precision, in UTC.
type Session struct {
	Hash    string // lower-case hex SHA-256 of the session secret; the key
	Account string
	Via     string // "password" or "certificate"
	// Credential is what signed in: an opaque fingerprint the console
	// compares on every request (it ends the session when the account's
	// credential changed).
	Credential string
	// CSRF is the session's CSRF token (random, not secret from the
	// browser, secret from others).
	CSRF     string
	Created  time.Time
	LastSeen time.Time
	Expires  time.Time // absolute end
}

// SessionStore keeps console sessions. Besides the errors listed, every
// method may return the context's error and an error from the backend
// itself, as Store's.
type SessionStore interface {
	// CreateSession stores s. Returns an error matching ErrInvalidSession
	// when s breaks a bound (see Session.Validate), a *ConflictError
	// (SessionExists) when a session with s.Hash is already stored; in
	// both cases nothing is stored.
	CreateSession(ctx context.Context, s Session) error
	// FindSession returns the session whose Hash is hash, or ErrNotFound
	// (also when it expired: Expires <= now given, and when hash is not a
	// well-formed hash).
	FindSession(ctx context.Context, hash string, now time.Time) (*Session, error)
	// TouchSession sets LastSeen; ErrNotFound when absent. Cheap (the
	// console calls it at most once a minute per session): it writes the
	// session only.
	TouchSession(ctx context.Context, hash string, seen time.Time) error
	// DeleteSession removes one session; ErrNotFound when absent.
	DeleteSession(ctx context.Context, hash string) error
	// DeleteAccountSessions removes every session of account and returns
	// how many. It returns no error of this package.
	DeleteAccountSessions(ctx context.Context, account string) (int, error)
	// PruneSessions removes sessions with Expires <= before and returns
	// how many, without holding the write lock for long. It returns no
	// error of this package.
	PruneSessions(ctx context.Context, before time.Time) (int, error)
}

// Validate checks the bounds a store keeps a session within: Hash is 64
// lower-case hex digits, Account a valid account name, Via one of the
// SessionVia values, Credential and CSRF not empty and at most
// MaxSessionCredential and MaxSessionCSRF bytes, the times set and
// Expires after Created. The error matches ErrInvalidSession and names
// the field.
func (s *Session) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidSession, field, fmt.Sprintf(format, args...))
	}
	switch {
	case !ValidSessionHash(s.Hash):
		return bad("hash", "not 64 lower-case hex digits (a SHA-256)")
	case access.AccountName(s.Account) != nil:
		return bad("account", "%q is not a valid account name", clipName(s.Account))
	case s.Via != SessionViaPassword && s.Via != SessionViaCertificate:
		return bad("via", "%q is neither %q nor %q", clipName(s.Via), SessionViaPassword, SessionViaCertificate)
	case s.Credential == "" || len(s.Credential) > MaxSessionCredential:
		return bad("credential", "%d bytes, want 1 to %d", len(s.Credential), MaxSessionCredential)
	case s.CSRF == "" || len(s.CSRF) > MaxSessionCSRF:
		return bad("csrf", "%d bytes, want 1 to %d", len(s.CSRF), MaxSessionCSRF)
	case s.Created.IsZero() || s.LastSeen.IsZero() || s.Expires.IsZero():
		return bad("created, last_seen, expires", "every time must be set")
	case !s.Expires.After(s.Created):
		return bad("expires", "not after created")
	}
	return nil
}

// ValidSessionHash reports whether hash is 64 lower-case hex digits, the
// form of Session.Hash.
func ValidSessionHash(hash string) bool {
	if len(hash) != 64 {
		return false
	}
	for i := range len(hash) {
		if c := hash[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// clipName shortens a refused value before an error quotes it: errors are
// logged, and a bound is what was broken.
func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
