package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/eitaxii/eitaxii/access"
	bolt "go.etcd.io/bbolt"
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

// Organization is a member organization: an election office, a vendor, an
// ISAC, an agency. Every account belongs to one.
type Organization struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
	// IdentityID is the id of the STIX identity the server made for it.
	IdentityID string    `json:"identity_id"`
	Created    time.Time `json:"created"`
}

// Account is a person or a machine feed.
type Account struct {
	Name         string `json:"name"`
	Organization string `json:"organization"`
	Kind         string `json:"kind"`                    // "person" or "machine"
	PasswordHash string `json:"password_hash,omitempty"` // bcrypt
	Disabled     bool   `json:"disabled,omitempty"`
	// Superadmin manages everything on the server.
	Superadmin bool `json:"superadmin,omitempty"`
	// OrgAdmin manages the accounts of its own organization.
	OrgAdmin bool `json:"org_admin,omitempty"`
	// Certificates are hex SHA-256 fingerprints of client certificates
	// that authenticate this account (mTLS).
	Certificates []string `json:"certificates,omitempty"`
	// RateLimit overrides the server's default; nil means the default.
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
	Created   time.Time  `json:"created"`
	// LastRead is when the account last read objects, a manifest or
	// versions; updated lazily (see RecordUse), so it may lag a little.
	LastRead time.Time `json:"last_read,omitzero"`
}

// RateLimit is a token bucket: PerSecond requests per second on average,
// bursts of up to Burst.
type RateLimit struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

// Token is a named API token of an account. Only its SHA-256 is kept.
type Token struct {
	ID      string    `json:"id"`
	Account string    `json:"account"`
	Name    string    `json:"name"`
	Hash    string    `json:"hash"` // hex SHA-256 of the token
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
	// LastUsed is updated lazily (see RecordUse), so it may lag a little.
	LastUsed time.Time `json:"last_used,omitzero"`
	Revoked  bool      `json:"revoked,omitempty"`
}

// RecordUse records when tokens were last used and when accounts last read,
// in one transaction; entries that no longer exist are skipped and times
// never move backwards. Callers batch these updates so that a request does
// not cost a write transaction.
func (db *DB) RecordUse(ctx context.Context, tokens, reads map[string]time.Time) error {
	if len(tokens) == 0 && len(reads) == 0 {
		return nil
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		for id, at := range tokens {
			tok, err := get[Token](tx, bucketTokens, id, "token")
			if err != nil || !at.After(tok.LastUsed) {
				continue
			}
			tok.LastUsed = at
			if err := put(tx, bucketTokens, id, tok); err != nil {
				return err
			}
		}
		for name, at := range reads {
			acct, err := get[Account](tx, bucketAccounts, name, "account")
			if err != nil || !at.After(acct.LastRead) {
				continue
			}
			acct.LastRead = at
			if err := put(tx, bucketAccounts, name, acct); err != nil {
				return err
			}
		}
		return nil
	})
}

// Group is a sharing group: one TAXII API root at /<Name>/.
type Group struct {
	Name             string `json:"name"`
	Title            string `json:"title"`
	Description      string `json:"description,omitempty"`
	MaxContentLength int64  `json:"max_content_length"`
	// IdentityID is the id of the STIX identity that stands for the group
	// when a collection anonymizes publishers.
	IdentityID string                 `json:"identity_id"`
	Members    map[string]access.Role `json:"members,omitempty"`
	Created    time.Time              `json:"created"`
}

// Directory is a snapshot of the whole directory, each list sorted by key.
type Directory struct {
	Organizations []Organization
	Accounts      []Account
	Tokens        []Token
	Groups        []Group
	Collections   []Collection
}

// LoadDirectory reads the whole directory.
func (db *DB) LoadDirectory(ctx context.Context) (*Directory, error) {
	d := &Directory{}
	err := db.view(ctx, func(tx *bolt.Tx) error {
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

func loadAll[T any](tx *bolt.Tx, bucket []byte, out *[]T) error {
	return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("store: %s/%s: %w", bucket, k, err)
		}
		*out = append(*out, x)
		return nil
	})
}

// DirectoryTx changes the directory inside one write transaction. Getters
// return ErrNotFound; the caller validates what it puts.
type DirectoryTx struct {
	tx  *bolt.Tx
	now func() time.Time
}

// ChangeDirectory runs fn in one write transaction. Audit rows fn adds with
// DirectoryTx.Audit are written in the same transaction, so a change and its
// audit record are stored together or not at all.
func (db *DB) ChangeDirectory(ctx context.Context, fn func(*DirectoryTx) error) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		return fn(&DirectoryTx{tx: tx, now: db.now})
	})
}

