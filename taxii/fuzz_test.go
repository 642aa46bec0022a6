package taxii

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseQuery feeds arbitrary query strings to parseQuery for every
// endpoint's filter set. It must never panic; a refusal is always a TAXII
// 400; an accepted query has a limit in [1, maxPage], UTC times, no empty
// or invalid-UTF-8 match value, and nothing the endpoint does not support.
// An accepted added_after parses to the same instant when its Z is spelled
// +00:00, or +00:00 arrives as " 00:00" (INT-09), and the server's own
// timestamps parse back exactly (REQ-27).
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"",
		"limit=10", "limit=0", "limit=-1", "limit=+5", "limit=abc", "limit=99999999999999999999999", "limit=-99999999999999999999",
		"limit=1&limit=2",
		"added_after=2024-01-01T00:00:00Z", "added_after=2024-01-01T00:00:00.123456789Z",
		"added_after=2024-01-01T00:00:00+00:00", "added_after=2024-01-01T00:00:00%2B00:00", "added_after=2024-01-01T00:00:00-00:00",
		"added_after=2024-01-01T00:00:00-05:00", "added_after=2024-01-01", "added_after=1714564800",
		"added_after=2024-01-01T00:00:00Z&added_after=2024-01-02T00:00:00Z",
		"match[id]=indicator--5d0092c5-5f74-4287-9642-33f4c354e56d,malware--6d0092c5-5f74-4287-9642-33f4c354e56d",
		"match%5Bid%5D=a", "match[id]=", "match[id]=,", "match[id]=a,,b", "match[id]=%FF", "match[id]=a&match%5Bid%5D=b",
		"match[type]=indicator,sighting", "match[type]=indicator&match[type]=malware",
		"match[version]=all", "match[version]=first,last", "match[version]=all,first", "match[version]=last,last",
		"match[version]=2024-01-01T00:00:00.000Z", "match[version]=2024-01-01T00:00:00.000Z,2024-01-01T00:00:00Z", "match[version]=latest",
		"match[spec_version]=2.1,2.0", "match[foo]=bar",
		"next=", "next=abc", "next=a&next=b",
		"a;b", "%zz", "&&&", "=x", "limit",
		"added_after=2024-01-01T00:00:00Z&limit=5&next=eyJ9&match[id]=a&match[type]=b&match[version]=first&match[spec_version]=2.1",
	} {
		for set := range uint8(4) {
			f.Add(s, set, uint16(100))
		}
	}
	sets := []filterSet{objectsFilters, objectFilters, versionsFilters, deleteFilters}
	f.Fuzz(func(t *testing.T, raw string, set uint8, maxPage uint16) {
		fs := sets[int(set)%len(sets)]
		mp := int(maxPage)%5000 + 1
		q, err := parseQuery(raw, fs, mp)
		if err != nil {
			te, ok := err.(*Error)
			if !ok {
				t.Fatalf("%q: error %T %v, want a *Error", raw, err, err)
			}
			if te.Status != http.StatusBadRequest || te.Description == "" {
				t.Fatalf("%q: error %+v, want a 400 with a description", raw, te)
			}
			return
		}
		if q.Limit < 1 || q.Limit > mp {
			t.Fatalf("%q: limit %d outside [1, %d]", raw, q.Limit, mp)
		}
		fl := &q.Filter
		if !fl.AddedAfter.IsZero() && fl.AddedAfter.Location() != time.UTC {
			t.Fatalf("%q: added_after %v is not UTC", raw, fl.AddedAfter)
		}
		for _, at := range fl.Versions.At {
			if at.Location() != time.UTC {
				t.Fatalf("%q: match[version] %v is not UTC", raw, at)
			}
		}
		if fl.Versions.All && (fl.Versions.First || fl.Versions.Last || len(fl.Versions.At) > 0) {
			t.Fatalf("%q: all combined with other versions: %+v", raw, fl.Versions)
		}
		for _, l := range [][]string{fl.IDs, fl.Types, fl.SpecVersions} {
			if len(l) > maxQueryValues {
				t.Fatalf("%q: %d values", raw, len(l))
			}
			for _, v := range l {
				if v == "" || !utf8.ValidString(v) {
					t.Fatalf("%q: match value %q accepted", raw, v)
				}
			}
		}
		if !fs.paging && (q.Limit != mp || q.Next != "" || !fl.AddedAfter.IsZero()) {
			t.Fatalf("%q: paging parameters read on an endpoint without paging: %+v", raw, q)
		}
		if (!fs.id && fl.IDs != nil) || (!fs.typ && fl.Types != nil) || (!fs.specVersion && fl.SpecVersions != nil) || (!fs.version && !fl.Versions.IsZero()) {
			t.Fatalf("%q: a filter the endpoint does not support was read: %+v", raw, fl)
		}

		if fl.AddedAfter.IsZero() {
			return
		}
		// The value as sent, decoded, with Z spelled both other ways.
		aa := fl.AddedAfter
		if s, ok := addedAfterValue(raw); ok && strings.HasSuffix(s, "Z") {
			for _, alt := range []string{strings.TrimSuffix(s, "Z") + "+00:00", strings.TrimSuffix(s, "Z") + " 00:00"} {
				got, err := parseQueryTime(alt)
				if err != nil || !got.Equal(aa) {
					t.Fatalf("%q parses to %v (%v), but %q parsed to %v", alt, got, err, s, aa)
				}
			}
		}
		for _, s := range []string{aa.Format(time.RFC3339Nano), formatTime(aa)} {
			got, err := parseQueryTime(s)
			want := aa
			if s == formatTime(aa) {
				want = aa.Truncate(time.Microsecond)
			}
			if err != nil || !got.Equal(want) || got.Location() != time.UTC {
				t.Fatalf("re-parsing %q: %v (%v), want %v", s, got, err, want)
			}
		}
	})
}

