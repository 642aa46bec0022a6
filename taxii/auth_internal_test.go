package taxii

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"golang.org/x/crypto/bcrypt"
)

// newBusyServer is a server with one bcrypt slot and the account alice
// (password "alice-password", token "alice-token").
func newBusyServer(t *testing.T, limit LoginLimit) *Server {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tok := sha256.Sum256([]byte("alice-token"))
	return newInternalServer(t, openInternalStore(t), Options{
		Discovery:      Discovery{Title: "busy"},
		Accounts:       []Account{{Name: "alice", PasswordHash: string(hash), TokenHashes: []string{hex.EncodeToString(tok[:])}}},
		PasswordChecks: 1,
		LoginLimit:     limit,
	})
}

// openInternalStore opens a store on a new file in t.TempDir(), closed at
// cleanup.
func openInternalStore(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "eitaxii.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newInternalServer is NewServer on st with opts and a silent logger,
// closed at cleanup.
func newInternalServer(t *testing.T, st store.Store, opts Options) *Server {
	t.Helper()
	v, err := stix.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := NewServer(context.Background(), opts, st, v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func busyGet(s *Server, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/taxii2/", nil)
	req.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

var aliceBasic = "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice-password"))

// Ensure that when every bcrypt slot is taken a password login waits at
// most checkWait and is then answered 503 with Retry-After and a TAXII
// error, that tokens need no slot, and that a freed slot serves the next.
func TestAuthenticator_PasswordChecksBounded(t *testing.T) {
	s := newBusyServer(t, LoginLimit{})
	s.auth.checkWait = time.Millisecond
	s.auth.checks <- struct{}{} // the one slot, taken
	for _, auth := range []string{aliceBasic, "Basic " + base64.StdEncoding.EncodeToString([]byte("nobody:x"))} {
		rec := busyGet(s, auth)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Content-Type") != MediaType {
			t.Errorf("%s with no free slot: %d, Retry-After %q, %s", auth, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
	}
	if rec := busyGet(s, "Bearer alice-token"); rec.Code != http.StatusOK {
		t.Errorf("token with no free slot: %d %s", rec.Code, rec.Body)
	}
	<-s.auth.checks
	if rec := busyGet(s, aliceBasic); rec.Code != http.StatusOK {
		t.Errorf("password with a free slot: %d %s", rec.Code, rec.Body)
	}
}

// Ensure that more concurrent right passwords from one address than its
// failed-login limit all succeed: the limit counts failures, not logins
// waiting for their check.
func TestAuthenticator_ConcurrentLoginsNotLimited(t *testing.T) {
	s := newBusyServer(t, LoginLimit{PerAddress: 2})
	var checks atomic.Int32
	s.auth.onCheck = func() { checks.Add(1) }
	s.auth.checkWait = time.Hour // the test decides when the slot frees
	s.auth.checks <- struct{}{}  // hold the slot so that the logins queue
	codes := make(chan int, 12)
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() { codes <- busyGet(s, aliceBasic).Code })
	}
	// All twelve must be queued before the slot frees: one that came later
	// would find the credential cached and test nothing.
	for s.auth.waiting.Load() < 12 {
		time.Sleep(time.Millisecond)
	}
	<-s.auth.checks
	wg.Wait()
	if n := checks.Load(); n != 12 {
		t.Errorf("%d bcrypt checks ran, want 12 (every login queued before the cache knew the password)", n)
	}
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("a right password answered %d", c)
		}
	}
}
