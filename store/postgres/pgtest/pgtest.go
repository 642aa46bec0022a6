// Package pgtest gives tests a real PostgreSQL: a fresh, empty database per
// test, on the server named by EITAXII_TEST_DATABASE_URL or, when that is
// unset, on a throwaway cluster started from the machine's PostgreSQL
// binaries (initdb, pg_ctl) in a temporary directory, listening only on a
// unix socket there, with fsync off. When the tests run as root the
// cluster runs as the postgres OS user, since PostgreSQL refuses to run as
// root.
//
// A package that uses it runs its tests through Main, which stops the
// cluster when they end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and each test asks for a database with URL(tb). Without a URL and without
// binaries, URL skips the test with a message saying how to enable it;
// with EITAXII_REQUIRE_POSTGRES=1 (CI) it fails instead.
//
// The package is not part of the server; it is imported by tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by the package.
const (
	// EnvURL names an existing server to use: a postgres:// URL of a role
	// that may create databases. Its own database is used only to create
	// and drop the test databases.
	EnvURL = "EITAXII_TEST_DATABASE_URL"
	// EnvRequire, set to 1, turns a skip for want of PostgreSQL into a
	// failure, so that CI cannot pass without running the tests.
	EnvRequire = "EITAXII_REQUIRE_POSTGRES"
)

// server is the PostgreSQL the process's tests share.
type server struct {
	admin string // URL of the maintenance database
	dir   string // the throwaway cluster's directory; "" for EnvURL
	asPG  bool   // the cluster runs as the postgres OS user
	ctl   string // pg_ctl of the throwaway cluster
	opts  string // the server options it was started with
}

var (
	once   sync.Once
	shared *server
	// unavailable says why there is no server (skip), broken why
	// starting one failed (always a failure).
	unavailable, broken string
	seq                 struct {
		sync.Mutex
		n int
	}
)

// Main runs the tests of m, then stops the throwaway cluster if one was
// started, and returns m's exit code (TestMain may simply return it).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil && shared.dir != "" {
		shared.stop()
	}
	return code
}

// URL creates a new, empty database for tb and returns its URL; the
// database is dropped when tb ends (after cleanups registered later, such
// as closing a store opened on it). It skips tb when no PostgreSQL is
// available, or fails it when EITAXII_REQUIRE_POSTGRES=1.
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(start)
	if broken != "" {
		tb.Fatalf("pgtest: %s", broken)
	}
	if shared == nil {
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("pgtest: %s, and %s=1", unavailable, EnvRequire)
		}
		tb.Skipf("pgtest: %s; install PostgreSQL (Debian: apt-get install postgresql) or set %s to run these tests", unavailable, EnvURL)
	}
	seq.Lock()
	seq.n++
	n := seq.n
	seq.Unlock()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("eitaxii_test_%d_%d_%s", os.Getpid(), n, hex.EncodeToString(rnd[:]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := shared.exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := shared.exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	u, err := withDatabase(shared.admin, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return u
}

// withDatabase returns the URL u naming database db instead.
func withDatabase(u, db string) (string, error) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		// Never echo the URL: it may hold a password.
		return "", fmt.Errorf("%s is not a postgres:// URL", EnvURL)
	}
	p.Path = "/" + db
	return p.String(), nil
}

