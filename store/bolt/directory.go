package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

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
		for id, at := range tokens {
			tok, err := get[store.Token](tx, bucketTokens, id, "token")
			if err != nil || !at.After(tok.LastUsed) {
				continue
			}
			tok.LastUsed = at
			if err := put(tx, bucketTokens, id, tok); err != nil {
				return err
			}
		}
		for name, at := range reads {
			acct, err := get[store.Account](tx, bucketAccounts, name, "account")
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

// dirTx is store.DirectoryTx on a bbolt write transaction. Getters
// return ErrNotFound; the caller validates what it puts.
type dirTx struct {
	tx  *bbolt.Tx
	now func() time.Time
}

// ChangeDirectory runs fn in one write transaction. Audit rows fn adds with
// DirectoryTx.Audit are written in the same transaction, so a change and its
// audit record are stored together or not at all.
func (db *DB) ChangeDirectory(ctx context.Context, fn func(store.DirectoryTx) error) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		return fn(&dirTx{tx: tx, now: db.now})
	})
}

// Audit appends ev to the audit log as part of the change; a zero Time
// becomes the store clock's.
func (t *dirTx) Audit(ev store.AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = t.now()
	}
	return appendAudit(t.tx, &ev)
}

func get[T any](tx *bbolt.Tx, bucket []byte, key, what string) (*T, error) {
	v := tx.Bucket(bucket).Get([]byte(key))
	if v == nil {
		return nil, fmt.Errorf("%s %q: %w", what, key, store.ErrNotFound)
	}
	x := new(T)
	return x, json.Unmarshal(v, x)
}

func put(tx *bbolt.Tx, bucket []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), data)
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

// PutOrganization creates or replaces an organization.
func (t *dirTx) PutOrganization(o *store.Organization) error {
	return put(t.tx, bucketOrgs, o.Name, o)
}

// DeleteOrganization deletes an organization that has no accounts left.
func (t *dirTx) DeleteOrganization(name string) error {
	var inUse bool
	err := t.tx.Bucket(bucketAccounts).ForEach(func(_, v []byte) error {
		var a store.Account
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
		return fmt.Errorf("organization %q still has accounts: %w", name, store.ErrConflict)
	}
	return del(t.tx, bucketOrgs, name, "organization")
}

// Account returns the named account.
func (t *dirTx) Account(name string) (*store.Account, error) {
	return get[store.Account](t.tx, bucketAccounts, name, "account")
}

// PutAccount creates or replaces an account.
func (t *dirTx) PutAccount(a *store.Account) error { return put(t.tx, bucketAccounts, a.Name, a) }

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
			if err := t.PutGroup(&groups[i]); err != nil {
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

// PutToken creates or replaces a token.
func (t *dirTx) PutToken(tok *store.Token) error { return put(t.tx, bucketTokens, tok.ID, tok) }

// Group returns the named group.
func (t *dirTx) Group(name string) (*store.Group, error) {
	return get[store.Group](t.tx, bucketGroups, name, "group")
}

// Groups returns every group, sorted by name.
func (t *dirTx) Groups() ([]store.Group, error) {
	var all []store.Group
	return all, loadAll(t.tx, bucketGroups, &all)
}

// PutGroup creates or replaces a group.
func (t *dirTx) PutGroup(g *store.Group) error { return put(t.tx, bucketGroups, g.Name, g) }

// DeleteGroup deletes a group that has no collections left.
func (t *dirTx) DeleteGroup(name string) error {
	var colls []store.Collection
	if err := loadAll(t.tx, bucketCollections, &colls); err != nil {
		return err
	}
	for _, c := range colls {
		if c.APIRoot == name {
			return fmt.Errorf("group %q still has collections: %w", name, store.ErrConflict)
		}
	}
	return del(t.tx, bucketGroups, name, "group")
}

// Collection returns the collection with the given id.
func (t *dirTx) Collection(id string) (*store.Collection, error) {
	c, err := get[store.Collection](t.tx, bucketCollections, id, "collection")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, store.ErrCollectionNotFound)
	}
	return c, nil
}

// PutCollection creates or replaces a collection's description and makes
// sure its buckets exist; stored objects are kept.
func (t *dirTx) PutCollection(c *store.Collection) error {
	return putCollection(t.tx, c)
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
	return nil
}
