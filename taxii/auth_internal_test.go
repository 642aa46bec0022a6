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
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"golang.org/x/crypto/bcrypt"
)

// Ensure that when every bcrypt slot is taken a password login waits at
// most checkWait and is then answered 503 with Retry-After and a TAXII
// error, that tokens need no slot, and that a freed slot serves the next.
func TestAuthenticator_PasswordChecksBounded(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "eitaxii.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	v, err := stix.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tok := sha256.Sum256([]byte("alice-token"))
	s, err := NewServer(context.Background(), Options{
		Discovery:      Discovery{Title: "busy"},
		Accounts:       []Account{{Name: "alice", PasswordHash: string(hash), TokenHashes: []string{hex.EncodeToString(tok[:])}}},
		PasswordChecks: 1,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, db, v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.auth.checkWait = time.Millisecond
	get := func(auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/taxii2/", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice-password"))

	s.auth.checks <- struct{}{} // the one slot, taken
	for _, auth := range []string{basic, "Basic " + base64.StdEncoding.EncodeToString([]byte("nobody:x"))} {
		rec := get(auth)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Content-Type") != MediaType {
			t.Errorf("%s with no free slot: %d, Retry-After %q, %s", auth, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
	}
	if rec := get("Bearer alice-token"); rec.Code != http.StatusOK {
		t.Errorf("token with no free slot: %d %s", rec.Code, rec.Body)
	}
	<-s.auth.checks
	if rec := get(basic); rec.Code != http.StatusOK {
		t.Errorf("password with a free slot: %d %s", rec.Code, rec.Body)
	}
}
