package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The directory (organizations, accounts, tokens, groups and their
// members, collections) is small: readers load it whole with LoadDirectory,
// and every change goes through ChangeDirectory, one transaction with the
// audit rows describing it. Rows keep their store type as JSON (doc); the
// columns beside it carry what the schema's constraints check: one
// account per certificate fingerprint, one collection per alias in a
// group.

// uniqueViolation is PostgreSQL's SQLSTATE for a broken unique constraint.
const uniqueViolation = "23505"

// conflict maps a unique violation to store.ErrConflict with a message
// naming what is taken; other errors are returned as they are.
func conflict(err error) error {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != uniqueViolation {
		return err
	}
	switch pg.ConstraintName {
	case "account_certificates_pkey":
		return fmt.Errorf("the certificate is already registered to another account: %w", store.ErrConflict)
	case "collections_alias":
		return fmt.Errorf("another collection of the group has this alias: %w", store.ErrConflict)
	}
	return fmt.Errorf("%s: %w", pg.Detail, store.ErrConflict)
}

// EnsureCollection creates the collection if it is missing and records its
// description, replacing an earlier one; objects already stored are kept.
// The caller has validated c.ID (a UUIDv4). It returns an error wrapping
// ErrConflict when another collection of the group has c's alias.
func (db *DB) EnsureCollection(ctx context.Context, c store.Collection) error {
	return db.begin(ctx, func(tx pgx.Tx) error { return putCollection(ctx, tx, &c) })
}

func putCollection(ctx context.Context, tx pgx.Tx, c *store.Collection) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var alias *string
	if c.Alias != "" {
		alias = &c.Alias
	}
	return savepoint(ctx, tx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO collections (id, api_root, alias, doc) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET api_root = excluded.api_root, alias = excluded.alias, doc = excluded.doc`,
			c.ID, c.APIRoot, alias, string(doc))
		return err
	})
}

// savepoint runs fn in a savepoint of tx and maps a unique violation to
// ErrConflict. The savepoint keeps tx usable after the violation, so a
// caller may handle the conflict and go on.
func savepoint(ctx context.Context, tx pgx.Tx, fn func(pgx.Tx) error) error {
	return conflict(pgx.BeginFunc(ctx, tx, fn))
}

// LoadDirectory reads the whole directory from one snapshot, each list
// sorted by key in byte order. It returns no error of this package.
func (db *DB) LoadDirectory(ctx context.Context) (*store.Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := &store.Directory{}
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		t := &dirTx{ctx: ctx, tx: tx}
		var err error
		if d.Organizations, err = loadDocs[store.Organization](t, `SELECT doc FROM organizations ORDER BY name COLLATE "C"`); err != nil {
			return err
		}
		if d.Accounts, err = loadDocs[store.Account](t, `SELECT doc FROM accounts ORDER BY name COLLATE "C"`); err != nil {
			return err
		}
		if d.Tokens, err = t.Tokens(""); err != nil {
			return err
		}
		if d.Groups, err = t.Groups(); err != nil {
			return err
		}
		d.Collections, err = loadDocs[store.Collection](t, `SELECT doc FROM collections ORDER BY id COLLATE "C"`)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ChangeDirectory runs fn in one transaction and commits it when fn returns
// nil; when fn returns an error nothing fn did is kept, and that error is
// returned as it is. Audit rows fn adds with DirectoryTx.Audit are written
// in the same transaction. tx is valid only until fn returns.
func (db *DB) ChangeDirectory(ctx context.Context, fn func(tx store.DirectoryTx) error) error {
	t := &dirTx{ctx: ctx, now: db.now}
	err := db.begin(ctx, func(tx pgx.Tx) error {
		t.tx, t.deleted = tx, nil // nothing survives a failed attempt
		defer func() { t.tx = nil }()
		return fn(t)
	})
	if err != nil {
		return err
	}
	// Watchers of a deleted collection on this node are closed before the
	// call returns; other nodes' when the notification or their periodic
	// read tells them.
	for _, id := range t.deleted {
		db.feed.dropped(id)
	}
	return nil
}

// RecordUse records when tokens were last used and when accounts last read,
// in one transaction; entries that no longer exist are skipped and times
// never move backwards. It returns no error of this package.
func (db *DB) RecordUse(ctx context.Context, tokens, reads map[string]time.Time) error {
	if len(tokens) == 0 && len(reads) == 0 {
		return ctx.Err()
	}
	return db.begin(ctx, func(tx pgx.Tx) error {
		t := &dirTx{ctx: ctx, tx: tx}
		// In key order, so that two nodes recording the same entries lock
		// them in the same order and cannot deadlock.
		for _, id := range slices.Sorted(maps.Keys(tokens)) {
			tok, err := getDoc[store.Token](t, "SELECT doc FROM tokens WHERE id = $1 FOR UPDATE", id)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				return err
			}
			if at := tokens[id]; at.After(tok.LastUsed) {
				tok.LastUsed = at
				if err := t.PutToken(tok); err != nil {
					return err
				}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(reads)) {
			acct, err := getDoc[store.Account](t, "SELECT doc FROM accounts WHERE name = $1 FOR UPDATE", name)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				return err
			}
			if at := reads[name]; at.After(acct.LastRead) {
				acct.LastRead = at
				if _, err := tx.Exec(ctx, "UPDATE accounts SET doc = $2 WHERE name = $1", name, mustJSON(acct)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// dirTx is store.DirectoryTx on a PostgreSQL transaction.
type dirTx struct {
	ctx     context.Context
	tx      pgx.Tx
	now     func() time.Time
	deleted []string // collections deleted
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the directory's types always marshal
	}
	return string(b)
}

func getDoc[T any](t *dirTx, sql string, key string) (*T, error) {
	var doc []byte
	err := t.tx.QueryRow(t.ctx, sql, key).Scan(&doc)
	if errNoRows(err) {
		return nil, fmt.Errorf("%q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	x := new(T)
	return x, json.Unmarshal(doc, x)
}

func loadDocs[T any](t *dirTx, sql string, args ...any) ([]T, error) {
	rows, err := t.tx.Query(t.ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var x T
		if err := json.Unmarshal(doc, &x); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// execFound runs sql and reports ErrNotFound (naming what) when it touches no
// row.
func (t *dirTx) execFound(what, key, sql string, args ...any) error {
	tag, err := t.tx.Exec(t.ctx, sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s %q: %w", what, key, store.ErrNotFound)
	}
	return nil
}

// Audit appends ev to the audit log as part of the change; a zero Time
// becomes the store clock's.
func (t *dirTx) Audit(ev store.AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = t.now()
	}
	b := &pgx.Batch{}
	if err := queueAudit(b, &ev); err != nil {
		return err
	}
	return t.tx.SendBatch(t.ctx, b).Close()
}

// Organization returns the named organization, or ErrNotFound.
func (t *dirTx) Organization(name string) (*store.Organization, error) {
	o, err := getDoc[store.Organization](t, "SELECT doc FROM organizations WHERE name = $1", name)
	return o, named("organization", err)
}

// named prefixes a not-found error with what was not found.
func named(what string, err error) error {
	if err != nil && errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s %w", what, err)
	}
	return err
}

// PutOrganization creates or replaces an organization.
func (t *dirTx) PutOrganization(o *store.Organization) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO organizations (name, doc) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET doc = excluded.doc`, o.Name, mustJSON(o))
	return err
}

