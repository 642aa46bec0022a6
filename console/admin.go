package console

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
)

// The group admin page reads the audit log of the last auditWindow, at
// most auditScan rows, and shows the newest auditShown of the group's.
const (
	auditWindow = 24 * time.Hour
	auditScan   = 10000
	auditShown  = 200
)

// adminData is the group admin page's data.
type adminData struct {
	Group   *Group
	Members []member
	Reads   []store.AuditEvent // newest first
	Since   time.Time
}

type member struct {
	Name string
	Role access.Role
	// Tokens are listed when the admin API would show them to the viewer
	// (access.Actor.CheckTokens); TokensHidden says they exist but are
	// another organization's to manage.
	Tokens       []store.Token
	TokensHidden bool
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

// handleGroupAdmin shows a group's members and roles, their tokens, and
// who read what, for the group's admins: the admin API's rules decide, so
// a member with a lesser role is refused and anyone else gets a 404.
func (c *Console) handleGroupAdmin(w http.ResponseWriter, r *http.Request) {
	v := sessionOf(r).viewer
	g := v.group(r.PathValue("group"))
	actor := actorOf(v)
	if g == nil {
		c.notFound(w, r, nil)
		return
	}
	if err := actor.CheckAdminGroup(g.Name); err != nil {
		if errors.Is(err, access.ErrHidden) {
			c.notFound(w, r, nil)
			return
		}
		c.render(w, r, http.StatusForbidden, "message", page{Title: "Refused", Data: message{Heading: "Not a group admin", Text: err.Error()}})
		return
	}
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
	d := adminData{Group: g, Since: c.svc.Now().Add(-auditWindow)}
	for name, role := range g.Members {
		m := member{Name: name, Role: role}
		if a := accounts[name]; a != nil {
			if actor.CheckTokens(access.Target{Name: a.Name, Organization: a.Organization, Superadmin: a.Superadmin}, false) == nil {
				for _, t := range dir.Tokens {
					if t.Account == name {
						t.Hash = "" // a hash is no secret, but it is nothing to show either
						m.Tokens = append(m.Tokens, t)
					}
				}
			} else {
				m.TokensHidden = true
			}
		}
		d.Members = append(d.Members, m)
	}
	slices.SortFunc(d.Members, func(a, b member) int { return strings.Compare(a.Name, b.Name) })
	rows, err := c.store.FindAudit(ctx, store.AuditQuery{Since: d.Since, Action: "read", Limit: auditScan})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for i := len(rows) - 1; i >= 0 && len(d.Reads) < auditShown; i-- {
		if ev := rows[i]; ev.Group == g.Name && actor.MayReadAuditRow(ev.Organization, ev.Group) {
			d.Reads = append(d.Reads, ev)
		}
	}
	c.render(w, r, http.StatusOK, "admin", page{Title: "Administer " + g.Name, Data: d})
}
