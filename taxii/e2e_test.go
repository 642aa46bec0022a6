package taxii_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestServer_HTTP drives the server over a real connection with
// net/http's client, as taxii2-client would: Basic and token auth, the
// slash-less status URL, chunked POST bodies (REQ-24) and no redirects
// (INT-03).
func TestServer_HTTP(t *testing.T) {
	ts := newTestServer(t)
	// Record how each POST body arrived, to be sure the chunked ones were.
	var mu sync.Mutex
	var transfer []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			mu.Lock()
			transfer = append(transfer, strings.Join(r.TransferEncoding, ","))
			mu.Unlock()
		}
		ts.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	client := hs.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	send := func(method, path string, body io.Reader, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, hs.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", mediaTAXII)
		req.Header.Set("User-Agent", "taxii2-client/2.3.0")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return roundTrip(t, client, req)
	}
	expect := func(resp *http.Response, body []byte, code int) {
		t.Helper()
		if resp.StatusCode != code {
			t.Fatalf("%s %s: %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, code, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != mediaTAXII {
			t.Errorf("%s %s: Content-Type %q (REQ-09)", resp.Request.Method, resp.Request.URL.Path, ct)
		}
		if code >= 400 {
			checkErrorResource(t, code, resp.Header, body)
		}
	}
	// unsized hides a body's length from the client, which then sends it
	// chunked.
	unsized := func(s string) io.Reader { return struct{ io.Reader }{strings.NewReader(s)} }

	resp, body := send(http.MethodGet, "/taxii2/", nil)
	expect(resp, body, http.StatusUnauthorized)
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate (REQ-06)")
	}

	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/taxii2", nil)
	req.SetBasicAuth(userReader, password(userReader))
	req.Header.Set("Accept", "application/taxii+json")
	r2, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	expect(r2, b2, http.StatusOK)
	if d := decodeStrict[discoveryResource](t, b2); len(d.APIRoots) != 1 || d.APIRoots[0] != rootEO {
		t.Errorf("discovery %+v", d)
	}

	// Add with a Bearer token, chunked; the status under the slash-less
	// URL taxii2-client builds, with the Token scheme.
	resp, body = send(http.MethodPost, strings.TrimSuffix(objectsURL(rootEO, collEO), "/"), unsized(envelope(simpleIndicator(1), ind2)),
		"Authorization", "Bearer "+token(userPublisher), "Content-Type", mediaTAXII+"; charset=utf-8")
	expect(resp, body, http.StatusAccepted)
	st := checkStatus(t, body, 2, 2, 0)
	resp, body = send(http.MethodGet, rootEO+"status/"+st.ID, nil, "Authorization", "Token "+token(userReader))
	expect(resp, body, http.StatusOK)

	resp, body = send(http.MethodGet, objectsURL(rootEO, collEO), nil, "Authorization", basic(userReader))
	expect(resp, body, http.StatusOK)
	if env := decodeStrict[envelopeResource](t, body); len(env.Objects) != 2 || string(env.Objects[1]) != ind2 {
		t.Errorf("objects over HTTP: %s", body)
	}
	if resp.Header.Get("X-TAXII-Date-Added-First") == "" || resp.Header.Get("X-TAXII-Date-Added-Last") == "" {
		t.Error("no date headers over HTTP (REQ-101)")
	}

	// REQ-24 over the wire: chunked bodies of exactly max_content_length
	// and one byte more.
	env := envelope(simpleIndicator(3))
	resp, body = send(http.MethodPost, objectsURL(rootEO, collEO), unsized(env+strings.Repeat(" ", eoMaxContentLength-len(env))),
		"Authorization", basic(userPublisher), "Content-Type", mediaTAXII)
	expect(resp, body, http.StatusAccepted)
	env = envelope(simpleIndicator(4))
	resp, body = send(http.MethodPost, objectsURL(rootEO, collEO), unsized(env+strings.Repeat(" ", eoMaxContentLength+1-len(env))),
		"Authorization", basic(userPublisher), "Content-Type", mediaTAXII)
	expect(resp, body, http.StatusRequestEntityTooLarge)
	// The same with a Content-Length.
	resp, body = send(http.MethodPost, objectsURL(rootEO, collEO), strings.NewReader(env+strings.Repeat(" ", eoMaxContentLength+1-len(env))),
		"Authorization", basic(userPublisher), "Content-Type", mediaTAXII)
	expect(resp, body, http.StatusRequestEntityTooLarge)

	resp, body = send(http.MethodPut, "/taxii2/", nil, "Authorization", basic(userReader))
	expect(resp, body, http.StatusMethodNotAllowed)
	if resp.Header.Get("Allow") != "GET" {
		t.Errorf("Allow %q, want GET (REQ-18)", resp.Header.Get("Allow"))
	}

	resp, body = send(http.MethodDelete, objectURL(rootEO, collEO, indicatorID(1)), nil, "Authorization", basic(userPublisher))
	expect(resp, body, http.StatusOK)
	if len(body) != 0 {
		t.Errorf("DELETE body %q, want empty (REQ-80)", body)
	}
	resp, body = send(http.MethodGet, objectURL(rootEO, collEO, indicatorID(1)), nil, "Authorization", basic(userReader))
	expect(resp, body, http.StatusNotFound)

	if got := storedIDs(t, ts); strings.Join(got, " ") != indicatorID(2)+" "+indicatorID(3) {
		t.Errorf("stored %v, want indicators 2 and 3", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"chunked", "chunked", "chunked", ""}; strings.Join(transfer, "|") != strings.Join(want, "|") {
		t.Errorf("POST transfer encodings %q, want %q", transfer, want)
	}
}