// DeleteOrganization deletes an organization. Returns ErrNotFound when it
// does not exist, ErrConflict while it still has accounts.
func (t *dirTx) DeleteOrganization(name string) error {
	var inUse bool
	if err := t.tx.QueryRow(t.ctx, "SELECT EXISTS (SELECT 1 FROM accounts WHERE organization = $1)", name).Scan(&inUse); err != nil {
		return err
	}
	if inUse {
		return fmt.Errorf("organization %q still has accounts: %w", name, store.ErrConflict)
	}
	return t.execFound("organization", name, "DELETE FROM organizations WHERE name = $1", name)
}

// Account returns the named account, or ErrNotFound.
func (t *dirTx) Account(name string) (*store.Account, error) {
	a, err := getDoc[store.Account](t, "SELECT doc FROM accounts WHERE name = $1", name)
	return a, named("account", err)
}

// PutAccount creates or replaces an account. Returns an error wrapping
// ErrConflict when one of its certificates is registered to another
// account; the account is then left as it was.
func (t *dirTx) PutAccount(a *store.Account) error {
	return savepoint(t.ctx, t.tx, func(tx pgx.Tx) error {
		_, err := tx.Exec(t.ctx, `INSERT INTO accounts (name, organization, doc) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET organization = excluded.organization, doc = excluded.doc`,
			a.Name, a.Organization, mustJSON(a))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(t.ctx, "DELETE FROM account_certificates WHERE account = $1", a.Name); err != nil {
			return err
		}
		if len(a.Certificates) == 0 {
			return nil
		}
		_, err = tx.Exec(t.ctx, `INSERT INTO account_certificates (fingerprint, account)
			SELECT DISTINCT f, $2 FROM unnest($1::text[]) AS f`, a.Certificates, a.Name)
		return err
	})
}

// DeleteAccount deletes an account with its tokens, certificates and
// memberships. Returns ErrNotFound when it does not exist.
func (t *dirTx) DeleteAccount(name string) error {
	if err := t.execFound("account", name, "DELETE FROM accounts WHERE name = $1", name); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("DELETE FROM tokens WHERE account = $1", name)
	b.Queue("DELETE FROM group_members WHERE account = $1", name)
	return t.tx.SendBatch(t.ctx, b).Close()
}

// Token returns the token with the given id, or ErrNotFound.
func (t *dirTx) Token(id string) (*store.Token, error) {
	tok, err := getDoc[store.Token](t, "SELECT doc FROM tokens WHERE id = $1", id)
	return tok, named("token", err)
}

