package taxii_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/client"
)

// posted is one object version as the fixture posted it.
type posted struct {
	raw       string
	id        string
	version   string // as the manifest and versions report it
	dateAdded time.Time
}

const (
	v1 = "2024-01-01T00:00:00.000Z"
	v2 = "2024-02-01T00:00:00.000Z"
	v3 = "2024-03-01T00:00:00.000Z"
	// ind2Modified keeps µs precision, which must survive (REQ-60).
	ind2Modified = "2024-01-15T10:00:00.123456Z"
)

// ind2 is an indicator whose pattern has '>', '<' and '&', which must not
// come back as \u003e, \u003c, \u0026 (REQ-60), with custom properties
// whose numbers and escapes must survive untouched.
var ind2 = `{"type":"indicator","spec_version":"2.1","id":"` + indicatorID(2) + `","created":"2024-01-15T10:00:00.000Z","modified":"` + ind2Modified + `",` +
	`"name":"Large <script> & co","pattern":"[file:size > 1024] AND [file:name = 'a<b&c.exe']","pattern_type":"stix","valid_from":"2024-01-15T10:00:00Z",` +
	`"x_big_number":12345678901234567890,"x_float":1.10,"x_escaped":"\u00e9\/"}`

// objectsFixture posts, in three requests to election-officials'
// collection:
//
//	[0] ind1 v1   [1] ind2   [2] marking     (one envelope)
//	[3] ind1 v3   [4] ipv4                    (a second one)
//	[5] ind1 v2                               (older than v3, added later: REQ-105)
//
// The index is also the order of date_added.
func objectsFixture(t *testing.T) (*testServer, []posted) {
	t.Helper()
	ts := newTestServer(t)
	id1 := indicatorID(1)
	pat := "[ipv4-addr:value = '198.51.100.1']"
	objs := []posted{
		{indicator(id1, v1, v1, pat), id1, v1, added(0)},
		{ind2, indicatorID(2), ind2Modified, added(1)},
		{marking, markingID, "2024-01-01T00:00:00.000Z", added(2)},
		{indicator(id1, v1, v3, pat), id1, v3, added(3)},
		{ipv4, ipv4ID, stamp(added(4)), added(4)}, // REQ-107: an SCO's version is its first date_added
		{indicator(id1, v1, v2, pat), id1, v2, added(5)},
	}
	ts.addObjects(t, collEO, objs[0].raw, objs[1].raw, objs[2].raw)
	ts.addObjects(t, collEO, objs[3].raw, objs[4].raw)
	ts.addObjects(t, collEO, objs[5].raw)
	return ts, objs
}

// pick returns the fixture objects at the given positions.
func pick(objs []posted, pos ...int) []posted {
	var out []posted
	for _, p := range pos {
		out = append(out, objs[p])
	}
	return out
}

// checkEnvelope checks a Get Objects or Get an Object response: the
// objects, byte for byte as posted, in date_added order (REQ-60, REQ-63),
// the date headers (REQ-101) and the empty envelope {} (REQ-61). emptyHdr
// is the date header value expected on an empty page (AMB-02).
func checkEnvelope(t *testing.T, body []byte, h http.Header, want []posted, more bool, emptyHdr time.Time) client.Envelope {
	t.Helper()
	if len(want) == 0 {
		if string(body) != "{}" {
			t.Errorf("body %s, want {} (REQ-61)", body)
		}
		checkDateHeaders(t, h, emptyHdr, emptyHdr)
		return client.Envelope{}
	}
	env := decodeStrict[client.Envelope](t, body)
	if len(env.Objects) != len(want) {
		t.Fatalf("%d objects %v, want %d", len(env.Objects), objectKeys(t, env.Objects), len(want))
	}
	for i, raw := range env.Objects {
		if string(raw) != want[i].raw {
			t.Errorf("objects[%d] =\n%s\nwant (byte for byte, REQ-60)\n%s", i, raw, want[i].raw)
		}
	}
	checkPaging(t, env.More, env.Next, more)
	checkDateHeaders(t, h, want[0].dateAdded, want[len(want)-1].dateAdded)
	return env
}

