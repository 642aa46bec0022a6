package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/postgres"
)

const migrateUsage = `usage: eitaxii migrate --from DATA_DIR_OR_DB_FILE [--to DATABASE_URL]

Copies an embedded (bbolt) store into an empty PostgreSQL database: every
organization, account (password hash, certificates), token hash, group with
its members, collection with its policy, webhook subscription with its
secrets and progress, object version with its date_added and exact bytes,
status and audit row (webhook delivery logs are not copied). It then checks the counts and reads a
sample of object versions back byte for byte. A database that already holds
anything is refused. Stop the server that uses the store first.

The database URL comes from --to or, better (flags show in ps), from
EITAXII_DATABASE_URL. Next tokens handed out before the migration are not
valid afterwards: clients restart their walk with added_after.
Exit status: 0 done, 1 refused or failed, 2 usage.
`

// runMigrate implements `eitaxii migrate` and returns the exit status.
func runMigrate(ctx context.Context, args []string, e *env) int {
	return commandStatus(e, "migrate", migrateUsage, migrate(ctx, args, e))
}

func migrate(ctx context.Context, args []string, e *env) error {
	fs := newAdminFlagSet("migrate")
	from := fs.String("from", "", "the data directory of the embedded store, or its "+storeFile+" file")
	to := fs.String("to", "", "the PostgreSQL URL to copy into (default EITAXII_DATABASE_URL)")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	url := *to
	if url == "" {
		url = e.variable("EITAXII_DATABASE_URL")
	}
	switch {
	case *from == "":
		return usagef("", "--from DATA_DIR_OR_DB_FILE is required")
	case url == "":
		return usagef("", "--to DATABASE_URL (or EITAXII_DATABASE_URL) is required")
	}
	path := *from
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, storeFile)
	}
	src, err := openOffline(path, "stop the server first: a migration copies a store nobody writes to")
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		return err
	}
	defer dst.Close()
	srcT, ok := src.(store.Transfer)
	if !ok {
		return errors.New("the embedded store cannot be exported (a bug)")
	}
	rep, err := store.Copy(ctx, dst, srcT)
	if err != nil {
		if errors.Is(err, store.ErrNotEmpty) {
			return fmt.Errorf("%w; migrate into a new, empty database", err)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "migrated %s: %d organizations, %d accounts, %d tokens, %d groups, %d collections, "+
		"%d webhooks, %d object versions, %d statuses, %d audit rows; counts checked, %d object versions read back byte for byte\n",
		path, rep.Organizations, rep.Accounts, rep.Tokens, rep.Groups, rep.Collections, rep.Webhooks,
		rep.ObjectVersions, rep.Statuses, rep.AuditEvents, rep.Sampled)
	return nil
}
