package taxii_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const pagingObjects = 250

// pagingFixture posts pagingObjects indicators to election-officials'
// collection in envelopes of 25 and returns their ids in date_added
// order.
func pagingFixture(t *testing.T, cfg config) (*testServer, []string) {
	t.Helper()
	ts := newTestServerConfig(t, cfg)
	var ids, batch []string
	for i := range pagingObjects {
		// Ids are not in date_added order, so an id-ordered walk would
		// show.
		n := (i*97)%pagingObjects + 1000
		ids = append(ids, indicatorID(n))
		batch = append(batch, simpleIndicator(n))
		if len(batch) == 25 {
			ts.addObjects(t, collEO, batch...)
			batch = nil
		}
	}
	return ts, ids
}

// page is one page of any paged endpoint.
type page struct {
	ids         []string
	more        bool
	next        string
	first, last string // the date headers
}

func getPage(t *testing.T, ts *testServer, endpoint, rawURL string) page {
	t.Helper()
	w := ts.get(t, userReader, rawURL)
	checkOK(t, w, http.StatusOK)
	p := page{first: w.Header().Get("X-TAXII-Date-Added-First"), last: w.Header().Get("X-TAXII-Date-Added-Last")}
	if w.Body.String() == "{}" {
		return p
	}
	switch endpoint {
	case "objects":
		env := decodeStrict[envelopeResource](t, w.Body.Bytes())
		p.more, p.next = env.More, env.Next
		for _, k := range objectKeys(t, env.Objects) {
			id, _, _ := strings.Cut(k, "@")
			p.ids = append(p.ids, id)
		}
	case "manifest":
		m := decodeStrict[manifestResource](t, w.Body.Bytes())
		p.more, p.next = m.More, m.Next
		for _, r := range m.Objects {
			p.ids = append(p.ids, r.ID)
		}
	default:
		t.Fatalf("unknown endpoint %s", endpoint)
	}
	if p.first == "" || p.last == "" {
		t.Errorf("page of %d without date headers (REQ-101)", len(p.ids))
	}
	return p
}

// REQ-94..97, REQ-102, INT-06: walking through next with any limit serves
// every object exactly once in date_added order; more always comes with
// next; no page exceeds limit.
func TestServer_Paging_Next(t *testing.T) {
	ts, ids := pagingFixture(t, config{maxPageSize: 100})
	for _, endpoint := range []string{"objects", "manifest"} {
		for _, limit := range []int{1, 7, 100} {
			t.Run(fmt.Sprintf("%s limit %d", endpoint, limit), func(t *testing.T) {
				base := objectsURL(rootEO, collEO)
				if endpoint == "manifest" {
					base = manifestURL(rootEO, collEO)
				}
				var got []string
				prevLast := ""
				next := ""
				for range pagingObjects + 1 {
					u := base + "?limit=" + strconv.Itoa(limit)
					if next != "" {
						u += "&next=" + url.QueryEscape(next)
					}
					p := getPage(t, ts, endpoint, u)
					if len(p.ids) > limit {
						t.Fatalf("page of %d items, limit %d (REQ-94)", len(p.ids), limit)
					}
					if p.more && len(p.ids) != limit {
						t.Errorf("page of %d with more, want a full page of %d", len(p.ids), limit)
					}
					checkPaging(t, p.more, p.next, p.more)
					if p.first <= prevLast {
						t.Errorf("page starts at %s, not after the previous page's last %s (REQ-102)", p.first, prevLast)
					}
					prevLast = p.last
					got = append(got, p.ids...)
					if !p.more {
						break
					}
					next = p.next
				}
				if !slices.Equal(got, ids) {
					t.Errorf("walk served %d ids, want the %d posted, each once, in date_added order (REQ-97)", len(got), len(ids))
				}
			})
		}
	}
}

