package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/postgres"
)

// `eitaxii backup`, `eitaxii restore` and `eitaxii check` keep a store safe:
// a consistent copy from a running server (GET /admin/v1/backup) or from a
// stopped one, a restore that never replaces a live store, and a check of
// bbolt's consistency and the store's own invariants (bolt.DB.Verify).
//
// Every file they write goes through a temporary file in the same
// directory that is synced, opened as a store and verified before it is
// renamed into place (bolt.SaveCopy, bolt.Restore): a failed or
// interrupted run never leaves a partial file under the final name.

// backupIdleTimeout is how long an online backup waits for the next byte
// before it gives up; the download as a whole has no limit.
const backupIdleTimeout = 2 * time.Minute

const backupUsage = `usage:
  eitaxii backup --server URL --out FILE [CREDENTIALS]   a running server (superadmin)
  eitaxii backup --data-dir DIR --out FILE               a stopped server's store

Writes a consistent copy of the store to FILE (through FILE.tmp, synced,
verified, then renamed). Credentials are those of eitaxii admin:
  --user NAME         with the password in EITAXII_PASSWORD, or --password-stdin
  --token TOKEN       an API token (prefer EITAXII_TOKEN: flags show in ps)
  --cacert FILE       trust the server's certificate if this CA (PEM) signed it
  --cert FILE --key FILE  present a client certificate (mTLS)
EITAXII_SERVER may stand for --server. Exit status: 0 done, 1 failed, 2 usage.
`

const restoreUsage = `usage: eitaxii restore FILE --data-dir DIR [--force]

Verifies that FILE is a healthy store, then installs it as DIR/` + storeFile + `.
Refused while a server uses DIR's store (stop it first). An existing store is
replaced only with --force, and is then kept as ` + storeFile + `.bak-<time>.
Run it as the user the server runs as. Exit status: 0 done, 1 refused or failed, 2 usage.
`

const checkUsage = `usage: eitaxii check --data-dir DIR
       eitaxii check --database

Verifies DIR/` + storeFile + ` (stop the server first): bbolt's page consistency,
and that every index entry points to a stored version and back. With
--database, verifies the PostgreSQL store EITAXII_DATABASE_URL names, while
its servers run: the invariants its schema does not enforce (date_added
order and high-water marks, latest versions, the change feed's deletions,
the directory's rules). Prints each problem and exits 1 if there is any;
otherwise prints a one-line summary.
`

// errProblems makes a command exit with status 1 after it has printed
// what is wrong.
var errProblems = errors.New("problems found")

// commandStatus reports err the way the admin client does and returns the
// exit status: 2 for a usage error (with the usage), 1 for a failure.
func commandStatus(e *env, name, usage string, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(e.stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "eitaxii %s: %s\n%s", name, ue.msg, usage)
		return 2
	case errors.Is(err, errProblems):
		return 1
	default:
		fmt.Fprintf(e.stderr, "eitaxii %s: %s\n", name, clean(err.Error()))
		return 1
	}
}

// parseArgs parses flags anywhere among the positional arguments, which it
// returns; "--" ends the flags. More than most positional arguments is a
// usage error naming the first one too many.
func parseArgs(fs *flag.FlagSet, args []string, most int) ([]string, error) {
	pos, err := flagsAnywhere(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil, err
	case err != nil:
		return nil, usagef("", "%v", err)
	case len(pos) > most:
		return nil, usagef("", "unexpected argument %q", pos[most])
	}
	return pos, nil
}

// flagsAnywhere parses flags anywhere among the positional arguments,
// which it returns; "--" ends the flags. Its errors are fs.Parse's.
func flagsAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// runBackup implements `eitaxii backup` and returns the exit status.
func runBackup(ctx context.Context, args []string, e *env) int {
	return commandStatus(e, "backup", backupUsage, backup(ctx, args, e))
}

