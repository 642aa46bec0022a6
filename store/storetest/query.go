package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Version instants of the small fixture.
var (
	tv1 = created.Add(1 * time.Hour)
	tv2 = created.Add(2 * time.Hour)
	tv3 = created.Add(3 * time.Hour)
)

// Positions of the small fixture's versions, in the order they were posted,
// which is also their date_added order: version n has date_added
// dateAdded(n).
const (
	ind1v1 = iota // indicator 1 @tv1
	ind2v1        // indicator 2 @tv1
	mal1v1        // malware 1 @tv1
	ind1v2        // indicator 1 @tv2
	sco1          // ipv4-addr, unversioned
	ind3v2        // indicator 3 @tv2
	mal1v2        // malware 1 @tv2
	ind1v3        // indicator 1 @tv3
	ind3v1        // indicator 3 @tv1: older, posted last (REQ-105)
)

var (
	ind1 = stixID("indicator", 1)
	ind2 = stixID("indicator", 2)
	ind3 = stixID("indicator", 3)
	mal1 = stixID("malware", 1)
	ip1  = stixID("ipv4-addr", 1)
)

// fixture is a collection whose versions exercise every filter, posted in
// three requests with a frozen clock.
type fixture struct {
	*DB
	objs []store.Object // by position
	want []rv           // (id, version) by position
}

func (s *suite) newFixture(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{DB: s.MustOpenDB(tb)}
	f.MustCollection(tb, apiRoot, collA)
	f.MustCollection(tb, apiRoot, collB)
	f.objs = []store.Object{
		ind1v1: indicator(tb, ind1, tv1),
		ind2v1: indicator(tb, ind2, tv1),
		mal1v1: malware(tb, mal1, tv1),
		ind1v2: indicator(tb, ind1, tv2),
		sco1:   ipv4(tb, ip1, "198.51.100.7"),
		ind3v2: indicator(tb, ind3, tv2),
		mal1v2: malware(tb, mal1, tv2),
		ind1v3: indicator(tb, ind1, tv3),
		ind3v1: indicator(tb, ind3, tv1),
	}
	for i := 0; i < len(f.objs); i += 3 {
		f.MustAdd(tb, collA, f.objs[i:i+3]...)
	}
	for i, o := range f.objs {
		r := rvOf(o)
		if i == sco1 {
			r.Version = dateAdded(sco1).Format(store.TimestampLayout)
		}
		f.want = append(f.want, r)
	}
	return f
}

func (f *fixture) rvs(pos ...int) []rv {
	out := make([]rv, len(pos))
	for i, p := range pos {
		out[i] = f.want[p]
	}
	return out
}

// check compares records with the fixture versions at pos: identity, order,
// date_added, media type, and the bytes (verbatim when withRaw, else nil).
func (f *fixture) check(tb testing.TB, recs []store.Record, withRaw bool, pos ...int) {
	tb.Helper()
	if got, want := rvs(recs), f.rvs(pos...); !slices.Equal(got, want) {
		tb.Errorf("records = %v\nwant      %v", got, want)
		return
	}
	for i, r := range recs {
		p := pos[i]
		if !r.DateAdded.Equal(dateAdded(p)) {
			tb.Errorf("%v: date_added = %s, want %s", f.want[p], r.DateAdded, dateAdded(p))
		}
		if r.MediaType != store.MediaTypeSTIX21 || r.SpecVersion != "2.1" {
			tb.Errorf("%v: media_type %q spec_version %q", f.want[p], r.MediaType, r.SpecVersion)
		}
		if withRaw && !bytes.Equal(r.Raw, f.objs[p].Raw) {
			tb.Errorf("%v: raw = %s\nwant %s", f.want[p], r.Raw, f.objs[p].Raw)
		}
		if !withRaw && r.Raw != nil {
			tb.Errorf("%v: manifest record has raw bytes", f.want[p])
		}
	}
}

func all() store.VersionSet { return store.VersionSet{All: true} }

