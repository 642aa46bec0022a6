package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// walk reads q page by page through Next until More is false and returns
// every record. limits[i] is the limit of page i (the last one repeats).
// With repeat, later pages re-send q's filters; otherwise they send only
// the token. Every page is checked against the paging contract: at most
// limit records (REQ-94), More paired with a non-empty Next and vice versa
// (INT-06), a page with More full, and More false at the end (REQ-95..97).
func walk(tb testing.TB, find func(store.Query) (*store.Page, error), q store.Query, limits []int, repeat bool) []store.Record {
	tb.Helper()
	var out []store.Record
	for page := 0; ; page++ {
		q.Limit = limits[min(page, len(limits)-1)]
		pg, err := find(q)
		if err != nil {
			tb.Fatalf("page %d: %v", page, err)
		}
		if len(pg.Records) > q.Limit {
			tb.Fatalf("page %d: %d records, limit %d", page, len(pg.Records), q.Limit)
		}
		if pg.More != (pg.Next != "") {
			tb.Fatalf("page %d: More=%v with Next=%q (INT-06)", page, pg.More, pg.Next)
		}
		if pg.More && len(pg.Records) != q.Limit {
			tb.Fatalf("page %d: More with %d records, limit %d", page, len(pg.Records), q.Limit)
		}
		out = append(out, pg.Records...)
		if !pg.More {
			return out
		}
		if page > 10000 {
			tb.Fatal("paging does not end")
		}
		if !repeat {
			q.Filter = store.Filter{}
		}
		q.Next = pg.Next
	}
}

// posted is one version of the paging fixture.
type posted struct {
	rv
	typ      string
	modified time.Time
	seq      int // position in date_added order
}

// pagingFixture is 250 objects, a fifth of them with two or three versions
// and some with an older version posted last, 335 versions in all, added in
// eight requests with a frozen clock.
type pagingFixture struct {
	*DB
	posted []posted // in date_added order
	latest map[string]time.Time
}

// walkAddedAfter reads every page of find from q on, each next page asked
// for with added_after = the last record's date_added, as a client reading
// X-TAXII-Date-Added-Last would (REQ-99), and returns the records in order.
func walkAddedAfter(tb testing.TB, find func(store.Query) (*store.Page, error), q store.Query) []store.Record {
	tb.Helper()
	var recs []store.Record
	for page := 0; ; page++ {
		pg, err := find(q)
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, pg.Records...)
		if !pg.More {
			return recs
		}
		if page > 1000 {
			tb.Fatal("paging does not end")
		}
		// The header carries µs; the store's date_added is µs.
		last := pg.Records[len(pg.Records)-1].DateAdded.Format(store.TimestampLayout)
		q.Filter.AddedAfter, _ = time.Parse(time.RFC3339Nano, last)
	}
}

func (s *suite) newPagingFixture(tb testing.TB) *pagingFixture {
	tb.Helper()
	f := &pagingFixture{DB: s.MustOpenDB(tb), latest: map[string]time.Time{}}
	f.MustCollection(tb, apiRoot, collA)
	f.MustCollection(tb, apiRoot, collB)
	typeOf := func(i int) string {
		if i%4 == 0 {
			return "malware"
		}
		return "indicator"
	}
	post := func(is []int, modified time.Time) {
		var objs []store.Object
		for _, i := range is {
			typ, id := typeOf(i), stixID(typeOf(i), i)
			if typ == "malware" {
				objs = append(objs, malware(tb, id, modified))
			} else {
				objs = append(objs, indicator(tb, id, modified))
			}
			f.posted = append(f.posted, posted{rv: rv{id, stixTime(modified)}, typ: typ, modified: modified, seq: len(f.posted)})
			if modified.After(f.latest[id]) {
				f.latest[id] = modified
			}
		}
		f.MustAdd(tb, collA, objs...)
	}
	ids := func(keep func(int) bool, descending bool) []int {
		var out []int
		for i := range 250 {
			if keep(i) {
				out = append(out, i)
			}
		}
		if descending {
			for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
				out[l], out[r] = out[r], out[l]
			}
		}
		return out
	}
	for batch := range 5 {
		post(ids(func(i int) bool { return i/50 == batch }, false), created.Add(time.Hour))
	}
	post(ids(func(i int) bool { return i%5 == 0 }, true), created.Add(2*time.Hour))
	post(ids(func(i int) bool { return i%10 == 0 }, false), created.Add(3*time.Hour))
	post(ids(func(i int) bool { return i%25 == 3 }, true), created.Add(30*time.Minute)) // REQ-105
	if len(f.posted) != 335 {
		tb.Fatalf("fixture has %d versions, want 335", len(f.posted))
	}
	return f
}

