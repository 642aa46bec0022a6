package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
)

// The group admin page shows the newest auditShown reads of the group's
// collections in the last auditWindow.
const (
	auditWindow = 24 * time.Hour
	auditShown  = 200
)

// adminData is the group admin page's data.
type adminData struct {
	Group   *Group
	Members []member
	Roles   []access.Role      // what a member may be, for the role fields
	Reads   []store.AuditEvent // newest first
	Since   time.Time
	// Notice says what the change just made did; Error why one was
	// refused.
	Notice, Error string
}

type member struct {
	Name string
	Role access.Role
	// Tokens are listed when the admin API would list them to the viewer
	// (access.Actor.CheckTokens); TokensHidden says they are another
	// organization's to manage. TokensChangeable says the viewer may make
	// and revoke them (not a superadmin's, unless a superadmin itself).
	Tokens                         []store.Token
	TokensHidden, TokensChangeable bool
}

// actorOf is the viewer as the admin decisions see it.
func actorOf(v *Viewer) access.Actor {
	a := access.Actor{Name: v.Account.Name, Organization: v.Account.Organization, Superadmin: v.Account.Superadmin,
		OrgAdmin: v.Account.OrgAdmin, Groups: map[string]access.Role{}}
	for _, g := range v.Groups {
		a.Groups[g.Name] = g.Role
	}
	return a
}

// administered returns the group of the URL if the viewer administers it.
// Otherwise it answers as the admin API decides: a member with a lesser
// role is refused (403) and anyone else gets a 404.
func (c *Console) administered(w http.ResponseWriter, r *http.Request) (*Group, bool) {
	v := sessionOf(r).viewer
	g := v.group(r.PathValue("group"))
	if g == nil {
		c.notFound(w, r, nil)
		return nil, false
	}
	if err := actorOf(v).CheckAdminGroup(g.Name); err != nil {
		if errors.Is(err, access.ErrHidden) {
			c.notFound(w, r, nil)
			return nil, false
		}
		c.render(w, r, http.StatusForbidden, "message", page{Title: "Refused", Data: message{Heading: "Not a group admin", Text: err.Error()}})
		return nil, false
	}
	return g, true
}

// Notices of the group admin page after a change, by the done parameter
// of the page's URL. They are fixed texts: the URL cannot make the page
// say anything else.
var adminNotices = map[string]string{
	"member":  "The membership is saved.",
	"removed": "The member was removed from the group.",
	"revoked": "The token is revoked: it is refused from now on.",
}

// handleGroupAdmin shows a group's members and roles, their tokens, and
// who read what, for the group's admins, with the forms that change
// members, roles and tokens.
func (c *Console) handleGroupAdmin(w http.ResponseWriter, r *http.Request) {
	g, ok := c.administered(w, r)
	if !ok {
		return
	}
	c.adminPage(w, r, http.StatusOK, g, adminData{Notice: adminNotices[r.URL.Query().Get("done")]})
}

