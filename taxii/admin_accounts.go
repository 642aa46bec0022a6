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
	return writeAdminJSON(c, http.StatusOK, &res)
}

// Organizations.

// handleListOrganizations serves GET /admin/v1/organizations (superadmin).
func (s *Server) handleListOrganizations(c *gin.Context) error {
	dir := s.dir.Load()
	res := client.OrganizationList{Organizations: []client.Organization{}}
	for _, o := range dir.orgs {
		res.Organizations = append(res.Organizations, *viewOrganization(o))
	}
	slices.SortFunc(res.Organizations, func(a, b client.Organization) int { return strings.Compare(a.Name, b.Name) })
	return writeAdminJSON(c, http.StatusOK, &res)
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
	return writeAdminJSON(c, http.StatusOK, viewOrganization(o))
}

// handleCreateOrganization serves POST /admin/v1/organizations
// (superadmin): a new organization with a new STIX identity id.
func (s *Server) handleCreateOrganization(c *gin.Context) error {
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
	return s.change(c, http.StatusCreated, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		return viewOrganization(o), store.AuditEvent{Action: "admin.organization.create", Target: "organization " + o.Name,
			Detail: fmt.Sprintf("title=%q identity_id=%s", o.Title, o.IdentityID)}, tx.CreateOrganization(o)
	})
}

// handleUpdateOrganization serves PATCH /admin/v1/organizations/{name}
// (superadmin): only the title changes.
func (s *Server) handleUpdateOrganization(c *gin.Context) error {
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
	return s.change(c, http.StatusOK, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		o, err := tx.Organization(c.Param("name"))
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		old := o.Title
		o.Title = *body.Title
		return viewOrganization(o), store.AuditEvent{Action: "admin.organization.update", Target: "organization " + o.Name,
			Detail: fmt.Sprintf("title %q -> %q", old, o.Title)}, tx.UpdateOrganization(o)
	})
}

// handleDeleteOrganization serves DELETE /admin/v1/organizations/{name}
// (superadmin); 409 while accounts belong to it.
func (s *Server) handleDeleteOrganization(c *gin.Context) error {
	name := c.Param("name")
	return s.change(c, http.StatusNoContent, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		return nil, store.AuditEvent{Action: "admin.organization.delete", Target: "organization " + name}, tx.DeleteOrganization(name)
	})
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
	return writeAdminJSON(c, http.StatusOK, &res)
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

// accountToChange is account for the endpoints that change it: the caller
// must also be allowed to change it (access.Actor.CheckChangeAccount).
func (s *Server) accountToChange(c *gin.Context) (access.Actor, *accountEntry, error) {
	p := caller(c).actor()
	a, err := s.account(c)
	if err != nil {
		return p, nil, err
	}
	return p, a, p.CheckChangeAccount(target(&a.Account))
}

// handleGetAccount serves GET /admin/v1/accounts/{name}.
func (s *Server) handleGetAccount(c *gin.Context) error {
	a, err := s.account(c)
	if err != nil {
		return err
	}
	return writeAdminJSON(c, http.StatusOK, viewAccount(&a.Account))
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

// apply sets the changed fields on a and returns what changed, for the
// audit row: names and values, never the password or its hash.
func (ch *accountChange) apply(a *store.Account) string {
	b := &ch.body
	var l changeList
	set(&l, &a.Kind, b.Kind, "kind=%s")
	if b.Password.Set {
		a.PasswordHash = ch.passwordHash
		if ch.passwordHash == "" {
			l = append(l, "password removed")
		} else {
			l = append(l, "password set")
		}
	}
	set(&l, &a.Disabled, b.Disabled, "disabled=%t")
	set(&l, &a.Superadmin, b.Superadmin, "superadmin=%t")
	set(&l, &a.OrgAdmin, b.OrgAdmin, "org_admin=%t")
	if b.Certificates != nil {
		a.Certificates = ch.certificates
		if len(a.Certificates) == 0 {
			a.Certificates = nil
		}
		l = append(l, fmt.Sprintf("certificates=[%s]", strings.Join(a.Certificates, " ")))
	}
	if b.RateLimit.Set {
		a.RateLimit = storeRateLimit(b.RateLimit.Value)
		if a.RateLimit == nil {
			l = append(l, "rate_limit=default")
		} else {
			l = append(l, fmt.Sprintf("rate_limit=%g/s burst %d", a.RateLimit.PerSecond, a.RateLimit.Burst))
		}
	}
	return l.String()
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
	return s.change(c, http.StatusCreated, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		if _, err := tx.Organization(a.Organization); errors.Is(err, store.ErrNotFound) {
			return nil, store.AuditEvent{}, badRequest("organization: no organization %q", a.Organization)
		} else if err != nil {
			return nil, store.AuditEvent{}, err
		}
		return viewAccount(a), store.AuditEvent{Action: "admin.account.create", Target: "account " + a.Name,
			Detail: "organization=" + a.Organization + ", " + detail}, tx.CreateAccount(a)
	})
}

