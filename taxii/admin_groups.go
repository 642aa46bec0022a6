package taxii

import (
	"fmt"
	"net/http"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// viewGroup is g as the admin API shows it, members included.
func viewGroup(g *store.Group) client.Group {
	members := make(map[string]client.Role, len(g.Members))
	for name, r := range g.Members {
		members[name] = client.Role(r)
	}
	return client.Group{Name: g.Name, Title: g.Title, Description: g.Description, MaxContentLength: g.MaxContentLength,
		IdentityID: g.IdentityID, Members: members, OwnDomains: append([]string{}, g.OwnDomains...), Created: g.Created}
}

// handleListGroups serves GET /admin/v1/groups: every group for a
// superadmin, the groups it administers for anyone else (possibly none).
func (s *Server) handleListGroups(c *gin.Context) error {
	p := caller(c).actor()
	dir := s.dir.Load()
	res := client.GroupList{Groups: []client.Group{}}
	for _, name := range dir.groupOrder {
		if p.AdminsGroup(name) {
			res.Groups = append(res.Groups, viewGroup(&dir.groups[name].Group))
		}
	}
	return writeAdminJSON(c, http.StatusOK, &res)
}

// handleGetGroup serves GET /admin/v1/groups/{name}.
func (s *Server) handleGetGroup(c *gin.Context) error {
	g, err := s.adminGroup(c)
	if err != nil {
		return err
	}
	return writeAdminJSON(c, http.StatusOK, viewGroup(&g.Group))
}

// groupChange is the part of a group body that POST and PATCH share.
type groupChange struct{ *client.GroupPatch }

// validate checks the fields the body names and normalizes its own
// domains.
func (b groupChange) validate() error {
	if err := checkTitleDescription(b.Title, b.Description); err != nil {
		return err
	}
	if b.MaxContentLength != nil {
		if err := access.MaxContentLength(*b.MaxContentLength); err != nil {
			return err
		}
	}
	if b.OwnDomains != nil {
		norm, err := access.OwnDomains(*b.OwnDomains)
		if err != nil {
			return err
		}
		*b.OwnDomains = norm
	}
	return nil
}

// checkTitleDescription checks the title and description of a group or
// collection body; nil is a field the body does not name.
func checkTitleDescription(title, description *string) error {
	if title != nil {
		if err := access.Title(*title); err != nil {
			return err
		}
	}
	if description != nil {
		return access.Description(*description)
	}
	return nil
}

// apply sets the fields the body names on g and says what changed.
func (b groupChange) apply(g *store.Group) string {
	var l changeList
	set(&l, &g.Title, b.Title, "title=%q")
	set(&l, &g.Description, b.Description, "description changed")
	set(&l, &g.MaxContentLength, b.MaxContentLength, "max_content_length=%d")
	set(&l, &g.OwnDomains, b.OwnDomains, "own_domains=%q")
	return l.String()
}

// handleCreateGroup serves POST /admin/v1/groups (superadmin): a new,
// empty sharing group, that is a new API root.
func (s *Server) handleCreateGroup(c *gin.Context) error {
	var body client.GroupBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Name == nil {
		return badRequest("name: required")
	}
	if err := access.GroupName(*body.Name); err != nil {
		return err
	}
	if body.Title == nil {
		return badRequest("title: required")
	}
	ch := groupChange{&body.GroupPatch}
	if err := ch.validate(); err != nil {
		return err
	}
	g := &store.Group{Name: *body.Name, MaxContentLength: DefaultMaxContentLength, IdentityID: s.newIdentityID(),
		Members: map[string]access.Role{}, Created: s.now().UTC()}
	detail := ch.apply(g)
	return s.change(c, http.StatusCreated, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		return viewGroup(g), store.AuditEvent{Action: "admin.group.create", Group: g.Name, Target: "group " + g.Name,
			Detail: detail + ", identity_id=" + g.IdentityID}, tx.CreateGroup(g)
	})
}