func backup(ctx context.Context, args []string, e *env) error {
	a := &adminCmd{ctx: ctx, e: e, userAgent: "eitaxii-backup"}
	fs := newAdminFlagSet("backup")
	a.connFlags.register(fs, true)
	out := fs.String("out", "", "file to write")
	dataDir := fs.String("data-dir", "", "data directory of a stopped server")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	switch {
	case *out == "":
		return usagef("", "--out FILE is required")
	case *dataDir != "" && a.server != "":
		return usagef("", "give --server (a running server) or --data-dir (a stopped one), not both")
	case *dataDir == "" && a.server == "" && a.e.variable(envServer) == "":
		return usagef("", "give --server URL (a running server) or --data-dir DIR (a stopped one)")
	case *dataDir != "" && (a.user != "" || a.token != "" || a.passwordStdin || a.cacert != "" || a.cert != "" || a.key != ""):
		return usagef("", "credentials are for --server; --data-dir reads the file directly")
	}
	if st, err := os.Stat(*out); err == nil {
		if st.IsDir() {
			return fmt.Errorf("--out: %s is a directory; name the file to write", *out)
		}
		// Renaming over a live store would leave its server writing to
		// a file nobody can open again.
		release, err := lockStore(*out)
		if err != nil {
			return fmt.Errorf("--out: %s is a store in use; write the backup elsewhere", *out)
		}
		release()
	}

	fill := a.downloadBackup
	if *dataDir != "" {
		db, err := openOffline(filepath.Join(*dataDir, storeFile), "eitaxii backup --server URL")
		if err != nil {
			return err
		}
		closeDB := sync.OnceValue(db.Close)
		defer closeDB()
		fill = func(w io.Writer) (int64, error) {
			n, err := db.Backup(ctx, w)
			// Closed at once: a server may start while the copy is verified.
			if cerr := closeDB(); err == nil {
				err = cerr
			}
			return n, err
		}
	}
	var sum *storeSummary
	n, err := bolt.SaveCopy(*out, fill, func(tmp string) (err error) {
		sum, err = verifyCopy(ctx, tmp)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backup: wrote %s (%d bytes), verified: %s\n", *out, n, sum)
	return nil
}

// openOffline opens the store file at path for a command that needs the
// server stopped. A missing file is an error (Open would create an empty
// store); a file the server holds is refused, with advice (alt) on what to
// do instead.
func openOffline(path, alt string) (store.Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, offlineError(err, path, alt)
	}
	db, err := bolt.Open(path, bolt.Options{LockTimeout: bolt.OfflineLockTimeout})
	if err != nil {
		return nil, offlineError(err, path, alt)
	}
	return db, nil
}

// offlineError says what to do about a store at path that is missing or
// held by a server (alt: what to do instead); other errors are returned as
// they are.
func offlineError(err error, path, alt string) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no store at %s (is the data directory right?)", path)
	case errors.Is(err, bolt.ErrLocked):
		return fmt.Errorf("%s is in use: a server (eitaxii serve) holds it; stop the server, or use %s", path, alt)
	}
	return err
}

// downloadBackup streams GET /admin/v1/backup into w. The admin client's
// overall timeout would cut a large download short, so the client
// replaces it by a limit on how long the server may go without sending a
// byte.
func (a *adminCmd) downloadBackup(w io.Writer) (int64, error) {
	if err := a.connect(); err != nil {
		return 0, err
	}
	n, err := a.api.Backup(a.ctx, w, backupIdleTimeout)
	if nb, ok := errors.AsType[*client.NotBackupError](err); ok {
		return n, fmt.Errorf("GET %s: unexpected answer of type %q (is --server an eitaxii server?)", nb.Path, nb.ContentType)
	}
	return n, err
}

// verifyCopy opens a copy just written as a store and verifies it. Its
// error lists the problems found.
func verifyCopy(ctx context.Context, path string) (*storeSummary, error) {
	if head, err := readHead(path, len(postgresBackupMagic)); err == nil && head == postgresBackupMagic {
		return nil, errors.New("the server keeps its store in PostgreSQL: back the database up with pg_dump or " +
			"continuous archiving; eitaxii backup copies the embedded store only")
	}
	problems, stats, err := bolt.Check(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("the copy is not a usable store: %w", err)
	}
	if len(problems) > 0 {
		if len(problems) > 10 {
			problems = append(problems[:10], "...")
		}
		return nil, fmt.Errorf("the copy fails verification: %s", strings.Join(problems, "; "))
	}
	return &storeSummary{stats}, nil
}

// postgresBackupMagic starts the text archive a node on PostgreSQL sends
// for GET /admin/v1/backup (postgres.DB.Backup).
const postgresBackupMagic = "eitaxii-postgres-backup "

// readHead returns the first n bytes of the file at path.
func readHead(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	return string(b[:m]), err
}

// storeSummary is what a store holds, as check and backup report it.
type storeSummary struct{ store.Stats }

