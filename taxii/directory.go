package taxii

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
)

// directory is the in-memory view of the store's directory that every
// request consults: accounts by name, token and certificate; groups with
// their collections. It is immutable once built; the server swaps in a new
// one after every change (see Server.reload), so a disabled account or a
// revoked token is refused from the next request on.
type directory struct {
	accounts map[string]*accountEntry
	tokens   map[[sha256.Size]byte]*tokenEntry
	tokenIDs map[string]*tokenEntry // the same tokens by id
	certs    map[[sha256.Size]byte]*accountEntry
	orgs     map[string]*store.Organization
	groups   map[string]*group
	// identities maps the lower-cased id of every STIX identity the server
	// made (one per organization, one per group) to its owner's identity
	// id, for the publishing policy: no member may publish an object under
	// one of these ids but its own organization's.
	identities map[string]string
	// groupOrder lists group names in a stable order for discovery.
	groupOrder []string
}

// accountEntry is an account with its memberships.
type accountEntry struct {
	store.Account
	groups map[string]access.Role // group name -> role
}

type tokenEntry struct {
	store.Token
	account *accountEntry
}

// group is a sharing group with its collections, by id and by alias.
type group struct {
	store.Group
	byID    map[string]*store.Collection
	byAlias map[string]*store.Collection
	sorted  []*store.Collection // by id (REQ-50)
}

// buildDirectory indexes a store snapshot.
func buildDirectory(d *store.Directory) *directory {
	dir := &directory{
		accounts: map[string]*accountEntry{},
		tokens:   map[[sha256.Size]byte]*tokenEntry{},
		tokenIDs: map[string]*tokenEntry{},
		certs:    map[[sha256.Size]byte]*accountEntry{},
		orgs:     map[string]*store.Organization{},
		groups:   map[string]*group{},

		identities: map[string]string{},
	}
	for i := range d.Organizations {
		o := &d.Organizations[i]
		dir.orgs[o.Name] = o
		dir.identities[strings.ToLower(o.IdentityID)] = o.IdentityID
	}
	for _, a := range d.Accounts {
		e := &accountEntry{Account: a, groups: map[string]access.Role{}}
		dir.accounts[a.Name] = e
		for _, fp := range a.Certificates {
			if k, ok := access.HashKey(fp); ok {
				dir.certs[k] = e
			}
		}
	}
	for _, t := range d.Tokens {
		if acct := dir.accounts[t.Account]; acct != nil {
			if k, ok := access.HashKey(t.Hash); ok {
				e := &tokenEntry{Token: t, account: acct}
				dir.tokens[k] = e
				dir.tokenIDs[t.ID] = e
			}
		}
	}
	for _, g := range d.Groups {
		grp := &group{Group: g, byID: map[string]*store.Collection{}, byAlias: map[string]*store.Collection{}}
		dir.groups[g.Name] = grp
		dir.groupOrder = append(dir.groupOrder, g.Name)
		dir.identities[strings.ToLower(g.IdentityID)] = g.IdentityID
		for name, role := range g.Members {
			if acct := dir.accounts[name]; acct != nil {
				acct.groups[g.Name] = role
			}
		}
	}
	for i := range d.Collections {
		c := &d.Collections[i]
		grp := dir.groups[c.APIRoot]
		if grp == nil {
			continue
		}
		grp.byID[c.ID] = c
		if c.Alias != "" {
			grp.byAlias[c.Alias] = c
		}
		grp.sorted = append(grp.sorted, c)
	}
	for _, g := range dir.groups {
		slices.SortFunc(g.sorted, func(a, b *store.Collection) int { return strings.Compare(a.ID, b.ID) })
	}
	return dir
}

// reload rebuilds the directory from the store, swaps it in, and ends
// the open streams it no longer allows. Callers
// reload after each change they committed; reloads hold s.reloads from the
// read to the swap, so swaps happen in the order of the reads, and a read
// that starts after a commit sees it (store.Store.ChangeDirectory). The
// snapshot installed last is therefore the newest read, which includes
// every change committed before its reload began: two changes reloading
// at once can never leave the older snapshot in place (a revoked token
// accepted again). Changes themselves need no lock here: the store's
// transaction orders them and checks their invariants.
func (s *Server) reload(ctx context.Context) error {
	s.reloads.Lock()
	defer s.reloads.Unlock()
	// The version is read first: a change committed between the two reads
	// is then in the snapshot and also moves the version past the one
	// kept, so the next poll reloads once more rather than never.
	version, err := s.store.DirectoryVersion(ctx)
	if err != nil {
		return err
	}
	d, err := s.store.LoadDirectory(ctx)
	if err != nil {
		return err
	}
	if err := refuseReservedGroups(d); err != nil {
		return err
	}
	s.dirVersion.Store(version)
	dir := buildDirectory(d)
	s.dir.Store(dir)
	// Open streams answer to the new snapshot at once: a withdrawn
	// reader is cut off now, not at its next request.
	s.checkStreams(dir)
	s.metrics.trackAccounts(d.Accounts)
	return nil
}

// refuseReservedGroups refuses a directory with a group whose API root
// would shadow one of the server's own paths: a store written before
// console (or another name) was reserved. The config file and the admin
// API refuse such names; the store cannot rename a group in place, so the
// message says how to move it.
func refuseReservedGroups(d *store.Directory) error {
	for _, g := range d.Groups {
		if access.ReservedRootName(g.Name) {
			return fmt.Errorf("the store holds a sharing group named %q, a path this server now keeps for itself (/%s/); "+
				"groups cannot be renamed in place: with the release you upgraded from, create a group under another name "+
				"(eitaxii admin groups create), copy each collection's objects into it (eitaxii poll --format stix, then "+
				"eitaxii publish), move its members, delete %q, and start this release again", g.Name, g.Name, g.Name)
		}
	}
	return nil
}

// followDirectory reloads the directory whenever its version in the store
// moves, polling every Options.DirectoryPoll until ctx is done, so that
// changes made by other nodes on the same database apply here. A failed
// poll or reload keeps the directory in memory and is logged once until
// one succeeds again.
func (s *Server) followDirectory(ctx context.Context) {
	tick := time.NewTicker(s.opts.DirectoryPoll)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		v, err := s.store.DirectoryVersion(ctx)
		if err == nil && v != s.dirVersion.Load() {
			err = s.reload(ctx)
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			s.log.Warn("following directory changes failed; serving the directory loaded last", "err", err)
			failing = true
		case err == nil && failing:
			s.log.Info("following directory changes again")
			failing = false
		}
	}
}
