package taxii

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"
)

// The admin API's bodies and answers are client's wire types, which the
// CLI encodes and decodes too: one definition for both sides.

// viewAccount is a as the admin API shows it: never the password hash,
// only whether there is one.
func viewAccount(a *store.Account) client.Account {
	return client.Account{
		Name: a.Name, Organization: a.Organization, Kind: a.Kind, Disabled: a.Disabled,
		Superadmin: a.Superadmin, OrgAdmin: a.OrgAdmin, Certificates: append([]string{}, a.Certificates...),
		RateLimit: wireRateLimit(a.RateLimit), Created: a.Created, HasPassword: a.PasswordHash != "", LastRead: a.LastRead,
	}
}

func wireRateLimit(r *store.RateLimit) *client.RateLimit {
	if r == nil {
		return nil
	}
	return &client.RateLimit{PerSecond: r.PerSecond, Burst: r.Burst}
}

func storeRateLimit(r *client.RateLimit) *store.RateLimit {
	if r == nil {
		return nil
	}
	return &store.RateLimit{PerSecond: r.PerSecond, Burst: r.Burst}
}

// viewOrganization is o as the admin API shows it.
func viewOrganization(o *store.Organization) *client.Organization {
	if o == nil {
		return nil
	}
	return &client.Organization{Name: o.Name, Title: o.Title, IdentityID: o.IdentityID, Created: o.Created}
}

// handleAdminMe serves GET /admin/v1/me: the caller's account, its
// organization and its roles. Any account may call it.
func (s *Server) handleAdminMe(c *gin.Context) error {
	p := caller(c)
	res := client.Me{Account: viewAccount(&p.Account), Organization: viewOrganization(s.dir.Load().orgs[p.Organization]),
		Groups: map[string]client.Role{}}
	for g, r := range p.groups {
		res.Groups[g] = client.Role(r)
	}
	writeAdminJSON(c, http.StatusOK, &res)
	return nil
}

// Organizations.

// handleListOrganizations serves GET /admin/v1/organizations (superadmin).
func (s *Server) handleListOrganizations(c *gin.Context) error {
	if !caller(c).Superadmin {
		return access.NeedSuperadmin
	}
	dir := s.dir.Load()
	res := client.OrganizationList{Organizations: []client.Organization{}}
	for _, o := range dir.orgs {
		res.Organizations = append(res.Organizations, *viewOrganization(o))
	}
	slices.SortFunc(res.Organizations, func(a, b client.Organization) int { return strings.Compare(a.Name, b.Name) })
	writeAdminJSON(c, http.StatusOK, &res)
	return nil
}

// handleGetOrganization serves GET /admin/v1/organizations/{name}: a
// superadmin reads any, an account its own; others are 404.
func (s *Server) handleGetOrganization(c *gin.Context) error {
	p := caller(c)
	name := c.Param("name")
	o := s.dir.Load().orgs[name]
	if o == nil || !p.actor().MayReadOrganization(name) {
		return errNotFound
	}
	writeAdminJSON(c, http.StatusOK, viewOrganization(o))
	return nil
}

// handleCreateOrganization serves POST /admin/v1/organizations
// (superadmin): a new organization with a new STIX identity id.
func (s *Server) handleCreateOrganization(c *gin.Context) error {
	if !caller(c).Superadmin {
		return access.NeedSuperadmin
	}
	var body client.OrganizationBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Name == nil {
		return badRequest("name: required")
	}
	if err := access.OrganizationName(*body.Name); err != nil {
		return err
	}
	o := &store.Organization{Name: *body.Name, IdentityID: s.newIdentityID(), Created: s.now().UTC()}
	if body.Title != nil {
		if err := access.OrganizationTitle(*body.Title); err != nil {
			return err
		}
		o.Title = *body.Title
	}
	err := s.changeDirectory(c, func(tx store.DirectoryTx, _ *directory) error {
		if _, err := tx.Organization(o.Name); !errors.Is(err, store.ErrNotFound) {
			if err != nil {
				return err
			}
			return conflict("organization %q already exists", o.Name)
		}
		if err := tx.PutOrganization(o); err != nil {
			return err
		}
		return s.auditChange(c, tx, store.AuditEvent{Action: "admin.organization.create", Target: "organization " + o.Name,
			Detail: fmt.Sprintf("title=%q identity_id=%s", o.Title, o.IdentityID)})
	})
	if err != nil {
		return err
	}
	writeAdminJSON(c, http.StatusCreated, viewOrganization(o))
	return nil
}