// Filters of Get Objects and Get Object Manifests (REQ-54..57, REQ-62,
// REQ-63, REQ-87..91, REQ-105), one fixture, both endpoints.
func (s *suite) TestDB_FindObjects(t *testing.T) {
	f := s.newFixture(t)
	est := time.FixedZone("EST", -5*3600)
	latest := []int{ind2v1, sco1, ind3v2, mal1v2, ind1v3}
	everything := []int{ind1v1, ind2v1, mal1v1, ind1v2, sco1, ind3v2, mal1v2, ind1v3, ind3v1}
	tests := []struct {
		name   string
		filter store.Filter
		want   []int
	}{
		// REQ-62, REQ-63: latest version of each id, by date_added; REQ-105:
		// indicator 3's latest is @tv2 although @tv1 was added later.
		{"Default", store.Filter{}, latest},
		{"VersionLast", store.Filter{Versions: store.VersionSet{Last: true}}, latest},
		{"VersionFirst", store.Filter{Versions: store.VersionSet{First: true}}, []int{ind1v1, ind2v1, mal1v1, sco1, ind3v1}},
		{"VersionAll", store.Filter{Versions: all()}, everything},
		{"VersionFirstLast", store.Filter{Versions: store.VersionSet{First: true, Last: true}},
			[]int{ind1v1, ind2v1, mal1v1, sco1, ind3v2, mal1v2, ind1v3, ind3v1}},
		{"VersionAt", store.Filter{Versions: store.VersionSet{At: []time.Time{tv2}}}, []int{ind1v2, ind3v2, mal1v2}},
		{"VersionAtOtherZone", store.Filter{Versions: store.VersionSet{At: []time.Time{tv2.In(est)}}}, []int{ind1v2, ind3v2, mal1v2}},
		{"VersionAtTwo", store.Filter{Versions: store.VersionSet{At: []time.Time{tv3, tv1}}}, []int{ind1v1, ind2v1, mal1v1, ind1v3, ind3v1}},
		{"VersionFirstAtLast", store.Filter{Versions: store.VersionSet{First: true, Last: true, At: []time.Time{tv2}}},
			[]int{ind1v1, ind2v1, mal1v1, ind1v2, sco1, ind3v2, mal1v2, ind1v3, ind3v1}},
		{"VersionAtFirst", store.Filter{Versions: store.VersionSet{First: true, At: []time.Time{tv2}}},
			[]int{ind1v1, ind2v1, mal1v1, ind1v2, sco1, ind3v2, mal1v2, ind3v1}},
		{"VersionAtSCO", store.Filter{Versions: store.VersionSet{At: []time.Time{dateAdded(sco1)}}}, []int{sco1}},
		{"VersionAtNone", store.Filter{Versions: store.VersionSet{At: []time.Time{tv1.Add(time.Millisecond)}}}, nil},

		// REQ-89: exact id and type; REQ-88: OR within a field, AND across.
		{"ID", store.Filter{IDs: []string{ind1}, Versions: all()}, []int{ind1v1, ind1v2, ind1v3}},
		{"IDs", store.Filter{IDs: []string{mal1, ind1}}, []int{mal1v2, ind1v3}},
		{"IDUnknown", store.Filter{IDs: []string{stixID("indicator", 99)}}, nil},
		{"Type", store.Filter{Types: []string{"malware"}, Versions: all()}, []int{mal1v1, mal1v2}},
		{"TypeIndicator", store.Filter{Types: []string{"indicator"}}, []int{ind2v1, ind3v2, ind1v3}},
		{"TypeSCO", store.Filter{Types: []string{"ipv4-addr"}}, []int{sco1}},
		{"TypesOR", store.Filter{Types: []string{"malware", "ipv4-addr"}}, []int{sco1, mal1v2}},
		{"TypeNothingStored", store.Filter{Types: []string{"vulnerability"}}, nil},
		{"TypePrefix", store.Filter{Types: []string{"indic"}}, nil},
		{"TypeAndID", store.Filter{Types: []string{"indicator"}, IDs: []string{mal1}}, nil},

		// REQ-91 (every stored object is 2.1: the validator accepts only 2.1).
		{"SpecVersion21", store.Filter{SpecVersions: []string{"2.1"}}, latest},
		{"SpecVersion20", store.Filter{SpecVersions: []string{"2.0"}}, nil},
		{"SpecVersion20And21", store.Filter{SpecVersions: []string{"2.0", "2.1"}, Versions: all()}, everything},

		// REQ-87: strictly later, compared as instants, sub-µs inputs too.
		{"AddedAfter", store.Filter{AddedAfter: dateAdded(sco1), Versions: all()}, []int{ind3v2, mal1v2, ind1v3, ind3v1}},
		{"AddedAfterHalfMicro", store.Filter{AddedAfter: dateAdded(sco1).Add(500 * time.Nanosecond), Versions: all()},
			[]int{ind3v2, mal1v2, ind1v3, ind3v1}},
		{"AddedAfterNanoBefore", store.Filter{AddedAfter: dateAdded(sco1).Add(-time.Nanosecond), Versions: all()},
			[]int{sco1, ind3v2, mal1v2, ind1v3, ind3v1}},
		{"AddedAfterOtherZone", store.Filter{AddedAfter: dateAdded(sco1).In(est), Versions: all()}, []int{ind3v2, mal1v2, ind1v3, ind3v1}},
		{"AddedAfterFirst", store.Filter{AddedAfter: dateAdded(0), Versions: all()}, everything[1:]},
		{"AddedAfterBeforeFirst", store.Filter{AddedAfter: dateAdded(0).Add(-time.Nanosecond), Versions: all()}, everything},
		{"AddedAfterLast", store.Filter{AddedAfter: dateAdded(ind3v1), Versions: all()}, nil},
		{"AddedAfterEpoch", store.Filter{AddedAfter: time.Unix(0, 0), Versions: all()}, everything},
		{"AddedAfterBefore1970", store.Filter{AddedAfter: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), Versions: all()}, everything},
		// The latest versions only, among those added after sco1: ind3v1
		// was added later but is not the latest of its id.
		{"AddedAfterDefault", store.Filter{AddedAfter: dateAdded(sco1)}, []int{ind3v2, mal1v2, ind1v3}},

		{"Combined", store.Filter{Types: []string{"indicator"}, AddedAfter: dateAdded(mal1v1), Versions: all(), SpecVersions: []string{"2.1"}},
			[]int{ind1v2, ind3v2, ind1v3, ind3v1}},
	}
	for _, ep := range []struct {
		name    string
		find    func(context.Context, string, store.Query) (*store.Page, error)
		withRaw bool
	}{
		{"Objects", f.FindObjects, true},
		{"Manifest", f.FindManifest, false}, // REQ-54..56: same filters, no bytes
	} {
		t.Run(ep.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					pg, err := ep.find(context.Background(), collA, store.Query{Filter: tt.filter, Limit: 100})
					if err != nil {
						t.Fatal(err)
					}
					if pg.More || pg.Next != "" {
						t.Errorf("More=%v Next=%q on a complete page (REQ-95)", pg.More, pg.Next)
					}
					f.check(t, pg.Records, ep.withRaw, tt.want...)
				})
			}
		})
	}

	t.Run("EmptyCollection", func(t *testing.T) { // REQ-61
		for _, find := range []func(context.Context, string, store.Query) (*store.Page, error){f.FindObjects, f.FindManifest} {
			pg, err := find(context.Background(), collB, store.Query{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(pg.Records) != 0 || pg.More || pg.Next != "" {
				t.Errorf("empty collection page = %+v", pg)
			}
		}
	})

	t.Run("ErrCollectionNotFound", func(t *testing.T) {
		const unknown = "00000000-0000-4000-8000-000000000000"
		for _, find := range []func(context.Context, string, store.Query) (*store.Page, error){f.FindObjects, f.FindManifest} {
			if _, err := find(context.Background(), unknown, store.Query{Limit: 10}); !errors.Is(err, store.ErrCollectionNotFound) {
				t.Errorf("err = %v, want ErrCollectionNotFound", err)
			}
		}
	})
}

// REQ-91, REQ-103: spec_version filtering when versions of several spec
// versions are stored. The validator refuses 2.0, so the 2.0 object is a 2.1
// one whose header says 2.0, as a future 2.0-accepting layer would pass it.
func (s *suite) TestDB_FindObjects_SpecVersion(t *testing.T) {
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	v21 := indicator(t, stixID("indicator", 1), tv1)
	v20 := indicator(t, stixID("indicator", 2), tv1)
	v20.Header.SpecVersion = "2.0"
	db.MustAdd(t, collA, v21, v20)
	for _, tt := range []struct {
		name string
		svs  []string
		want []rv
	}{
		{"Only21", []string{"2.1"}, []rv{rvOf(v21)}},
		{"Only20", []string{"2.0"}, []rv{rvOf(v20)}},
		{"Both", []string{"2.1", "2.0"}, []rv{rvOf(v21), rvOf(v20)}},
		{"Other", []string{"2.2"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := db.FindManifest(context.Background(), collA, store.Query{Filter: store.Filter{SpecVersions: tt.svs}, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if got := rvs(pg.Records); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for _, r := range pg.Records {
				if r.ID == v20.Header.ID && r.SpecVersion != "2.0" {
					t.Errorf("spec_version = %q, want 2.0", r.SpecVersion)
				}
			}
		})
	}
}

// REQ-60: the bytes served are the bytes posted: whitespace, key order,
// custom properties, number spelling and timestamp precision untouched.
// The caller owns the returned bytes.
func (s *suite) TestDB_FindObjects_RawVerbatim(t *testing.T) {
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	id := stixID("indicator", 7)
	raw := "{\n  \"valid_from\" : \"2024-10-01T08:00:00Z\",\t\"type\":\"indicator\", \"spec_version\":\"2.1\",\n" +
		"  \"id\":\"" + id + "\", \"created\":\"2024-10-01T08:00:00.123456789Z\", \"modified\":\"2024-10-01T08:00:00.123456789Z\",\n" +
		"  \"pattern\":\"[domain-name:value = 'vote-count\\u002eexample']\",\"pattern_type\":\"stix\",\n" +
		"  \"name\":\"Wahlb\u00fcro \u2013 phishing\",\"x_isac_score\":0.10000000000000000555,\"x_isac_tags\":[\"county\"]\n}"
	o := mustObject(t, raw)
	db.MustAdd(t, collA, o)

	ctx := context.Background()
	pg, err := db.FindObjects(ctx, collA, store.Query{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Records) != 1 || string(pg.Records[0].Raw) != raw {
		t.Fatalf("served = %q\nwant     %q", pg.Records[0].Raw, raw)
	}
	if got := pg.Records[0].Version; got != "2024-10-01T08:00:00.123456789Z" {
		t.Errorf("version = %q, want modified as sent", got)
	}
	// Scribbling on the returned bytes does not change the store.
	for i := range pg.Records[0].Raw {
		pg.Records[0].Raw[i] = 'x'
	}
	one, err := db.FindObject(ctx, collA, id, store.Query{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Records) != 1 || string(one.Records[0].Raw) != raw {
		t.Fatalf("FindObject served %q\nwant %q", one.Records[0].Raw, raw)
	}
	// match[version] with the full-precision instant selects it.
	at, _ := time.Parse(time.RFC3339Nano, "2024-10-01T08:00:00.123456789Z")
	pg, err = db.FindObjects(ctx, collA, store.Query{Filter: store.Filter{Versions: store.VersionSet{At: []time.Time{at}}}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Records) != 1 {
		t.Errorf("match[version]=<ns instant> found %d records, want 1", len(pg.Records))
	}
}

// objectCase is a read of one object's versions (named by their fixture
// numbers) through filter.
type objectCase struct {
	name   string
	id     string
	filter store.Filter
	want   []int
}

// Get an Object (REQ-75..78).
func (s *suite) TestDB_FindObject(t *testing.T) {
	f := s.newFixture(t)
	ctx := context.Background()
	tests := []objectCase{
		{"Default", ind1, store.Filter{}, []int{ind1v3}},
		{"DefaultOlderAddedLater", ind3, store.Filter{}, []int{ind3v2}}, // REQ-105
		{"All", ind1, store.Filter{Versions: all()}, []int{ind1v1, ind1v2, ind1v3}},
		{"AllByDateAdded", ind3, store.Filter{Versions: all()}, []int{ind3v2, ind3v1}},
		{"First", ind3, store.Filter{Versions: store.VersionSet{First: true}}, []int{ind3v1}},
		{"FirstLast", ind1, store.Filter{Versions: store.VersionSet{First: true, Last: true}}, []int{ind1v1, ind1v3}},
		{"At", ind1, store.Filter{Versions: store.VersionSet{At: []time.Time{tv2}}}, []int{ind1v2}},
		{"SCO", ip1, store.Filter{}, []int{sco1}},
		{"AddedAfter", ind1, store.Filter{AddedAfter: dateAdded(ind1v2), Versions: all()}, []int{ind1v3}},
		{"SpecVersion", ind1, store.Filter{SpecVersions: []string{"2.1"}}, []int{ind1v3}},
		// REQ-78: match[id] and match[type] are ignored here.
		{"IgnoresIDAndType", mal1, store.Filter{IDs: []string{ind1}, Types: []string{"indicator"}}, []int{mal1v2}},
		// REQ-76: present object, filters select nothing: an empty page.
		{"AtNone", ind1, store.Filter{Versions: store.VersionSet{At: []time.Time{tv1.Add(time.Second)}}}, nil},
		{"SpecVersionNone", ind1, store.Filter{SpecVersions: []string{"2.0"}}, nil},
		{"AddedAfterNone", ind1, store.Filter{AddedAfter: dateAdded(ind3v1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := f.FindObject(ctx, collA, tt.id, store.Query{Filter: tt.filter, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if pg.More || pg.Next != "" {
				t.Errorf("More=%v Next=%q", pg.More, pg.Next)
			}
			f.check(t, pg.Records, true, tt.want...)
		})
	}

	t.Run("Paging", func(t *testing.T) {
		recs := walk(t, func(q store.Query) (*store.Page, error) { return f.FindObject(ctx, collA, ind1, q) },
			store.Query{Filter: store.Filter{Versions: all()}}, []int{1}, false)
		f.check(t, recs, true, ind1v1, ind1v2, ind1v3)
	})

	t.Run("ErrNotFound", func(t *testing.T) { // REQ-76
		_, err := f.FindObject(ctx, collA, stixID("indicator", 99), store.Query{Limit: 10})
		if !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCollectionNotFound) {
			t.Errorf("unknown object: %v, want ErrNotFound", err)
		}
		// Present in another collection only.
		_, err = f.FindObject(ctx, collB, ind1, store.Query{Limit: 10})
		if !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCollectionNotFound) {
			t.Errorf("object of another collection: %v, want ErrNotFound", err)
		}
		_, err = f.FindObject(ctx, "00000000-0000-4000-8000-000000000000", ind1, store.Query{Limit: 10})
		if !errors.Is(err, store.ErrCollectionNotFound) {
			t.Errorf("unknown collection: %v, want ErrCollectionNotFound", err)
		}
	})
}

// Get Object Versions (REQ-84..86).
func (s *suite) TestDB_FindObjectVersions(t *testing.T) {
	f := s.newFixture(t)
	ctx := context.Background()
	tests := []objectCase{
		{"OK", ind1, store.Filter{}, []int{ind1v1, ind1v2, ind1v3}},
		// Ascending by date_added, not by version (REQ-85, REQ-105).
		{"ByDateAdded", ind3, store.Filter{}, []int{ind3v2, ind3v1}},
		// REQ-84: match[version] does not apply.
		{"IgnoresVersion", ind1, store.Filter{Versions: store.VersionSet{Last: true}}, []int{ind1v1, ind1v2, ind1v3}},
		{"SCO", ip1, store.Filter{}, []int{sco1}},
		{"AddedAfter", ind1, store.Filter{AddedAfter: dateAdded(ind1v1)}, []int{ind1v2, ind1v3}},
		{"SpecVersion", mal1, store.Filter{SpecVersions: []string{"2.1"}}, []int{mal1v1, mal1v2}},
		{"SpecVersionNone", mal1, store.Filter{SpecVersions: []string{"2.0"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := f.FindObjectVersions(ctx, collA, tt.id, store.Query{Filter: tt.filter, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			f.check(t, pg.Records, false, tt.want...)
		})
	}

	t.Run("Paging", func(t *testing.T) {
		for _, repeat := range []bool{false, true} {
			recs := walk(t, func(q store.Query) (*store.Page, error) { return f.FindObjectVersions(ctx, collA, ind1, q) },
				store.Query{}, []int{1}, repeat)
			f.check(t, recs, false, ind1v1, ind1v2, ind1v3)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) { // REQ-86
		_, err := f.FindObjectVersions(ctx, collA, stixID("malware", 99), store.Query{Limit: 10})
		if !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCollectionNotFound) {
			t.Errorf("unknown object: %v, want ErrNotFound", err)
		}
	})
}

// Delete an Object (REQ-79..83, AMB-03).
func (s *suite) TestDB_DeleteObject(t *testing.T) {
	ctx := context.Background()

	// visible returns what every read endpoint shows after a delete.
	visible := func(t *testing.T, f *fixture) (objects, manifest []rv) {
		t.Helper()
		q := store.Query{Filter: store.Filter{Versions: all()}, Limit: 100}
		op, err := f.FindObjects(ctx, collA, q)
		if err != nil {
			t.Fatal(err)
		}
		mp, err := f.FindManifest(ctx, collA, q)
		if err != nil {
			t.Fatal(err)
		}
		return rvs(op.Records), rvs(mp.Records)
	}
	without := func(f *fixture, deleted ...int) []rv {
		var out []rv
	next:
		for i := range f.want {
			for _, d := range deleted {
				if i == d {
					continue next
				}
			}
			out = append(out, f.want[i])
		}
		return out
	}

	tests := []struct {
		name     string
		id       string
		filter   store.Filter
		deleted  []int
		versions []int // FindObjectVersions afterwards; nil means ErrNotFound
		latest   []int // FindObject afterwards
	}{
		// AMB-03: no match[version] deletes every version.
		{"Default", ind1, store.Filter{}, []int{ind1v1, ind1v2, ind1v3}, nil, nil},
		{"All", mal1, store.Filter{Versions: all()}, []int{mal1v1, mal1v2}, nil, nil},
		// The previous version becomes the latest.
		{"Last", ind1, store.Filter{Versions: store.VersionSet{Last: true}}, []int{ind1v3}, []int{ind1v1, ind1v2}, []int{ind1v2}},
		{"First", ind3, store.Filter{Versions: store.VersionSet{First: true}}, []int{ind3v1}, []int{ind3v2}, []int{ind3v2}},
		{"At", ind1, store.Filter{Versions: store.VersionSet{At: []time.Time{tv2}}}, []int{ind1v2}, []int{ind1v1, ind1v3}, []int{ind1v3}},
		{"FirstLast", ind1, store.Filter{Versions: store.VersionSet{First: true, Last: true}}, []int{ind1v1, ind1v3}, []int{ind1v2}, []int{ind1v2}},
		{"SpecVersion", ind2, store.Filter{SpecVersions: []string{"2.1"}}, []int{ind2v1}, nil, nil},
		{"SCO", ip1, store.Filter{}, []int{sco1}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := s.newFixture(t)
			n, err := f.DeleteObject(ctx, collA, tt.id, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.deleted) {
				t.Errorf("deleted %d versions, want %d", n, len(tt.deleted))
			}
			// REQ-81: gone from objects, manifest and versions.
			objects, manifest := visible(t, f)
			want := without(f, tt.deleted...)
			if !slices.Equal(objects, want) || !slices.Equal(manifest, want) {
				t.Errorf("after delete\nobjects  %v\nmanifest %v\nwant     %v", objects, manifest, want)
			}
			vp, err := f.FindObjectVersions(ctx, collA, tt.id, store.Query{Limit: 10})
			if tt.versions == nil {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("versions after deleting every version: %v, want ErrNotFound", err)
				}
				if _, err := f.FindObject(ctx, collA, tt.id, store.Query{Limit: 10}); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("object after deleting every version: %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f.check(t, vp.Records, false, tt.versions...)
			op, err := f.FindObject(ctx, collA, tt.id, store.Query{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			f.check(t, op.Records, true, tt.latest...)
			// REQ-81: pinning a deleted version gives an empty page.
			for _, d := range tt.deleted {
				at, _ := f.objs[d].Header.Version()
				pg, err := f.FindObject(ctx, collA, tt.id, store.Query{Filter: store.Filter{Versions: store.VersionSet{At: []time.Time{at}}}, Limit: 10})
				if err != nil || len(pg.Records) != 0 {
					t.Errorf("pinned deleted version %v: %v, %v", f.want[d], pg, err)
				}
			}
		})
	}

	// REQ-83: unknown object, or filters that select no version: ErrNotFound
	// and nothing deleted.
	for _, tt := range []struct {
		name   string
		id     string
		filter store.Filter
	}{
		{"UnknownObject", stixID("indicator", 99), store.Filter{}},
		{"AtNone", ind1, store.Filter{Versions: store.VersionSet{At: []time.Time{tv1.Add(time.Second)}}}},
		{"SpecVersionNone", ind1, store.Filter{SpecVersions: []string{"2.0"}}},
		{"OtherCollectionOnly", stixID("indicator", 42), store.Filter{}},
	} {
		t.Run("ErrNotFound/"+tt.name, func(t *testing.T) {
			f := s.newFixture(t)
			f.MustAdd(t, collB, indicator(t, stixID("indicator", 42), tv1))
			n, err := f.DeleteObject(ctx, collA, tt.id, tt.filter)
			if !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCollectionNotFound) || n != 0 {
				t.Fatalf("DeleteObject = %d, %v; want 0, ErrNotFound", n, err)
			}
			objects, manifest := visible(t, f)
			if !slices.Equal(objects, f.want) || !slices.Equal(manifest, f.want) {
				t.Errorf("a failed delete changed the collection: %v", objects)
			}
		})
	}

	t.Run("ErrCollectionNotFound", func(t *testing.T) {
		db := s.MustOpenDB(t)
		if _, err := db.DeleteObject(ctx, collA, ind1, store.Filter{}); !errors.Is(err, store.ErrCollectionNotFound) {
			t.Errorf("err = %v, want ErrCollectionNotFound", err)
		}
	})

	// date_added stays greater than any handed out before, even after the
	// newest version is deleted and the file reopened (INT-05: a client
	// holding added_after = that date_added must see the next add).
	t.Run("DateAddedAfterDeletingNewest", func(t *testing.T) {
		f := s.newFixture(t)
		newest := dateAdded(ind3v1)
		if _, err := f.DeleteObject(ctx, collA, ind3, store.Filter{Versions: store.VersionSet{First: true}}); err != nil {
			t.Fatal(err)
		}
		f.MustAdd(t, collA, indicator(t, stixID("indicator", 10), tv1))
		f.MustReopen(t)
		// Re-posting the deleted version stores it again, as new.
		f.MustAdd(t, collA, f.objs[ind3v1])

		pg, err := f.FindObjects(ctx, collA, store.Query{Filter: store.Filter{AddedAfter: newest, Versions: all()}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		want := []rv{{stixID("indicator", 10), stixTime(tv1)}, f.want[ind3v1]}
		if got := rvs(pg.Records); !slices.Equal(got, want) {
			t.Fatalf("added after the deleted newest = %v, want %v", got, want)
		}
		// The deletion drew the next value of the sequence for its
		// tombstone (the change feed's cursor), so the adds come after it.
		for i, r := range pg.Records {
			if want := dateAdded(ind3v1 + 2 + i); !r.DateAdded.Equal(want) {
				t.Errorf("date_added[%d] = %s, want %s", i, r.DateAdded, want)
			}
		}
	})
}
