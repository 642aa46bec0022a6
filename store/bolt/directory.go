package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The directory is who may do what: organizations, accounts, API tokens,
// sharing groups with their members, and collections with their policies.
// It is small (thousands of entries at most), so readers load it whole with
// LoadDirectory and keep it in memory; every change goes through
// ChangeDirectory, which also appends the audit event describing it.

var (
	bucketOrgs     = []byte("orgs")
	bucketAccounts = []byte("accounts")
	bucketTokens   = []byte("tokens")
	bucketGroups   = []byte("groups")
)

// RecordUse records when tokens were last used and when accounts last read,
// in one transaction; entries that no longer exist are skipped and times
// never move backwards. Callers batch these updates so that a request does
// not cost a write transaction.
func (db *DB) RecordUse(ctx context.Context, tokens, reads map[string]time.Time) error {
	if len(tokens) == 0 && len(reads) == 0 {
		return nil
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if err := recordTimes(tx, bucketTokens, tokens, func(tok *store.Token) *time.Time { return &tok.LastUsed }); err != nil {
			return err
		}
		return recordTimes(tx, bucketAccounts, reads, func(a *store.Account) *time.Time { return &a.LastRead })
	})
}

// recordTimes moves the time that field points to in each entry of bucket
// named in times forward to its time there, never backwards; an entry
// that no longer exists (or does not decode) is skipped.
func recordTimes[T any](tx *bbolt.Tx, bucket []byte, times map[string]time.Time, field func(*T) *time.Time) error {
	for key, at := range times {
		v, err := get[T](tx, bucket, key, "entry")
		if err != nil || !at.After(*field(v)) {
			continue
		}
		*field(v) = at
		if err := put(tx, bucket, key, v); err != nil {
			return err
		}
	}
	return nil
}

// LoadDirectory reads the whole directory.
func (db *DB) LoadDirectory(ctx context.Context) (*store.Directory, error) {
	d := &store.Directory{}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		if err := loadAll(tx, bucketOrgs, &d.Organizations); err != nil {
			return err
		}
		if err := loadAll(tx, bucketAccounts, &d.Accounts); err != nil {
			return err
		}
		if err := loadAll(tx, bucketTokens, &d.Tokens); err != nil {
			return err
		}
		if err := loadAll(tx, bucketGroups, &d.Groups); err != nil {
			return err
		}
		return loadAll(tx, bucketCollections, &d.Collections)
	})
	return d, err
}

func loadAll[T any](tx *bbolt.Tx, bucket []byte, out *[]T) error {
	return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("store: %s/%s: %w", bucket, k, err)
		}
		*out = append(*out, x)
		return nil
	})
}

// dirTx is store.DirectoryTx on a bbolt write transaction. bbolt has one
// writer at a time, so the invariants checked by reading the transaction's
// view cannot be broken by a concurrent change between check and write.
type dirTx struct {
	tx   *bbolt.Tx
	now  func() time.Time
	feed *store.Watchers // whose watchers of a deleted collection are closed on commit
}

// ChangeDirectory runs fn in one write transaction, committed when fn
// returns nil. Audit rows fn adds with DirectoryTx.Audit are written in the
// same transaction, so a change and its audit record are stored together
// or not at all. fn runs once.
func (db *DB) ChangeDirectory(ctx context.Context, fn func(store.DirectoryTx) error) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if err := fn(&dirTx{tx: tx, now: db.now, feed: db.feed}); err != nil {
			return err
		}
		return bumpDirectoryVersion(tx)
	})
}

// DirectoryVersion returns the number meta/directory_version holds, which
// every committed directory change increments.
func (db *DB) DirectoryVersion(ctx context.Context) (uint64, error) {
	var v uint64
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketMeta).Get(keyDirVersion); len(b) == 8 {
			v = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return v, err
}

// bumpDirectoryVersion increments meta/directory_version in tx.
func bumpDirectoryVersion(tx *bbolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	var v uint64
	if b := meta.Get(keyDirVersion); len(b) == 8 {
		v = binary.BigEndian.Uint64(b)
	}
	return meta.Put(keyDirVersion, binary.BigEndian.AppendUint64(nil, v+1))
}

// Audit appends ev to the audit log as part of the change; a zero Time
// becomes the store clock's.
func (t *dirTx) Audit(ev store.AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = t.now()
	}
	return appendAudit(t.tx, &ev)
}