// checkPaging checks more and next together (INT-06).
func checkPaging(t testing.TB, more bool, next string, wantMore bool) {
	t.Helper()
	if more != wantMore {
		t.Errorf("more = %v, want %v", more, wantMore)
	}
	if more != (next != "") {
		t.Errorf("more = %v with next %q: next must come exactly with more (INT-06)", more, next)
	}
}

// checkManifest is checkEnvelope for the manifest (REQ-54..57).
func checkManifest(t *testing.T, body []byte, h http.Header, want []posted, more bool, emptyHdr time.Time) {
	t.Helper()
	if len(want) == 0 {
		if string(body) != "{}" {
			t.Errorf("body %s, want {} (REQ-57)", body)
		}
		checkDateHeaders(t, h, emptyHdr, emptyHdr)
		return
	}
	m := decodeStrict[client.Manifest](t, body)
	var got, exp []client.ManifestRecord
	for _, r := range m.Objects {
		got = append(got, r)
		if !taxiiTimestamp.MatchString(r.DateAdded) {
			t.Errorf("date_added %q is not a TAXII timestamp (REQ-27)", r.DateAdded)
		}
	}
	for _, p := range want {
		exp = append(exp, client.ManifestRecord{ID: p.id, DateAdded: stamp(p.dateAdded), Version: p.version, MediaType: "application/stix+json;version=2.1"})
	}
	if !slices.Equal(got, exp) {
		t.Errorf("manifest records\n%+v\nwant\n%+v", got, exp)
	}
	checkPaging(t, m.More, m.Next, more)
	checkDateHeaders(t, h, want[0].dateAdded, want[len(want)-1].dateAdded)
}

