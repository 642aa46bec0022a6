// Command eitaxii is a TAXII 2.1 server for election-infrastructure sharing
// groups, and its tools.
//
//	eitaxii serve [--config FILE] [--listen ADDR] [--data-dir DIR] [--insecure-http]
//	eitaxii hash-password     (password on stdin)
//	eitaxii new-token
//	eitaxii validate FILE...
//	eitaxii admin [--server URL] [--user NAME | --token TOKEN] [--json] RESOURCE VERB ...
//	eitaxii backup (--server URL | --data-dir DIR) --out FILE
//	eitaxii restore FILE --data-dir DIR [--force]
//	eitaxii check --data-dir DIR
//	eitaxii migrate --from DATA_DIR --to DATABASE_URL
//	eitaxii poll --server URL --collection ID [--since-file STATE] [--format stix|jsonl|csv|values] ...
//	eitaxii watch --server URL --collection ID [--since-file STATE] [--format jsonl|csv|values] ...
//	eitaxii publish --server URL --collection ID [--input stix|csv|text] [--dry-run] FILE
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}

// env is what a command may touch besides its arguments, so that tests can
// run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// onListen, if set, is told the address the server listens on.
	onListen func(net.Addr)
	// getenv looks up environment variables; os.Getenv if nil.
	getenv func(string) string
	// sleep waits d or until ctx is done (watch's reconnect backoff);
	// a real timer if nil.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a number in [0, 1) to spread reconnects; math/rand
	// if nil.
	jitter func() float64
	// afterOutput, if set, is called by poll and watch after the output
	// is written and before the state is: a test's crash point.
	afterOutput func() error
}

// variable returns the environment variable key, through getenv if set.
func (e *env) variable(key string) string {
	if e.getenv == nil {
		return os.Getenv(key)
	}
	return e.getenv(key)
}

const usage = `usage:
  eitaxii serve [--config FILE] [--listen ADDR] [--data-dir DIR] [--database-url URL] [--insecure-http]
  eitaxii hash-password      read a password on stdin, print its bcrypt hash
  eitaxii new-token          print a new API token and its hash
  eitaxii validate FILE...   check STIX 2.1 files (object, bundle or envelope; - for stdin)
  eitaxii admin [--server URL] [--user NAME | --token TOKEN] [--json] RESOURCE VERB [ARGS]
                             manage organizations, accounts, tokens, groups, members,
                             collections; read the audit log (eitaxii admin help)
  eitaxii backup --server URL --out FILE [CREDENTIALS]   copy a running server's store
  eitaxii backup --data-dir DIR --out FILE               copy a stopped server's store
  eitaxii restore FILE --data-dir DIR [--force]          install a backup (server stopped)
  eitaxii check --data-dir DIR                           verify a store (server stopped)
  eitaxii migrate --from DATA_DIR [--to DATABASE_URL]    copy a store into an empty PostgreSQL database
  eitaxii poll --server URL --collection ID [--since-file STATE] [--format F] [--out FILE]
                             fetch what is new in a collection of any TAXII 2.1 server
                             (eitaxii poll --help)
  eitaxii watch --server URL --collection ID [--since-file STATE] [--format F] [--out FILE]
                             the same, kept current from eitaxii's live stream
  eitaxii publish --server URL --collection ID [--tlp LEVEL] [--dry-run] FILE
                             publish a STIX file, a CSV or a text list of indicators
                             to any TAXII 2.1 server (eitaxii publish --help)
`

// run executes one command and returns the process exit status.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], e)
	case "hash-password":
		err = runHashPassword(args[1:], e)
	case "new-token":
		err = runNewToken(e.stdout)
	case "validate":
		err = runValidate(args[1:], e)
	case "admin":
		return runAdmin(ctx, args[1:], e)
	case "backup":
		return runBackup(ctx, args[1:], e)
	case "restore":
		return runRestore(ctx, args[1:], e)
	case "check":
		return runCheck(ctx, args[1:], e)
	case "migrate":
		return runMigrate(ctx, args[1:], e)
	case "poll":
		return runPoll(ctx, args[1:], e)
	case "watch":
		return runWatch(ctx, args[1:], e)
	case "publish":
		return runPublish(ctx, args[1:], e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		fmt.Fprintf(e.stderr, "eitaxii: unknown command %q\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errInvalid):
		return 1
	default:
		fmt.Fprintf(e.stderr, "eitaxii: %v\n", err)
		return 1
	}
}
