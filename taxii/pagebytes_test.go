package taxii_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// bigIndicator is indicator n (version modified) padded by a description
// to about size bytes.
func bigIndicator(n int, modified string, size int) string {
	base := indicator(indicatorID(n), "2024-01-01T00:00:00.000Z", modified, fmt.Sprintf("[ipv4-addr:value = '198.51.100.%d']", n%250))
	pad := max(size-len(base)-len(`,"description":""`), 1)
	return base[:len(base)-1] + `,"description":"` + strings.Repeat("y", pad) + `"}`
}

// bigFixture posts 30 indicators of 1 KB to 120 KB, two of 300 KB, then
// twelve versions of one more indicator (n = 999) of 20 to 75 KB, five per
// envelope. It returns the objects as posted, in date_added order: the n-th
// has date_added added(n).
func bigFixture(t *testing.T, maxPageBytes int) (*testServer, []string) {
	t.Helper()
	ts := newTestServerConfig(t, config{maxPageBytes: maxPageBytes, eoMaxContentLen: 4 << 20})
	var all, batch []string
	flush := func() {
		if len(batch) > 0 {
			ts.addObjects(t, collEO, batch...)
			batch = nil
		}
	}
	for i := range 30 {
		size := 1000 + (i*7919)%120000
		if i == 7 || i == 22 {
			size = 300 << 10
		}
		all = append(all, bigIndicator(i, "2024-01-01T00:00:00.000Z", size))
		batch = append(batch, all[len(all)-1])
		if len(batch) == 5 {
			flush()
		}
	}
	flush()
	for v := range 12 {
		all = append(all, bigIndicator(999, fmt.Sprintf("2024-02-01T00:00:%02d.000Z", v), 20000+(v*3331)%55000))
		ts.addObjects(t, collEO, all[len(all)-1])
	}
	return ts, all
}

// REQ-60, REQ-96, REQ-97, REQ-101, INT-06: with a byte cap, walking Get
// Objects through next serves every object exactly once, in date_added
// order, byte for byte as posted; a page holds at most the cap of object
// bytes unless it is one object; a page with more is full (the next one's
// first object would not have fitted, or the limit is reached); and the
// date headers name the first and last object served.
func TestServer_Paging_MaxPageBytes(t *testing.T) {
	for _, maxBytes := range []int{1, 100 << 10, 400 << 10, 0} { // 0: the 8 MiB default
		t.Run(strconv.Itoa(maxBytes), func(t *testing.T) {
			ts, posted := bigFixture(t, maxBytes)
			capBytes := maxBytes
			if capBytes == 0 {
				capBytes = 8 << 20
			}
			// The latest version of every id, in date_added order: only
			// 999's last version (the last posted) is listed.
			want := slices.Clone(posted[:31])
			want[30] = posted[len(posted)-1]
			wantAdded := func(i int) string {
				if i == 30 {
					return stamp(added(len(posted) - 1))
				}
				return stamp(added(i))
			}
			for _, limit := range []int{1, 4, 1000} {
				var got []string
				next, prevBytes, prevFull := "", -1, false
				for page := 0; page <= len(want); page++ {
					u := objectsURL(rootEO, collEO) + "?limit=" + strconv.Itoa(limit)
					if next != "" {
						u += "&next=" + url.QueryEscape(next)
					}
					w := ts.get(t, userReader, u)
					checkOK(t, w, http.StatusOK)
					if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
						t.Fatalf("Content-Length %s for a body of %d bytes", cl, w.Body.Len())
					}
					env := decodeStrict[envelopeResource](t, w.Body.Bytes())
					checkPaging(t, env.More, env.Next, env.More)
					if len(env.Objects) == 0 || len(env.Objects) > limit {
						t.Fatalf("limit %d, page %d: %d objects", limit, page, len(env.Objects))
					}
					if prevBytes >= 0 && !prevFull && prevBytes+len(env.Objects[0]) <= capBytes {
						t.Fatalf("limit %d: page %d had more with %d bytes, yet the next object (%d bytes) fitted under %d",
							limit, page-1, prevBytes, len(env.Objects[0]), capBytes)
					}
					n := 0
					for _, o := range env.Objects {
						n += len(o)
					}
					if n > capBytes && len(env.Objects) > 1 {
						t.Fatalf("limit %d, page %d: %d objects of %d bytes, cap %d", limit, page, len(env.Objects), n, capBytes)
					}
					first, last := len(got), len(got)+len(env.Objects)-1
					for _, o := range env.Objects {
						got = append(got, string(o))
					}
					if last < len(want) {
						if f, l := w.Header().Get("X-TAXII-Date-Added-First"), w.Header().Get("X-TAXII-Date-Added-Last"); f != wantAdded(first) || l != wantAdded(last) {
							t.Fatalf("limit %d, page %d: date headers %s .. %s, want %s .. %s (REQ-101)", limit, page, f, l, wantAdded(first), wantAdded(last))
						}
					}
					if !env.More {
						break
					}
					next, prevBytes, prevFull = env.Next, n, len(env.Objects) == limit
				}
				if len(got) != len(want) {
					t.Fatalf("limit %d: served %d objects, want %d", limit, len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("limit %d: object %d (%d bytes) is not posted object %d (%d bytes) as posted (REQ-60, REQ-97)", limit, i, len(got[i]), i, len(want[i]))
					}
				}
			}

			// REQ-99: added_after = the previous X-TAXII-Date-Added-Last
			// continues a byte-capped listing too.
			var got []string
			after := ""
			for range len(want) + 1 {
				u := objectsURL(rootEO, collEO)
				if after != "" {
					u += "?added_after=" + after
				}
				w := ts.get(t, userReader, u)
				checkOK(t, w, http.StatusOK)
				if w.Body.String() == "{}" {
					break
				}
				env := decodeStrict[envelopeResource](t, w.Body.Bytes())
				for _, o := range env.Objects {
					got = append(got, string(o))
				}
				after = w.Header().Get("X-TAXII-Date-Added-Last")
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("added_after walk served %d objects, want the %d posted, each once, in order (REQ-99)", len(got), len(want))
			}

			// The versions of 999, through Get an Object
			// (match[version]=all) and Get Object Versions.
			var objs []string
			followNext(t, len(posted), objectURL(rootEO, collEO, indicatorID(999))+"?match[version]=all", func(u string) (bool, string) {
				w := ts.get(t, userReader, u)
				checkOK(t, w, http.StatusOK)
				env := decodeStrict[envelopeResource](t, w.Body.Bytes())
				if maxBytes == 1 && len(env.Objects) != 1 {
					t.Errorf("cap of 1 byte: a page of %d versions", len(env.Objects))
				}
				for _, o := range env.Objects {
					objs = append(objs, string(o))
				}
				return env.More, env.Next
			})
			if strings.Join(objs, "\n") != strings.Join(posted[30:], "\n") {
				t.Errorf("Get an Object served %d versions, want the 12 posted, in order", len(objs))
			}
			var versions []string
			followNext(t, len(posted), versionsURL(rootEO, collEO, indicatorID(999)), func(u string) (bool, string) {
				w := ts.get(t, userReader, u)
				checkOK(t, w, http.StatusOK)
				v := decodeStrict[versionsResource](t, w.Body.Bytes())
				if maxBytes == 1 && len(v.Versions) != 1 {
					t.Errorf("cap of 1 byte: a versions page of %d", len(v.Versions))
				}
				versions = append(versions, v.Versions...)
				return v.More, v.Next
			})
			if len(versions) != 12 || versions[0] != "2024-02-01T00:00:00.000Z" || versions[11] != "2024-02-01T00:00:11.000Z" {
				t.Errorf("versions %v, want the 12 posted in order", versions)
			}

			// The manifest: at a cap of 1 byte one record per page; else
			// records are small and the whole manifest is one page.
			var ids []string
			followNext(t, len(posted), manifestURL(rootEO, collEO), func(u string) (bool, string) {
				p := getPage(t, ts, "manifest", u)
				if maxBytes == 1 && len(p.ids) != 1 || maxBytes != 1 && p.more {
					t.Errorf("cap %d: a manifest page of %d records, more %v", maxBytes, len(p.ids), p.more)
				}
				ids = append(ids, p.ids...)
				return p.more, p.next
			})
			if len(ids) != 31 || ids[0] != indicatorID(0) || ids[30] != indicatorID(999) {
				t.Errorf("manifest walk listed %d records, want the 31 objects once each", len(ids))
			}
		})
	}
}