// REQ-61, AMB-02: an empty collection is 200 {} without date headers, or
// with both set to added_after when it was given.
func TestServer_GetObjects_Empty(t *testing.T) {
	ts := newTestServer(t)
	for _, u := range []string{objectsURL(rootEO, collEO2), manifestURL(rootEO, collEO2)} {
		for _, q := range []struct {
			query string
			hdr   time.Time
		}{
			{"", time.Time{}},
			{"?match[type]=indicator", time.Time{}},
			{"?added_after=2024-01-02T03:04:05.678Z", time.Date(2024, 1, 2, 3, 4, 5, 678000000, time.UTC)},
			{"?added_after=2024-01-02T03:04:05%2B00:00", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		} {
			w := ts.get(t, userReader, u+q.query)
			checkOK(t, w, http.StatusOK)
			if w.Body.String() != "{}" {
				t.Errorf("GET %s%s: %s, want {} (REQ-61)", u, q.query, w.Body)
			}
			checkDateHeaders(t, w.Header(), q.hdr, q.hdr)
		}
	}
}

// REQ-55, REQ-56, REQ-60..63, REQ-87..92, REQ-101, REQ-105, INT-10: the
// filters of Get Objects and the manifest, over the same fixture.
func TestServer_GetObjects_Filters(t *testing.T) {
	ts, objs := objectsFixture(t)
	id1, id2 := indicatorID(1), indicatorID(2)
	tests := []struct {
		name, query string
		want        []int
		more        bool
		emptyHdr    time.Time // date headers of an empty page
	}{
		{"latest of each by default (REQ-62)", "", []int{1, 2, 3, 4}, false, time.Time{}},
		{"type", "match[type]=indicator", []int{1, 3}, false, time.Time{}},
		{"type with encoded brackets (INT-10)", "match%5Btype%5D=indicator", []int{1, 3}, false, time.Time{}},
		{"types OR'ed (REQ-88)", "match[type]=indicator,ipv4-addr", []int{1, 3, 4}, false, time.Time{}},
		{"type without objects (REQ-89)", "match[type]=malware", nil, false, time.Time{}},
		{"type is exact, not a prefix (REQ-89)", "match[type]=indic", nil, false, time.Time{}},
		{"type and id AND'ed (REQ-88)", "match[type]=indicator&match[id]=" + id2, []int{1}, false, time.Time{}},
		{"type and id disjoint", "match[type]=marking-definition&match[id]=" + id2, nil, false, time.Time{}},
		{"id", "match[id]=" + id1, []int{3}, false, time.Time{}},
		{"ids", "match[id]=" + id1 + "," + markingID, []int{2, 3}, false, time.Time{}},
		{"id, all versions in date_added order (REQ-105)", "match[id]=" + id1 + "&match[version]=all", []int{0, 3, 5}, false, time.Time{}},
		{"id, first", "match[id]=" + id1 + "&match[version]=first", []int{0}, false, time.Time{}},
		{"first", "match[version]=first", []int{0, 1, 2, 4}, false, time.Time{}},
		{"last is the greatest modified, not the last added (REQ-105)", "match[version]=last", []int{1, 2, 3, 4}, false, time.Time{}},
		{"first,last", "match[version]=first,last", []int{0, 1, 2, 3, 4}, false, time.Time{}},
		{"all", "match[version]=all", []int{0, 1, 2, 3, 4, 5}, false, time.Time{}},
		{"version timestamp", "match[version]=" + v2, []int{5}, false, time.Time{}},
		{"version timestamp, other precision", "match[version]=2024-02-01T00:00:00Z", []int{5}, false, time.Time{}},
		{"version timestamp, +00:00", "match[version]=2024-02-01T00:00:00.000000%2B00:00", []int{5}, false, time.Time{}},
		{"version µs timestamp", "match[version]=" + ind2Modified, []int{1}, false, time.Time{}},
		{"version created of an unversioned object", "match[version]=2024-01-01T00:00:00Z&match[type]=marking-definition", []int{2}, false, time.Time{}},
		{"version of an SCO is its date_added (REQ-107)", "match[version]=" + stamp(added(4)), []int{4}, false, time.Time{}},
		{"version union (REQ-90)", "match[version]=first," + v2 + ",last&match[id]=" + id1, []int{0, 3, 5}, false, time.Time{}},
		{"version matching nothing", "match[version]=2023-01-01T00:00:00Z", nil, false, time.Time{}},
		{"spec_version 2.1 (SCO without it counts as 2.1)", "match[spec_version]=2.1", []int{1, 2, 3, 4}, false, time.Time{}},
		{"spec_version 2.0 (REQ-91)", "match[spec_version]=2.0", nil, false, time.Time{}},
		{"spec_version list", "match[spec_version]=2.0,2.1&match[version]=all", []int{0, 1, 2, 3, 4, 5}, false, time.Time{}},
		{"added_after is exclusive (REQ-87)", "added_after=" + stamp(added(2)), []int{3, 4}, false, time.Time{}},
		{"added_after, all versions", "added_after=" + stamp(added(2)) + "&match[version]=all", []int{3, 4, 5}, false, time.Time{}},
		{"added_after never looks at modified (REQ-87)", "added_after=2025-01-01T00:00:00Z", nil, false, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"added_after past the last (AMB-02)", "added_after=" + stamp(added(5)), nil, false, added(5)},
		{"added_after and type", "added_after=" + stamp(added(0)) + "&match[type]=indicator&match[version]=all", []int{1, 3, 5}, false, time.Time{}},
		{"unknown match field ignored (REQ-92)", "match[foo]=bar", []int{1, 2, 3, 4}, false, time.Time{}},
		{"unknown match field with others", "match[foo]=bar&match[type]=indicator", []int{1, 3}, false, time.Time{}},
		{"unknown parameter ignored", "foo=bar&match=x", []int{1, 2, 3, 4}, false, time.Time{}},
		{"empty next is no next (INT-10)", "next=", []int{1, 2, 3, 4}, false, time.Time{}},
		{"limit", "limit=2", []int{1, 2}, true, time.Time{}},
		{"limit equal to the count (REQ-95)", "limit=4", []int{1, 2, 3, 4}, false, time.Time{}},
		{"limit above the count", "limit=5", []int{1, 2, 3, 4}, false, time.Time{}},
		{"limit and all", "limit=5&match[version]=all", []int{0, 1, 2, 3, 4}, true, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := objectsURL(rootEO, collEO) + "?" + tt.query
			w := ts.get(t, userReader, u)
			checkOK(t, w, http.StatusOK)
			checkEnvelope(t, w.Body.Bytes(), w.Header(), pick(objs, tt.want...), tt.more, tt.emptyHdr)

			// The manifest applies the same filters to the same versions
			// (REQ-55, REQ-56). By alias too.
			for _, coll := range []string{collEO, aliasEO} {
				w = ts.get(t, userReader, manifestURL(rootEO, coll)+"?"+tt.query)
				checkOK(t, w, http.StatusOK)
				checkManifest(t, w.Body.Bytes(), w.Header(), pick(objs, tt.want...), tt.more, tt.emptyHdr)
			}
		})
	}
}