// handleUpdateAccount serves PATCH /admin/v1/accounts/{name}. An account
// may not disable itself or drop its own superadmin flag: that is how a
// server loses its last administrator.
func (s *Server) handleUpdateAccount(c *gin.Context) error {
	p, cur, err := s.accountToChange(c)
	if err != nil {
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
	return s.change(c, http.StatusOK, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		a, err := s.changeableAccount(tx, p, cur.Name)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		detail := ch.apply(a)
		return viewAccount(a), store.AuditEvent{Action: "admin.account.update", Target: "account " + a.Name, Detail: detail}, tx.UpdateAccount(a)
	})
}

// handleDeleteAccount serves DELETE /admin/v1/accounts/{name}: the account,
// its tokens and its memberships go. An account may not delete itself.
func (s *Server) handleDeleteAccount(c *gin.Context) error {
	p, cur, err := s.accountToChange(c)
	if err != nil {
		return err
	}
	if err := p.CheckDeleteAccount(target(&cur.Account)); err != nil {
		return err
	}
	return s.change(c, http.StatusNoContent, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		a, err := s.changeableAccount(tx, p, cur.Name)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		all, err := tx.Groups()
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		detail := "organization=" + a.Organization
		var groups []string
		for _, g := range all {
			if _, ok := g.Members[a.Name]; ok {
				groups = append(groups, g.Name)
			}
		}
		if len(groups) > 0 {
			detail += ", removed from groups " + strings.Join(groups, " ")
		}
		return nil, store.AuditEvent{Action: "admin.account.delete", Target: "account " + a.Name, Detail: detail}, tx.DeleteAccount(a.Name)
	})
}

// changeableAccount reads the named account in tx and checks again, on
// what the transaction sees, that p may change it: the in-memory directory
// the handler checked first may be older than the store.
func (s *Server) changeableAccount(tx store.DirectoryTx, p access.Actor, name string) (*store.Account, error) {
	a, err := tx.Account(name)
	if err != nil {
		return nil, err
	}
	return a, p.CheckChangeAccount(target(a))
}

// Tokens.

// tokenAccount returns the account named in the URL if the caller may
// manage its tokens (see tokenAccountFor).
func (s *Server) tokenAccount(c *gin.Context, write bool) (*accountEntry, error) {
	return s.tokenAccountFor(caller(c), c.Param("name"), write)
}