// addedAfterValue returns the decoded added_after of a raw query that
// parseQuery accepted.
func addedAfterValue(raw string) (string, bool) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", false
	}
	v, ok := q["added_after"]
	if !ok || len(v) != 1 {
		return "", false
	}
	return v[0], true
}

// Headers the server must accept, and refuse, whatever their spelling.
var (
	goodAccept = []struct {
		typ    string
		params []string
	}{
		{"application/taxii+json", []string{"version=2.1"}},
		{"application/taxii+json", []string{`version="2.1"`, "charset=utf-8"}},
		{"application/taxii+json", nil},
		{"application/taxii+json", []string{"q=0.5", "version=2.1"}},
		{"application/json", []string{"charset=utf-8"}},
		{"application/*", []string{"q=1"}},
		{"*/*", []string{"q=0.01"}},
	}
	badAccept = []struct {
		typ    string
		params []string
	}{
		{"application/taxii+json", []string{"version=2.0"}},
		{"application/taxii+json", []string{"version=2.1", "q=0"}},
		{"application/taxii+json", []string{"q=0.000", "version=2.1", "charset=utf-8"}},
		{"application/stix+json", []string{"version=2.1"}},
		{"text/html", nil},
		{"application/xml", []string{"q=1"}},
	}
	goodContentType = [][]string{
		{"version=2.1"},
		{"version=2.1", "charset=utf-8"},
		{`version="2.1"`, "charset=UTF-8"},
		nil,
		{"charset=utf-8"},
	}
)

// spell renders a media range: random ASCII case, the parameters shuffled,
// and optional whitespace around the semicolons.
func spell(r *rand.Rand, typ string, params []string) string {
	params = append([]string(nil), params...)
	r.Shuffle(len(params), func(i, j int) { params[i], params[j] = params[j], params[i] })
	ows := func() string { return []string{"", " ", "  ", "\t"}[r.IntN(4)] }
	s := ows() + typ
	for _, p := range params {
		s += ows() + ";" + ows() + p
	}
	return flipCase(r, s+ows())
}

