package taxii

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// gatedStore is a real store whose next LoadDirectory, once armed, holds
// its snapshot until the test opens the gate: it stands for a reload that
// read the directory and is slow to swap it in.
type gatedStore struct {
	store.Store
	mu     sync.Mutex
	armed  bool
	loaded chan struct{} // closed when the held load has read
	gate   chan struct{} // closed by the test to let it return
}

func (g *gatedStore) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.loaded, g.gate = true, make(chan struct{}), make(chan struct{})
}

func (g *gatedStore) LoadDirectory(ctx context.Context) (*store.Directory, error) {
	d, err := g.Store.LoadDirectory(ctx)
	g.mu.Lock()
	held := g.armed
	g.armed = false
	loaded, gate := g.loaded, g.gate
	g.mu.Unlock()
	if held {
		close(loaded)
		<-gate
	}
	return d, err
}

// tokenOf is the API token of account name in newReloadServer.
func tokenOf(name string, i int) string { return fmt.Sprintf("%s-token-%d", name, i) }

// newReloadServer serves a store holding the superadmin root and the
// account bob with n tokens (tokenOf).
func newReloadServer(t *testing.T, st store.Store, n int) *Server {
	t.Helper()
	hash := func(tok string) string { h := sha256.Sum256([]byte(tok)); return hex.EncodeToString(h[:]) }
	bob := Account{Name: "bob"}
	for i := range n {
		bob.TokenHashes = append(bob.TokenHashes, hash(tokenOf("bob", i)))
	}
	return newInternalServer(t, st, Options{
		Discovery: Discovery{Title: "reload"},
		Accounts:  []Account{{Name: "root", Superadmin: true, TokenHashes: []string{hash(tokenOf("root", 0))}}, bob},
	})
}

func reloadCall(s *Server, token, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// Ensure that a reload that read the directory before a later change
// cannot swap in its older snapshot after that change's reload: change A
// commits and its reload reads, then stalls; change B (revoking bob's
// tokens) commits and reloads; when A's reload goes on, the directory
// served must still be B's, or a revoked token would be accepted again.
func TestReload_OlderSnapshotNeverWins(t *testing.T) {
	gs := &gatedStore{Store: openInternalStore(t)}
	s := newReloadServer(t, gs, 1)
	root := tokenOf("root", 0)

	gs.arm()
	aDone := make(chan *httptest.ResponseRecorder, 1)
	go func() { aDone <- reloadCall(s, root, "POST", "/admin/v1/organizations", `{"name":"state"}`) }()
	<-gs.loaded // A committed and its reload holds a snapshot without B

	bDone := make(chan *httptest.ResponseRecorder, 1)
	go func() { bDone <- reloadCall(s, root, "DELETE", "/admin/v1/accounts/bob/tokens", "") }()
	// B must wait for A's reload to finish before its own reads; a server
	// that let B's reload run alone would finish it here. Either way the
	// test goes on: the wait only gives a wrong server the chance to fail.
	var b *httptest.ResponseRecorder
	select {
	case b = <-bDone:
	case <-time.After(200 * time.Millisecond):
	}
	close(gs.gate)
	if a := <-aDone; a.Code != http.StatusCreated {
		t.Fatalf("change A: %d %s", a.Code, a.Body)
	}
	if b == nil {
		b = <-bDone
	}
	if b.Code != http.StatusOK || !strings.Contains(b.Body.String(), `"revoked":1`) {
		t.Fatalf("change B: %d %s", b.Code, b.Body)
	}
	if rec := reloadCall(s, tokenOf("bob", 0), "GET", "/taxii2/", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("revoked token after both reloads: %d, want 401 (an older snapshot won)", rec.Code)
	}
	if s.dir.Load().orgs["state"] == nil {
		t.Error("change A is not served")
	}
}

// Ensure that concurrent admin changes all end up served: each revokes one
// of bob's tokens, and afterwards every one of them is refused.
func TestReload_ConcurrentChangesAllServed(t *testing.T) {
	const n = 8
	s := newReloadServer(t, openInternalStore(t), n)
	root := tokenOf("root", 0)
	ids := map[string]bool{}
	d, err := s.store.LoadDirectory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range d.Tokens {
		if tok.Account == "bob" {
			ids[tok.ID] = true
		}
	}
	if len(ids) != n {
		t.Fatalf("bob has %d tokens, want %d", len(ids), n)
	}
	var wg sync.WaitGroup
	for id := range ids {
		wg.Go(func() {
			if rec := reloadCall(s, root, "DELETE", "/admin/v1/accounts/bob/tokens/"+id, ""); rec.Code != http.StatusNoContent {
				t.Errorf("revoke %s: %d %s", id, rec.Code, rec.Body)
			}
		})
	}
	wg.Wait()
	for i := range n {
		if rec := reloadCall(s, tokenOf("bob", i), "GET", "/taxii2/", ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("token %d revoked concurrently with others: %d, want 401", i, rec.Code)
		}
	}
}