// REQ-60: what is served is the stored bytes; gin's JSON rendering would
// escape '>' in patterns.
func TestServer_GetObjects_Verbatim(t *testing.T) {
	ts, _ := objectsFixture(t)
	for _, u := range []string{
		objectsURL(rootEO, collEO) + "?match[id]=" + indicatorID(2),
		objectURL(rootEO, collEO, indicatorID(2)),
	} {
		w := ts.get(t, userReader, u)
		checkOK(t, w, http.StatusOK)
		for _, want := range []string{`[file:size > 1024] AND [file:name = 'a<b&c.exe']`, `"x_big_number":12345678901234567890`, `"x_float":1.10`, `"x_escaped":"\u00e9\/"`, `"` + ind2Modified + `"`} {
			if !strings.Contains(w.Body.String(), want) {
				t.Errorf("GET %s: body lacks %s:\n%s", u, want, w.Body)
			}
		}
		if strings.Contains(w.Body.String(), `\u003e`) {
			t.Errorf("GET %s: '>' was escaped: %s", u, w.Body)
		}
	}
}

// INT-09, REQ-87: added_after takes 0 to 9 fractional digits, Z or +00:00,
// and an unencoded '+' (which a query string decodes to a space).
func TestServer_GetObjects_AddedAfterForms(t *testing.T) {
	ts, objs := objectsFixture(t)
	tests := []struct {
		value string
		want  []int
	}{
		{"2024-05-01T12:00:00Z", []int{1, 2, 3, 4, 5}},
		{"2024-05-01T12:00:00.0Z", []int{1, 2, 3, 4, 5}},
		{"2024-05-01T12:00:00.000Z", []int{1, 2, 3, 4, 5}},
		{"2024-05-01T12:00:00.000001Z", []int{2, 3, 4, 5}},
		{"2024-05-01T12:00:00.000002Z", []int{3, 4, 5}},
		{"2024-05-01T12:00:00.0000020Z", []int{3, 4, 5}},
		{"2024-05-01T12:00:00.000002000Z", []int{3, 4, 5}},
		{"2024-05-01T12:00:00.0000025Z", []int{3, 4, 5}}, // sub-µs: the next µs is later
		{"2024-05-01T12:00:00.000001999Z", []int{2, 3, 4, 5}},
		{"2024-05-01T11:59:59.999999999Z", []int{0, 1, 2, 3, 4, 5}},
		{"2024-05-01T12:00:00.000002%2B00:00", []int{3, 4, 5}},
		{"2024-05-01T12:00:00.000002+00:00", []int{3, 4, 5}}, // '+' arrives as ' '
		{"2024-05-01T12:00:00.000002%2000:00", []int{3, 4, 5}},
		{"2024-05-01T12:00:00+00:00", []int{1, 2, 3, 4, 5}},
		{"1970-01-01T00:00:00Z", []int{0, 1, 2, 3, 4, 5}},
		{"1900-01-01T00:00:00Z", []int{0, 1, 2, 3, 4, 5}}, // before the epoch
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			w := ts.get(t, userReader, objectsURL(rootEO, collEO)+"?match[version]=all&added_after="+tt.value)
			checkOK(t, w, http.StatusOK)
			checkEnvelope(t, w.Body.Bytes(), w.Header(), pick(objs, tt.want...), false, time.Time{})
		})
	}
}

