package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// sessionHash is the hash of the n-th test session's secret.
func sessionHash(n int) string {
	sum := sha256.Sum256([]byte{byte(n), byte(n >> 8)})
	return hex.EncodeToString(sum[:])
}

// testSession is the n-th test session of account, valid for a day from
// t0 + n minutes.
func testSession(n int, account string) store.Session {
	at := t0.Add(time.Duration(n) * time.Minute)
	return store.Session{Hash: sessionHash(n), Account: account, Via: store.SessionViaPassword,
		Credential: "bcrypt:" + account, CSRF: "csrf-" + sessionHash(n)[:16],
		Created: at, LastSeen: at, Expires: at.Add(24 * time.Hour)}
}

func (db *DB) mustCreateSession(tb testing.TB, s store.Session) {
	tb.Helper()
	if err := db.CreateSession(context.Background(), s); err != nil {
		tb.Fatalf("CreateSession(%s): %v", s.Hash[:8], err)
	}
}

// Ensure that a session reads back as it was stored (times at µs, UTC),
// that FindSession stops returning it once it expired, and that
// TouchSession moves LastSeen and nothing else, on every node's view of
// the store (a reopen).
func (s *suite) TestSession_CreateFindTouch(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	want := testSession(1, "alice")
	want.Via, want.Credential = store.SessionViaCertificate, strings.Repeat("f", store.MaxSessionCredential)
	// Sub-µs precision is dropped; any zone reads back as UTC.
	in := want
	in.Created = want.Created.Add(999 * time.Nanosecond).In(time.FixedZone("EST", -5*3600))
	db.mustCreateSession(t, in)
	db.MustReopen(t)

	got, err := db.FindSession(ctx, want.Hash, want.Created)
	if err != nil {
		t.Fatalf("FindSession = %v", err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("FindSession = %+v\nwant %+v", *got, want)
	}
	if got.Created.Location() != time.UTC {
		t.Errorf("Created in %v, want UTC", got.Created.Location())
	}
	if got, err := db.FindSession(ctx, want.Hash, want.Expires.Add(-time.Microsecond)); err != nil || got.Hash != want.Hash {
		t.Errorf("FindSession a µs before expiry = %+v, %v; want the session", got, err)
	}
	for _, at := range []time.Time{want.Expires, want.Expires.Add(time.Hour)} {
		if _, err := db.FindSession(ctx, want.Hash, at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindSession at %v (expires %v) = %v, want ErrNotFound", at, want.Expires, err)
		}
	}
	for _, hash := range []string{sessionHash(2), "", "not-a-hash", strings.ToUpper(want.Hash)} {
		if _, err := db.FindSession(ctx, hash, want.Created); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindSession(%q) = %v, want ErrNotFound", hash, err)
		}
	}

	seen := want.Created.Add(90 * time.Second)
	if err := db.TouchSession(ctx, want.Hash, seen); err != nil {
		t.Fatalf("TouchSession = %v", err)
	}
	want.LastSeen = seen
	if got, err := db.FindSession(ctx, want.Hash, seen); err != nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("after TouchSession: %+v, %v\nwant %+v", got, err, want)
	}
	if err := db.TouchSession(ctx, sessionHash(2), seen); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchSession of an absent session = %v, want ErrNotFound", err)
	}
	// A touch does not extend the absolute end.
	if _, err := db.FindSession(ctx, want.Hash, want.Expires); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FindSession at expiry after a touch = %v, want ErrNotFound", err)
	}
}

// Ensure that a hash already stored is a *ConflictError (SessionExists)
// that leaves the first session as it was.
func (s *suite) TestSession_Conflict(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	first := testSession(1, "alice")
	db.mustCreateSession(t, first)
	second := testSession(1, "mallory")
	err := db.CreateSession(ctx, second)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Invariant != store.SessionExists || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateSession with a stored hash = %v, want a ConflictError (SessionExists)", err)
	}
	if strings.Contains(err.Error(), "mallory") {
		t.Errorf("conflict message %q names the account", err)
	}
	if got, err := db.FindSession(ctx, first.Hash, t0); err != nil || got.Account != "alice" {
		t.Errorf("after the conflict: %+v, %v; want alice's session", got, err)
	}
	if n, err := db.DeleteAccountSessions(ctx, "mallory"); err != nil || n != 0 {
		t.Errorf("DeleteAccountSessions(mallory) = %d, %v; want 0: the refused session left an index entry", n, err)
	}
}