// changeGroup runs fn on the stored group named in the URL for the
// request's caller (see changeGroupAs) and answers with the group as
// changed.
func (s *Server) changeGroup(c *gin.Context, fn func(tx store.DirectoryTx, g *store.Group) (store.AuditEvent, error)) error {
	g, err := s.changeGroupAs(callOf(c), c.Param("name"), fn)
	if err != nil {
		return err
	}
	return writeAdminJSON(c, http.StatusOK, g)
}

// changeGroupAs runs fn on the stored group name, which a.by manages,
// writes the group back and writes the audit row fn describes (its Group
// is filled in), all in one transaction, and returns the group as changed.
func (s *Server) changeGroupAs(a adminCall, name string, fn func(tx store.DirectoryTx, g *store.Group) (store.AuditEvent, error)) (client.Group, error) {
	cur, err := s.groupFor(a.by, name)
	if err != nil {
		return client.Group{}, err
	}
	reply, err := s.commit(a, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		g, err := tx.Group(cur.Name)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		if g.Members == nil {
			g.Members = map[string]access.Role{}
		}
		ev, err := fn(tx, g)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		ev.Group = g.Name
		return viewGroup(g), ev, tx.UpdateGroup(g)
	})
	if err != nil {
		return client.Group{}, err
	}
	return reply.(client.Group), nil
}

// handleUpdateGroup serves PATCH /admin/v1/groups/{name}: title,
// description, max_content_length and own_domains. A group's name is its API root's
// URL and does not change.
func (s *Server) handleUpdateGroup(c *gin.Context) error {
	if _, err := s.adminGroup(c); err != nil {
		return err
	}
	var body client.GroupPatch
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	gb := groupChange{&body}
	if *gb.GroupPatch == (client.GroupPatch{}) {
		return badRequest("body: nothing to change (give any of title, description, max_content_length, own_domains)")
	}
	if err := gb.validate(); err != nil {
		return err
	}
	return s.changeGroup(c, func(_ store.DirectoryTx, g *store.Group) (store.AuditEvent, error) {
		return store.AuditEvent{Action: "admin.group.update", Target: "group " + g.Name, Detail: gb.apply(g)}, nil
	})
}

// handleDeleteGroup serves DELETE /admin/v1/groups/{name} (superadmin);
// 409 while it has collections.
func (s *Server) handleDeleteGroup(c *gin.Context) error {
	name := c.Param("name")
	return s.change(c, http.StatusNoContent, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		g, err := tx.Group(name)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		return nil, store.AuditEvent{Action: "admin.group.delete", Group: name, Target: "group " + name,
			Detail: fmt.Sprintf("%d members", len(g.Members))}, tx.DeleteGroup(name)
	})
}

// handlePutMember serves PUT /admin/v1/groups/{name}/members/{account}
// {role}: adds the account to the group or changes its role (setMember).
func (s *Server) handlePutMember(c *gin.Context) error {
	if _, err := s.adminGroup(c); err != nil {
		return err
	}
	var body client.MemberBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Role == nil {
		return badRequest("role: required (reader, publisher or admin)")
	}
	g, err := s.setMember(callOf(c), c.Param("name"), c.Param("account"), access.Role(*body.Role))
	if err != nil {
		return err
	}
	return writeAdminJSON(c, http.StatusOK, g)
}

// setMember adds account to the group, which a.by manages, with role, or
// changes its role. The account may belong to any organization; an unknown
// one is 404.
func (s *Server) setMember(a adminCall, group, account string, role access.Role) (client.Group, error) {
	if err := access.MemberRole(role); err != nil {
		return client.Group{}, err
	}
	return s.changeGroupAs(a, group, func(tx store.DirectoryTx, g *store.Group) (store.AuditEvent, error) {
		if _, err := tx.Account(account); err != nil {
			return store.AuditEvent{}, err
		}
		ev := store.AuditEvent{Action: "admin.member.create", Target: "member " + account + " of group " + g.Name,
			Detail: "role=" + string(role)}
		if old, ok := g.Members[account]; ok {
			ev.Action = "admin.member.update"
			ev.Detail = fmt.Sprintf("role %s -> %s", old, role)
		}
		g.Members[account] = role
		return ev, nil
	})
}

