package taxii

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/console"
	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/store"
)

// consoleService is the console's view of the server (console.Service):
// the same directory snapshot, login checks and publishing pipeline as
// the TAXII API, so that both answer every question the same way.
type consoleService struct{ s *Server }

var _ console.Service = consoleService{}

func (cs consoleService) Now() time.Time { return cs.s.now() }

func (cs consoleService) Viewer(account string) *console.Viewer {
	dir := cs.s.dir.Load()
	acct := dir.accounts[account]
	if acct == nil || acct.Disabled {
		return nil
	}
	return viewerOf(dir, acct)
}

// viewerOf lists what acct may see: its groups and, in each, the
// collections access.CanSee lets it see (the TAXII API hides the others).
func viewerOf(dir *directory, acct *accountEntry) *console.Viewer {
	v := &console.Viewer{Account: acct.Account}
	if org := dir.orgs[acct.Organization]; org != nil {
		v.OrganizationIdentity = org.IdentityID
	}
	for _, name := range dir.groupOrder {
		role, member := acct.groups[name]
		g := dir.groups[name]
		if !member || g == nil {
			continue
		}
		cg := &console.Group{Group: g.Group, Role: role}
		for _, c := range g.sorted {
			if !access.CanSee(c.Policy.ReadRole, c.Policy.WriteRole, role) {
				continue
			}
			cg.Collections = append(cg.Collections, &console.Collection{Collection: *c,
				CanRead: access.CanRead(c.Policy.ReadRole, role), CanWrite: access.CanWrite(c.Policy.WriteRole, role)})
		}
		v.Groups = append(v.Groups, cg)
	}
	slices.SortFunc(v.Groups, func(a, b *console.Group) int { return strings.Compare(a.Name, b.Name) })
	return v
}

func (cs consoleService) CheckPassword(ctx context.Context, name, password, remoteAddr string) (*console.Viewer, error) {
	// The form's name and password go through exactly the check of an
	// HTTP Basic header, limits and audit included.
	header := "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+password))
	p, retry, err := cs.s.checkLogin(loginAttempt{header: header, addr: remoteAddr, line: "POST /console/sign-in"})
	if err != nil {
		msg := "the account name or the password is wrong"
		var e *Error
		if errors.As(err, &e) && err != errUnauthorized {
			msg = e.Description
		}
		return nil, &console.SignInError{Message: msg, RetryAfter: retry}
	}
	return viewerOf(cs.s.dir.Load(), p.accountEntry), nil
}

func (cs consoleService) CertificateViewer(state *tls.ConnectionState) (*console.Viewer, string) {
	if state == nil || len(state.VerifiedChains) == 0 {
		return nil, ""
	}
	fp := sha256.Sum256(state.PeerCertificates[0].Raw)
	dir := cs.s.dir.Load()
	acct := dir.certs[fp]
	if acct == nil || acct.Disabled {
		return nil, ""
	}
	return viewerOf(dir, acct), hex.EncodeToString(fp[:])
}

func (cs consoleService) Publish(ctx context.Context, v *console.Viewer, coll *console.Collection, envelope []byte,
	remoteAddr string) (*store.Status, error) {
	received := cs.s.now()
	dir := cs.s.dir.Load()
	acct := dir.accounts[v.Account.Name]
	g := dir.groups[coll.APIRoot]
	if acct == nil || acct.Disabled || g == nil {
		return nil, store.ErrCollectionNotFound
	}
	role, member := acct.groups[g.Name]
	c := g.byID[coll.ID]
	// Decided again on the snapshot of now: the page that offered the
	// form may be older than a membership change.
	if !member || c == nil || !access.CanWrite(c.Policy.WriteRole, role) {
		return nil, store.ErrCollectionNotFound
	}
	return cs.s.publish(ctx, g, c, role, &principal{accountEntry: acct, via: "console"}, envelope, remoteAddr, received)
}

func (cs consoleService) RecordRead(ev store.AuditEvent) { cs.s.audit.record(ev) }

func (cs consoleService) Subscribe(ctx context.Context, collID string) (*delivery.Subscription, error) {
	return cs.s.hub.Subscribe(ctx, collID)
}

// call is v's account, as the directory has it now, asking for an admin
// change from the console: the admin API's decisions apply to it as to a
// request of that account.
func (cs consoleService) call(ctx context.Context, v *console.Viewer, remoteAddr string) (adminCall, error) {
	acct := cs.s.dir.Load().accounts[v.Account.Name]
	if acct == nil || acct.Disabled {
		return adminCall{}, errNotFound
	}
	return adminCall{ctx: ctx, by: &principal{accountEntry: acct, via: "console"}, addr: remoteAddr}, nil
}

// changeError is err as the console's group admin page shows it: a
// refusal (a status below 500) becomes a *console.ChangeError with the
// admin API's status and message; a failure stays the error it is, for the
// console to log and answer.
func changeError(err error) error {
	if err == nil {
		return nil
	}
	if te := asError(err); te.Status < 500 {
		return &console.ChangeError{Status: te.Status, Message: te.Description}
	}
	return err
}

func (cs consoleService) SetMember(ctx context.Context, v *console.Viewer, group, account string, role access.Role, remoteAddr string) error {
	a, err := cs.call(ctx, v, remoteAddr)
	if err == nil {
		_, err = cs.s.setMember(a, group, account, role)
	}
	return changeError(err)
}

func (cs consoleService) RemoveMember(ctx context.Context, v *console.Viewer, group, account, remoteAddr string) error {
	a, err := cs.call(ctx, v, remoteAddr)
	if err == nil {
		_, err = cs.s.removeMember(a, group, account)
	}
	return changeError(err)
}

func (cs consoleService) CreateToken(ctx context.Context, v *console.Viewer, account, name, expiresIn, remoteAddr string) (console.NewToken, error) {
	a, err := cs.call(ctx, v, remoteAddr)
	if err != nil {
		return console.NewToken{}, changeError(err)
	}
	body := client.TokenBody{Name: &name}
	if expiresIn != "" {
		body.ExpiresIn = &expiresIn
	}
	tok, err := cs.s.createToken(a, account, body)
	if err != nil {
		return console.NewToken{}, changeError(err)
	}
	return console.NewToken{ID: tok.ID, Account: tok.Account, Name: tok.Name, Secret: tok.Token, Expires: tok.Expires}, nil
}

func (cs consoleService) RevokeToken(ctx context.Context, v *console.Viewer, account, id, remoteAddr string) error {
	a, err := cs.call(ctx, v, remoteAddr)
	if err == nil {
		err = cs.s.revokeToken(a, account, id)
	}
	return changeError(err)
}
