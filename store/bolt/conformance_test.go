package bolt_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/storetest"
)

// Ensure that the bbolt backend passes the conformance suite of the
// storage contract, each test on a new file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB, opts storetest.Options) (store.Store, func(testing.TB) store.Store) {
		path := filepath.Join(tb.TempDir(), "taxii.db")
		open := func(tb testing.TB) store.Store {
			tb.Helper()
			db, err := bolt.Open(path, bolt.Options{Now: opts.Now, NewID: opts.NewID, LockTimeout: 100 * time.Millisecond})
			if err != nil {
				tb.Fatalf("open store: %v", err)
			}
			return db
		}
		return open(tb), open
	})
}