// REQ-22, INT-09: malformed query parameters are a 400 TAXII error, never a
// 500, on every endpoint that takes them.
func TestServer_MalformedQuery(t *testing.T) {
	ts, _ := objectsFixture(t)
	id1 := indicatorID(1)
	// objects, manifest and object take every parameter below except the
	// match[...] that object ignores; versions takes only paging ones.
	const (
		paging   = iota // limit, added_after, next: every GET endpoint
		match           // match[version]: objects, manifest, object and delete
		listOnly        // match[type]/[id]: objects and manifest
	)
	tests := []struct {
		query string
		kind  int
	}{
		{"limit=0", paging},
		{"limit=-1", paging},
		{"limit=abc", paging},
		{"limit=1.5", paging},
		{"limit=", paging},
		{"limit=1e3", paging},
		{"limit=-99999999999999999999", paging},
		{"limit=1&limit=2", paging},
		{"added_after=garbage", paging},
		{"added_after=", paging},
		{"added_after=2024-05-01", paging},
		{"added_after=2024-05-01T12:00:00", paging},
		{"added_after=2024-05-01T12:00:00%2B01:00", paging},
		{"added_after=2024-05-01T12:00:00.000000-05:00", paging},
		{"added_after=2024-13-01T00:00:00Z", paging},
		{"added_after=2024-05-01T25:00:00Z", paging},
		{"added_after=Wed%20May%2001%202024%2012:00:00%20GMT", paging}, // JS Date.toString()
		{"added_after=1714564800", paging},
		{"added_after=2024-05-01T12:00:00.1234567891Z", paging}, // 10 fractional digits

		{"added_after=2024-05-01T12:00:00Z&added_after=2024-05-01T12:00:00Z", paging},
		{"added_after=2024-05-01T12:00:00Z&added_after=2024-06-01T12:00:00Z", paging},
		{"added_after=2024-05-01T12:00:00Z&added%5Fafter=2024-05-01T12:00:00Z", paging},
		{"next=garbage!", paging},
		{"next=AAAA", paging},
		{"next=eyJrIjoib2JqZWN0cyJ9", paging}, // {"k":"objects"}, unsigned
		{"next=a&next=b", paging},
		{"match[version]=all,last", match},
		{"match[version]=first,all", match},
		{"match[version]=last,last", match},
		{"match[version]=" + v2 + "," + v2, match},
		{"match[version]=bogus", match},
		{"match[version]=", match},
		{"match[version]=first,", match},
		{"match[version]=2024-02-30T00:00:00Z", match},
		{"match[version]=2024-02-01T00:00:00%2B02:00", match},
		{"match[version]=all&match[version]=all", match},
		{"match[version]=last&match%5Bversion%5D=last", match},
		{"match[spec_version]=2.1&match[spec_version]=2.1", match},
		{"match[type]=indicator&match[type]=malware", listOnly},
		{"match[type]=indicator&match%5Btype%5D=indicator", listOnly},
		{"match[id]=" + id1 + "&match[id]=" + id1, listOnly},
		{"match[type]=", listOnly},
		{"match[foo]=a&match[foo]=b", listOnly},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			urls := []string{objectsURL(rootEO, collEO), manifestURL(rootEO, collEO)}
			switch tt.kind {
			case paging:
				urls = append(urls, objectURL(rootEO, collEO, id1), versionsURL(rootEO, collEO, id1))
			case match:
				urls = append(urls, objectURL(rootEO, collEO, id1))
			}
			for _, u := range urls {
				checkError(t, ts.get(t, userReader, u+"?"+tt.query), http.StatusBadRequest)
			}
			if tt.kind == match {
				checkError(t, ts.del(t, userPublisher, objectURL(rootEO, collEO, id1)+"?"+tt.query), http.StatusBadRequest)
			}
		})
	}
	// Nothing was deleted by the refused requests.
	w := ts.get(t, userReader, versionsURL(rootEO, collEO, id1))
	if v := decodeStrict[client.Versions](t, w.Body.Bytes()).Versions; len(v) != 3 {
		t.Errorf("versions after refused deletes: %q, want 3", v)
	}
}