// followNext walks a listing through next: it hands get the URL of the
// first page, base, then base with each next token, for at most pages
// pages or until a page has no more. get fetches the page and returns its
// more and next, which must come together (INT-06).
func followNext(t *testing.T, pages int, base string, get func(u string) (more bool, next string)) {
	t.Helper()
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	u := base
	for range pages {
		more, next := get(u)
		checkPaging(t, more, next, more)
		if !more {
			return
		}
		u = base + sep + "next=" + url.QueryEscape(next)
	}
}

// REQ-60, REQ-61: over a real connection, the streamed envelope is the
// objects byte for byte as posted, in one body of the announced
// Content-Length; an empty collection is {}.
func TestServer_GetObjects_Streamed(t *testing.T) {
	ts, posted := bigFixture(t, 0)
	srv := httptest.NewServer(ts)
	defer srv.Close()
	get := func(coll string) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+objectsURL(rootEO, coll), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", basic(userReader))
		req.Header.Set("Accept", mediaTAXII)
		return roundTrip(t, srv.Client(), req)
	}
	resp, body := get(collEO)
	latest := append(slices.Clone(posted[:30]), posted[len(posted)-1])
	if want := `{"more":false,"objects":[` + strings.Join(latest, ",") + `]}`; string(body) != want {
		t.Errorf("body of %d bytes is not the %d bytes of the posted objects' envelope", len(body), len(want))
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(body)) || resp.Header.Get("Content-Type") != mediaTAXII {
		t.Errorf("status %d, Content-Length %d for %d bytes, Content-Type %q", resp.StatusCode, resp.ContentLength, len(body), resp.Header.Get("Content-Type"))
	}
	if resp, body = get(collEO2); string(body) != "{}" || resp.StatusCode != http.StatusOK {
		t.Errorf("empty collection: %d %q, want 200 {} (REQ-61)", resp.StatusCode, body)
	}
}
