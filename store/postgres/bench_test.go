package postgres_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/postgres"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
	"github.com/eitaxii/eitaxii/store/storetest"
)

// The benchmarks of store/bolt's bench_test.go, on PostgreSQL. The test
// cluster runs with fsync off (pgtest), so these measure the store's
// queries, not the disk; set EITAXII_TEST_DATABASE_URL to measure a real
// server.

// openBenchCollection returns a store whose collection CollA holds n
// indicators, added in requests of 10,000.
func openBenchCollection(b *testing.B, n int) *postgres.DB {
	b.Helper()
	url := pgtest.URL(b)
	db := mustOpen(b, url, postgres.Options{})
	storetest.MustCollection(b, db, storetest.APIRoot, storetest.CollA)
	const batch = 10000
	for first := 0; first < n; first += batch {
		storetest.MustAdd(b, db, time.Now(), storetest.CollA, storetest.Indicators(b, first, min(batch, n-first))...)
	}
	// Fresh statistics, as autovacuum would gather on a live database.
	mustExec(b, url, "ANALYZE")
	return db
}

// One Add Objects request of 1,000 new indicators per iteration (validated
// outside the timer, as the server does before the transaction).
func BenchmarkDB_AddObjects(b *testing.B) {
	const batch = 1000
	db := mustOpen(b, pgtest.URL(b), postgres.Options{})
	storetest.MustCollection(b, db, storetest.APIRoot, storetest.CollA)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		objs := storetest.Indicators(b, i*batch, batch)
		sub := &store.Submission{APIRoot: storetest.APIRoot, Collection: storetest.CollA, Received: time.Now(), Objects: objs}
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

// One Add Objects request of one indicator per iteration, from 16
// goroutines: the per-collection row lock serializes them.
func BenchmarkDB_AddObjects_OneByOne(b *testing.B) {
	db := mustOpen(b, pgtest.URL(b), postgres.Options{MaxConns: 16})
	storetest.MustCollection(b, db, storetest.APIRoot, storetest.CollA)
	objs := storetest.Indicators(b, 0, 20000)
	ctx := context.Background()
	b.SetParallelism(8) // 16 on 2 CPUs
	b.ResetTimer()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)-1) % len(objs)
			if _, err := db.AddObjects(ctx, &store.Submission{APIRoot: storetest.APIRoot, Collection: storetest.CollA,
				Received: time.Now(), Objects: objs[i : i+1]}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// A limit=1000 page read through a next token, from a 100k-object
// collection: keyset pages cost the same wherever they are.
func BenchmarkDB_FindObjects_Page(b *testing.B) {
	const n, limit = 100000, 1000
	db := openBenchCollection(b, n)
	ctx := context.Background()
	var tokens []string
	q := store.Query{Limit: limit}
	for {
		pg, err := db.FindObjects(ctx, storetest.CollA, q)
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
			pg, err := db.FindObjects(ctx, storetest.CollA, store.Query{Next: tokens[i%len(tokens)], Limit: limit})
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

// A poller's typical request: the newest 100 by added_after, from a
// collection of 1k and of 100k objects: a keyset read costs the same at
// either size.
func BenchmarkDB_FindObjects_NewestByAddedAfter(b *testing.B) {
	const newest = 100
	for _, n := range []int{1000, 100000} {
		// Built once, outside the measured function, which b.Run calls
		// several times.
		db := openBenchCollection(b, n)
		ctx := context.Background()
		pg, err := db.FindManifest(ctx, storetest.CollA, store.Query{Filter: store.Filter{Versions: store.VersionSet{All: true}}, Limit: n})
		if err != nil {
			b.Fatal(err)
		}
		if len(pg.Records) != n {
			b.Fatalf("%d records, want %d", len(pg.Records), n)
		}
		after := pg.Records[n-newest-1].DateAdded
		b.Run(fmt.Sprintf("objects=%d/newest=100", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				pg, err := db.FindObjects(ctx, storetest.CollA, store.Query{Filter: store.Filter{AddedAfter: after}, Limit: 1000})
				if err != nil {
					b.Fatal(err)
				}
				if len(pg.Records) != newest || pg.More {
					b.Fatalf("%d records (more=%v), want %d", len(pg.Records), pg.More, newest)
				}
			}
		})
	}
}