// REQ-75..78, REQ-86, INT-08: Get an Object.
func TestServer_GetObject(t *testing.T) {
	ts, objs := objectsFixture(t)
	id1 := indicatorID(1)
	tests := []struct {
		name, query string
		want        []int
		more        bool
		emptyHdr    time.Time
	}{
		{"latest (REQ-75)", "", []int{3}, false, time.Time{}},
		{"all, in date_added order", "match[version]=all", []int{0, 3, 5}, false, time.Time{}},
		{"first", "match[version]=first", []int{0}, false, time.Time{}},
		{"last", "match[version]=last", []int{3}, false, time.Time{}},
		{"timestamp", "match[version]=" + v2, []int{5}, false, time.Time{}},
		{"union", "match[version]=" + v2 + ",first", []int{0, 5}, false, time.Time{}},
		{"filters select nothing: empty envelope (REQ-76)", "match[version]=2023-01-01T00:00:00Z", nil, false, time.Time{}},
		{"spec_version 2.0", "match[spec_version]=2.0", nil, false, time.Time{}},
		{"match[type] ignored (REQ-78)", "match[type]=malware", []int{3}, false, time.Time{}},
		{"match[id] ignored (REQ-78)", "match[id]=" + indicatorID(2), []int{3}, false, time.Time{}},
		{"added_after", "added_after=" + stamp(added(0)) + "&match[version]=all", []int{3, 5}, false, time.Time{}},
		{"added_after past the latest", "added_after=" + stamp(added(3)), nil, false, added(3)},
		{"limit", "limit=2&match[version]=all", []int{0, 3}, true, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ts.get(t, userReader, objectURL(rootEO, collEO, id1)+"?"+tt.query)
			checkOK(t, w, http.StatusOK)
			checkEnvelope(t, w.Body.Bytes(), w.Header(), pick(objs, tt.want...), tt.more, tt.emptyHdr)
		})
	}
	t.Run("SCO and marking", func(t *testing.T) {
		for _, p := range []posted{objs[4], objs[2]} {
			w := ts.get(t, userReader, objectURL(rootEO, collEO, p.id))
			checkOK(t, w, http.StatusOK)
			checkEnvelope(t, w.Body.Bytes(), w.Header(), []posted{p}, false, time.Time{})
		}
	})
	// INT-08, REQ-76, REQ-86, REQ-83: an object the collection does not
	// hold is a 404 on object, versions and delete, also when another
	// collection holds it.
	for _, u := range []string{
		objectURL(rootEO, collEO, indicatorID(99)),
		objectURL(rootEO, collEO2, id1),
		objectURL(rootEO, collEO, "not-an-id"),
	} {
		checkError(t, ts.get(t, userReader, u), http.StatusNotFound)
		checkError(t, ts.get(t, userReader, u+"versions/"), http.StatusNotFound)
		checkError(t, ts.del(t, userPublisher, u), http.StatusNotFound)
	}
}

