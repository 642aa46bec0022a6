package taxii_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// stalledWriter is the connection of a client that sends its request and
// then reads nothing: the first write of the body blocks until the test
// lets go, then fails as a write to a vanished client does.
type stalledWriter struct {
	header  http.Header
	started chan struct{} // closed at the first write
	once    sync.Once
	gone    chan struct{} // closed by the test: the client disconnects
}

func newStalledWriter() *stalledWriter {
	return &stalledWriter{header: http.Header{}, started: make(chan struct{}), gone: make(chan struct{})}
}

func (w *stalledWriter) Header() http.Header { return w.header }
func (w *stalledWriter) WriteHeader(int)     {}
func (w *stalledWriter) Write([]byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	<-w.gone
	return 0, errors.New("write: connection reset by peer")
}

// stall starts a request as user whose response is never read, and waits
// until the server is writing it. The returned function disconnects the
// client and waits for the handler to return.
func stall(t *testing.T, ts *testServer, user, target string) (disconnect func()) {
	t.Helper()
	w := newStalledWriter()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", basic(user))
	req.Header.Set("Accept", mediaTAXII)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ts.ServeHTTP(w, req)
	}()
	select {
	case <-w.started:
	case <-done:
		t.Fatalf("GET %s as %s finished without writing a body", target, user)
	}
	return func() {
		close(w.gone)
		<-done
	}
}

// Ensure that an account has at most the default 4 page reads in progress
// (issue 9): a fifth read of any paged endpoint is a 429 with Retry-After
// and a TAXII error; other accounts and the account's other requests are
// not affected; a slot is free again once its response has ended, here by
// the client going away mid-response.
func TestServer_ConcurrentReads(t *testing.T) {
	ts := newTestServer(t)
	ts.addObjects(t, collEO, simpleIndicator(1), simpleIndicator(2))
	var disconnect []func()
	for _, target := range []string{
		objectsURL(rootEO, collEO),
		manifestURL(rootEO, collEO),
		objectURL(rootEO, collEO, indicatorID(1)),
		versionsURL(rootEO, collEO, indicatorID(2)),
	} {
		disconnect = append(disconnect, stall(t, ts, userReader, target))
	}
	for _, target := range []string{
		objectsURL(rootEO, collEO),
		manifestURL(rootEO, collEO),
		objectURL(rootEO, collEO, indicatorID(1)),
		versionsURL(rootEO, collEO, indicatorID(1)),
	} {
		w := ts.get(t, userReader, target)
		checkError(t, w, http.StatusTooManyRequests)
		if ra := w.Header().Get("Retry-After"); ra != "1" {
			t.Errorf("GET %s: Retry-After %q, want 1", target, ra)
		}
	}
	// Not a page read: served.
	checkOK(t, ts.get(t, userReader, collectionURL(rootEO, collEO)), http.StatusOK)
	// Another account's reads have their own slots.
	checkOK(t, ts.get(t, userAdmin, objectsURL(rootEO, collEO)), http.StatusOK)

	disconnect[0]()
	checkOK(t, ts.get(t, userReader, objectsURL(rootEO, collEO)), http.StatusOK) // the freed slot, released again after the response
	checkOK(t, ts.get(t, userReader, manifestURL(rootEO, collEO)), http.StatusOK)
	// Taken again by a new stalled read: the account is back at 4.
	disconnect[0] = stall(t, ts, userReader, objectsURL(rootEO, collEO))
	checkError(t, ts.get(t, userReader, objectsURL(rootEO, collEO)), http.StatusTooManyRequests)
	for _, d := range disconnect {
		d()
	}
	for range 5 { // every slot is free: more than 4 reads in a row succeed
		checkOK(t, ts.get(t, userReader, objectsURL(rootEO, collEO)), http.StatusOK)
	}
}