// Tokens returns the tokens of an account ("" for all), sorted by id.
func (t *dirTx) Tokens(account string) ([]store.Token, error) {
	if account == "" {
		return loadDocs[store.Token](t, `SELECT doc FROM tokens ORDER BY id COLLATE "C"`)
	}
	return loadDocs[store.Token](t, `SELECT doc FROM tokens WHERE account = $1 ORDER BY id COLLATE "C"`, account)
}

// PutToken creates or replaces a token.
func (t *dirTx) PutToken(tok *store.Token) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO tokens (id, account, doc) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET account = excluded.account, doc = excluded.doc`, tok.ID, tok.Account, mustJSON(tok))
	return err
}

// Group returns the named group with its members, or ErrNotFound.
func (t *dirTx) Group(name string) (*store.Group, error) {
	gs, err := t.groups(name)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("group %q: %w", name, store.ErrNotFound)
	}
	return &gs[0], nil
}

// Groups returns every group, sorted by name.
func (t *dirTx) Groups() ([]store.Group, error) { return t.groups("") }

// groups reads the named group, or all of them when name is "", with
// their members.
func (t *dirTx) groups(name string) ([]store.Group, error) {
	b := &pgx.Batch{}
	var gs []store.Group
	index := map[string]int{}
	filter := ""
	args := []any{}
	if name != "" {
		filter, args = " WHERE name = $1", []any{name}
	}
	b.Queue(`SELECT doc FROM groups`+filter+` ORDER BY name COLLATE "C"`, args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var doc []byte
			if err := rows.Scan(&doc); err != nil {
				return err
			}
			var g store.Group
			if err := json.Unmarshal(doc, &g); err != nil {
				return err
			}
			g.Members = nil
			index[g.Name] = len(gs)
			gs = append(gs, g)
		}
		return rows.Err()
	})
	mfilter := ""
	if name != "" {
		mfilter = " WHERE group_name = $1"
	}
	b.Queue(`SELECT group_name, account, role FROM group_members`+mfilter, args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var g, account, role string
			if err := rows.Scan(&g, &account, &role); err != nil {
				return err
			}
			i, ok := index[g]
			if !ok {
				continue
			}
			if gs[i].Members == nil {
				gs[i].Members = map[string]access.Role{}
			}
			gs[i].Members[account] = access.Role(role)
		}
		return rows.Err()
	})
	if err := t.tx.SendBatch(t.ctx, b).Close(); err != nil {
		return nil, err
	}
	return gs, nil
}

// PutGroup creates or replaces a group and its members.
func (t *dirTx) PutGroup(g *store.Group) error {
	desc := *g
	desc.Members = nil // kept in group_members
	accounts := make([]string, 0, len(g.Members))
	roles := make([]string, 0, len(g.Members))
	for a, r := range g.Members {
		accounts, roles = append(accounts, a), append(roles, string(r))
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO groups (name, doc) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET doc = excluded.doc`, g.Name, mustJSON(&desc))
	b.Queue("DELETE FROM group_members WHERE group_name = $1", g.Name)
	b.Queue(`INSERT INTO group_members (group_name, account, role) SELECT $1, * FROM unnest($2::text[], $3::text[])`, g.Name, accounts, roles)
	return t.tx.SendBatch(t.ctx, b).Close()
}

// DeleteGroup deletes a group and its memberships. Returns ErrNotFound
// when it does not exist, ErrConflict while it still has collections.
func (t *dirTx) DeleteGroup(name string) error {
	var inUse bool
	if err := t.tx.QueryRow(t.ctx, "SELECT EXISTS (SELECT 1 FROM collections WHERE api_root = $1)", name).Scan(&inUse); err != nil {
		return err
	}
	if inUse {
		return fmt.Errorf("group %q still has collections: %w", name, store.ErrConflict)
	}
	return t.execFound("group", name, "DELETE FROM groups WHERE name = $1", name)
}

// Collection returns the collection with the given id, or
// ErrCollectionNotFound.
func (t *dirTx) Collection(id string) (*store.Collection, error) {
	c, err := getDoc[store.Collection](t, "SELECT doc FROM collections WHERE id = $1", id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", id, store.ErrCollectionNotFound)
	}
	return c, err
}

// PutCollection creates or replaces a collection's description and makes
// sure the collection exists; stored objects are kept. Returns an error
// wrapping ErrConflict when another collection of the group has its alias.
func (t *dirTx) PutCollection(c *store.Collection) error { return putCollection(t.ctx, t.tx, c) }

// DeleteCollection deletes a collection and every object stored in it.
// Returns ErrNotFound when it does not exist.
func (t *dirTx) DeleteCollection(id string) error {
	if err := t.execFound("collection", id, "DELETE FROM collections WHERE id = $1", id); err != nil {
		return err
	}
	b := &pgx.Batch{}
	queueNotify(b, id) // other nodes close their watchers
	if err := t.tx.SendBatch(t.ctx, b).Close(); err != nil {
		return err
	}
	t.deleted = append(t.deleted, id)
	return nil
}
