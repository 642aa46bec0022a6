package postgres_test

import (
	"context"
	"testing"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/postgres"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
	"github.com/eitaxii/eitaxii/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Ensure that the PostgreSQL backend passes the conformance suite of the
// storage contract, each test on a new database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB, opts storetest.Options) (store.Store, func(testing.TB) store.Store) {
		url := pgtest.URL(tb)
		open := func(tb testing.TB) store.Store {
			tb.Helper()
			db, err := postgres.Open(context.Background(), url, postgres.Options{Now: opts.Now, NewID: opts.NewID})
			if err != nil {
				tb.Fatalf("open store: %v", err)
			}
			return db
		}
		return open(tb), open
	})
}