// Audit appends ev to the audit log as part of the change; a zero Time
// becomes the store clock's.
func (t *DirectoryTx) Audit(ev AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = t.now()
	}
	return appendAudit(t.tx, &ev)
}

func get[T any](tx *bolt.Tx, bucket []byte, key, what string) (*T, error) {
	v := tx.Bucket(bucket).Get([]byte(key))
	if v == nil {
		return nil, fmt.Errorf("%s %q: %w", what, key, ErrNotFound)
	}
	x := new(T)
	return x, json.Unmarshal(v, x)
}

func put(tx *bolt.Tx, bucket []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), data)
}

func del(tx *bolt.Tx, bucket []byte, key, what string) error {
	b := tx.Bucket(bucket)
	if b.Get([]byte(key)) == nil {
		return fmt.Errorf("%s %q: %w", what, key, ErrNotFound)
	}
	return b.Delete([]byte(key))
}

// Organization returns the named organization.
func (t *DirectoryTx) Organization(name string) (*Organization, error) {
	return get[Organization](t.tx, bucketOrgs, name, "organization")
}

// PutOrganization creates or replaces an organization.
func (t *DirectoryTx) PutOrganization(o *Organization) error {
	return put(t.tx, bucketOrgs, o.Name, o)
}

// DeleteOrganization deletes an organization that has no accounts left.
func (t *DirectoryTx) DeleteOrganization(name string) error {
	var inUse bool
	err := t.tx.Bucket(bucketAccounts).ForEach(func(_, v []byte) error {
		var a Account
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		inUse = inUse || a.Organization == name
		return nil
	})
	if err != nil {
		return err
	}
	if inUse {
		return fmt.Errorf("organization %q still has accounts: %w", name, ErrConflict)
	}
	return del(t.tx, bucketOrgs, name, "organization")
}

// Account returns the named account.
func (t *DirectoryTx) Account(name string) (*Account, error) {
	return get[Account](t.tx, bucketAccounts, name, "account")
}

// PutAccount creates or replaces an account.
func (t *DirectoryTx) PutAccount(a *Account) error { return put(t.tx, bucketAccounts, a.Name, a) }

// DeleteAccount deletes an account with its tokens and memberships.
func (t *DirectoryTx) DeleteAccount(name string) error {
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
			if err := t.PutGroup(&groups[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Token returns the token with the given id.
func (t *DirectoryTx) Token(id string) (*Token, error) {
	return get[Token](t.tx, bucketTokens, id, "token")
}

// Tokens returns the tokens of an account ("" for all), sorted by id.
func (t *DirectoryTx) Tokens(account string) ([]Token, error) {
	var all []Token
	if err := loadAll(t.tx, bucketTokens, &all); err != nil {
		return nil, err
	}
	if account == "" {
		return all, nil
	}
	return slices.DeleteFunc(all, func(tok Token) bool { return tok.Account != account }), nil
}

// PutToken creates or replaces a token.
func (t *DirectoryTx) PutToken(tok *Token) error { return put(t.tx, bucketTokens, tok.ID, tok) }

// Group returns the named group.
func (t *DirectoryTx) Group(name string) (*Group, error) {
	return get[Group](t.tx, bucketGroups, name, "group")
}

// Groups returns every group, sorted by name.
func (t *DirectoryTx) Groups() ([]Group, error) {
	var all []Group
	return all, loadAll(t.tx, bucketGroups, &all)
}

// PutGroup creates or replaces a group.
func (t *DirectoryTx) PutGroup(g *Group) error { return put(t.tx, bucketGroups, g.Name, g) }

// DeleteGroup deletes a group that has no collections left.
func (t *DirectoryTx) DeleteGroup(name string) error {
	var colls []Collection
	if err := loadAll(t.tx, bucketCollections, &colls); err != nil {
		return err
	}
	for _, c := range colls {
		if c.APIRoot == name {
			return fmt.Errorf("group %q still has collections: %w", name, ErrConflict)
		}
	}
	return del(t.tx, bucketGroups, name, "group")
}

// Collection returns the collection with the given id.
func (t *DirectoryTx) Collection(id string) (*Collection, error) {
	c, err := get[Collection](t.tx, bucketCollections, id, "collection")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, ErrCollectionNotFound)
	}
	return c, nil
}

// PutCollection creates or replaces a collection's description and makes
// sure its buckets exist; stored objects are kept.
func (t *DirectoryTx) PutCollection(c *Collection) error {
	return putCollection(t.tx, c)
}

// DeleteCollection deletes a collection and every object stored in it.
func (t *DirectoryTx) DeleteCollection(id string) error {
	if err := del(t.tx, bucketCollections, id, "collection"); err != nil {
		return err
	}
	err := t.tx.Bucket(bucketC).DeleteBucket([]byte(id))
	if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	return nil
}