// REQ-84, REQ-85, REQ-101: versions lists every version ascending by
// date_added (not by modified), with paging and spec_version.
func TestServer_Versions(t *testing.T) {
	ts, objs := objectsFixture(t)
	id1 := indicatorID(1)
	tests := []struct {
		name, id, query string
		want            []int
		more            bool
		emptyHdr        time.Time
	}{
		{"every version, by date_added", id1, "", []int{0, 3, 5}, false, time.Time{}},
		{"match[version] does not apply (REQ-84)", id1, "match[version]=last", []int{0, 3, 5}, false, time.Time{}},
		{"added_after", id1, "added_after=" + stamp(added(0)), []int{3, 5}, false, time.Time{}},
		{"added_after past the last", id1, "added_after=" + stamp(added(5)), nil, false, added(5)},
		{"limit", id1, "limit=2", []int{0, 3}, true, time.Time{}},
		{"spec_version 2.1", id1, "match[spec_version]=2.1", []int{0, 3, 5}, false, time.Time{}},
		{"spec_version 2.0", id1, "match[spec_version]=2.0", nil, false, time.Time{}},
		{"SCO", ipv4ID, "", []int{4}, false, time.Time{}},
		{"marking", markingID, "", []int{2}, false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ts.get(t, userReader, versionsURL(rootEO, collEO, tt.id)+"?"+tt.query)
			checkOK(t, w, http.StatusOK)
			want := pick(objs, tt.want...)
			if len(want) == 0 {
				if w.Body.String() != "{}" {
					t.Errorf("body %s, want {}", w.Body)
				}
				checkDateHeaders(t, w.Header(), tt.emptyHdr, tt.emptyHdr)
				return
			}
			res := decodeStrict[client.Versions](t, w.Body.Bytes())
			var wantVersions []string
			for _, p := range want {
				wantVersions = append(wantVersions, p.version)
			}
			if !slices.Equal(res.Versions, wantVersions) {
				t.Errorf("versions %q, want %q (REQ-85)", res.Versions, wantVersions)
			}
			checkPaging(t, res.More, res.Next, tt.more)
			checkDateHeaders(t, w.Header(), want[0].dateAdded, want[len(want)-1].dateAdded)
		})
	}
}

// REQ-73, REQ-104, REQ-106, REQ-67: once complete, the stored objects are
// visible everywhere; a duplicate post stores nothing and keeps date_added.
func TestServer_AddedObjectsVisible(t *testing.T) {
	ts, objs := objectsFixture(t)
	before := ts.get(t, userReader, manifestURL(rootEO, collEO)+"?match[version]=all").Body.String()
	st := ts.addObjects(t, collEO, objs[0].raw, objs[4].raw, objs[5].raw)
	if st.SuccessCount != 3 {
		t.Errorf("duplicates: %+v, want 3 successes (REQ-67)", st)
	}
	after := ts.get(t, userReader, manifestURL(rootEO, collEO)+"?match[version]=all").Body.String()
	if before != after {
		t.Errorf("a duplicate post changed the manifest (REQ-67, REQ-106):\nbefore %s\nafter  %s", before, after)
	}
	w := ts.get(t, userReader, objectsURL(rootEO, collEO)+"?match[id]="+indicatorID(1)+"&match[version]=all")
	if n := len(decodeStrict[client.Envelope](t, w.Body.Bytes()).Objects); n != 3 {
		t.Errorf("%d versions of ind1 after re-posting, want 3, each once (REQ-104)", n)
	}
	if !bytes.Contains([]byte(after), []byte(ipv4ID)) {
		t.Errorf("manifest lacks the SCO: %s", after)
	}
	var m client.Manifest
	if err := json.Unmarshal([]byte(after), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Objects) != len(objs) {
		t.Errorf("%d manifest records, want %d", len(m.Objects), len(objs))
	}
}