// handleDeleteMember serves DELETE /admin/v1/groups/{name}/members/{account}
// (removeMember).
func (s *Server) handleDeleteMember(c *gin.Context) error {
	g, err := s.removeMember(callOf(c), c.Param("name"), c.Param("account"))
	if err != nil {
		return err
	}
	return writeAdminJSON(c, http.StatusOK, g)
}

// removeMember takes account out of the group, which a.by manages (404 if
// it is no member).
func (s *Server) removeMember(a adminCall, group, account string) (client.Group, error) {
	return s.changeGroupAs(a, group, func(_ store.DirectoryTx, g *store.Group) (store.AuditEvent, error) {
		old, ok := g.Members[account]
		if !ok {
			return store.AuditEvent{}, errNotFound
		}
		delete(g.Members, account)
		return store.AuditEvent{Action: "admin.member.delete", Target: "member " + account + " of group " + g.Name,
			Detail: "role was " + string(old)}, nil
	})
}

// Collections.

// groupCollection returns the group named in the URL, which the caller
// manages, and its collection named by id (404 if the group has none such).
func (s *Server) groupCollection(c *gin.Context) (*group, *store.Collection, error) {
	g, err := s.adminGroup(c)
	if err != nil {
		return nil, nil, err
	}
	coll := g.byID[c.Param("id")]
	if coll == nil {
		return nil, nil, errNotFound
	}
	return g, coll, nil
}

// handleListCollections serves GET /admin/v1/groups/{name}/collections:
// every collection of the group with its policy, sorted by id.
func (s *Server) handleListCollections(c *gin.Context) error {
	g, err := s.adminGroup(c)
	if err != nil {
		return err
	}
	res := client.CollectionList{Collections: []client.Collection{}}
	for _, coll := range g.sorted {
		res.Collections = append(res.Collections, *viewCollection(coll))
	}
	return writeAdminJSON(c, http.StatusOK, &res)
}

// handleGetCollection serves GET /admin/v1/groups/{name}/collections/{id}.
func (s *Server) handleGetCollection(c *gin.Context) error {
	_, coll, err := s.groupCollection(c)
	if err != nil {
		return err
	}
	return writeAdminJSON(c, http.StatusOK, viewCollection(coll))
}

// collectionChange is the part of a collection body that POST and PATCH
// share, with its policy parsed by validate. Policy replaces the whole
// policy.
type collectionChange struct {
	*client.CollectionPatch
	policy access.Policy
}

// viewCollection is coll as the admin API shows it, TLP levels by name.
func viewCollection(coll *store.Collection) *client.Collection {
	p := &coll.Policy
	return &client.Collection{ID: coll.ID, APIRoot: coll.APIRoot, Title: coll.Title, Description: coll.Description, Alias: coll.Alias,
		Policy: client.Policy{TLPCeiling: tlpName(p.TLPCeiling), RequireTLP: p.RequireTLP, DefaultTLP: tlpName(p.DefaultTLP),
			Anonymize: p.Anonymize, ReadRole: client.Role(p.ReadRole), WriteRole: client.Role(p.WriteRole)}}
}

// validate checks the fields the body names.
func (b *collectionChange) validate() error {
	if err := checkTitleDescription(b.Title, b.Description); err != nil {
		return err
	}
	if b.Alias != nil {
		if err := access.Alias(*b.Alias); err != nil {
			return err
		}
	}
	if wp := b.Policy; wp != nil {
		spec := access.PolicySpec{TLPCeiling: wp.TLPCeiling, RequireTLP: wp.RequireTLP, DefaultTLP: wp.DefaultTLP,
			Anonymize: wp.Anonymize, ReadRole: access.Role(wp.ReadRole), WriteRole: access.Role(wp.WriteRole)}
		p, err := spec.Parse()
		if err != nil {
			return badRequest("policy.%v", err)
		}
		b.policy = p
	}
	return nil
}

// apply sets the fields the body names on coll and says what changed.
func (b *collectionChange) apply(coll *store.Collection) string {
	var l changeList
	set(&l, &coll.Title, b.Title, "title=%q")
	set(&l, &coll.Alias, b.Alias, "alias=%q")
	set(&l, &coll.Description, b.Description, "description changed")
	if b.Policy != nil {
		coll.Policy = b.policy
		l = append(l, "policy="+describePolicy(&coll.Policy))
	}
	return l.String()
}