// get decodes the entry of bucket under key. A missing key is ErrNotFound
// (what names the kind of entry in the message); a value that does not
// decode is corruption, reported as such.
func get[T any](tx *bbolt.Tx, bucket []byte, key, what string) (*T, error) {
	v := tx.Bucket(bucket).Get([]byte(key))
	if v == nil {
		return nil, fmt.Errorf("%s %q: %w", what, key, store.ErrNotFound)
	}
	x := new(T)
	if err := json.Unmarshal(v, x); err != nil {
		return nil, fmt.Errorf("store: %s/%s: %w", bucket, key, err)
	}
	return x, nil
}

func put(tx *bbolt.Tx, bucket []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), data)
}

// create puts v under key unless the key is taken, which is the conflict
// ifTaken.
func create(tx *bbolt.Tx, bucket []byte, key string, v any, ifTaken store.Invariant) error {
	if tx.Bucket(bucket).Get([]byte(key)) != nil {
		return &store.ConflictError{Invariant: ifTaken, Key: key}
	}
	return put(tx, bucket, key, v)
}

// replace puts v under key if the key exists, and is ErrNotFound otherwise.
func replace(tx *bbolt.Tx, bucket []byte, key string, v any, what string) error {
	if tx.Bucket(bucket).Get([]byte(key)) == nil {
		return fmt.Errorf("%s %q: %w", what, key, store.ErrNotFound)
	}
	return put(tx, bucket, key, v)
}

func del(tx *bbolt.Tx, bucket []byte, key, what string) error {
	b := tx.Bucket(bucket)
	if b.Get([]byte(key)) == nil {
		return fmt.Errorf("%s %q: %w", what, key, store.ErrNotFound)
	}
	return b.Delete([]byte(key))
}

// Organization returns the named organization.
func (t *dirTx) Organization(name string) (*store.Organization, error) {
	return get[store.Organization](t.tx, bucketOrgs, name, "organization")
}

// CreateOrganization adds a new organization.
func (t *dirTx) CreateOrganization(o *store.Organization) error {
	return create(t.tx, bucketOrgs, o.Name, o, store.OrganizationExists)
}

// UpdateOrganization replaces an existing organization.
func (t *dirTx) UpdateOrganization(o *store.Organization) error {
	return replace(t.tx, bucketOrgs, o.Name, o, "organization")
}

// DeleteOrganization deletes an organization that has no accounts left.
func (t *dirTx) DeleteOrganization(name string) error {
	return delUnused(t.tx, bucketOrgs, name, "organization", store.OrganizationHasAccounts,
		bucketAccounts, func(a *store.Account) bool { return a.Organization == name })
}

// delUnused deletes key from bucket, as del does, unless an entry of the
// bucket usedBy satisfies uses: then it returns a ConflictError (ifUsed)
// and deletes nothing.
func delUnused[T any](tx *bbolt.Tx, bucket []byte, key, what string, ifUsed store.Invariant, usedBy []byte, uses func(*T) bool) error {
	var all []T
	if err := loadAll(tx, usedBy, &all); err != nil {
		return err
	}
	for i := range all {
		if uses(&all[i]) {
			return &store.ConflictError{Invariant: ifUsed, Key: key}
		}
	}
	return del(tx, bucket, key, what)
}

// Account returns the named account.
func (t *dirTx) Account(name string) (*store.Account, error) {
	return get[store.Account](t.tx, bucketAccounts, name, "account")
}

// CreateAccount adds a new account whose certificates no other account
// has.
func (t *dirTx) CreateAccount(a *store.Account) error {
	if t.tx.Bucket(bucketAccounts).Get([]byte(a.Name)) != nil {
		return &store.ConflictError{Invariant: store.AccountExists, Key: a.Name}
	}
	if err := t.checkCertificates(a); err != nil {
		return err
	}
	return put(t.tx, bucketAccounts, a.Name, a)
}

// UpdateAccount replaces an existing account; its certificates must be
// no other account's.
func (t *dirTx) UpdateAccount(a *store.Account) error {
	if t.tx.Bucket(bucketAccounts).Get([]byte(a.Name)) == nil {
		return fmt.Errorf("account %q: %w", a.Name, store.ErrNotFound)
	}
	if err := t.checkCertificates(a); err != nil {
		return err
	}
	return put(t.tx, bucketAccounts, a.Name, a)
}