// want returns the versions keep selects, in date_added order; with
// latestOnly, only the version with the greatest modified of each id.
func (f *pagingFixture) want(latestOnly bool, keep func(posted) bool) []posted {
	var out []posted
	for _, p := range f.posted {
		if latestOnly && !p.modified.Equal(f.latest[p.ID]) {
			continue
		}
		if keep == nil || keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// check compares records with want: each expected version exactly once, in
// date_added order, with its date_added.
func (f *pagingFixture) check(tb testing.TB, recs []store.Record, want []posted) {
	tb.Helper()
	if len(recs) != len(want) {
		tb.Errorf("%d records, want %d", len(recs), len(want))
	}
	for i := range min(len(recs), len(want)) {
		r, w := recs[i], want[i]
		if (rv{r.ID, r.Version}) != w.rv || !r.DateAdded.Equal(dateAdded(w.seq)) {
			tb.Fatalf("record %d = %s@%s added %s, want %v added %s", i, r.ID, r.Version,
				r.DateAdded.Format(time.RFC3339Nano), w.rv, dateAdded(w.seq).Format(time.RFC3339Nano))
		}
	}
}

// REQ-95..97, REQ-102, INT-06: every expected record exactly once, in
// date_added order, whatever the page size, on both collection endpoints,
// whether later pages drop or repeat the filters (INT-04).
func (s *suite) TestDB_FindObjects_Paging(t *testing.T) {
	f := s.newPagingFixture(t)
	ctx := context.Background()
	cut := f.posted[100].seq
	filters := []struct {
		name   string
		filter store.Filter
		want   []posted
	}{
		{"Default", store.Filter{}, f.want(true, nil)},
		{"All", store.Filter{Versions: all()}, f.want(false, nil)},
		{"TypeAll", store.Filter{Types: []string{"malware"}, Versions: all()}, f.want(false, func(p posted) bool { return p.typ == "malware" })},
		{"AddedAfter", store.Filter{AddedAfter: dateAdded(cut)}, f.want(true, func(p posted) bool { return p.seq > cut })},
		{"First", store.Filter{Versions: store.VersionSet{First: true}, Types: []string{"indicator"}},
			func() []posted {
				first := map[string]time.Time{}
				for _, p := range f.posted {
					if t, ok := first[p.ID]; !ok || p.modified.Before(t) {
						first[p.ID] = p.modified
					}
				}
				return f.want(false, func(p posted) bool { return p.typ == "indicator" && p.modified.Equal(first[p.ID]) })
			}()},
	}
	endpoints := []struct {
		name string
		find func(context.Context, string, store.Query) (*store.Page, error)
	}{
		{"Objects", f.FindObjects},
		{"Manifest", f.FindManifest},
	}
	for _, ep := range endpoints {
		for _, ft := range filters {
			for _, limit := range []int{1, 7, 100} {
				for _, repeat := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/limit=%d/repeat=%v", ep.name, ft.name, limit, repeat)
					t.Run(name, func(t *testing.T) {
						var pages int
						find := func(q store.Query) (*store.Page, error) { pages++; return ep.find(ctx, collA, q) }
						recs := walk(t, find, store.Query{Filter: ft.filter}, []int{limit}, repeat)
						f.check(t, recs, ft.want)
						if want := max(1, (len(ft.want)+limit-1)/limit); pages != want {
							t.Errorf("%d pages, want %d", pages, want)
						}
					})
				}
			}
		}
	}

	// INT-04: the limit may change from page to page.
	t.Run("ChangedLimit", func(t *testing.T) {
		recs := walk(t, func(q store.Query) (*store.Page, error) { return f.FindObjects(ctx, collA, q) },
			store.Query{Filter: store.Filter{Versions: all()}}, []int{3, 50, 1, 1, 17, 1000}, false)
		f.check(t, recs, f.want(false, nil))
	})

	// REQ-99: repeating the query with added_after = the date_added of the
	// last record (X-TAXII-Date-Added-Last) continues the listing without
	// loss or repeats, thanks to unique date_added values (INT-05).
	t.Run("AddedAfterLastRecord", func(t *testing.T) {
		for _, ft := range filters[:3] {
			for _, limit := range []int{1, 7, 100} {
				t.Run(fmt.Sprintf("%s/limit=%d", ft.name, limit), func(t *testing.T) {
					recs := walkAddedAfter(t, func(q store.Query) (*store.Page, error) { return f.FindObjects(ctx, collA, q) },
						store.Query{Filter: ft.filter, Limit: limit})
					f.check(t, recs, ft.want)
				})
			}
		}
	})

	// INT-04: a token survives closing and reopening the file.
	t.Run("NextAfterReopen", func(t *testing.T) {
		g := s.newPagingFixture(t)
		want := g.want(false, nil)
		q := store.Query{Filter: store.Filter{Versions: all()}, Limit: 10}
		pg, err := g.FindObjects(ctx, collA, q)
		if err != nil {
			t.Fatal(err)
		}
		g.check(t, pg.Records, want[:10])
		g.MustReopen(t)
		pg, err = g.FindObjects(ctx, collA, store.Query{Next: pg.Next, Limit: 10})
		if err != nil {
			t.Fatalf("token after reopen: %v", err)
		}
		g.check(t, pg.Records, want[10:20])
	})
}

// REQ-98, INT-04: which requests a next token is good for.
func (s *suite) TestDB_FindObjects_Next(t *testing.T) {
	f := s.newFixture(t)
	ctx := context.Background()
	orig := store.Filter{
		AddedAfter:   dateAdded(ind1v1),
		Types:        []string{"malware", "indicator"},
		SpecVersions: []string{"2.1"},
		Versions:     store.VersionSet{First: true, At: []time.Time{tv2}},
	}
	// Versions selected by orig, in order, for the two-page check.
	want := []int{ind2v1, mal1v1, ind1v2, ind3v2, mal1v2, ind3v1}
	first, err := f.FindObjects(ctx, collA, store.Query{Filter: orig, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, first.Records, true, want[:2]...)
	if !first.More {
		t.Fatal("first page has no More")
	}

	t.Run("Accepted", func(t *testing.T) {
		reordered := orig
		reordered.Types = []string{"indicator", "malware", "indicator"}
		reordered.AddedAfter = orig.AddedAfter.In(time.FixedZone("EST", -5*3600))
		reordered.Versions = store.VersionSet{At: []time.Time{tv2, tv2}, First: true}
		for _, tt := range []struct {
			name   string
			filter store.Filter
		}{
			{"DropAll", store.Filter{}},
			{"RepeatAll", orig},
			{"RepeatReordered", reordered}, // same sets, other order and zone
			{"DropAddedAfter", store.Filter{Types: orig.Types, Versions: orig.Versions}},
			{"OnlyAddedAfter", store.Filter{AddedAfter: orig.AddedAfter}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				pg, err := f.FindObjects(ctx, collA, store.Query{Filter: tt.filter, Next: first.Next, Limit: 3})
				if err != nil {
					t.Fatal(err)
				}
				f.check(t, pg.Records, true, want[2:5]...)
			})
		}
	})

	t.Run("ChangedFilter", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			filter store.Filter
		}{
			{"Type", store.Filter{Types: []string{"malware"}}},
			{"ID", store.Filter{IDs: []string{ind1}}},
			{"SpecVersion", store.Filter{SpecVersions: []string{"2.0", "2.1"}}},
			{"AddedAfter", store.Filter{AddedAfter: orig.AddedAfter.Add(time.Nanosecond)}},
			{"VersionLast", store.Filter{Versions: store.VersionSet{Last: true}}},
			{"VersionAll", store.Filter{Versions: all()}},
			{"VersionAt", store.Filter{Versions: store.VersionSet{First: true, At: []time.Time{tv3}}}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.FindObjects(ctx, collA, store.Query{Filter: tt.filter, Next: first.Next, Limit: 3})
				if !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("err = %v, want ErrBadCursor", err)
				}
			})
		}
	})

	// A client that sends no added_after at first must not add one later.
	t.Run("AddedAddedAfter", func(t *testing.T) {
		pg, err := f.FindObjects(ctx, collA, store.Query{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.FindObjects(ctx, collA, store.Query{Filter: store.Filter{AddedAfter: dateAdded(0)}, Next: pg.Next, Limit: 1})
		// The server answers the problem in words: it must be there.
		var ce *store.CursorError
		if !errors.Is(err, store.ErrBadCursor) || !errors.As(err, &ce) || ce.Problem == "" {
			t.Errorf("err = %v, want a *CursorError saying what is wrong", err)
		}
	})

	// Clients commonly start from the epoch; repeating that added_after
	// with the token must work like any other instant.
	t.Run("RepeatEpochAddedAfter", func(t *testing.T) {
		for _, after := range []time.Time{time.Unix(0, 0).UTC(), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)} {
			q := store.Query{Filter: store.Filter{AddedAfter: after, Versions: all()}}
			recs := walk(t, func(q store.Query) (*store.Page, error) { return f.FindObjects(ctx, collA, q) }, q, []int{4}, true)
			f.check(t, recs, true, ind1v1, ind2v1, mal1v1, ind1v2, sco1, ind3v2, mal1v2, ind1v3, ind3v1)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		other := s.MustOpenDB(t)
		other.MustCollection(t, apiRoot, collA)
		for i := range 3 {
			other.MustAdd(t, collA, indicator(t, stixID("indicator", i), tv1))
		}
		foreign, err := other.FindObjects(ctx, collA, store.Query{Limit: 1})
		if err != nil || foreign.Next == "" {
			t.Fatalf("foreign token: %v %+v", err, foreign)
		}
		manifest, err := f.FindManifest(ctx, collA, store.Query{Limit: 1})
		if err != nil || manifest.Next == "" {
			t.Fatalf("manifest token: %v %+v", err, manifest)
		}
		tok := first.Next
		mid := len(tok) / 2
		flip := "A"
		if tok[mid] == 'A' {
			flip = "B"
		}
		for _, tt := range []struct {
			name  string
			coll  string
			token string
			find  func(context.Context, string, store.Query) (*store.Page, error)
		}{
			{"Tampered", collA, tok[:mid] + flip + tok[mid+1:], f.FindObjects},
			{"Truncated", collA, tok[:len(tok)-4], f.FindObjects},
			{"Extended", collA, tok + "AAAA", f.FindObjects},
			{"Garbage", collA, "not-a-token", f.FindObjects},
			{"NotBase64", collA, "!!!!", f.FindObjects},
			{"Short", collA, "AAAA", f.FindObjects},
			{"Huge", collA, strings.Repeat("A", 1<<20), f.FindObjects},
			{"OtherCollection", collB, tok, f.FindObjects},
			{"ObjectsOnManifest", collA, tok, f.FindManifest},
			{"ManifestOnObjects", collA, manifest.Next, f.FindObjects},
			{"OtherStore", collA, foreign.Next, f.FindObjects},
		} {
			t.Run(tt.name, func(t *testing.T) {
				pg, err := tt.find(ctx, tt.coll, store.Query{Next: tt.token, Limit: 10})
				if !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("err = %v (page %+v), want ErrBadCursor", err, pg)
				}
			})
		}
	})

	// Tokens of the per-object endpoints are bound to the endpoint and the
	// object.
	t.Run("PerObject", func(t *testing.T) {
		objPage, err := f.FindObject(ctx, collA, ind1, store.Query{Filter: store.Filter{Versions: all()}, Limit: 1})
		if err != nil || objPage.Next == "" {
			t.Fatalf("FindObject: %v %+v", err, objPage)
		}
		verPage, err := f.FindObjectVersions(ctx, collA, ind1, store.Query{Limit: 1})
		if err != nil || verPage.Next == "" {
			t.Fatalf("FindObjectVersions: %v %+v", err, verPage)
		}
		for _, tt := range []struct {
			name string
			call func() error
		}{
			{"ObjectOnVersions", func() error {
				_, err := f.FindObjectVersions(ctx, collA, ind1, store.Query{Next: objPage.Next, Limit: 1})
				return err
			}},
			{"VersionsOnObject", func() error {
				_, err := f.FindObject(ctx, collA, ind1, store.Query{Next: verPage.Next, Limit: 1})
				return err
			}},
			{"OtherObject", func() error {
				_, err := f.FindObjectVersions(ctx, collA, mal1, store.Query{Next: verPage.Next, Limit: 1})
				return err
			}},
			{"ObjectOnCollection", func() error {
				_, err := f.FindObjects(ctx, collA, store.Query{Next: objPage.Next, Limit: 1})
				return err
			}},
			{"CollectionOnObject", func() error {
				_, err := f.FindObject(ctx, collA, ind1, store.Query{Next: first.Next, Limit: 1})
				return err
			}},
			{"ChangedVersion", func() error {
				_, err := f.FindObject(ctx, collA, ind1, store.Query{Filter: store.Filter{Versions: store.VersionSet{Last: true}}, Next: objPage.Next, Limit: 1})
				return err
			}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(); !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("err = %v, want ErrBadCursor", err)
				}
			})
		}
	})
}

