package taxii

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"github.com/google/uuid"
)

// bootstrap applies the configured directory to the store idempotently:
// organizations, accounts, tokens, groups, memberships and collections the
// store lacks are created; nothing existing is changed or deleted, so what
// was made or changed through the admin API stays (issue 4). What it
// created is recorded as one audit row.
//
// What the file adds must not collide with what the admin API made: a
// certificate registered to another account would log in as the new one,
// an alias taken in the group would make the URL name another collection.
// The options were checked against each other; the store's transaction
// checks them against the store (store.ConflictError), and bootstrap says
// which entry of the file collides with what.
func (s *Server) bootstrap(ctx context.Context) error {
	return s.store.ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
		var created []string
		now := s.now().UTC()
		ensureOrg := func(name, title string) error {
			if _, err := tx.Organization(name); !errors.Is(err, store.ErrNotFound) {
				return err
			}
			created = append(created, "organization "+name)
			return tx.CreateOrganization(&store.Organization{Name: name, Title: title, IdentityID: s.newIdentityID(), Created: now})
		}
		for _, o := range s.opts.Organizations {
			if err := ensureOrg(o.Name, o.Title); err != nil {
				return err
			}
		}
		for _, a := range s.opts.Accounts {
			org := a.Organization
			if org == "" {
				org = DefaultOrganization
				if err := ensureOrg(org, "Accounts of the configuration file"); err != nil {
					return err
				}
			}
			if _, err := tx.Account(a.Name); errors.Is(err, store.ErrNotFound) {
				kind := a.Kind
				if kind == "" {
					kind = "person"
				}
				created = append(created, "account "+a.Name)
				err := tx.CreateAccount(&store.Account{Name: a.Name, Organization: org, Kind: kind, PasswordHash: a.PasswordHash,
					Superadmin: a.Superadmin, OrgAdmin: a.OrgAdmin, Certificates: a.Certificates, RateLimit: a.RateLimit, Created: now})
				if ce := conflictOf(err, store.CertificateRegistered); ce != nil {
					return fmt.Errorf("accounts: %s: certificate %s is already registered to account %s: %w", a.Name, ce.Key, ce.Holder, store.ErrConflict)
				}
				if err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
			for _, h := range a.TokenHashes {
				// The token's id derives from its hash, so applying the
				// same file twice finds it again.
				id := uuid.NewSHA1(uuid.NameSpaceOID, []byte("eitaxii-config-token:"+strings.ToLower(h))).String()
				if _, err := tx.Token(id); !errors.Is(err, store.ErrNotFound) {
					if err != nil {
						return err
					}
					continue
				}
				created = append(created, "token of "+a.Name)
				if err := tx.CreateToken(&store.Token{ID: id, Account: a.Name, Name: "configuration file", Hash: strings.ToLower(h), Created: now}); err != nil {
					return err
				}
			}
		}
		for _, g := range s.opts.Groups {
			grp, err := tx.Group(g.Name)
			isNew := errors.Is(err, store.ErrNotFound)
			changed := isNew
			switch {
			case isNew:
				created = append(created, "group "+g.Name)
				grp = &store.Group{Name: g.Name, Title: g.Title, Description: g.Description, MaxContentLength: g.MaxContentLength,
					IdentityID: s.newIdentityID(), Members: map[string]access.Role{}, Created: now}
			case err != nil:
				return err
			}
			if grp.Members == nil {
				grp.Members = map[string]access.Role{}
			}
			for _, d := range g.OwnDomains {
				if !slices.Contains(grp.OwnDomains, d) {
					grp.OwnDomains = append(grp.OwnDomains, d)
					created = append(created, "own domain "+d+" of "+g.Name)
					changed = true
				}
			}
			if len(grp.OwnDomains) > access.MaxOwnDomains {
				return fmt.Errorf("groups: %s: own_domains: the stored group's and the configuration's are more than %d together; remove some through the admin API", g.Name, access.MaxOwnDomains)
			}
			// In name order: the audit row that lists them is the same on
			// every start.
			for _, name := range slices.Sorted(maps.Keys(g.Members)) {
				if _, ok := grp.Members[name]; !ok {
					grp.Members[name] = g.Members[name]
					created = append(created, "membership "+name+" in "+g.Name)
					changed = true
				}
			}
			switch {
			case isNew:
				err = tx.CreateGroup(grp)
			case changed:
				err = tx.UpdateGroup(grp)
			}
			if err != nil {
				return err
			}
			for _, c := range g.Collections {
				if _, err := tx.Collection(c.ID); !errors.Is(err, store.ErrNotFound) {
					if err != nil {
						return err
					}
					continue
				}
				created = append(created, "collection "+c.ID)
				policy, err := c.Policy.Parse() // checked by Options.validate
				if err != nil {
					return err
				}
				err = tx.CreateCollection(&store.Collection{ID: c.ID, APIRoot: g.Name, Title: c.Title, Description: c.Description, Alias: c.Alias, Policy: policy})
				if ce := conflictOf(err, store.AliasTaken); ce != nil {
					return fmt.Errorf("groups: %s: collection %s: alias %q is already the alias of collection %s: %w", g.Name, c.ID, c.Alias, ce.Holder, store.ErrConflict)
				}
				if err != nil {
					return err
				}
			}
		}
		if len(created) == 0 {
			return nil
		}
		return tx.Audit(store.AuditEvent{Action: "admin.bootstrap", Detail: "applied the configuration file", Target: strings.Join(created, ", ")})
	})
}

// conflictOf returns err as a conflict with invariant inv, or nil.
func conflictOf(err error, inv store.Invariant) *store.ConflictError {
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Invariant == inv {
		return ce
	}
	return nil
}

// newIdentityID returns the id of a new STIX identity.
func (s *Server) newIdentityID() string { return "identity--" + s.opts.NewID().String() }
