package bolt_test

import (
	"context"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// openBenchCollection returns a store whose collection collA holds n
// indicators, added in batches of 10,000 with a real clock. It is built
// once per benchmark, in the parent of the measured sub-benchmarks.
func openBenchCollection(b *testing.B, n int) *DB {
	b.Helper()
	db := MustOpenDB(b)
	db.MustCollection(b, apiRoot, collA)
	const batch = 10000
	for first := 0; first < n; first += batch {
		objs := benchIndicators(b, first, min(batch, n-first))
		db.Clock.Set(time.Now())
		db.MustAdd(b, collA, objs...)
	}
	return db
}

// One Add Objects request of 1,000 new indicators per iteration, each a
// write transaction with its status (the objects are validated outside the
// timer, as the server does before the transaction).
func BenchmarkDB_AddObjects(b *testing.B) {
	const batch = 1000
	db := MustOpenDB(b)
	db.MustCollection(b, apiRoot, collA)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		objs := benchIndicators(b, i*batch, batch)
		db.Clock.Set(time.Now())
		sub := &store.Submission{APIRoot: apiRoot, Collection: collA, Received: time.Now(), Objects: objs}
		b.StartTimer()
		st, err := db.AddObjects(ctx, sub)
		if err != nil {
			b.Fatal(err)
		}
		if st.SuccessCount != batch {
			b.Fatalf("success_count %d, want %d", st.SuccessCount, batch)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "objects/s")
}

// A limit=1000 page read through a next token, from a 100k-object
// collection: pages cost O(log n + page) whatever the position.
func BenchmarkDB_FindObjects_Page(b *testing.B) {
	const n, limit = 100000, 1000
	db := openBenchCollection(b, n)
	ctx := context.Background()
	// The tokens of every page, collected once.
	var tokens []string
	q := store.Query{Limit: limit}
	for {
		pg, err := db.FindObjects(ctx, collA, q)
		if err != nil {
			b.Fatal(err)
		}
		if !pg.More {
			break
		}
		tokens = append(tokens, pg.Next)
		q.Next = pg.Next
	}
	if len(tokens) != n/limit-1 {
		b.Fatalf("%d tokens, want %d", len(tokens), n/limit-1)
	}
	b.Run("limit=1000", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			pg, err := db.FindObjects(ctx, collA, store.Query{Next: tokens[i%len(tokens)], Limit: limit})
			if err != nil {
				b.Fatal(err)
			}
			if len(pg.Records) != limit {
				b.Fatalf("%d records, want %d", len(pg.Records), limit)
			}
		}
		b.ReportMetric(float64(b.N*limit)/b.Elapsed().Seconds(), "records/s")
	})
}

// A poller's typical request: what was added after the date_added it saw
// last, here the newest 100 of a 100k-object collection.
func BenchmarkDB_FindObjects_NewestByAddedAfter(b *testing.B) {
	const n, newest = 100000, 100
	db := openBenchCollection(b, n)
	ctx := context.Background()
	// The date_added of the 101st newest version, as a poller would hold it.
	pg, err := db.FindManifest(ctx, collA, store.Query{Filter: store.Filter{Versions: store.VersionSet{All: true}}, Limit: n})
	if err != nil {
		b.Fatal(err)
	}
	if len(pg.Records) != n {
		b.Fatalf("%d records, want %d", len(pg.Records), n)
	}
	after := pg.Records[n-newest-1].DateAdded
	b.Run("newest=100", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			pg, err := db.FindObjects(ctx, collA, store.Query{Filter: store.Filter{AddedAfter: after}, Limit: 1000})
			if err != nil {
				b.Fatal(err)
			}
			if len(pg.Records) != newest || pg.More {
				b.Fatalf("%d records (more=%v), want %d", len(pg.Records), pg.More, newest)
			}
		}
	})
}