// Ensure that a query whose filters are too long to travel in a next token
// (hundreds of match[id] values) still pages: the token carries a
// fingerprint, and requests that repeat the filters continue while requests
// that drop or change them are refused.
func (s *suite) TestDB_FindObjects_NextWithLongFilter(t *testing.T) {
	db := s.MustOpenDB(t)
	db.MustCollection(t, apiRoot, collA)
	db.MustAdd(t, collA, benchIndicators(t, 0, 30)...)
	var ids []string
	for i := range 400 { // 10 stored, 390 absent: about 19 KB of ids
		ids = append(ids, stixID("indicator", i*3))
	}
	ctx := context.Background()
	q := store.Query{Filter: store.Filter{IDs: ids}, Limit: 3}
	var got []string
	for pages := 0; ; pages++ {
		p, err := db.FindObjects(ctx, collA, q)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, r := range p.Records {
			got = append(got, r.ID)
		}
		if !p.More {
			break
		}
		if len(p.Next) > 1024 {
			t.Fatalf("next token of %d bytes", len(p.Next))
		}
		if _, err := db.FindObjects(ctx, collA, store.Query{Limit: 3, Next: p.Next}); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("dropping the long filters: %v, want ErrBadCursor", err)
		}
		if _, err := db.FindObjects(ctx, collA, store.Query{Filter: store.Filter{IDs: ids[1:]}, Limit: 3, Next: p.Next}); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("changing the long filters: %v, want ErrBadCursor", err)
		}
		q.Next = p.Next
	}
	if len(got) != 10 {
		t.Fatalf("read %d objects, want 10: %v", len(got), got)
	}
}
