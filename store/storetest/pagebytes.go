package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// bigIndicatorJSON is a valid indicator whose description pads it to about
// size bytes.
func bigIndicatorJSON(id string, modified time.Time, size int) string {
	base := indicatorJSON(id, modified, "Large report")
	pad := max(size-len(base)-len(`,"description":""`), 1)
	return base[:len(base)-1] + `,"description":"` + strings.Repeat("x", pad) + `"}`
}

// bigObjects is a collection of objects of 2 KB to 300 KB, two of them
// larger than every byte cap but the largest tested, and one object
// (versioned) with twelve versions of 20 to 75 KB.
type bigObjects struct {
	*DB
	ids      []string // collection order (date_added), latest versions
	sizes    map[string]int
	versions []string // versioned's versions, in date_added order
}

const versioned = "indicator--000000ff-0000-4000-8000-0000000000ff"

func (s *suite) newBigObjects(tb testing.TB) *bigObjects {
	tb.Helper()
	b := &bigObjects{DB: s.MustOpenDB(tb), sizes: map[string]int{}}
	b.MustCollection(tb, apiRoot, collA)
	var batch []store.Object
	for i := range 48 {
		size := 2000 + (i*7919)%60000
		if i == 10 || i == 31 {
			size = 300 << 10
		}
		id := stixID("indicator", i)
		o := mustObject(tb, bigIndicatorJSON(id, created, size))
		batch = append(batch, o)
		b.ids = append(b.ids, id)
		b.sizes[id] = len(o.Raw)
		if len(batch) == 8 {
			b.MustAdd(tb, collA, batch...)
			batch = nil
		}
	}
	for v := range 12 {
		modified := created.Add(time.Duration(v+1) * time.Minute)
		b.MustAdd(tb, collA, mustObject(tb, bigIndicatorJSON(versioned, modified, 20000+(v*3331)%55000)))
		b.versions = append(b.versions, stixTime(modified))
	}
	b.ids = append(b.ids, versioned)
	return b
}

// walkBytes pages through find like walk, and checks the byte cap's
// contract on every page: at most Limit records (REQ-94); More paired with
// a non-empty Next (INT-06); no more than MaxBytes (by size) unless the
// page is one record; and a page with More full, by count or because the
// next page's first record would not have fit. It returns every record
// and the number of pages.
func walkBytes(tb testing.TB, find func(store.Query) (*store.Page, error), q store.Query, size func(store.Record) int) ([]store.Record, int) {
	tb.Helper()
	var out []store.Record
	prevBytes, prevFull := -1, false
	for page := 0; ; page++ {
		pg, err := find(q)
		if err != nil {
			tb.Fatalf("page %d: %v", page, err)
		}
		if len(pg.Records) == 0 && page > 0 {
			tb.Fatalf("page %d is empty after a page with More", page)
		}
		if prevBytes >= 0 && !prevFull && prevBytes+size(pg.Records[0]) <= q.MaxBytes {
			tb.Fatalf("page %d: More with %d bytes, yet the next record (%d bytes) fitted under %d", page-1, prevBytes, size(pg.Records[0]), q.MaxBytes)
		}
		n := 0
		for _, r := range pg.Records {
			n += size(r)
		}
		switch {
		case len(pg.Records) > q.Limit:
			tb.Fatalf("page %d: %d records, limit %d", page, len(pg.Records), q.Limit)
		case pg.More != (pg.Next != ""):
			tb.Fatalf("page %d: More=%v with Next=%q (INT-06)", page, pg.More, pg.Next)
		case q.MaxBytes > 0 && n > q.MaxBytes && len(pg.Records) > 1:
			tb.Fatalf("page %d: %d records of %d bytes, cap %d", page, len(pg.Records), n, q.MaxBytes)
		}
		out = append(out, pg.Records...)
		if !pg.More {
			return out, page + 1
		}
		if page > 10000 {
			tb.Fatal("paging does not end")
		}
		prevBytes, prevFull = n, len(pg.Records) == q.Limit
		if q.MaxBytes == 0 && !prevFull {
			tb.Fatalf("page %d: More with %d records, limit %d and no byte cap", page, len(pg.Records), q.Limit)
		}
		q.Next = pg.Next
	}
}

func rawSize(r store.Record) int { return len(r.Raw) }

