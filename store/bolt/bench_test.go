package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/storetest"
)

// The bodies are the backends' shared ones (storetest.Bench*); here they
// run on a bbolt file.

// openBenchStore opens a store on a new file with a real clock, so that
// date_added advances as on a live server; at cleanup it is verified and
// closed, as MustOpenDB's are.
func openBenchStore(b *testing.B) *bolt.DB {
	b.Helper()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "taxii.db"), bolt.Options{})
	if err != nil {
		b.Fatalf("open store: %v", err)
	}
	b.Cleanup(func() {
		storetest.CheckConsistent(b, db, nil)
		if err := db.Close(); err != nil {
			b.Errorf("close store: %v", err)
		}
	})
	return db
}

// openBenchCollection returns a store whose collection collA holds n
// indicators (storetest.BenchFill).
func openBenchCollection(b *testing.B, n int) *bolt.DB {
	b.Helper()
	db := openBenchStore(b)
	storetest.BenchFill(b, db, n)
	return db
}

// One Add Objects request of 1,000 new indicators per iteration, each a
// write transaction with its status.
func BenchmarkDB_AddObjects(b *testing.B) {
	storetest.BenchAddObjects(b, openBenchStore(b))
}

// A limit=1000 page read through a next token, from a 100k-object
// collection: pages cost O(log n + page) whatever the position.
func BenchmarkDB_FindObjects_Page(b *testing.B) {
	const n = 100000
	storetest.BenchFindObjectsPage(b, openBenchCollection(b, n), n)
}

// A poller's typical request: the newest 100 by added_after, of a
// 100k-object collection.
func BenchmarkDB_FindObjects_NewestByAddedAfter(b *testing.B) {
	const n = 100000
	storetest.BenchNewestByAddedAfter(b, openBenchCollection(b, n), n)
}
