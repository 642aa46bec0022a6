package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store/postgres"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
	"github.com/eitaxii/eitaxii/store/storetest"
)

// CollectionActivity of a collection of 1k and of 100k versions added over
// the last day: the cost follows the hours kept, not the objects.
func BenchmarkDB_CollectionActivity(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			url := pgtest.URL(b)
			clock := storetest.NewClock(time.Now())
			db := mustOpen(b, url, postgres.Options{Now: clock.Now})
			storetest.MustCollection(b, db, storetest.APIRoot, storetest.CollA)
			const requests = 24
			start := time.Now().Add(-24 * time.Hour)
			for r := range requests { // one request an hour
				clock.Set(start.Add(time.Duration(r) * time.Hour))
				storetest.MustAdd(b, db, clock.Now(), storetest.CollA, storetest.Indicators(b, r*n/requests, n/requests)...)
			}
			mustExec(b, url, "ANALYZE")
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				a, err := db.CollectionActivity(ctx, storetest.CollA, start)
				if err != nil || len(a.Hours) < requests {
					b.Fatalf("CollectionActivity = %+v, %v", a, err)
				}
			}
		})
	}
}