// manifestSize is what a manifest or versions record counts against the cap
// (store.Page): its text fields and a date_added.
func manifestSize(r store.Record) int {
	return len(r.ID) + len(r.Version) + len(r.SpecVersion) + len(r.MediaType) + len(store.TimestampLayout)
}

// REQ-96, REQ-97, REQ-102, INT-06: with a byte cap, walking through next
// serves every object exactly once in date_added order on every endpoint
// that builds pages, whatever the cap and limit; an object larger than the
// cap comes alone on its page.
func (s *suite) TestDB_Paging_MaxBytes(t *testing.T) {
	b := s.newBigObjects(t)
	ctx := context.Background()
	caps := []int{0, 1, 64 << 10, 200 << 10, 1 << 20}
	for _, maxBytes := range caps {
		for _, limit := range []int{1, 5, 1000} {
			name := fmt.Sprintf("cap=%d/limit=%d", maxBytes, limit)
			t.Run("Objects/"+name, func(t *testing.T) {
				recs, pages := walkBytes(t, func(q store.Query) (*store.Page, error) { return b.FindObjects(ctx, collA, q) },
					store.Query{Limit: limit, MaxBytes: maxBytes}, rawSize)
				checkIDs(t, recs, b.ids)
				for _, r := range recs {
					if len(r.Raw) != b.sizes[r.ID] && r.ID != versioned {
						t.Fatalf("%s: %d bytes, stored %d", r.ID, len(r.Raw), b.sizes[r.ID])
					}
				}
				if maxBytes == 1 && pages != len(b.ids) {
					t.Errorf("cap of 1 byte: %d pages for %d objects, want one each", pages, len(b.ids))
				}
			})
			t.Run("Manifest/"+name, func(t *testing.T) {
				recs, _ := walkBytes(t, func(q store.Query) (*store.Page, error) { return b.FindManifest(ctx, collA, q) },
					store.Query{Limit: limit, MaxBytes: maxBytes}, manifestSize)
				checkIDs(t, recs, b.ids)
			})
			t.Run("Versions/"+name, func(t *testing.T) {
				recs, _ := walkBytes(t, func(q store.Query) (*store.Page, error) { return b.FindObjectVersions(ctx, collA, versioned, q) },
					store.Query{Limit: limit, MaxBytes: maxBytes}, manifestSize)
				checkVersions(t, recs, b.versions)
			})
			t.Run("ObjectAllVersions/"+name, func(t *testing.T) {
				recs, _ := walkBytes(t, func(q store.Query) (*store.Page, error) { return b.FindObject(ctx, collA, versioned, q) },
					store.Query{Filter: store.Filter{Versions: all()}, Limit: limit, MaxBytes: maxBytes}, rawSize)
				checkVersions(t, recs, b.versions)
			})
		}
	}

	// REQ-99: added_after = the last record's date_added (what
	// X-TAXII-Date-Added-Last says) continues a byte-capped listing without
	// loss or repeats.
	t.Run("AddedAfterLastRecord", func(t *testing.T) {
		for _, maxBytes := range caps[1:] {
			recs := walkAddedAfter(t, func(q store.Query) (*store.Page, error) { return b.FindObjects(ctx, collA, q) },
				store.Query{Limit: 1000, MaxBytes: maxBytes})
			checkIDs(t, recs, b.ids)
		}
	})
}

// checkIDs checks that recs are the given ids, each once, in order.
func checkIDs(tb testing.TB, recs []store.Record, want []string) {
	tb.Helper()
	checkRecords(tb, recs, want, func(r store.Record) string { return r.ID })
}

// checkVersions checks that recs are the given versions, each once, in
// order.
func checkVersions(tb testing.TB, recs []store.Record, want []string) {
	tb.Helper()
	checkRecords(tb, recs, want, func(r store.Record) string { return r.Version })
}

// checkRecords checks that recs are want, by key, each once and in order,
// which must be strictly increasing date_added order.
func checkRecords(tb testing.TB, recs []store.Record, want []string, key func(store.Record) string) {
	tb.Helper()
	if len(recs) != len(want) {
		tb.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if k := key(r); k != want[i] {
			tb.Fatalf("record %d is %s, want %s", i, k, want[i])
		}
		if i > 0 && !r.DateAdded.After(recs[i-1].DateAdded) {
			tb.Fatalf("record %d not after record %d in date_added", i, i-1)
		}
	}
}
