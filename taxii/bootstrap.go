package taxii

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
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
func (s *Server) bootstrap(ctx context.Context) error {
	// What the file adds must not collide with what the admin API made:
	// a certificate registered to another account would log in as the new
	// one, an alias taken in the group would make the URL name another
	// collection. The options were checked against each other; these
	// checks are against the store. (Read before the change: bootstrap
	// runs once, before the server serves.)
	existing, err := s.store.LoadDirectory(ctx)
	if err != nil {
		return err
	}
	certOwner := map[[sha256.Size]byte]string{}
	for _, a := range existing.Accounts {
		for _, fp := range a.Certificates {
			if k, ok := access.HashKey(fp); ok {
				certOwner[k] = a.Name
			}
		}
	}
	aliasOwner := map[[2]string]string{} // (group, alias) -> collection id
	for _, c := range existing.Collections {
		if c.Alias != "" {
			aliasOwner[[2]string{c.APIRoot, c.Alias}] = c.ID
		}
	}
	return s.store.ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
		var created []string
		now := s.now().UTC()
		ensureOrg := func(name, title string) error {
			if _, err := tx.Organization(name); !errors.Is(err, store.ErrNotFound) {
				return err
			}
			created = append(created, "organization "+name)
			return tx.PutOrganization(&store.Organization{Name: name, Title: title, IdentityID: s.newIdentityID(), Created: now})
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
				for _, fp := range a.Certificates {
					k, _ := access.HashKey(fp)
					if owner, ok := certOwner[k]; ok && owner != a.Name {
						return fmt.Errorf("accounts: %s: certificate %s is already registered to account %s: %w", a.Name, fp, owner, store.ErrConflict)
					}
				}
				kind := a.Kind
				if kind == "" {
					kind = "person"
				}
				created = append(created, "account "+a.Name)
				err := tx.PutAccount(&store.Account{Name: a.Name, Organization: org, Kind: kind, PasswordHash: a.PasswordHash,
					Superadmin: a.Superadmin, OrgAdmin: a.OrgAdmin, Certificates: a.Certificates, RateLimit: a.RateLimit, Created: now})
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
				if err := tx.PutToken(&store.Token{ID: id, Account: a.Name, Name: "configuration file", Hash: strings.ToLower(h), Created: now}); err != nil {
					return err
				}
			}
		}
		for _, g := range s.opts.Groups {
			grp, err := tx.Group(g.Name)
			changed := errors.Is(err, store.ErrNotFound)
			switch {
			case changed:
				created = append(created, "group "+g.Name)
				grp = &store.Group{Name: g.Name, Title: g.Title, Description: g.Description, MaxContentLength: g.MaxContentLength,
					IdentityID: s.newIdentityID(), Members: map[string]access.Role{}, Created: now}
			case err != nil:
				return err
			}
			if grp.Members == nil {
				grp.Members = map[string]access.Role{}
			}
			for name, role := range g.Members {
				if _, ok := grp.Members[name]; !ok {
					grp.Members[name] = role
					created = append(created, "membership "+name+" in "+g.Name)
					changed = true
				}
			}
			if changed {
				if err := tx.PutGroup(grp); err != nil {
					return err
				}
			}
			for _, c := range g.Collections {
				if _, err := tx.Collection(c.ID); !errors.Is(err, store.ErrNotFound) {
					if err != nil {
						return err
					}
					continue
				}
				if owner, ok := aliasOwner[[2]string{g.Name, c.Alias}]; c.Alias != "" && ok && owner != c.ID {
					return fmt.Errorf("groups: %s: collection %s: alias %q is already the alias of collection %s: %w", g.Name, c.ID, c.Alias, owner, store.ErrConflict)
				}
				created = append(created, "collection "+c.ID)
				policy, err := c.Policy.Parse() // checked by Options.validate
				if err != nil {
					return err
				}
				err = tx.PutCollection(&store.Collection{ID: c.ID, APIRoot: g.Name, Title: c.Title, Description: c.Description, Alias: c.Alias, Policy: policy})
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

// newIdentityID returns the id of a new STIX identity.
func (s *Server) newIdentityID() string { return "identity--" + s.opts.NewID().String() }