func (s *server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// start finds or starts the server, once per process.
func start() {
	if u := os.Getenv(EnvURL); u != "" {
		if _, err := withDatabase(u, "x"); err != nil {
			broken = err.Error()
			return
		}
		shared = &server{admin: u}
		return
	}
	bin, err := findBinaries()
	if err != nil {
		unavailable = err.Error()
		return
	}
	s, err := startCluster(bin)
	if err != nil {
		broken = "start a throwaway cluster: " + err.Error()
		return
	}
	shared = s
}

// findBinaries returns the directory holding initdb and pg_ctl: the one on
// PATH, else the newest /usr/lib/postgresql/<version>/bin (Debian keeps
// them off PATH).
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			p = resolved
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin")
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// startCluster runs initdb and pg_ctl start in a new temporary directory.
func startCluster(bin string) (*server, error) {
	// The socket path must stay under the kernel's ~107-byte limit, so
	// the directory is made directly in /tmp, not in a long TMPDIR.
	dir, err := os.MkdirTemp("/tmp", "eitaxii-pg-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, ctl: filepath.Join(bin, "pg_ctl"), asPG: os.Geteuid() == 0}
	if s.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, errors.New("running as root, and there is no postgres OS user to run the cluster as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	out, err := s.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	// Only a unix socket in dir: no port to collide with another run.
	// fsync off: a crashed test cluster is thrown away anyway.
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB", dir)
	s.opts = opts
	out, err = s.run(s.ctl, "start", "-D", data, "-w", "-t", "60", "-l", filepath.Join(dir, "log"), "-o", opts)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	s.admin = (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/postgres",
		RawQuery: url.Values{"host": {dir}}.Encode()}).String()
	return s, nil
}

// run runs a PostgreSQL program, as the postgres user when we are root.
func (s *server) run(prog string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if s.asPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", prog}, args...)...)
	} else {
		cmd = exec.Command(prog, args...)
	}
	cmd.Dir = s.dir // readable by postgres, unlike a root-only working directory
	return cmd.CombinedOutput()
}

// Restart stops the throwaway cluster (fast shutdown: every connection of
// every database is cut, what was committed is kept) and starts it again,
// for tests of what survives a database restart. (An immediate stop would
// lose the last commits: the cluster runs with synchronous_commit off.) It affects every test using the
// cluster, so such a test must not run in parallel with others. It skips
// tb when the server is EITAXII_TEST_DATABASE_URL's, which the tests do
// not own.
func Restart(tb testing.TB) {
	tb.Helper()
	once.Do(start)
	if shared == nil || shared.dir == "" {
		tb.Skip("pgtest: the server is not a throwaway cluster; not restarting it")
	}
	Down(tb)()
}

// Down stops the throwaway cluster as Restart does and returns the
// function that starts it again, for tests of what a server does while its
// database is away; the cluster is started again at cleanup if the test
// has not. The same rules as Restart's apply.
func Down(tb testing.TB) (up func()) {
	tb.Helper()
	once.Do(start)
	if shared == nil || shared.dir == "" {
		tb.Skip("pgtest: the server is not a throwaway cluster; not stopping it")
	}
	data := filepath.Join(shared.dir, "data")
	if out, err := shared.run(shared.ctl, "stop", "-D", data, "-m", "fast", "-w"); err != nil {
		tb.Fatalf("pgtest: pg_ctl stop: %v: %s", err, out)
	}
	started := false
	up = func() {
		if started {
			return
		}
		started = true
		if out, err := shared.run(shared.ctl, "start", "-D", data, "-w", "-t", "60", "-l", filepath.Join(shared.dir, "log"), "-o", shared.opts); err != nil {
			tb.Fatalf("pgtest: pg_ctl start: %v: %s", err, out)
		}
	}
	tb.Cleanup(up)
	return up
}

// stop stops the throwaway cluster and removes its directory.
func (s *server) stop() {
	if out, err := s.run(s.ctl, "stop", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w"); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: pg_ctl stop: %v: %s\n", err, strings.TrimSpace(string(out)))
	}
	os.RemoveAll(s.dir)
}

// DumpRestore copies the database at from as an operator's backup and
// restore would: pg_dump of it in the custom format to a file, then
// pg_restore of that file into a new, empty database (see URL), whose URL
// it returns. It skips tb when the server is EITAXII_TEST_DATABASE_URL's,
// whose binaries the tests do not know.
func DumpRestore(tb testing.TB, from string) string {
	tb.Helper()
	once.Do(start)
	if shared == nil || shared.dir == "" {
		tb.Skip("pgtest: the server is not a throwaway cluster; no pg_dump to run")
	}
	to := URL(tb)
	fromDB, toDB := databaseOf(from), databaseOf(to)
	bin := filepath.Dir(shared.ctl)
	file := filepath.Join(shared.dir, fromDB+".dump")
	defer os.Remove(file)
	if out, err := shared.run(filepath.Join(bin, "pg_dump"), "-h", shared.dir, "-U", "postgres", "--format=custom",
		"--file", file, fromDB); err != nil {
		tb.Fatalf("pgtest: pg_dump: %v: %s", err, out)
	}
	if out, err := shared.run(filepath.Join(bin, "pg_restore"), "-h", shared.dir, "-U", "postgres", "--exit-on-error",
		"--dbname", toDB, file); err != nil {
		tb.Fatalf("pgtest: pg_restore: %v: %s", err, out)
	}
	return to
}

// databaseOf is the database a URL made by URL names.
func databaseOf(u string) string {
	p, _ := url.Parse(u)
	return strings.TrimPrefix(p.Path, "/")
}