// REQ-99, INT-05: paging with added_after = the previous page's
// X-TAXII-Date-Added-Last, as OpenCTI does, is lossless too.
func TestServer_Paging_AddedAfter(t *testing.T) {
	ts, ids := pagingFixture(t, config{})
	for _, limit := range []int{1, 7, 100} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			var got []string
			after := ""
			for range pagingObjects + 2 {
				u := objectsURL(rootEO, collEO) + "?limit=" + strconv.Itoa(limit)
				if after != "" {
					u += "&added_after=" + after
				}
				p := getPage(t, ts, "objects", u)
				if len(p.ids) == 0 {
					if p.first != after || p.last != after {
						t.Errorf("empty page: date headers %q %q, want added_after %q (AMB-02)", p.first, p.last, after)
					}
					break
				}
				got = append(got, p.ids...)
				if !taxiiTimestamp.MatchString(p.last) {
					t.Fatalf("X-TAXII-Date-Added-Last %q (REQ-27)", p.last)
				}
				after = p.last
			}
			if !slices.Equal(got, ids) {
				t.Errorf("added_after walk served %d ids, want the %d posted, each once, in order", len(got), len(ids))
			}
		})
	}
}

// REQ-19, REQ-95, REQ-96: limit above the server's page size is clamped,
// and more says so; no limit means the server's page size.
func TestServer_Paging_Clamp(t *testing.T) {
	ts, ids := pagingFixture(t, config{maxPageSize: 100})
	for _, q := range []string{"", "?limit=100", "?limit=101", "?limit=5000", "?limit=99999999999999999999"} {
		t.Run(q, func(t *testing.T) {
			p := getPage(t, ts, "objects", objectsURL(rootEO, collEO)+q)
			if len(p.ids) != 100 || !p.more || p.next == "" {
				t.Errorf("%d items, more %v, next %q; want 100, true and a token", len(p.ids), p.more, p.next)
			}
			if !slices.Equal(p.ids, ids[:len(p.ids)]) {
				t.Error("the clamped page is not the first 100 objects")
			}
		})
	}
}

// INT-04, REQ-98: next tokens are stateless and limit-independent, accept
// requests that drop or repeat the original filters, and refuse changed
// filters, tampering and use on another endpoint or collection.
func TestServer_Paging_NextTokens(t *testing.T) {
	ts, ids := pagingFixture(t, config{})
	objects := objectsURL(rootEO, collEO)
	// The first page: objects 1..10 after ids[0]'s date_added.
	const filters = "match[type]=indicator&added_after=2024-05-01T12:00:00.000000Z&match[version]=last"
	first := getPage(t, ts, "objects", objects+"?limit=10&"+filters)
	if !slices.Equal(first.ids, ids[1:11]) || first.next == "" {
		t.Fatalf("first page %v (next %q), want ids[1:11]", first.ids, first.next)
	}
	next := url.QueryEscape(first.next)
	// Tampered: one base64url character replaced by another.
	tampered := []byte(first.next)
	if mid := len(tampered) / 2; tampered[mid] == 'A' {
		tampered[mid] = 'B'
	} else {
		tampered[mid] = 'A'
	}

	ok := []struct{ name, query string }{
		{"filters dropped (OpenCTI connector)", "next=" + next + "&limit=10"},
		{"filters repeated (OpenCTI platform, taxii2-client)", "next=" + next + "&limit=10&" + filters},
		{"filters repeated in another order and encoding", "match%5Bversion%5D=last&limit=10&next=" + next + "&added_after=2024-05-01T12:00:00Z&match%5Btype%5D=indicator"},
		{"some filters repeated", "next=" + next + "&limit=10&match[type]=indicator"},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			p := getPage(t, ts, "objects", objects+"?"+tt.query)
			if !slices.Equal(p.ids, ids[11:21]) {
				t.Errorf("page %v, want ids[11:21]", p.ids)
			}
		})
	}
	t.Run("without limit: the server's page size", func(t *testing.T) {
		p := getPage(t, ts, "objects", objects+"?next="+next)
		if !slices.Equal(p.ids, ids[11:]) || p.more {
			t.Errorf("page of %d, more %v; want the remaining %d", len(p.ids), p.more, len(ids[11:]))
		}
	})
	t.Run("limit changed", func(t *testing.T) {
		p := getPage(t, ts, "objects", objects+"?limit=3&next="+next)
		if !slices.Equal(p.ids, ids[11:14]) || !p.more {
			t.Errorf("page %v more %v, want ids[11:14] and more", p.ids, p.more)
		}
	})

	other := getPage(t, ts, "manifest", manifestURL(rootEO, collEO)+"?limit=10")
	bad := []struct{ name, url string }{
		{"type changed", objects + "?next=" + next + "&match[type]=malware"},
		{"type widened", objects + "?next=" + next + "&match[type]=indicator,malware"},
		{"added_after changed", objects + "?next=" + next + "&added_after=2024-05-01T12:00:00.000001Z"},
		{"version changed", objects + "?next=" + next + "&match[version]=all"},
		{"id added", objects + "?next=" + next + "&match[id]=" + ids[0]},
		{"tampered", objects + "?next=" + url.QueryEscape(string(tampered))},
		{"truncated", objects + "?next=" + url.QueryEscape(first.next[:len(first.next)-2])},
		{"extended", objects + "?next=" + url.QueryEscape(first.next+"AA")},
		{"padded base64", objects + "?next=" + url.QueryEscape(first.next+"=")},
		{"on the manifest", manifestURL(rootEO, collEO) + "?next=" + next},
		{"on another collection", objectsURL(rootEO, collEO2) + "?next=" + next},
		{"on an object", objectURL(rootEO, collEO, ids[0]) + "?next=" + next},
		{"on versions", versionsURL(rootEO, collEO, ids[0]) + "?next=" + next},
		{"manifest token on objects", objects + "?next=" + url.QueryEscape(other.next)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, ts.get(t, userReader, tt.url), http.StatusBadRequest)
		})
	}
}