// tokenAccountFor returns the named account if by may read (or, with
// write, change) its tokens (see access.Actor.CheckTokens); any account
// reaches its own.
func (s *Server) tokenAccountFor(by *principal, name string, write bool) (*accountEntry, error) {
	a := s.dir.Load().accounts[name]
	if a == nil {
		return nil, errNotFound
	}
	if err := by.actor().CheckTokens(target(&a.Account), write); err != nil {
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
	return writeAdminJSON(c, http.StatusOK, &res)
}

// handleCreateToken serves POST /admin/v1/accounts/{name}/tokens: a new
// token, shown in this response and never again (createToken).
func (s *Server) handleCreateToken(c *gin.Context) error {
	if _, err := s.tokenAccount(c, true); err != nil {
		return err
	}
	var body client.TokenBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	tok, err := s.createToken(callOf(c), c.Param("name"), body)
	if err != nil {
		return err
	}
	return writeAdminJSON(c, http.StatusCreated, tok)
}

// createToken makes a new API token for account, whose tokens a.by may
// change, named and expiring as body says. The reply holds the secret,
// which is stored only as a hash.
func (s *Server) createToken(a adminCall, account string, body client.TokenBody) (*client.NewToken, error) {
	acct, err := s.tokenAccountFor(a.by, account, true)
	if err != nil {
		return nil, err
	}
	if body.Name == nil {
		return nil, badRequest("name: required (say what the token is for, e.g. \"siem feed\")")
	}
	if err := access.TokenName(*body.Name); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	tok := &store.Token{ID: s.opts.NewID().String(), Account: acct.Name, Name: *body.Name, Created: now}
	if body.ExpiresIn != nil {
		d, err := time.ParseDuration(*body.ExpiresIn)
		if err != nil || d <= 0 {
			return nil, badRequest("expires_in: %q is not a positive duration (such as \"720h\" for 30 days)", *body.ExpiresIn)
		}
		tok.Expires = now.Add(d)
	}
	secret, hash := access.NewAPIToken()
	tok.Hash = hash
	detail := fmt.Sprintf("name=%q", tok.Name)
	if !tok.Expires.IsZero() {
		detail += ", expires=" + tok.Expires.Format(time.RFC3339)
	}
	reply := &client.NewToken{ID: tok.ID, Account: tok.Account, Name: tok.Name, Token: secret,
		Created: tok.Created, Expires: tok.Expires}
	_, err = s.commit(a, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		if err := checkTokens(a, tx, acct.Name); err != nil {
			return nil, store.AuditEvent{}, err
		}
		return nil, store.AuditEvent{Action: "admin.token.create", Target: "token " + tok.ID + " of account " + acct.Name, Detail: detail},
			tx.CreateToken(tok)
	})
	if err != nil {
		return nil, err
	}
	return reply, nil
}

// handleRevokeToken serves DELETE /admin/v1/accounts/{name}/tokens/{id}
// (revokeToken).
func (s *Server) handleRevokeToken(c *gin.Context) error {
	if err := s.revokeToken(callOf(c), c.Param("name"), c.Param("id")); err != nil {
		return err
	}
	return writeNoContent(c)
}

// revokeToken revokes token id of account, whose tokens a.by may change:
// the token is refused from the next request on and kept, revoked, for
// the record. Revoking a revoked token changes nothing and succeeds again.
func (s *Server) revokeToken(a adminCall, account, id string) error {
	acct, err := s.tokenAccountFor(a.by, account, true)
	if err != nil {
		return err
	}
	_, err = s.commit(a, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		if err := checkTokens(a, tx, acct.Name); err != nil {
			return nil, store.AuditEvent{}, err
		}
		tok, err := tx.Token(id)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		if tok.Account != acct.Name {
			// Another account's token id is as unknown here as a made-up one.
			return nil, store.AuditEvent{}, errNotFound
		}
		ev, err := revoke(tx, tok, fmt.Sprintf("name=%q", tok.Name))
		return nil, ev, err
	})
	return err
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
	call := callOf(c)
	return s.change(c, http.StatusOK, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		if err := checkTokens(call, tx, a.Name); err != nil {
			return nil, store.AuditEvent{}, err
		}
		toks, err := tx.Tokens(a.Name)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		var reply client.RevokedTokens
		for i := range toks {
			// One audit row per token: each is written here, in the
			// change's transaction, rather than returned.
			ev, err := revoke(tx, &toks[i], fmt.Sprintf("name=%q, all tokens of the account", toks[i].Name))
			if err == nil && ev.Action != "" {
				err = s.auditChange(call, tx, ev)
				reply.Revoked++
			}
			if err != nil {
				return nil, store.AuditEvent{}, err
			}
		}
		return &reply, store.AuditEvent{}, nil
	})
}

// checkTokens checks again, on the account as the transaction sees it, that
// a.by may write its tokens.
func checkTokens(a adminCall, tx store.DirectoryTx, account string) error {
	acct, err := tx.Account(account)
	if err != nil {
		return err
	}
	return a.by.actor().CheckTokens(target(acct), true)
}

// revoke marks tok revoked in tx and returns the audit row that says so
// with detail; a token already revoked changes nothing and has no row.
func revoke(tx store.DirectoryTx, tok *store.Token, detail string) (store.AuditEvent, error) {
	if tok.Revoked {
		return store.AuditEvent{}, nil
	}
	tok.Revoked = true
	return store.AuditEvent{Action: "admin.token.revoke", Target: "token " + tok.ID + " of account " + tok.Account, Detail: detail},
		tx.UpdateToken(tok)
}