// adminPage renders the group admin page of g with d's notice or error.
func (c *Console) adminPage(w http.ResponseWriter, r *http.Request, status int, g *Group, d adminData) {
	v := sessionOf(r).viewer
	actor := actorOf(v)
	ctx := r.Context()
	dir, err := c.store.LoadDirectory(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	accounts := map[string]*store.Account{}
	for i := range dir.Accounts {
		accounts[dir.Accounts[i].Name] = &dir.Accounts[i]
	}
	d.Group, d.Since, d.Roles = g, c.svc.Now().Add(-auditWindow), access.Roles()
	for name, role := range g.Members {
		m := member{Name: name, Role: role, TokensHidden: true}
		if a := accounts[name]; a != nil {
			t := access.Target{Name: a.Name, Organization: a.Organization, Superadmin: a.Superadmin}
			m.TokensHidden = actor.CheckTokens(t, false) != nil
			m.TokensChangeable = actor.CheckTokens(t, true) == nil
		}
		if !m.TokensHidden {
			for _, t := range dir.Tokens {
				if t.Account == name {
					t.Hash = "" // a hash is no secret, but it is nothing to show either
					m.Tokens = append(m.Tokens, t)
				}
			}
			slices.SortFunc(m.Tokens, func(a, b store.Token) int { return a.Created.Compare(b.Created) })
		}
		d.Members = append(d.Members, m)
	}
	slices.SortFunc(d.Members, func(a, b member) int { return strings.Compare(a.Name, b.Name) })
	rows, err := c.store.FindAudit(ctx, store.AuditQuery{Since: d.Since, Group: g.Name, Action: "read", Newest: true, Limit: auditShown})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for _, ev := range rows {
		if actor.MayReadAuditRow(ev.Organization, ev.Group) {
			d.Reads = append(d.Reads, ev)
		}
	}
	c.render(w, r, status, "admin", page{Title: "Administer " + g.Name, Data: d})
}

// changed finishes a group admin change: on success it goes back to the
// admin page with notice done (or home, when the change took the viewer's
// own admin role away); a refusal shows the page again with the admin
// API's message, or missing when the refusal is a 404 (what the form named
// does not exist, or the viewer may not see it); a failure is answered as
// failures are.
func (c *Console) changed(w http.ResponseWriter, r *http.Request, g *Group, err error, done, missing string) {
	var refused *ChangeError
	switch {
	case err == nil:
		to := "/console/"
		if v := c.svc.Viewer(sessionOf(r).viewer.Account.Name); v != nil && v.group(g.Name) != nil &&
			actorOf(v).CheckAdminGroup(g.Name) == nil {
			to = "/console/g/" + url.PathEscape(g.Name) + "/admin?done=" + done
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	case errors.As(err, &refused):
		msg := refused.Message
		if refused.Status == http.StatusNotFound {
			msg = missing
		}
		c.adminPage(w, r, refused.Status, g, adminData{Error: msg})
	default:
		c.fail(w, r, err)
	}
}

// formValue is a form's field without surrounding space, "" when it is
// longer than maxNameBytes (every field of the admin forms is a name).
func formValue(r *http.Request, field string) string {
	return clipName(strings.TrimSpace(r.PostForm.Get(field)))
}

// handleSetMember adds an account to the group or changes a member's role
// (fields account, role).
func (c *Console) handleSetMember(w http.ResponseWriter, r *http.Request) {
	g, ok := c.administered(w, r)
	if !ok {
		return
	}
	account := formValue(r, "account")
	if account == "" {
		c.adminPage(w, r, http.StatusBadRequest, g, adminData{Error: "Give the name of the account to add."})
		return
	}
	err := c.svc.SetMember(r.Context(), sessionOf(r).viewer, g.Name, account, access.Role(formValue(r, "role")), remoteAddr(r))
	c.changed(w, r, g, err, "member", "There is no account named "+strconv.Quote(account)+".")
}

// handleRemoveMember takes a member out of the group (field account).
func (c *Console) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	g, ok := c.administered(w, r)
	if !ok {
		return
	}
	account := formValue(r, "account")
	err := c.svc.RemoveMember(r.Context(), sessionOf(r).viewer, g.Name, account, remoteAddr(r))
	c.changed(w, r, g, err, "removed", strconv.Quote(account)+" is not a member of this group.")
}

// tokenMember returns the administered group of the URL and the member
// the form's account field names, whose tokens the form changes: the
// admin page's token forms reach the group's members only. Otherwise it
// answers, with missing(account) for an account that is no member, and
// returns false.
func (c *Console) tokenMember(w http.ResponseWriter, r *http.Request, missing func(account string) string) (*Group, string, bool) {
	g, ok := c.administered(w, r)
	if !ok {
		return nil, "", false
	}
	account := formValue(r, "account")
	if _, member := g.Members[account]; !member {
		c.adminPage(w, r, http.StatusNotFound, g, adminData{Error: missing(account)})
		return nil, "", false
	}
	return g, account, true
}

func notManaged(account string) string {
	return strconv.Quote(account) + " is not a member whose tokens you manage."
}

func noSuchToken(string) string { return "No such token." }

// handleCreateToken makes an API token for a member (fields account,
// name, expires_in) and shows its secret, once.
func (c *Console) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	g, account, ok := c.tokenMember(w, r, notManaged)
	if !ok {
		return
	}
	tok, err := c.svc.CreateToken(r.Context(), sessionOf(r).viewer, account, strings.TrimSpace(r.PostForm.Get("name")),
		formValue(r, "expires_in"), remoteAddr(r))
	if err != nil {
		c.changed(w, r, g, err, "", notManaged(account))
		return
	}
	c.render(w, r, http.StatusCreated, "token", page{Title: "New API token", Data: newTokenData{Group: g, Token: tok}})
}

// newTokenData is the data of the page that shows a new token's secret.
type newTokenData struct {
	Group *Group
	Token NewToken
}

// handleRevokeToken revokes a member's token (fields account, id).
func (c *Console) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	g, account, ok := c.tokenMember(w, r, noSuchToken)
	if !ok {
		return
	}
	err := c.svc.RevokeToken(r.Context(), sessionOf(r).viewer, account, formValue(r, "id"), remoteAddr(r))
	c.changed(w, r, g, err, "revoked", noSuchToken(account))
}