// INT-04: a next token outlives the server and the store handle: a new
// Server on the re-opened file accepts it.
func TestServer_Paging_NextAfterRestart(t *testing.T) {
	ts, ids := pagingFixture(t, config{keepStoreOnClose: true})
	first := getPage(t, ts, "objects", objectsURL(rootEO, collEO)+"?limit=10")
	if first.next == "" {
		t.Fatal("no next on the first page")
	}
	closeServer(t, ts)
	if err := ts.db.Close(); err != nil {
		t.Fatal(err)
	}

	ts2 := newTestServerConfig(t, config{path: ts.path})
	p := getPage(t, ts2, "objects", objectsURL(rootEO, collEO)+"?limit=10&next="+url.QueryEscape(first.next))
	if !slices.Equal(p.ids, ids[10:20]) {
		t.Errorf("after restart the token gave %v, want ids[10:20]", p.ids)
	}
}

// REQ-97, REQ-100: a next token stays usable when objects are deleted and
// added in between: nothing already served comes again, and what was added
// later comes at the end.
func TestServer_Paging_ChangesBetweenPages(t *testing.T) {
	ts, ids := pagingFixture(t, config{})
	objects := objectsURL(rootEO, collEO)
	first := getPage(t, ts, "objects", objects+"?limit=100")
	// Delete the rest of the objects, except the last one, and add one.
	for _, id := range ids[100 : pagingObjects-1] {
		checkOK(t, ts.del(t, userPublisher, objectURL(rootEO, collEO, id)), http.StatusOK)
	}
	ts.addObjects(t, collEO, simpleIndicator(1))
	p := getPage(t, ts, "objects", objects+"?limit=100&next="+url.QueryEscape(first.next))
	want := []string{ids[pagingObjects-1], indicatorID(1)}
	if !slices.Equal(p.ids, want) || p.more {
		t.Errorf("page after changes %v (more %v), want %v", p.ids, p.more, want)
	}
	// Each deletion drew a value of the date_added sequence (the change
	// feed's cursor of its tombstone), so the new object comes after them.
	deleted := pagingObjects - 1 - 100
	if want := stamp(added(pagingObjects + deleted)); p.last != want {
		t.Errorf("X-TAXII-Date-Added-Last %s, want %s (the new object's)", p.last, want)
	}
}
