package postgres

import (
	"context"
	"encoding/hex"
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

// SQLSTATEs the directory handles.
const (
	uniqueViolation      = "23505"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
)

// maxDirectoryAttempts bounds the runs of one ChangeDirectory that
// fails with a deadlock (PostgreSQL breaking one) or a serialization
// failure.
const maxDirectoryAttempts = 10

// conflict maps a unique violation left unchecked by the methods (a row
// another transaction committed between a check and a write) to a
// *store.ConflictError; other errors are returned as they are.
func conflict(err error) error {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != uniqueViolation {
		return err
	}
	inv := map[string]store.Invariant{
		"organizations_pkey":        store.OrganizationExists,
		"accounts_pkey":             store.AccountExists,
		"account_certificates_pkey": store.CertificateRegistered,
		"tokens_pkey":               store.TokenExists,
		"groups_pkey":               store.GroupExists,
		"collections_pkey":          store.CollectionExists,
		"collections_alias":         store.AliasTaken,
		"webhooks_pkey":             store.WebhookExists,
	}[pg.ConstraintName]
	if inv == 0 {
		return err
	}
	return &store.ConflictError{Invariant: inv}
}

func sqlState(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

// EnsureCollection creates the collection if it is missing and records its
// description, replacing an earlier one; objects already stored are kept.
// The caller has validated c.ID (a UUIDv4). The schema keeps an alias to
// one collection of a group even here: when another collection of the
// group has c's alias, it returns a *store.ConflictError (AliasTaken) and
// changes nothing.
func (db *DB) EnsureCollection(ctx context.Context, c store.Collection) (err error) {
	defer unavailable(&err)
	return db.begin(ctx, func(tx pgx.Tx) error {
		if err := lockDirectoryTx(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO collections (id, api_root, alias, doc) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET api_root = excluded.api_root, alias = excluded.alias, doc = excluded.doc`,
			c.ID, c.APIRoot, aliasOf(&c), mustJSON(&c))
		err = conflict(err)
		if ce := (*store.ConflictError)(nil); errors.As(err, &ce) {
			ce.Key = c.Alias
		}
		return err
	})
}

// lockDirectoryTx makes tx the one directory change in progress, on any
// node, and moves the directory's version, both until tx ends: the version
// moves only if tx commits.
func lockDirectoryTx(ctx context.Context, tx pgx.Tx) error {
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock($1)", lockDirectory)
	b.Queue("UPDATE directory_version SET version = version + 1")
	return tx.SendBatch(ctx, b).Close()
}

// DirectoryVersion returns the number of directory changes committed on
// any node (ChangeDirectory and EnsureCollection): a node compares it with
// the one it loaded to learn that its copy of the directory is stale. It
// returns no error of this package.
func (db *DB) DirectoryVersion(ctx context.Context) (_ uint64, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var v int64
	if err := db.pool.QueryRow(ctx, "SELECT version FROM directory_version").Scan(&v); err != nil {
		return 0, err
	}
	return uint64(v), nil
}

// aliasOf is c's alias as stored: NULL when it has none.
func aliasOf(c *store.Collection) *string {
	if c.Alias == "" {
		return nil
	}
	return &c.Alias
}

// LoadDirectory reads the whole directory from one snapshot, each list
// sorted by key in byte order. It returns no error of this package.
func (db *DB) LoadDirectory(ctx context.Context) (_ *store.Directory, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := &store.Directory{}
	err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
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
// in the same transaction, and the directory's version moves. Directory
// changes on every node run one at a time (an advisory lock taken first;
// each statement after it sees every change committed before), so the
// invariants that fn's methods check by reading hold across nodes; the
// schema's unique indexes back those it can. fn is run again (up to 10
// times) when PostgreSQL breaks a deadlock by failing the transaction; tx
// is valid only until fn returns.
func (db *DB) ChangeDirectory(ctx context.Context, fn func(tx store.DirectoryTx) error) (err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return err
	}
	t := &dirTx{ctx: ctx, now: db.now}
	for attempt := 1; ; attempt++ {
		err = db.begin(ctx, func(tx pgx.Tx) error {
			t.tx, t.deleted = tx, nil // nothing survives a failed attempt
			defer func() { t.tx = nil }()
			if err := lockDirectoryTx(ctx, tx); err != nil {
				return err
			}
			return fn(t)
		})
		// A deadlock with another kind of transaction (a publisher holding
		// a collection's row) is broken by PostgreSQL failing one of them:
		// run fn again.
		if code := sqlState(err); (code != serializationFailure && code != deadlockDetected) || attempt == maxDirectoryAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
		}
	}
	if err != nil {
		return conflict(err)
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
func (db *DB) RecordUse(ctx context.Context, tokens, reads map[string]time.Time) (err error) {
	defer unavailable(&err)
	if len(tokens) == 0 && len(reads) == 0 {
		return ctx.Err()
	}
	return db.begin(ctx, func(tx pgx.Tx) error {
		t := &dirTx{ctx: ctx, tx: tx}
		err := recordTimes(t, tokens, "SELECT doc FROM tokens WHERE id = $1 FOR UPDATE",
			"UPDATE tokens SET doc = $2 WHERE id = $1", func(tok *store.Token) *time.Time { return &tok.LastUsed })
		if err != nil {
			return err
		}
		return recordTimes(t, reads, "SELECT doc FROM accounts WHERE name = $1 FOR UPDATE",
			"UPDATE accounts SET doc = $2 WHERE name = $1", func(a *store.Account) *time.Time { return &a.LastRead })
	})
}

// recordTimes moves the time that field points to in each entry named in
// times forward to its time there, never backwards. It reads an entry
// with the query sel and writes it back with the statement upd (the key
// is $1, the document $2); an entry that no longer exists is skipped.
func recordTimes[T any](t *dirTx, times map[string]time.Time, sel, upd string, field func(*T) *time.Time) error {
	// In key order, so that two nodes recording the same entries lock
	// them in the same order and cannot deadlock.
	for _, key := range slices.Sorted(maps.Keys(times)) {
		v, err := getDoc[T](t, sel, key)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return err
		}
		if at := times[key]; at.After(*field(v)) {
			*field(v) = at
			if _, err := t.tx.Exec(t.ctx, upd, key, mustJSON(v)); err != nil {
				return err
			}
		}
	}
	return nil
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

// create runs an INSERT ... ON CONFLICT DO NOTHING and returns the
// conflict inv on key when the row exists already.
func (t *dirTx) create(inv store.Invariant, key, sql string, args ...any) error {
	tag, err := t.tx.Exec(t.ctx, sql+" ON CONFLICT DO NOTHING", args...)
	if err != nil {
		return conflict(err)
	}
	if tag.RowsAffected() == 0 {
		return &store.ConflictError{Invariant: inv, Key: key}
	}
	return nil
}

// CreateOrganization adds a new organization. Returns a ConflictError
// (OrganizationExists) when one of that name exists.
func (t *dirTx) CreateOrganization(o *store.Organization) error {
	return t.create(store.OrganizationExists, o.Name, "INSERT INTO organizations (name, doc) VALUES ($1, $2)", o.Name, mustJSON(o))
}

// UpdateOrganization replaces the organization of that name. Returns
// ErrNotFound when there is none.
func (t *dirTx) UpdateOrganization(o *store.Organization) error {
	return t.execFound("organization", o.Name, "UPDATE organizations SET doc = $2 WHERE name = $1", o.Name, mustJSON(o))
}

// DeleteOrganization deletes an organization. Returns ErrNotFound when it
// does not exist, a ConflictError (OrganizationHasAccounts) while it still
// has accounts.
func (t *dirTx) DeleteOrganization(name string) error {
	return t.deleteUnused("organization", name, store.OrganizationHasAccounts,
		"SELECT EXISTS (SELECT 1 FROM accounts WHERE organization = $1)",
		"DELETE FROM organizations WHERE name = $1")
}

// deleteUnused runs the statement del with key, as execFound does, unless
// the query used (a SELECT EXISTS of key) is true: then it returns a
// ConflictError (ifUsed) and deletes nothing.
func (t *dirTx) deleteUnused(what, key string, ifUsed store.Invariant, used, del string) error {
	var inUse bool
	if err := t.tx.QueryRow(t.ctx, used, key).Scan(&inUse); err != nil {
		return err
	}
	if inUse {
		return &store.ConflictError{Invariant: ifUsed, Key: key}
	}
	return t.execFound(what, key, del, key)
}

// Account returns the named account, or ErrNotFound.
func (t *dirTx) Account(name string) (*store.Account, error) {
	a, err := getDoc[store.Account](t, "SELECT doc FROM accounts WHERE name = $1", name)
	return a, named("account", err)
}

// CreateAccount adds a new account. Returns a ConflictError: AccountExists
// when an account of that name exists, CertificateRegistered when one of
// its certificates is another account's (fingerprints compare as
// access.HashKey decodes them).
func (t *dirTx) CreateAccount(a *store.Account) error {
	if err := t.create(store.AccountExists, a.Name, "INSERT INTO accounts (name, organization, doc) VALUES ($1, $2, $3)",
		a.Name, a.Organization, mustJSON(a)); err != nil {
		return err
	}
	return t.putCertificates(a)
}

// UpdateAccount replaces the account of that name. Returns ErrNotFound
// when there is none, a ConflictError (CertificateRegistered) when one of
// its certificates is another account's.
func (t *dirTx) UpdateAccount(a *store.Account) error {
	if err := t.execFound("account", a.Name, "UPDATE accounts SET organization = $2, doc = $3 WHERE name = $1",
		a.Name, a.Organization, mustJSON(a)); err != nil {
		return err
	}
	return t.putCertificates(a)
}

// putCertificates makes a's certificates the ones account_certificates
// registers to it, or returns the conflict of the first that another
// account has. (The primary key would refuse it too, but only after the
// transaction can no longer say whose it is.)
func (t *dirTx) putCertificates(a *store.Account) error {
	fps := make([]string, len(a.Certificates))
	for i, fp := range a.Certificates {
		fps[i] = fingerprint(fp)
	}
	holders := map[string]string{}
	if len(fps) > 0 {
		rows, err := t.tx.Query(t.ctx, "SELECT fingerprint, account FROM account_certificates WHERE fingerprint = ANY($1) AND account <> $2", fps, a.Name)
		if err != nil {
			return err
		}
		for rows.Next() {
			var fp, holder string
			if err := rows.Scan(&fp, &holder); err != nil {
				rows.Close()
				return err
			}
			holders[fp] = holder
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for i, fp := range fps {
		if holder, ok := holders[fp]; ok {
			return &store.ConflictError{Invariant: store.CertificateRegistered, Key: a.Certificates[i], Holder: holder, Index: i}
		}
	}
	b := &pgx.Batch{}
	b.Queue("DELETE FROM account_certificates WHERE account = $1", a.Name)
	b.Queue("INSERT INTO account_certificates (fingerprint, account) SELECT DISTINCT f, $2 FROM unnest($1::text[]) AS f", fps, a.Name)
	return conflict(t.tx.SendBatch(t.ctx, b).Close())
}

// fingerprint is a certificate fingerprint in the form that every spelling
// of the same certificate shares (access.HashKey's, as lower-case hex); one
// that does not decode is kept as it is.
func fingerprint(fp string) string {
	if k, ok := access.HashKey(fp); ok {
		return hex.EncodeToString(k[:])
	}
	return fp
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

// CreateToken adds a new token. Returns a ConflictError (TokenExists) when
// a token with that id exists.
func (t *dirTx) CreateToken(tok *store.Token) error {
	return t.create(store.TokenExists, tok.ID, "INSERT INTO tokens (id, account, doc) VALUES ($1, $2, $3)", tok.ID, tok.Account, mustJSON(tok))
}

// UpdateToken replaces the token with that id. Returns ErrNotFound when
// there is none.
func (t *dirTx) UpdateToken(tok *store.Token) error {
	return t.execFound("token", tok.ID, "UPDATE tokens SET account = $2, doc = $3 WHERE id = $1", tok.ID, tok.Account, mustJSON(tok))
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
	filter, mfilter := "", ""
	args := []any{}
	if name != "" {
		filter, mfilter, args = " WHERE name = $1", " WHERE group_name = $1", []any{name}
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

// CreateGroup adds a new group with its members. Returns a ConflictError
// (GroupExists) when one of that name exists.
func (t *dirTx) CreateGroup(g *store.Group) error {
	desc := *g
	desc.Members = nil // kept in group_members
	if err := t.create(store.GroupExists, g.Name, "INSERT INTO groups (name, doc) VALUES ($1, $2)", g.Name, mustJSON(&desc)); err != nil {
		return err
	}
	return t.putMembers(g)
}

// UpdateGroup replaces the group of that name, members included. Returns
// ErrNotFound when there is none.
func (t *dirTx) UpdateGroup(g *store.Group) error {
	desc := *g
	desc.Members = nil
	if err := t.execFound("group", g.Name, "UPDATE groups SET doc = $2 WHERE name = $1", g.Name, mustJSON(&desc)); err != nil {
		return err
	}
	return t.putMembers(g)
}

func (t *dirTx) putMembers(g *store.Group) error {
	accounts := make([]string, 0, len(g.Members))
	roles := make([]string, 0, len(g.Members))
	for a, r := range g.Members {
		accounts, roles = append(accounts, a), append(roles, string(r))
	}
	b := &pgx.Batch{}
	b.Queue("DELETE FROM group_members WHERE group_name = $1", g.Name)
	b.Queue(`INSERT INTO group_members (group_name, account, role) SELECT $1, * FROM unnest($2::text[], $3::text[])`, g.Name, accounts, roles)
	return t.tx.SendBatch(t.ctx, b).Close()
}

// DeleteGroup deletes a group and its memberships. Returns ErrNotFound
// when it does not exist, a ConflictError (GroupHasCollections) while it
// still has collections.
func (t *dirTx) DeleteGroup(name string) error {
	return t.deleteUnused("group", name, store.GroupHasCollections,
		"SELECT EXISTS (SELECT 1 FROM collections WHERE api_root = $1)",
		"DELETE FROM groups WHERE name = $1")
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

// CreateCollection adds a new, empty collection. Returns a ConflictError:
// CollectionExists when a collection with that id exists (in any group),
// AliasTaken when another collection of the group has c's alias.
func (t *dirTx) CreateCollection(c *store.Collection) error {
	var exists bool
	if err := t.tx.QueryRow(t.ctx, "SELECT EXISTS (SELECT 1 FROM collections WHERE id = $1)", c.ID).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return &store.ConflictError{Invariant: store.CollectionExists, Key: c.ID}
	}
	if err := t.checkAlias(c); err != nil {
		return err
	}
	_, err := t.tx.Exec(t.ctx, "INSERT INTO collections (id, api_root, alias, doc) VALUES ($1, $2, $3, $4)",
		c.ID, c.APIRoot, aliasOf(c), mustJSON(c))
	return conflict(err)
}

// UpdateCollection replaces the description of the collection with that
// id; its objects are kept and its group does not change. Returns
// ErrCollectionNotFound when there is none or c.APIRoot is not its group,
// a ConflictError (AliasTaken) when another collection of the group has
// c's alias.
func (t *dirTx) UpdateCollection(c *store.Collection) error {
	var root string
	err := t.tx.QueryRow(t.ctx, "SELECT api_root FROM collections WHERE id = $1", c.ID).Scan(&root)
	if errNoRows(err) || err == nil && root != c.APIRoot {
		// Moving a collection between groups is no update the contract
		// offers: to the caller it is not in that group.
		return fmt.Errorf("%s in group %q: %w", c.ID, c.APIRoot, store.ErrCollectionNotFound)
	}
	if err != nil {
		return err
	}
	if err := t.checkAlias(c); err != nil {
		return err
	}
	_, err = t.tx.Exec(t.ctx, "UPDATE collections SET alias = $2, doc = $3 WHERE id = $1", c.ID, aliasOf(c), mustJSON(c))
	return conflict(err)
}

// checkAlias returns the conflict of another collection of c's group
// having c's alias.
func (t *dirTx) checkAlias(c *store.Collection) error {
	if c.Alias == "" {
		return nil
	}
	var holder string
	err := t.tx.QueryRow(t.ctx, "SELECT id FROM collections WHERE api_root = $1 AND alias = $2 AND id <> $3 LIMIT 1",
		c.APIRoot, c.Alias, c.ID).Scan(&holder)
	if errNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return &store.ConflictError{Invariant: store.AliasTaken, Key: c.Alias, Holder: holder}
}

// DeleteCollection deletes a collection and every object stored in it.
// Returns ErrNotFound when it does not exist.
func (t *dirTx) DeleteCollection(id string) error {
	if err := t.execFound("collection", id, "DELETE FROM collections WHERE id = $1", id); err != nil {
		return err
	}
	b := &pgx.Batch{}
	// No foreign key cascades to the collection's hour counts.
	b.Queue("DELETE FROM collection_hours WHERE collection = $1", id)
	queueNotify(b, id, 0) // other nodes close their watchers
	if err := t.tx.SendBatch(t.ctx, b).Close(); err != nil {
		return err
	}
	t.deleted = append(t.deleted, id)
	return nil
}