// handleUpdateOrganization serves PATCH /admin/v1/organizations/{name}
// (superadmin): only the title changes.
func (s *Server) handleUpdateOrganization(c *gin.Context) error {
	if !caller(c).Superadmin {
		return access.NeedSuperadmin
	}
	var body client.OrganizationPatch
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Title == nil {
		return badRequest("body: nothing to change (give title)")
	}
	if err := access.OrganizationTitle(*body.Title); err != nil {
		return err
	}
	var o *store.Organization
	err := s.changeDirectory(c, func(tx store.DirectoryTx, _ *directory) error {
		var err error
		if o, err = tx.Organization(c.Param("name")); err != nil {
			return err
		}
		old := o.Title
		o.Title = *body.Title
		if err := tx.PutOrganization(o); err != nil {
			return err
		}
		return s.auditChange(c, tx, store.AuditEvent{Action: "admin.organization.update", Target: "organization " + o.Name,
			Detail: fmt.Sprintf("title %q -> %q", old, o.Title)})
	})
	if err != nil {
		return err
	}
	writeAdminJSON(c, http.StatusOK, viewOrganization(o))
	return nil
}

// handleDeleteOrganization serves DELETE /admin/v1/organizations/{name}
// (superadmin); 409 while accounts belong to it.
func (s *Server) handleDeleteOrganization(c *gin.Context) error {
	if !caller(c).Superadmin {
		return access.NeedSuperadmin
	}
	name := c.Param("name")
	err := s.changeDirectory(c, func(tx store.DirectoryTx, _ *directory) error {
		if err := tx.DeleteOrganization(name); err != nil {
			return err
		}
		return s.auditChange(c, tx, store.AuditEvent{Action: "admin.organization.delete", Target: "organization " + name})
	})
	if err != nil {
		return err
	}
	writeNoContent(c)
	return nil
}

// Accounts.

// handleListAccounts serves GET /admin/v1/accounts[?organization=x]: every
// account for a superadmin, its organization's for an organization admin.
// An organization outside the caller's scope, or unknown, is 404.
func (s *Server) handleListAccounts(c *gin.Context) error {
	p := caller(c).actor()
	if !p.ManagesAccounts() {
		return access.NeedAccountAdmin
	}
	org, filtered := c.GetQuery("organization")
	for key := range c.Request.URL.Query() {
		if key != "organization" {
			return badRequest("%s: unknown parameter (the only filter is organization)", key)
		}
	}
	dir := s.dir.Load()
	if filtered && (dir.orgs[org] == nil || !p.MayReadOrganization(org)) {
		return errNotFound
	}
	res := client.AccountList{Accounts: []client.Account{}}
	for _, a := range dir.accounts {
		if p.MayReadAccount(target(&a.Account)) && (!filtered || a.Organization == org) {
			res.Accounts = append(res.Accounts, viewAccount(&a.Account))
		}
	}
	slices.SortFunc(res.Accounts, func(a, b client.Account) int { return strings.Compare(a.Name, b.Name) })
	writeAdminJSON(c, http.StatusOK, &res)
	return nil
}

// account returns the account named in the URL if the caller may read it
// through the accounts endpoints (403 for callers who manage no accounts,
// 404 outside their scope).
func (s *Server) account(c *gin.Context) (*accountEntry, error) {
	p := caller(c).actor()
	if !p.ManagesAccounts() {
		return nil, access.NeedAccountAdmin
	}
	a := s.dir.Load().accounts[c.Param("name")]
	if a == nil || !p.MayReadAccount(target(&a.Account)) {
		return nil, errNotFound
	}
	return a, nil
}