// tlpName is a level as the admin API writes it ("" for none).
func tlpName(l stix.TLP) string {
	name, _ := l.MarshalText()
	return string(name)
}

func describePolicy(p *access.Policy) string {
	return fmt.Sprintf("{tlp_ceiling=%q require_tlp=%t default_tlp=%q anonymize=%t read_role=%q write_role=%q}",
		tlpName(p.TLPCeiling), p.RequireTLP, tlpName(p.DefaultTLP), p.Anonymize, p.ReadRole, p.WriteRole)
}

// handleCreateCollection serves POST /admin/v1/groups/{name}/collections:
// a new collection, its id a lowercase UUIDv4 given or generated, unique
// on the server.
func (s *Server) handleCreateCollection(c *gin.Context) error {
	g, err := s.adminGroup(c)
	if err != nil {
		return err
	}
	var body client.CollectionBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	ch := collectionChange{CollectionPatch: &body.CollectionPatch}
	coll := &store.Collection{APIRoot: g.Name}
	if body.ID == nil {
		coll.ID = s.opts.NewID().String()
	} else {
		if err := access.CollectionID(*body.ID); err != nil {
			return badRequest("%v (leave it out to have one generated)", err)
		}
		coll.ID = *body.ID
	}
	if body.Title == nil {
		return badRequest("title: required")
	}
	if err := ch.validate(); err != nil {
		return err
	}
	detail := ch.apply(coll)
	return s.change(c, http.StatusCreated, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		if _, err := tx.Group(g.Name); err != nil {
			return nil, store.AuditEvent{}, err
		}
		return viewCollection(coll), collectionEvent("admin.collection.create", coll, detail), tx.CreateCollection(coll)
	})
}

// handleUpdateCollection serves PATCH /admin/v1/groups/{name}/collections/{id}:
// title, alias ("" removes it), description, policy (replaced whole).
func (s *Server) handleUpdateCollection(c *gin.Context) error {
	g, cur, err := s.groupCollection(c)
	if err != nil {
		return err
	}
	var patch client.CollectionPatch
	if err := decodeBody(c, &patch); err != nil {
		return err
	}
	body := collectionChange{CollectionPatch: &patch}
	if body.Title == nil && body.Alias == nil && body.Description == nil && body.Policy == nil {
		return badRequest("body: nothing to change (give any of title, alias, description, policy)")
	}
	if err := body.validate(); err != nil {
		return err
	}
	return s.change(c, http.StatusOK, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		coll, err := groupCollectionTx(tx, g.Name, cur.ID)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		detail := body.apply(coll)
		return viewCollection(coll), collectionEvent("admin.collection.update", coll, detail), tx.UpdateCollection(coll)
	})
}

// handleDeleteCollection serves DELETE /admin/v1/groups/{name}/collections/{id}:
// the collection and every object in it are deleted.
func (s *Server) handleDeleteCollection(c *gin.Context) error {
	g, cur, err := s.groupCollection(c)
	if err != nil {
		return err
	}
	return s.change(c, http.StatusNoContent, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		coll, err := groupCollectionTx(tx, g.Name, cur.ID)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		return nil, collectionEvent("admin.collection.delete", coll, fmt.Sprintf("title=%q", coll.Title)), tx.DeleteCollection(coll.ID)
	})
}

// groupCollectionTx reads collection id in tx; one of another group is
// as unknown here as a made-up id (404).
func groupCollectionTx(tx store.DirectoryTx, group, id string) (*store.Collection, error) {
	coll, err := tx.Collection(id)
	if err != nil {
		return nil, err
	}
	if coll.APIRoot != group {
		return nil, errNotFound
	}
	return coll, nil
}

// collectionEvent is the audit row of an admin change to coll.
func collectionEvent(action string, coll *store.Collection, detail string) store.AuditEvent {
	return store.AuditEvent{Action: action, Group: coll.APIRoot, Collection: coll.ID,
		Target: "collection " + coll.ID + " of group " + coll.APIRoot, Detail: detail}
}