// checkCertificates returns a conflict for the first certificate of a that
// another account has. It reads every account: the directory is small and
// changes are rare, and an index would be one more thing to keep in step.
func (t *dirTx) checkCertificates(a *store.Account) error {
	if len(a.Certificates) == 0 {
		return nil
	}
	var accounts []store.Account
	if err := loadAll(t.tx, bucketAccounts, &accounts); err != nil {
		return err
	}
	owner := map[string]string{}
	for _, other := range accounts {
		if other.Name == a.Name {
			continue
		}
		for _, fp := range other.Certificates {
			owner[fingerprint(fp)] = other.Name
		}
	}
	for i, fp := range a.Certificates {
		if name, ok := owner[fingerprint(fp)]; ok {
			return &store.ConflictError{Invariant: store.CertificateRegistered, Key: fp, Holder: name, Index: i}
		}
	}
	return nil
}

// fingerprint is a certificate fingerprint in the form two spellings of
// the same certificate share (access.HashKey's); one that does not decode
// is compared as it is.
func fingerprint(fp string) string {
	if k, ok := access.HashKey(fp); ok {
		return string(k[:])
	}
	return fp
}

// DeleteAccount deletes an account with its tokens and memberships.
func (t *dirTx) DeleteAccount(name string) error {
	if err := del(t.tx, bucketAccounts, name, "account"); err != nil {
		return err
	}
	tokens, err := t.Tokens(name)
	if err != nil {
		return err
	}
	for _, tok := range tokens {
		if err := t.tx.Bucket(bucketTokens).Delete([]byte(tok.ID)); err != nil {
			return err
		}
	}
	groups, err := t.Groups()
	if err != nil {
		return err
	}
	for i := range groups {
		if _, ok := groups[i].Members[name]; ok {
			delete(groups[i].Members, name)
			if err := put(t.tx, bucketGroups, groups[i].Name, &groups[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Token returns the token with the given id.
func (t *dirTx) Token(id string) (*store.Token, error) {
	return get[store.Token](t.tx, bucketTokens, id, "token")
}

// Tokens returns the tokens of an account ("" for all), sorted by id.
func (t *dirTx) Tokens(account string) ([]store.Token, error) {
	var all []store.Token
	if err := loadAll(t.tx, bucketTokens, &all); err != nil {
		return nil, err
	}
	if account == "" {
		return all, nil
	}
	return slices.DeleteFunc(all, func(tok store.Token) bool { return tok.Account != account }), nil
}

// CreateToken adds a new token.
func (t *dirTx) CreateToken(tok *store.Token) error {
	return create(t.tx, bucketTokens, tok.ID, tok, store.TokenExists)
}

// UpdateToken replaces an existing token.
func (t *dirTx) UpdateToken(tok *store.Token) error {
	return replace(t.tx, bucketTokens, tok.ID, tok, "token")
}

// Group returns the named group.
func (t *dirTx) Group(name string) (*store.Group, error) {
	return get[store.Group](t.tx, bucketGroups, name, "group")
}

// Groups returns every group, sorted by name.
func (t *dirTx) Groups() ([]store.Group, error) {
	var all []store.Group
	return all, loadAll(t.tx, bucketGroups, &all)
}

// CreateGroup adds a new group.
func (t *dirTx) CreateGroup(g *store.Group) error {
	return create(t.tx, bucketGroups, g.Name, g, store.GroupExists)
}

// UpdateGroup replaces an existing group.
func (t *dirTx) UpdateGroup(g *store.Group) error {
	return replace(t.tx, bucketGroups, g.Name, g, "group")
}

// DeleteGroup deletes a group that has no collections left.
func (t *dirTx) DeleteGroup(name string) error {
	return delUnused(t.tx, bucketGroups, name, "group", store.GroupHasCollections,
		bucketCollections, func(c *store.Collection) bool { return c.APIRoot == name })
}

// Collection returns the collection with the given id.
func (t *dirTx) Collection(id string) (*store.Collection, error) {
	c, err := get[store.Collection](t.tx, bucketCollections, id, "collection")
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", id, store.ErrCollectionNotFound)
	}
	return c, err
}

// CreateCollection adds a new collection with its buckets.
func (t *dirTx) CreateCollection(c *store.Collection) error {
	if t.tx.Bucket(bucketCollections).Get([]byte(c.ID)) != nil {
		return &store.ConflictError{Invariant: store.CollectionExists, Key: c.ID}
	}
	if err := t.checkAlias(c); err != nil {
		return err
	}
	return putCollection(t.tx, c)
}

// UpdateCollection replaces an existing collection's description; its
// buckets and objects stay.
func (t *dirTx) UpdateCollection(c *store.Collection) error {
	cur, err := t.Collection(c.ID)
	if err != nil {
		return err
	}
	if cur.APIRoot != c.APIRoot {
		// Moving a collection between groups is no update the contract
		// offers: to the caller it is not in that group.
		return fmt.Errorf("%s in group %q: %w", c.ID, c.APIRoot, store.ErrCollectionNotFound)
	}
	if err := t.checkAlias(c); err != nil {
		return err
	}
	return putCollection(t.tx, c)
}

// checkAlias returns a conflict when another collection of c's group has
// c's alias. Like checkCertificates it reads every collection rather than
// keep an index.
func (t *dirTx) checkAlias(c *store.Collection) error {
	if c.Alias == "" {
		return nil
	}
	var colls []store.Collection
	if err := loadAll(t.tx, bucketCollections, &colls); err != nil {
		return err
	}
	for _, other := range colls {
		if other.ID != c.ID && other.APIRoot == c.APIRoot && other.Alias == c.Alias {
			return &store.ConflictError{Invariant: store.AliasTaken, Key: c.Alias, Holder: other.ID}
		}
	}
	return nil
}

// DeleteCollection deletes a collection and every object stored in it.
func (t *dirTx) DeleteCollection(id string) error {
	if err := del(t.tx, bucketCollections, id, "collection"); err != nil {
		return err
	}
	err := t.tx.Bucket(bucketC).DeleteBucket([]byte(id))
	if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	// Its watchers end once the deletion is committed, and only then.
	t.tx.OnCommit(func() { t.feed.Drop(id) })
	return nil
}

// verifyDirectory reports directory entries that do not decode or are not
// stored under their own name or id, and breaks of the invariants that
// dirTx enforces by reading (no index keeps them): a certificate
// registered to two accounts, an alias two collections of a group share.
func verifyDirectory(tx *bbolt.Tx, report func(format string, args ...any)) {
	verifyKeys(tx, bucketOrgs, report, func(o *store.Organization) string { return o.Name })
	accounts := verifyKeys(tx, bucketAccounts, report, func(a *store.Account) string { return a.Name })
	verifyKeys(tx, bucketTokens, report, func(t *store.Token) string { return t.ID })
	verifyKeys(tx, bucketGroups, report, func(g *store.Group) string { return g.Name })
	colls := verifyKeys(tx, bucketCollections, report, func(c *store.Collection) string { return c.ID })
	certOwner := map[string]string{}
	for _, a := range accounts {
		for _, fp := range a.Certificates {
			k := fingerprint(fp)
			if other, ok := certOwner[k]; ok && other != a.Name {
				report("certificate %s is registered to accounts %s and %s", fp, other, a.Name)
			}
			certOwner[k] = a.Name
		}
	}
	aliasOwner := map[[2]string]string{}
	for _, c := range colls {
		if c.Alias == "" {
			continue
		}
		k := [2]string{c.APIRoot, c.Alias}
		if other, ok := aliasOwner[k]; ok {
			report("group %s: collections %s and %s share alias %q", c.APIRoot, other, c.ID, c.Alias)
		}
		aliasOwner[k] = c.ID
	}
}

// verifyKeys reports the entries of bucket that do not decode as a T or
// are stored under another key than key gives, and returns those that
// decode.
func verifyKeys[T any](tx *bbolt.Tx, bucket []byte, report func(format string, args ...any), key func(*T) string) []T {
	var all []T
	_ = tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			report("%s/%s: %v", bucket, k, err)
			return nil
		}
		if name := key(&x); name != string(k) {
			report("%s/%s: stored under another key than its own (%q)", bucket, k, name)
		}
		all = append(all, x)
		return nil
	})
	return all
}
