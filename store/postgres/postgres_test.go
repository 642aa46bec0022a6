package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/postgres"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
	"github.com/eitaxii/eitaxii/store/storetest"
	"github.com/jackc/pgx/v5"
)

// mustOpen opens a store on url and closes it at cleanup, after checking
// it with Verify.
func mustOpen(tb testing.TB, url string, opts postgres.Options) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), url, opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		storetest.CheckConsistent(tb, db, nil)
		db.Close()
	})
	return db
}

// mustExec runs sql on url over a connection of its own.
func mustExec(tb testing.TB, url, sql string, args ...any) {
	tb.Helper()
	withConn(tb, url, sql, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	})
}

// mustQueryInt returns the integer that sql, a query of one row and
// column, answers on url over a connection of its own.
func mustQueryInt(tb testing.TB, url, sql string, args ...any) int {
	tb.Helper()
	var n int
	withConn(tb, url, sql, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, sql, args...).Scan(&n)
	})
	return n
}

// withConn runs fn on a new connection to url, closed after it, and fails
// tb, naming what, if either fails.
func withConn(tb testing.TB, url, what string, fn func(context.Context, *pgx.Conn) error) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := fn(ctx, conn); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// Ensure that a database written by a newer build is refused, with
// store.ErrUnknownSchema and a message naming both versions.
func TestOpen_NewerSchema(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	newer := postgres.SchemaVersion() + 1
	mustExec(t, url, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future.sql')", newer)
	_, err = postgres.Open(context.Background(), url, postgres.Options{})
	if !errors.Is(err, store.ErrUnknownSchema) {
		t.Fatalf("Open = %v, want ErrUnknownSchema", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(newer)) {
		t.Errorf("message %q does not name version %d", err, newer)
	}
}

// Ensure that nodes opening a new database at the same time apply the
// schema once and agree on the next-token key.
func TestOpen_Concurrent(t *testing.T) {
	url := pgtest.URL(t)
	const nodes = 4
	dbs := make([]*postgres.DB, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { dbs[i], errs[i] = postgres.Open(context.Background(), url, postgres.Options{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	ctx := context.Background()
	storetest.MustCollection(t, dbs[0], storetest.APIRoot, storetest.CollA)
	storetest.MustAdd(t, dbs[0], time.Now(), storetest.CollA, storetest.Indicators(t, 0, 3)...)
	pg, err := dbs[1].FindObjects(ctx, storetest.CollA, store.Query{Limit: 1})
	if err != nil || pg.Next == "" {
		t.Fatalf("first page: %+v %v", pg, err)
	}
	for i := range nodes {
		if _, err := dbs[i].FindObjects(ctx, storetest.CollA, store.Query{Limit: 1, Next: pg.Next}); err != nil {
			t.Errorf("node %d refuses node 1's token: %v", i, err)
		}
	}
}

// Ensure that an unreachable database's error does not show the URL's
// password.
func TestOpen_PasswordNotShown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, url := range []string{
		"postgres://eitaxii:s3cr3t-pw@127.0.0.1:1/eitaxii?connect_timeout=1",
		"host=127.0.0.1 port=1 user=eitaxii password=s3cr3t-pw connect_timeout=1",
		"postgres://eitaxii:s3cr3t-pw@127.0.0.1:notaport/eitaxii",
	} {
		_, err := postgres.Open(ctx, url, postgres.Options{})
		if err == nil {
			t.Fatalf("Open succeeded on a closed port")
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// Ensure that two nodes publishing to one collection at once hand out
// strictly increasing date_added values in commit order, so that a poller
// following next and then added_after while they publish sees every
// version exactly once, in order; and that either node's next tokens work
// on the other. The nodes' clocks differ by a second, as real ones may.
func TestTwoNodes_PublishAndPoll(t *testing.T) {
	url := pgtest.URL(t)
	a := mustOpen(t, url, postgres.Options{})
	b := mustOpen(t, url, postgres.Options{Now: func() time.Time { return time.Now().Add(-time.Second) }})
	storetest.MustCollection(t, a, storetest.APIRoot, storetest.CollA)
	ctx := context.Background()

	const writers, requests, each = 4, 15, 5 // per node
	total := 2 * writers * requests * each
	var wg sync.WaitGroup
	for n, node := range []*postgres.DB{a, b} {
		for w := range writers {
			wg.Go(func() {
				for r := range requests {
					first := ((n*writers+w)*requests + r) * each
					if _, err := node.AddObjects(ctx, &store.Submission{APIRoot: storetest.APIRoot, Collection: storetest.CollA,
						Received: time.Now(), Objects: storetest.Indicators(t, first, each)}); err != nil {
						t.Errorf("node %d: %v", n, err)
						return
					}
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	// The poller alternates nodes page by page, following next while
	// there is more, then added_after the last date_added it saw.
	seen := map[string]bool{}
	var last time.Time
	nodes := []*postgres.DB{a, b}
	q := store.Query{Limit: 7}
	finished := false
	for page := 0; ; page++ {
		if page > 100000 {
			t.Fatal("polling does not end")
		}
		pg, err := nodes[page%2].FindObjects(ctx, storetest.CollA, q)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		for _, r := range pg.Records {
			if !r.DateAdded.After(last) {
				t.Fatalf("date_added %s after %s: not increasing", r.DateAdded, last)
			}
			if seen[r.ID] {
				t.Fatalf("%s seen twice", r.ID)
			}
			seen[r.ID], last = true, r.DateAdded
		}
		if pg.More {
			q = store.Query{Limit: 7, Next: pg.Next}
			continue
		}
		if finished {
			break
		}
		select {
		case <-done:
			finished = true // one more pass reads what the last commits added
		default:
			time.Sleep(time.Millisecond)
		}
		q = store.Query{Limit: 7}
		if !last.IsZero() {
			q.Filter.AddedAfter = last
		}
	}
	if len(seen) != total {
		t.Fatalf("poller saw %d versions, %d were published", len(seen), total)
	}
	all := storetest.AllVersions(t, b, storetest.CollA)
	for i := 1; i < len(all); i++ {
		if !all[i].DateAdded.After(all[i-1].DateAdded) {
			t.Fatalf("stored date_added not strictly increasing at %d", i)
		}
	}
}

// Ensure that the directory's invariants hold across nodes: of accounts
// created at once on two nodes with the same certificate, and of
// collections created at once with the same alias, exactly one wins and
// every other change fails with the invariant's ConflictError.
func TestChangeDirectory_ConcurrentNodes(t *testing.T) {
	url := pgtest.URL(t)
	nodes := []*postgres.DB{mustOpen(t, url, postgres.Options{}), mustOpen(t, url, postgres.Options{})}
	ctx := context.Background()
	err := nodes[0].ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
		if err := tx.CreateOrganization(&store.Organization{Name: "isac"}); err != nil {
			return err
		}
		return tx.CreateGroup(&store.Group{Name: "g"})
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	cert := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		name   string
		change func(i int) func(store.DirectoryTx) error
		want   store.Invariant
	}{
		{"Certificate", func(i int) func(store.DirectoryTx) error {
			return func(tx store.DirectoryTx) error {
				return tx.CreateAccount(&store.Account{Name: fmt.Sprintf("a%d", i), Organization: "isac", Certificates: []string{cert}})
			}
		}, store.CertificateRegistered},
		{"Alias", func(i int) func(store.DirectoryTx) error {
			return func(tx store.DirectoryTx) error {
				return tx.CreateCollection(&store.Collection{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), APIRoot: "g", Alias: "feed"})
			}
		}, store.AliasTaken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = nodes[i%2].ChangeDirectory(ctx, tt.change(i)) })
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				var ce *store.ConflictError
				switch {
				case err == nil:
					won++
				case !errors.As(err, &ce) || ce.Invariant != tt.want:
					t.Errorf("change %d: %v, want a ConflictError of invariant %d", i, err, tt.want)
				}
			}
			if won != 1 {
				t.Errorf("%d changes won, want 1", won)
			}
		})
	}
}

// Ensure that Backup writes every table from one snapshot, in the
// documented format, while a writer goes on.
func TestBackup_Format(t *testing.T) {
	url := pgtest.URL(t)
	db := mustOpen(t, url, postgres.Options{})
	storetest.MustCollection(t, db, storetest.APIRoot, storetest.CollA)
	storetest.MustAdd(t, db, time.Now(), storetest.CollA, storetest.Indicators(t, 0, 3)...)
	// Every table of the schema is in the backup (one added by a
	// migration and forgotten in the list would be lost) but
	// directory_version, a counter whose one row a restore's schema has.
	tables := mustQueryInt(t, url, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'directory_version'")
	var buf strings.Builder
	n, err := db.Backup(context.Background(), &buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("Backup = %d, %v (wrote %d bytes)", n, err, buf.Len())
	}
	out := buf.String()
	if want := fmt.Sprintf("eitaxii-postgres-backup 1 schema %d\n", postgres.SchemaVersion()); !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "\\.\nend\n") {
		t.Errorf("backup starts %q, ends %q", out[:min(len(out), 60)], out[max(0, len(out)-20):])
	}
	if got := strings.Count(out, "\ntable "); got != tables {
		t.Errorf("%d tables in the backup, the schema has %d", got, tables)
	}
	if !strings.Contains(out, storetest.STIXID("indicator", 2)) {
		t.Error("the backup lacks a stored object")
	}
}
