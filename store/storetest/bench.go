package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// The bodies of the benchmarks every backend runs from its own
// bench_test.go, so that the backends' numbers measure the same requests.
// Each takes a store with a real clock (date_added must advance, as on a
// live server); the backend opens it, and may prepare it further (such as
// gathering statistics) before handing it over.

// BenchFill creates CollA in s and adds n indicators to it, in Add Objects
// requests of 10,000. Call it once per benchmark, in the parent of the
// measured sub-benchmarks.
func BenchFill(b *testing.B, s store.Store, n int) {
	b.Helper()
	MustCollection(b, s, apiRoot, collA)
	const batch = 10000
	for first := 0; first < n; first += batch {
		MustAdd(b, s, time.Now(), collA, benchIndicators(b, first, min(batch, n-first))...)
	}
}

// BenchAddObjects measures one Add Objects request of 1,000 new indicators
// per iteration into CollA of s, an empty store. The objects are validated
// outside the timer, as the server does before the transaction.
func BenchAddObjects(b *testing.B, s store.Store) {
	const batch = 1000
	MustCollection(b, s, apiRoot, collA)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		objs := benchIndicators(b, i*batch, batch)
		sub := &store.Submission{APIRoot: apiRoot, Collection: collA, Received: time.Now(), Objects: objs}
		b.StartTimer()
		st, err := s.AddObjects(ctx, sub)
		if err != nil {
			b.Fatal(err)
		}
		if st.SuccessCount != batch {
			b.Fatalf("success_count %d, want %d", st.SuccessCount, batch)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "objects/s")
}

// BenchFindObjectsPage measures, in the sub-benchmark limit=1000, a
// limit=1000 page read through a next token, spread over every page of
// CollA of s, which BenchFill has filled with n objects.
func BenchFindObjectsPage(b *testing.B, s store.Store, n int) {
	const limit = 1000
	ctx := context.Background()
	// The tokens of every page, collected once.
	var tokens []string
	q := store.Query{Limit: limit}
	for {
		pg, err := s.FindObjects(ctx, collA, q)
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
			pg, err := s.FindObjects(ctx, collA, store.Query{Next: tokens[i%len(tokens)], Limit: limit})
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

// BenchNewestByAddedAfter measures, in the sub-benchmark newest=100, a
// poller's typical request: what was added after the date_added it saw
// last, here the newest 100 of CollA of s, which BenchFill has filled with
// n objects.
func BenchNewestByAddedAfter(b *testing.B, s store.Store, n int) {
	const newest = 100
	ctx := context.Background()
	// The date_added of the 101st newest version, as a poller would hold it.
	pg, err := s.FindManifest(ctx, collA, store.Query{Filter: store.Filter{Versions: store.VersionSet{All: true}}, Limit: n})
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
			pg, err := s.FindObjects(ctx, collA, store.Query{Filter: store.Filter{AddedAfter: after}, Limit: 1000})
			if err != nil {
				b.Fatal(err)
			}
			if len(pg.Records) != newest || pg.More {
				b.Fatalf("%d records (more=%v), want %d", len(pg.Records), pg.More, newest)
			}
		}
	})
}