// flipCase changes the case of a random selection of s's ASCII letters.
func flipCase(r *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if r.IntN(2) == 0 {
			continue
		}
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

// FuzzAcceptable checks Accept parsing: it never panics; the answer does
// not depend on the case of ASCII letters or on the order of the media
// ranges; a known-good range, in any case and parameter order, is
// accepted alone and next to arbitrary other ranges; a known-bad one is
// refused.
func FuzzAcceptable(f *testing.F) {
	addHeaderSeeds(f,
		"", " ", ",", ";", "=", "*/*", "application/taxii+json;version=2.1", "APPLICATION/TAXII+JSON; VERSION=2.1",
		"application/taxii+json;version=2.0", "application/taxii+json;version=2.1;q=0", "text/html, application/json;q=0.9",
		"application/taxii+json;q=0.0, */*;q=0", `application/taxii+json;version="2.1"`, "application/taxii+json;;version=2.1;",
		"application/taxii+json;version=2.0;version=2.1", "application/taxii+json;q", "application/taxii+json;=2.1",
		"application/*;q=0.", "\x00", "application/taxii+jſon;version=2.1",
	)
	f.Fuzz(func(t *testing.T, header string, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 1))
		got := acceptable(header)
		sameAnswer(t, "acceptable", acceptable, header, got, flipCase(r, header))
		ranges := strings.Split(header, ",")
		r.Shuffle(len(ranges), func(i, j int) { ranges[i], ranges[j] = ranges[j], ranges[i] })
		sameAnswer(t, "acceptable", acceptable, header, got, strings.Join(ranges, ","))

		g := goodAccept[r.IntN(len(goodAccept))]
		good := spell(r, g.typ, g.params)
		for _, h := range []string{good, header + "," + good, good + " , " + header} {
			if !acceptable(h) {
				t.Fatalf("acceptable(%q) = false", h)
			}
		}
		b := badAccept[r.IntN(len(badAccept))]
		if bad := spell(r, b.typ, b.params); acceptable(bad) {
			t.Fatalf("acceptable(%q) = true", bad)
		}
	})
}

// addHeaderSeeds adds each header to the corpus of a fuzz test of a
// header check, with its length as the seed of the random respellings.
func addHeaderSeeds(f *testing.F, headers ...string) {
	for _, h := range headers {
		f.Add(h, uint64(len(h)))
	}
}

// sameAnswer fails t unless the header check named name answers alt, a
// spelling of header that must not matter, as it answered header: got.
func sameAnswer(t *testing.T, name string, check func(string) bool, header string, got bool, alt string) {
	t.Helper()
	if check(alt) != got {
		t.Fatalf("%s(%q) = %v but %s(%q) = %v", name, header, got, name, alt, !got)
	}
}

// FuzzContentType checks POST Content-Type parsing: it never panics; the
// answer does not depend on the case of ASCII letters, nor on the order of
// parameters when no name repeats; application/taxii+json with version 2.1
// or none, in any case and parameter order, is accepted, and any other
// version or type refused.
func FuzzContentType(f *testing.F) {
	addHeaderSeeds(f,
		"", ";", "application/taxii+json", "application/taxii+json;version=2.1", "Application/TAXII+JSON ; Version=2.1 ; charset=utf-8",
		"application/taxii+json;charset=utf-8;version=2.1", "application/taxii+json;version=2.0", "application/json",
		"application/taxii+json;version=2.1,text/plain", "application/taxii+json;version=2.1;version=2.0", `application/taxii+json;version="2.1`,
		"application/taxii+json;version", "application/taxii+json;=;=", "\xff",
	)
	f.Fuzz(func(t *testing.T, header string, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 2))
		got := taxiiContentType(header)
		sameAnswer(t, "taxiiContentType", taxiiContentType, header, got, flipCase(r, header))
		parts := strings.Split(header, ";")
		names := map[string]bool{}
		unique := true
		for _, p := range parts[1:] {
			k, _, _ := strings.Cut(p, "=")
			k = strings.ToLower(strings.TrimSpace(k))
			if names[k] {
				unique = false
			}
			names[k] = true
		}
		if unique {
			params := parts[1:]
			r.Shuffle(len(params), func(i, j int) { params[i], params[j] = params[j], params[i] })
			sameAnswer(t, "taxiiContentType", taxiiContentType, header, got, strings.Join(parts, ";"))
		}

		good := spell(r, "application/taxii+json", goodContentType[r.IntN(len(goodContentType))])
		if !taxiiContentType(good) {
			t.Fatalf("taxiiContentType(%q) = false", good)
		}
		for _, b := range []struct {
			typ    string
			params []string
		}{
			{"application/taxii+json", []string{"version=2.0", "charset=utf-8"}},
			{"application/taxii+json", []string{"version=", "charset=utf-8"}},
			{"application/json", []string{"version=2.1"}},
			{"application/stix+json", []string{"version=2.1"}},
			{"text/plain", nil},
		} {
			if bad := spell(r, b.typ, b.params); taxiiContentType(bad) {
				t.Fatalf("taxiiContentType(%q) = true", bad)
			}
		}
	})
}