func (s *storeSummary) String() string {
	return fmt.Sprintf("%d collections, %d object versions, %d statuses, %s", s.Collections, s.ObjectVersions, s.Statuses, byteSize(s.Size))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// runRestore implements `eitaxii restore` and returns the exit status.
func runRestore(ctx context.Context, args []string, e *env) int {
	return commandStatus(e, "restore", restoreUsage, restore(ctx, args, e))
}

func restore(ctx context.Context, args []string, e *env) error {
	fs := newAdminFlagSet("restore")
	dataDir := fs.String("data-dir", "", "data directory to restore into")
	force := fs.Bool("force", false, "replace an existing store, keeping it as a .bak file")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usagef("", "name the backup FILE to restore")
	case *dataDir == "":
		return usagef("", "--data-dir DIR is required")
	}
	src := pos[0]
	info, err := os.Stat(src)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no file %s", src)
	} else if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	target := filepath.Join(*dataDir, storeFile)
	existing, err := os.Stat(target)
	switch {
	case err == nil:
		if os.SameFile(info, existing) {
			return fmt.Errorf("%s is the store of %s itself", src, *dataDir)
		}
		// Checked first so that a live store is refused even with
		// --force, before any copying; checked again at the swap.
		release, err := lockStore(target)
		if err != nil {
			return err
		}
		release()
		if !*force {
			return fmt.Errorf("%s already holds a store (%s); pass --force to replace it (it is then kept as %s.bak-<time>)", *dataDir, storeFile, storeFile)
		}
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(*dataDir, 0o700); err != nil {
			return err
		}
	default:
		return err
	}

	// The copy is made next to the target and verified there: FILE itself
	// is never opened as a store (opening writes to it).
	var sum *storeSummary
	keep := target + ".bak-" + time.Now().UTC().Format("20060102T150405Z")
	n, kept, err := bolt.Restore(src, target, keep, func(tmp string) (err error) {
		if sum, err = verifyCopy(ctx, tmp); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		return nil
	})
	if err != nil {
		return lockedAdvice(err, target)
	}
	fmt.Fprintf(e.stdout, "restore: %s is now %s (%d bytes): %s\n", target, src, n, sum)
	if kept != "" {
		fmt.Fprintf(e.stdout, "restore: the previous store is kept as %s\n", kept)
	}
	return nil
}

// lockStore takes a shared lock on the store file at path (bolt.Lock),
// which fails while a server holds it, and returns its release.
func lockStore(path string) (release func(), err error) {
	release, err = bolt.Lock(path)
	return release, lockedAdvice(err, path)
}

// lockedAdvice replaces bolt.ErrLocked for the store at path by what to do.
func lockedAdvice(err error, path string) error {
	if errors.Is(err, bolt.ErrLocked) {
		return fmt.Errorf("%s is in use: a server (eitaxii serve) holds it; stop the server before restoring", path)
	}
	return err
}

// runCheck implements `eitaxii check` and returns the exit status.
func runCheck(ctx context.Context, args []string, e *env) int {
	return commandStatus(e, "check", checkUsage, check(ctx, args, e))
}

func check(ctx context.Context, args []string, e *env) error {
	fs := newAdminFlagSet("check")
	dataDir := fs.String("data-dir", "", "data directory to check")
	database := fs.Bool("database", false, "check the PostgreSQL store named by EITAXII_DATABASE_URL instead")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	switch {
	case *database && *dataDir != "":
		return usagef("", "give --data-dir DIR or --database, not both")
	case *database:
		return checkDatabase(ctx, e)
	case *dataDir == "":
		return usagef("", "--data-dir DIR is required (or --database, for the PostgreSQL store)")
	}
	path := filepath.Join(*dataDir, storeFile)
	problems, stats, err := bolt.Check(ctx, path)
	if err != nil {
		return offlineError(err, path, "eitaxii backup --server URL and check a restored copy")
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(e.stdout, clean(p))
		}
		fmt.Fprintf(e.stderr, "eitaxii check: %s: %d problems\n", path, len(problems))
		return errProblems
	}
	fmt.Fprintf(e.stdout, "%s: ok: %s\n", path, &storeSummary{stats})
	return nil
}

// checkDatabase verifies the PostgreSQL store of EITAXII_DATABASE_URL: the
// project's invariants that the schema does not enforce (postgres.DB.Verify).
// Servers may keep running: the check reads one snapshot per table.
func checkDatabase(ctx context.Context, e *env) error {
	url := e.variable("EITAXII_DATABASE_URL")
	if url == "" {
		return usagef("", "--database checks the store EITAXII_DATABASE_URL names; set it")
	}
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		return fmt.Errorf("EITAXII_DATABASE_URL: %w", err)
	}
	defer db.Close()
	problems, err := db.Verify(ctx)
	if err != nil {
		return err
	}
	where := databaseName(url)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(e.stdout, clean(p))
		}
		fmt.Fprintf(e.stderr, "eitaxii check: %s: %d problems\n", where, len(problems))
		return errProblems
	}
	stats, err := db.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: ok: %s\n", where, &storeSummary{stats})
	return nil
}
