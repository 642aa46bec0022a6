package bolt_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Single-object Add Objects requests from 16 concurrent clients: the case
// group commit exists for (issue 5: >= 2,000 objects/s).
func BenchmarkDB_AddObjects_Concurrent1(b *testing.B) {
	db := MustOpenDB(b)
	db.MustCollection(b, apiRoot, collA)
	objs := benchIndicators(b, 0, b.N+16)
	var next atomic.Int64
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			db.Clock.Set(time.Now())
			_, err := db.AddObjects(context.Background(), &store.Submission{APIRoot: apiRoot, Collection: collA, Received: time.Now(), Objects: objs[i : i+1]})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