// Ensure that CreateSession refuses a session out of bounds with an error
// matching ErrInvalidSession that names the field, and stores nothing.
func (s *suite) TestSession_Invalid(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	for _, tt := range []struct {
		name, field string
		change      func(*store.Session)
	}{
		{"HashShort", "hash", func(s *store.Session) { s.Hash = s.Hash[:63] }},
		{"HashLong", "hash", func(s *store.Session) { s.Hash += "0" }},
		{"HashUpperCase", "hash", func(s *store.Session) { s.Hash = strings.ToUpper(s.Hash) }},
		{"HashNotHex", "hash", func(s *store.Session) { s.Hash = strings.Repeat("g", 64) }},
		{"AccountEmpty", "account", func(s *store.Session) { s.Account = "" }},
		{"AccountLong", "account", func(s *store.Session) { s.Account = strings.Repeat("a", 129) }},
		{"AccountBadChar", "account", func(s *store.Session) { s.Account = "alice\x00bob" }},
		{"Via", "via", func(s *store.Session) { s.Via = "token" }},
		{"CredentialEmpty", "credential", func(s *store.Session) { s.Credential = "" }},
		{"CredentialLong", "credential", func(s *store.Session) { s.Credential = strings.Repeat("x", store.MaxSessionCredential+1) }},
		{"CSRFEmpty", "csrf", func(s *store.Session) { s.CSRF = "" }},
		{"CSRFLong", "csrf", func(s *store.Session) { s.CSRF = strings.Repeat("x", store.MaxSessionCSRF+1) }},
		{"NoExpiry", "expires", func(s *store.Session) { s.Expires = time.Time{} }},
		{"NoLastSeen", "last_seen", func(s *store.Session) { s.LastSeen = time.Time{} }},
		{"ExpiresAtCreation", "expires", func(s *store.Session) { s.Expires = s.Created }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := testSession(1, "alice")
			tt.change(&bad)
			err := db.CreateSession(ctx, bad)
			if !errors.Is(err, store.ErrInvalidSession) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("CreateSession = %v, want ErrInvalidSession naming %s", err, tt.field)
			}
			if _, err := db.FindSession(ctx, testSession(1, "alice").Hash, t0); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("FindSession after a refused create = %v, want ErrNotFound", err)
			}
		})
	}
	// The widest values the bounds allow are stored.
	ok := testSession(2, strings.Repeat("a", 128))
	ok.Credential, ok.CSRF = strings.Repeat("c", store.MaxSessionCredential), strings.Repeat("t", store.MaxSessionCSRF)
	db.mustCreateSession(t, ok)
}

// Ensure that DeleteSession removes one session, DeleteAccountSessions
// every session of one account and no other, and PruneSessions those that
// expired by the time given (inclusive), counting what each removed.
func (s *suite) TestSession_Delete(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	// alice: sessions 1-3, bob: 4-5; session n expires at t0 + 24h + n min.
	for n := 1; n <= 5; n++ {
		account := "alice"
		if n > 3 {
			account = "bob"
		}
		db.mustCreateSession(t, testSession(n, account))
	}
	// "alice" is a prefix of "alice2": its sessions are not alice's.
	db.mustCreateSession(t, testSession(6, "alice2"))
	present := func(n int) bool {
		_, err := db.FindSession(ctx, sessionHash(n), t0)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("FindSession(%d) = %v", n, err)
		}
		return err == nil
	}
	check := func(step string, want ...int) {
		t.Helper()
		var got []int
		for n := 1; n <= 6; n++ {
			if present(n) {
				got = append(got, n)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: sessions %v present, want %v", step, got, want)
		}
	}

	if err := db.DeleteSession(ctx, sessionHash(2)); err != nil {
		t.Fatalf("DeleteSession = %v", err)
	}
	if err := db.DeleteSession(ctx, sessionHash(2)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSession again = %v, want ErrNotFound", err)
	}
	check("after DeleteSession(2)", 1, 3, 4, 5, 6)

	if n, err := db.DeleteAccountSessions(ctx, "alice"); err != nil || n != 2 {
		t.Errorf("DeleteAccountSessions(alice) = %d, %v; want 2", n, err)
	}
	check("after DeleteAccountSessions(alice)", 4, 5, 6)
	if n, err := db.DeleteAccountSessions(ctx, "alice"); err != nil || n != 0 {
		t.Errorf("DeleteAccountSessions(alice) again = %d, %v; want 0", n, err)
	}

	// Session 4 expires at t0+24h+4min: a prune at that instant removes it.
	if n, err := db.PruneSessions(ctx, testSession(4, "bob").Expires); err != nil || n != 1 {
		t.Errorf("PruneSessions at session 4's expiry = %d, %v; want 1", n, err)
	}
	check("after PruneSessions", 5, 6)
	if n, err := db.PruneSessions(ctx, t0); err != nil || n != 0 {
		t.Errorf("PruneSessions before any expiry = %d, %v; want 0", n, err)
	}
	db.MustReopen(t)
	if n, err := db.PruneSessions(ctx, t0.Add(48*time.Hour)); err != nil || n != 2 {
		t.Errorf("PruneSessions after every expiry = %d, %v; want 2", n, err)
	}
	check("after pruning everything")
	// Pruned sessions left no index entries behind.
	if n, err := db.DeleteAccountSessions(ctx, "bob"); err != nil || n != 0 {
		t.Errorf("DeleteAccountSessions(bob) after the prune = %d, %v; want 0", n, err)
	}
	// A hash may be used again once its session is gone.
	db.mustCreateSession(t, testSession(4, "carol"))
}
