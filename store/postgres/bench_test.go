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

// The backends' shared benchmarks (storetest.Bench*), on PostgreSQL. The
// test cluster runs with fsync off (pgtest), so these measure the store's
// queries, not the disk; set EITAXII_TEST_DATABASE_URL to measure a real
// server.

// openBenchCollection returns a store whose collection CollA holds n
// indicators (storetest.BenchFill), with fresh statistics.
func openBenchCollection(b *testing.B, n int) *postgres.DB {
	b.Helper()
	url := pgtest.URL(b)
	db := mustOpen(b, url, postgres.Options{})
	storetest.BenchFill(b, db, n)
	// Fresh statistics, as autovacuum would gather on a live database.
	mustExec(b, url, "ANALYZE")
	return db
}

// One Add Objects request of 1,000 new indicators per iteration.
func BenchmarkDB_AddObjects(b *testing.B) {
	storetest.BenchAddObjects(b, mustOpen(b, pgtest.URL(b), postgres.Options{}))
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
	const n = 100000
	storetest.BenchFindObjectsPage(b, openBenchCollection(b, n), n)
}

// A poller's typical request: the newest 100 by added_after, from a
// collection of 1k and of 100k objects: a keyset read costs the same at
// either size.
func BenchmarkDB_FindObjects_NewestByAddedAfter(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		// A benchmark that runs sub-benchmarks is itself run once, so the
		// store is built once per size.
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			storetest.BenchNewestByAddedAfter(b, openBenchCollection(b, n), n)
		})
	}
}