// handleGetAccount serves GET /admin/v1/accounts/{name}.
func (s *Server) handleGetAccount(c *gin.Context) error {
	a, err := s.account(c)
	if err != nil {
		return err
	}
	writeAdminJSON(c, http.StatusOK, viewAccount(&a.Account))
	return nil
}

// accountChange is a validated account body: the password already hashed,
// certificates normalized.
type accountChange struct {
	body         client.AccountBody
	passwordHash string
	certificates []string
}

// validate checks the fields the body names and hashes the password. It
// runs before any transaction: bcrypt is slow and must not hold the lock.
func (ch *accountChange) validate() error {
	b := &ch.body
	if b.Kind != nil {
		if err := access.Kind(*b.Kind); err != nil {
			return err
		}
	}
	if b.Password.Set && !b.Password.Null {
		if err := access.Password(b.Password.Value); err != nil {
			return err
		}
		h, err := bcrypt.GenerateFromPassword([]byte(b.Password.Value), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		ch.passwordHash = string(h)
	}
	if b.Certificates != nil {
		certs, err := access.Certificates(*b.Certificates)
		if err != nil {
			return err
		}
		ch.certificates = certs
	}
	if b.RateLimit.Set && !b.RateLimit.Null {
		if b.RateLimit.Value == nil {
			return badRequest("rate_limit: give {per_second, burst} or null")
		}
		if err := rateLimit(storeRateLimit(b.RateLimit.Value)); err != nil {
			return err
		}
	}
	return nil
}

// checkCertificates refuses fingerprints registered to another account:
// a certificate authenticates one account only.
func (ch *accountChange) checkCertificates(dir *directory, account string) error {
	for i, fp := range ch.certificates {
		k, _ := access.HashKey(fp)
		if other := dir.certs[k]; other != nil && other.Name != account {
			return conflict("certificates[%d]: this certificate is registered to another account", i)
		}
	}
	return nil
}

// apply sets the changed fields on a and returns what changed, for the
// audit row: names and values, never the password or its hash.
func (ch *accountChange) apply(a *store.Account) string {
	b := &ch.body
	var changes []string
	if b.Kind != nil {
		a.Kind = *b.Kind
		changes = append(changes, "kind="+a.Kind)
	}
	if b.Password.Set {
		a.PasswordHash = ch.passwordHash
		if ch.passwordHash == "" {
			changes = append(changes, "password removed")
		} else {
			changes = append(changes, "password set")
		}
	}
	for _, f := range []struct {
		name string
		v    *bool
		dst  *bool
	}{{"disabled", b.Disabled, &a.Disabled}, {"superadmin", b.Superadmin, &a.Superadmin}, {"org_admin", b.OrgAdmin, &a.OrgAdmin}} {
		if f.v != nil {
			*f.dst = *f.v
			changes = append(changes, fmt.Sprintf("%s=%t", f.name, *f.v))
		}
	}
	if b.Certificates != nil {
		a.Certificates = ch.certificates
		if len(a.Certificates) == 0 {
			a.Certificates = nil
		}
		changes = append(changes, fmt.Sprintf("certificates=[%s]", strings.Join(a.Certificates, " ")))
	}
	if b.RateLimit.Set {
		a.RateLimit = storeRateLimit(b.RateLimit.Value)
		if a.RateLimit == nil {
			changes = append(changes, "rate_limit=default")
		} else {
			changes = append(changes, fmt.Sprintf("rate_limit=%g/s burst %d", a.RateLimit.PerSecond, a.RateLimit.Burst))
		}
	}
	return strings.Join(changes, ", ")
}

// handleCreateAccount serves POST /admin/v1/accounts. An organization
// admin creates accounts in its own organization only (the default when
// the body names none) and never superadmins.
func (s *Server) handleCreateAccount(c *gin.Context) error {
	p := caller(c).actor()
	if !p.ManagesAccounts() {
		return access.NeedAccountAdmin
	}
	var ch accountChange
	if err := decodeBody(c, &ch.body); err != nil {
		return err
	}
	b := &ch.body
	if b.Name == nil {
		return badRequest("name: required")
	}
	if err := access.AccountName(*b.Name); err != nil {
		return err
	}
	switch {
	case b.Organization != nil:
	case p.Superadmin:
		return badRequest("organization: required")
	default:
		b.Organization = &p.Organization
	}
	if err := p.CheckCreateAccount(*b.Organization); err != nil {
		return err
	}
	if err := p.CheckAccountFlags(b.Superadmin != nil); err != nil {
		return err
	}
	if b.Kind == nil {
		person := "person"
		b.Kind = &person
	}
	if b.Password.Null {
		b.Password = client.Optional[string]{} // a new account without a password
	}
	if err := ch.validate(); err != nil {
		return err
	}
	a := &store.Account{Name: *b.Name, Organization: *b.Organization, Created: s.now().UTC()}
	detail := ch.apply(a)
	err := s.changeDirectory(c, func(tx store.DirectoryTx, dir *directory) error {
		if _, err := tx.Organization(a.Organization); errors.Is(err, store.ErrNotFound) {
			return badRequest("organization: no organization %q", a.Organization)
		} else if err != nil {
			return err
		}
		if _, err := tx.Account(a.Name); !errors.Is(err, store.ErrNotFound) {
			if err != nil {
				return err
			}
			return conflict("account %q already exists", a.Name)
		}
		if err := ch.checkCertificates(dir, a.Name); err != nil {
			return err
		}
		if err := tx.PutAccount(a); err != nil {
			return err
		}
		return s.auditChange(c, tx, store.AuditEvent{Action: "admin.account.create", Target: "account " + a.Name,
			Detail: "organization=" + a.Organization + ", " + detail})
	})
	if err != nil {
		return err
	}
	writeAdminJSON(c, http.StatusCreated, viewAccount(a))
	return nil
}

// handleUpdateAccount serves PATCH /admin/v1/accounts/{name}. An account
// may not disable itself or drop its own superadmin flag: that is how a
// server loses its last administrator.
func (s *Server) handleUpdateAccount(c *gin.Context) error {
	p := caller(c).actor()
	cur, err := s.account(c)
	if err != nil {
		return err
	}
	if err := p.CheckChangeAccount(target(&cur.Account)); err != nil {
		return err
	}
	var ch accountChange
	// The patch type has no name and organization, so that strict
	// decoding refuses them.
	if err := decodeBody(c, &ch.body.AccountPatch); err != nil {
		return err
	}
	b := &ch.body
	if b.Kind == nil && !b.Password.Set && b.Disabled == nil && b.Superadmin == nil && b.OrgAdmin == nil && b.Certificates == nil && !b.RateLimit.Set {
		return badRequest("body: nothing to change (give any of kind, password, disabled, superadmin, org_admin, certificates, rate_limit)")
	}
	if err := p.CheckAccountFlags(b.Superadmin != nil); err != nil {
		return err
	}
	if err := p.CheckSelfChange(target(&cur.Account), b.Disabled != nil && *b.Disabled, b.Superadmin != nil && !*b.Superadmin); err != nil {
		return err
	}
	if err := ch.validate(); err != nil {
		return err
	}
	var a *store.Account
	err = s.changeDirectory(c, func(tx store.DirectoryTx, dir *directory) error {
		var err error
		if a, err = tx.Account(cur.Name); err != nil {
			return err
		}
		if err := p.CheckChangeAccount(target(a)); err != nil {
			return err
		}
		if err := ch.checkCertificates(dir, a.Name); err != nil {
			return err
		}
		detail := ch.apply(a)
		if err := tx.PutAccount(a); err != nil {
			return err
		}
		return s.auditChange(c, tx, store.AuditEvent{Action: "admin.account.update", Target: "account " + a.Name, Detail: detail})
	})
	if err != nil {
		return err
	}
	writeAdminJSON(c, http.StatusOK, viewAccount(a))
	return nil
}

// handleDeleteAccount serves DELETE /admin/v1/accounts/{name}: the account,
// its tokens and its memberships go. An account may not delete itself.
func (s *Server) handleDeleteAccount(c *gin.Context) error {
	p := caller(c).actor()
	cur, err := s.account(c)
	if err != nil {
		return err
	}
	if err := p.CheckChangeAccount(target(&cur.Account)); err != nil {
		return err
	}
	if err := p.CheckDeleteAccount(target(&cur.Account)); err != nil {
		return err
	}
	err = s.changeDirectory(c, func(tx store.DirectoryTx, _ *directory) error {
		a, err := tx.Account(cur.Name)
		if err != nil {
			return err
		}
		if err := p.CheckChangeAccount(target(a)); err != nil {
			return err
		}
		var groups []string
		all, err := tx.Groups()
		if err != nil {
			return err
		}
		for _, g := range all {
			if _, ok := g.Members[a.Name]; ok {
				groups = append(groups, g.Name)
			}
		}
		if err := tx.DeleteAccount(a.Name); err != nil {
			return err
		}
		detail := "organization=" + a.Organization
		if len(groups) > 0 {
			detail += ", removed from groups " + strings.Join(groups, " ")
		}
		return s.auditChange(c, tx, store.AuditEvent{Action: "admin.account.delete", Target: "account " + a.Name, Detail: detail})
	})
	if err != nil {
		return err
	}
	writeNoContent(c)
	return nil
}

// Tokens.

// tokenAccount returns the account named in the URL if the caller may
// manage its tokens (see access.Actor.CheckTokens); any account reaches its own.
func (s *Server) tokenAccount(c *gin.Context, write bool) (*accountEntry, error) {
	a := s.dir.Load().accounts[c.Param("name")]
	if a == nil {
		return nil, errNotFound
	}
	if err := caller(c).actor().CheckTokens(target(&a.Account), write); err != nil {
		return nil, err
	}
	return a, nil
}

// handleListTokens serves GET /admin/v1/accounts/{name}/tokens: the
// account's tokens, revoked ones included, never their secrets. It reads
// the store rather than the in-memory directory so that last_used is as
// fresh as the store has it.
func (s *Server) handleListTokens(c *gin.Context) error {
	a, err := s.tokenAccount(c, false)
	if err != nil {
		return err
	}
	d, err := s.store.LoadDirectory(c.Request.Context())
	if err != nil {
		return err
	}
	res := client.TokenList{Tokens: []client.Token{}}
	for _, t := range d.Tokens {
		if t.Account == a.Name {
			res.Tokens = append(res.Tokens, client.Token{ID: t.ID, Account: t.Account, Name: t.Name, Created: t.Created,
				Expires: t.Expires, LastUsed: t.LastUsed, Revoked: t.Revoked})
		}
	}
	slices.SortFunc(res.Tokens, func(a, b client.Token) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	writeAdminJSON(c, http.StatusOK, &res)
	return nil
}

// handleCreateToken serves POST /admin/v1/accounts/{name}/tokens: a new
// token, shown in this response and never again.
func (s *Server) handleCreateToken(c *gin.Context) error {
	a, err := s.tokenAccount(c, true)
	if err != nil {
		return err
	}
	var body client.TokenBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Name == nil {
		return badRequest("name: required (say what the token is for, e.g. \"siem feed\")")
	}
	if err := access.TokenName(*body.Name); err != nil {
		return err
	}
	now := s.now().UTC()
	tok := &store.Token{ID: s.opts.NewID().String(), Account: a.Name, Name: *body.Name, Created: now}
	if body.ExpiresIn != nil {
		d, err := time.ParseDuration(*body.ExpiresIn)
		if err != nil || d <= 0 {
			return badRequest("expires_in: %q is not a positive duration (such as \"720h\" for 30 days)", *body.ExpiresIn)
		}
		tok.Expires = now.Add(d)
	}
	secret, hash := access.NewAPIToken()
	tok.Hash = hash
	err = s.changeDirectory(c, func(tx store.DirectoryTx, _ *directory) error {
		cur, err := tx.Account(a.Name)
		if err != nil {
			return err
		}
		if err := caller(c).actor().CheckTokens(target(cur), true); err != nil {
			return err
		}
		if err := tx.PutToken(tok); err != nil {
			return err
		}
		detail := fmt.Sprintf("name=%q", tok.Name)
		if !tok.Expires.IsZero() {
			detail += ", expires=" + tok.Expires.Format(time.RFC3339)
		}
		return s.auditChange(c, tx, store.AuditEvent{Action: "admin.token.create",
			Target: "token " + tok.ID + " of account " + a.Name, Detail: detail})
	})
	if err != nil {
		return err
	}
	writeAdminJSON(c, http.StatusCreated, &client.NewToken{ID: tok.ID, Account: tok.Account, Name: tok.Name, Token: secret,
		Created: tok.Created, Expires: tok.Expires})
	return nil
}

// handleRevokeToken serves DELETE /admin/v1/accounts/{name}/tokens/{id}:
// the token is refused from the next request on and kept, revoked, for the
// record. Revoking a revoked token changes nothing and answers 204 again.
func (s *Server) handleRevokeToken(c *gin.Context) error {
	a, err := s.tokenAccount(c, true)
	if err != nil {
		return err
	}
	id := c.Param("id")
	err = s.changeDirectory(c, func(tx store.DirectoryTx, _ *directory) error {
		tok, err := tx.Token(id)
		if err != nil {
			return err
		}
		if tok.Account != a.Name {
			// Another account's token id is as unknown here as a made-up one.
			return errNotFound
		}
		if tok.Revoked {
			return nil
		}
		tok.Revoked = true
		if err := tx.PutToken(tok); err != nil {
			return err
		}
		return s.auditChange(c, tx, store.AuditEvent{Action: "admin.token.revoke",
			Target: "token " + tok.ID + " of account " + a.Name, Detail: fmt.Sprintf("name=%q", tok.Name)})
	})
	if err != nil {
		return err
	}
	writeNoContent(c)
	return nil
}

// handleRevokeAllTokens serves DELETE /admin/v1/accounts/{name}/tokens:
// every token of the account that is not revoked yet is revoked, in one
// transaction, and the answer says how many ({"revoked": n}). A password
// change does not end tokens (they are separate credentials, made for
// feeds that must keep running); this is the way to end them all, e.g.
// after a password was exposed. One audit row per token revoked.
func (s *Server) handleRevokeAllTokens(c *gin.Context) error {
	a, err := s.tokenAccount(c, true)
	if err != nil {
		return err
	}
	revoked := 0
	err = s.changeDirectory(c, func(tx store.DirectoryTx, _ *directory) error {
		revoked = 0 // the function may run again
		toks, err := tx.Tokens(a.Name)
		if err != nil {
			return err
		}
		for i := range toks {
			tok := &toks[i]
			if tok.Revoked {
				continue
			}
			tok.Revoked = true
			if err := tx.PutToken(tok); err != nil {
				return err
			}
			if err := s.auditChange(c, tx, store.AuditEvent{Action: "admin.token.revoke",
				Target: "token " + tok.ID + " of account " + a.Name, Detail: fmt.Sprintf("name=%q, all tokens of the account", tok.Name)}); err != nil {
				return err
			}
			revoked++
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeAdminJSON(c, http.StatusOK, &client.RevokedTokens{Revoked: revoked})
	return nil
}
