package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/eitaxii/eitaxii/client"
)

// page is one scripted Get Objects answer.
type page struct {
	body, last string // the envelope, X-TAXII-Date-Added-Last ("" for none)
}

// pagesServer answers Get Objects with pages in order and records each
// request's query.
func pagesServer(t *testing.T, pages ...page) (*client.Client, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var queries []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(queries)
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		if n >= len(pages) {
			http.Error(w, "no more pages", http.StatusGone)
			return
		}
		w.Header().Set("Content-Type", client.MediaTAXII)
		if pages[n].last != "" {
			w.Header().Set("X-TAXII-Date-Added-Last", pages[n].last)
		}
		fmt.Fprint(w, pages[n].body)
	}))
	t.Cleanup(hs.Close)
	c, err := client.New(hs.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, &queries
}

// Ensure that PollObjects follows next, falls back to the header, stops
// where a server would make it loop, and returns only what fn accepted.
func TestClient_PollObjects(t *testing.T) {
	const t1, t2, t3 = "2026-01-01T00:00:00.000001Z", "2026-01-01T00:00:00.000002Z", "2026-01-01T00:00:00.000003Z"
	poll := func(c *client.Client, after string, fn func(*client.Envelope) error) (string, int, error) {
		n := 0
		last, err := c.PollObjects(context.Background(), "demo", collID, client.Filter{AddedAfter: after, Limit: 1}, func(e *client.Envelope) error {
			n += len(e.Objects)
			if fn != nil {
				return fn(e)
			}
			return nil
		})
		return last, n, err
	}
	t.Run("Next", func(t *testing.T) {
		c, q := pagesServer(t, page{`{"more":true,"next":"a","objects":[{}]}`, t1}, page{`{"objects":[{}]}`, t2})
		last, n, err := poll(c, "", nil)
		if err != nil || last != t2 || n != 2 {
			t.Fatalf("last %q, %d objects, %v", last, n, err)
		}
		if (*q)[1] != "limit=1&next=a" {
			t.Fatalf("second query %q", (*q)[1])
		}
	})
	t.Run("HeaderOnly", func(t *testing.T) {
		c, q := pagesServer(t, page{`{"more":true,"objects":[{}]}`, t2}, page{`{"objects":[{}]}`, t3})
		last, _, err := poll(c, t1, nil)
		if err != nil || last != t3 {
			t.Fatalf("last %q, %v", last, err)
		}
		if !strings.Contains((*q)[0], "added_after=2026-01-01T00%3A00%3A00.000001Z") || !strings.Contains((*q)[1], "added_after=2026-01-01T00%3A00%3A00.000002Z") {
			t.Fatalf("queries %q", *q)
		}
	})
	t.Run("NoHeaderKeepsPosition", func(t *testing.T) {
		c, _ := pagesServer(t, page{`{"objects":[{}]}`, ""})
		if last, n, err := poll(c, t1, nil); err != nil || last != t1 || n != 1 {
			t.Fatalf("last %q, %d, %v; want the old position", last, n, err)
		}
	})
	t.Run("ErrNoProgress", func(t *testing.T) {
		c, _ := pagesServer(t, page{`{"more":true,"objects":[{}]}`, t1})
		if _, _, err := poll(c, t1, nil); !errors.Is(err, client.ErrNoProgress) {
			t.Fatalf("header not after added_after: %v", err)
		}
		c, _ = pagesServer(t, page{`{"more":true,"next":"a","objects":[{}]}`, t1}, page{`{"more":true,"next":"a","objects":[{}]}`, t2})
		if last, _, err := poll(c, "", nil); !errors.Is(err, client.ErrNoProgress) || last != t2 {
			t.Fatalf("repeated next: %q, %v", last, err)
		}
	})
	t.Run("ErrNoWayOn", func(t *testing.T) {
		c, _ := pagesServer(t, page{`{"more":true,"objects":[{}]}`, ""})
		if _, _, err := poll(c, "", nil); err == nil || !strings.Contains(err.Error(), "neither next nor X-TAXII-Date-Added-Last") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("ErrBadHeader", func(t *testing.T) {
		c, _ := pagesServer(t, page{`{"objects":[{}]}`, "yesterday"})
		if last, n, err := poll(c, t1, nil); err == nil || n != 0 || last != t1 {
			t.Fatalf("last %q, %d objects given to fn, %v", last, n, err)
		}
	})
	t.Run("FnErrorKeepsAccepted", func(t *testing.T) {
		c, _ := pagesServer(t, page{`{"more":true,"next":"a","objects":[{}]}`, t1}, page{`{"objects":[{}]}`, t2})
		calls := 0
		last, _, err := poll(c, "", func(*client.Envelope) error {
			if calls++; calls == 2 {
				return errors.New("disk full")
			}
			return nil
		})
		if err == nil || err.Error() != "disk full" || last != t1 {
			t.Fatalf("last %q, %v; want the first page's position", last, err)
		}
	})
	t.Run("ErrRefused", func(t *testing.T) {
		c, _ := pagesServer(t)
		if _, _, err := poll(c, "", nil); client.StatusOf(err) != http.StatusGone {
			t.Fatalf("err %v", err)
		}
	})
}

// Ensure that APIRootURL resolves names, paths and URLs as the API root
// calls do, and refuses another host.
func TestClient_APIRootURL(t *testing.T) {
	c, err := client.New("https://taxii.example/proxy", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"demo":                           "https://taxii.example/proxy/demo/",
		"/demo/":                         "https://taxii.example/demo/",
		"https://taxii.example/a/b":      "https://taxii.example/a/b/",
		"https://elsewhere.example/api/": "",
	} {
		got, err := c.APIRootURL(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("APIRootURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
