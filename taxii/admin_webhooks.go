package taxii

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// Webhook subscriptions (docs/admin-api.md#webhooks). A group admin (or a
// superadmin) manages the webhooks of the group's collections; anyone else
// is told a webhook does not exist (404), as for a made-up id. Creating,
// rotating and deleting go through s.change, so the subscription and its
// audit row are one transaction. The dispatcher (package delivery) does
// the rest and is told of every change through Options.OnWebhookChange.

// maxWebhookTypes bounds a subscription's type filter.
const maxWebhookTypes = 50

// MaxWebhooksPerCollection bounds the subscriptions of one collection:
// each is a delivery in flight and a dispatcher's read on every change.
// It is checked before the creating transaction, so concurrent creations
// may pass it by as many as run at once; it bounds work, it is no
// invariant of the directory.
const MaxWebhooksPerCollection = 100

// defaultRotationGrace is how long the replaced secrets keep signing.
const defaultRotationGrace = 24 * time.Hour

// stixType is the syntax of a STIX type name (STIX 2.1 §3.1: ASCII
// lowercase letters, digits and hyphens, 3 to 250 characters).
var stixType = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$`)

func (s *Server) webhookRoutes(v1 gin.IRouter) {
	s.handle(v1, http.MethodGet, "/webhooks", s.handleListWebhooks)
	s.handle(v1, http.MethodPost, "/webhooks", s.handleCreateWebhook)
	s.handle(v1, http.MethodGet, "/webhooks/:id", s.handleGetWebhook)
	s.handle(v1, http.MethodDelete, "/webhooks/:id", s.handleDeleteWebhook)
	s.handle(v1, http.MethodPost, "/webhooks/:id/rotate", s.handleRotateWebhook)
	s.handle(v1, http.MethodPost, "/webhooks/:id/enable", s.handleEnableWebhook)
	s.handle(v1, http.MethodGet, "/webhooks/:id/deliveries", s.handleWebhookDeliveries)
}

// viewWebhook is w as the admin API shows it: no secret.
func viewWebhook(w *store.Webhook) *client.Webhook {
	v := &client.Webhook{ID: w.ID, Owner: w.Owner, Group: w.Group, Collection: w.Collection, URL: w.URL,
		Types: w.Types, IncludeObjects: w.IncludeObjects, Created: w.Created, Secrets: []client.WebhookSecret{},
		State: client.WebhookState{Enabled: !w.State.Disabled, DisabledReason: w.State.Reason,
			Cursor: formatCursor(w.State.Cursor), Failures: w.State.Failures,
			FailingSince: w.State.FailingSince, NextAttempt: w.State.NextAttempt}}
	for _, sec := range w.Secrets {
		v.Secrets = append(v.Secrets, client.WebhookSecret{Created: sec.Created, Expires: sec.Expires})
	}
	return v
}

func formatCursor(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(delivery.CursorLayout)
}

// changeWebhook is change for a change of webhooks: once it is stored, it
// tells the dispatcher, if there is one.
func (s *Server) changeWebhook(c *gin.Context, status int, fn func(tx store.DirectoryTx) (reply any, ev store.AuditEvent, err error)) error {
	err := s.change(c, status, fn)
	if err == nil && s.opts.OnWebhookChange != nil {
		s.opts.OnWebhookChange()
	}
	return err
}

// changeWebhookByID is changeWebhook for a change of the webhook id, which
// fn gets as the transaction reads it.
func (s *Server) changeWebhookByID(c *gin.Context, status int, id string, fn func(tx store.DirectoryTx, w *store.Webhook) (reply any, ev store.AuditEvent, err error)) error {
	return s.changeWebhook(c, status, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		w, err := tx.Webhook(id)
		if err != nil {
			return nil, store.AuditEvent{}, err
		}
		return fn(tx, w)
	})
}

// visibleWebhook reads the webhook named in the URL if the caller manages
// its group; 404 otherwise.
func (s *Server) visibleWebhook(c *gin.Context) (*store.Webhook, error) {
	w, err := s.store.Webhook(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if !caller(c).actor().AdminsGroup(w.Group) {
		return nil, errNotFound
	}
	return w, nil
}

// handleListWebhooks serves GET /admin/v1/webhooks[?group=]: the
// subscriptions of the groups the caller administers, sorted by id.
func (s *Server) handleListWebhooks(c *gin.Context) error {
	actor := caller(c).actor()
	only := c.Query("group")
	if only != "" {
		if g := s.dir.Load().groups[only]; g == nil {
			return errNotFound
		}
		if err := actor.CheckAdminGroup(only); err != nil {
			return err
		}
	}
	hooks, err := s.store.Webhooks(c.Request.Context())
	if err != nil {
		return err
	}
	res := client.WebhookList{Webhooks: []client.Webhook{}}
	for i := range hooks {
		w := &hooks[i]
		if actor.AdminsGroup(w.Group) && (only == "" || w.Group == only) {
			res.Webhooks = append(res.Webhooks, *viewWebhook(w))
		}
	}
	return writeAdminJSON(c, http.StatusOK, &res)
}

// handleGetWebhook serves GET /admin/v1/webhooks/{id}.
func (s *Server) handleGetWebhook(c *gin.Context) error {
	w, err := s.visibleWebhook(c)
	if err != nil {
		return err
	}
	return writeAdminJSON(c, http.StatusOK, viewWebhook(w))
}

// handleCreateWebhook serves POST /admin/v1/webhooks: a new subscription,
// answered with its secret, shown this once.
func (s *Server) handleCreateWebhook(c *gin.Context) error {
	var body client.WebhookBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Group == nil {
		return badRequest("group: required")
	}
	if body.Collection == nil {
		return badRequest("collection: required (an id or an alias)")
	}
	if body.URL == nil {
		return badRequest("url: required")
	}
	g := s.dir.Load().groups[*body.Group]
	if g == nil {
		return errNotFound
	}
	p := caller(c)
	if err := p.actor().CheckAdminGroup(g.Name); err != nil {
		return err
	}
	coll := g.byID[*body.Collection]
	if coll == nil {
		coll = g.byAlias[*body.Collection]
	}
	if coll == nil {
		return errNotFound
	}
	if _, err := delivery.CheckTarget(*body.URL, s.webhookHosts); err != nil {
		return badRequest("url: %v", err)
	}
	if len(body.Types) > maxWebhookTypes {
		return badRequest("types: at most %d", maxWebhookTypes)
	}
	for i, t := range body.Types {
		if !stixType.MatchString(t) {
			return badRequest("types[%d]: %q is not a STIX type name", i, t)
		}
	}
	owner := p.Name
	if body.Owner != nil {
		owner = *body.Owner
	}
	from := "now"
	if body.From != nil {
		from = *body.From
	}
	if from != "now" && from != "start" {
		return badRequest(`from: "now" or "start"`)
	}
	hooks, err := s.store.Webhooks(c.Request.Context())
	if err != nil {
		return err
	}
	n := 0
	for i := range hooks {
		if hooks[i].Collection == coll.ID {
			n++
		}
	}
	if n >= MaxWebhooksPerCollection {
		return &Error{Status: http.StatusConflict, Title: "Conflict",
			Description: fmt.Sprintf("collection: already has %d webhooks, the most one collection takes; delete one first", n)}
	}
	include := body.IncludeObjects == nil || *body.IncludeObjects
	key, secret, err := delivery.NewSecret()
	if err != nil {
		return err
	}
	now := s.now()
	w := &store.Webhook{ID: s.opts.NewID().String(), Owner: owner, Group: g.Name, Collection: coll.ID, URL: *body.URL,
		Types: body.Types, IncludeObjects: include, Secrets: []store.WebhookSecret{{Key: key, Created: now}}, Created: now}
	if from == "now" {
		// The high-water mark before the transaction: a change
		// committed between this read and the commit is delivered.
		pg, err := s.store.ReadChanges(c.Request.Context(), coll.ID, time.Time{}, 1)
		if err != nil {
			return err
		}
		w.State.Cursor = pg.Newest
	}
	detail := fmt.Sprintf("url=%q owner=%s include_objects=%t from=%s", w.URL, owner, include, from)
	if len(w.Types) > 0 {
		detail += " types=" + strings.Join(w.Types, ",")
	}
	return s.changeWebhook(c, http.StatusCreated, func(tx store.DirectoryTx) (any, store.AuditEvent, error) {
		if err := webhookOwnerMayRead(tx, owner, g.Name, coll.ID); err != nil {
			return nil, store.AuditEvent{}, err
		}
		return &client.NewWebhook{Webhook: *viewWebhook(w), Secret: secret}, webhookEvent("admin.webhook.create", w, detail), tx.CreateWebhook(w)
	})
}

// webhookOwnerMayRead checks, in the change's transaction, that owner may
// read collection coll of group: a webhook never carries what its owner
// could not read over TAXII (the dispatcher checks again at every
// delivery).
func webhookOwnerMayRead(tx store.DirectoryTx, owner, group, coll string) error {
	g, err := tx.Group(group)
	if err != nil {
		return err
	}
	c, err := tx.Collection(coll)
	if err != nil {
		return err
	}
	// An account that is no member of the group gets the same answer
	// whether it exists or not: a group admin learns nothing of the
	// accounts of other organizations.
	mayNotRead := badRequest("owner: %s may not read this collection (an enabled member of group %s with a role that reads it)", owner, group)
	role, member := g.Members[owner]
	if !member {
		return mayNotRead
	}
	a, err := tx.Account(owner)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return mayNotRead
	case err != nil:
		return err
	case a.Disabled:
		return badRequest("owner: account %q is disabled", owner)
	case !access.CanRead(c.Policy.ReadRole, role):
		return mayNotRead
	}
	return nil
}

// webhookEvent is the audit row of an admin change to w; never a secret.
func webhookEvent(action string, w *store.Webhook, detail string) store.AuditEvent {
	return store.AuditEvent{Action: action, Group: w.Group, Collection: w.Collection,
		Target: "webhook " + w.ID + " of collection " + w.Collection, Detail: detail}
}

// handleDeleteWebhook serves DELETE /admin/v1/webhooks/{id}.
func (s *Server) handleDeleteWebhook(c *gin.Context) error {
	cur, err := s.visibleWebhook(c)
	if err != nil {
		return err
	}
	return s.changeWebhookByID(c, http.StatusNoContent, cur.ID, func(tx store.DirectoryTx, w *store.Webhook) (any, store.AuditEvent, error) {
		return nil, webhookEvent("admin.webhook.delete", w, fmt.Sprintf("url=%q", w.URL)), tx.DeleteWebhook(w.ID)
	})
}

// handleRotateWebhook serves POST /admin/v1/webhooks/{id}/rotate: a new
// secret, shown this once, that signs from now on; the secrets in use keep
// signing beside it for the grace period, so receivers can switch.
func (s *Server) handleRotateWebhook(c *gin.Context) error {
	cur, err := s.visibleWebhook(c)
	if err != nil {
		return err
	}
	var body client.WebhookRotateBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	grace := defaultRotationGrace
	if body.Grace != nil {
		grace, err = time.ParseDuration(*body.Grace)
		if err != nil || grace < 0 || grace > 30*24*time.Hour {
			return badRequest("grace: a duration from 0s to 720h, such as \"24h\"")
		}
	}
	key, secret, err := delivery.NewSecret()
	if err != nil {
		return err
	}
	now := s.now()
	until := now.Add(grace)
	return s.changeWebhookByID(c, http.StatusOK, cur.ID, func(tx store.DirectoryTx, w *store.Webhook) (any, store.AuditEvent, error) {
		secrets := []store.WebhookSecret{{Key: key, Created: now}}
		for _, old := range w.Secrets {
			if !old.Expires.IsZero() && !now.Before(old.Expires) {
				continue // already expired: dropped
			}
			if old.Expires.IsZero() || old.Expires.After(until) {
				old.Expires = until
			}
			secrets = append(secrets, old)
		}
		w.Secrets = secrets
		return &client.NewWebhookSecret{ID: w.ID, Secret: secret, PreviousExpires: until},
			webhookEvent("admin.webhook.rotate", w, "grace="+grace.String()), tx.UpdateWebhook(w)
	})
}

// handleEnableWebhook serves POST /admin/v1/webhooks/{id}/enable: a
// subscription the dispatcher disabled (410, 24 h of failures, lost
// access) starts again where it stopped, after its acknowledged cursor,
// with a fresh retry budget; its owner must read the collection again.
// Enabling an enabled one changes nothing and writes no audit row.
func (s *Server) handleEnableWebhook(c *gin.Context) error {
	cur, err := s.visibleWebhook(c)
	if err != nil {
		return err
	}
	return s.changeWebhookByID(c, http.StatusOK, cur.ID, func(tx store.DirectoryTx, w *store.Webhook) (any, store.AuditEvent, error) {
		if !w.State.Disabled {
			return viewWebhook(w), store.AuditEvent{}, nil
		}
		if err := webhookOwnerMayRead(tx, w.Owner, w.Group, w.Collection); err != nil {
			return nil, store.AuditEvent{}, err
		}
		detail := fmt.Sprintf("was disabled: %s", w.State.Reason)
		w.State = store.WebhookState{Cursor: w.State.Cursor, Pending: w.State.Pending}
		return viewWebhook(w), webhookEvent("admin.webhook.enable", w, detail), tx.UpdateWebhook(w)
	})
}

// handleWebhookDeliveries serves GET /admin/v1/webhooks/{id}/deliveries
// [?limit=]: the delivery log, newest first.
func (s *Server) handleWebhookDeliveries(c *gin.Context) error {
	w, err := s.visibleWebhook(c)
	if err != nil {
		return err
	}
	limit := 0
	if v := c.Query("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 || limit > store.MaxWebhookDeliveries {
			return badRequest("limit: a number from 1 to %d", store.MaxWebhookDeliveries)
		}
	}
	log, err := s.store.WebhookDeliveries(c.Request.Context(), w.ID, limit)
	if err != nil {
		return err
	}
	res := client.WebhookDeliveryList{Deliveries: []client.WebhookDelivery{}}
	for _, d := range log {
		res.Deliveries = append(res.Deliveries, client.WebhookDelivery{Time: d.Time, MessageID: d.MessageID, Attempt: d.Attempt,
			First: formatCursor(d.First), Last: formatCursor(d.Last), Changes: d.Changes, Status: d.Status,
			LatencyMS: d.Latency.Milliseconds(), Error: d.Error})
	}
	return writeAdminJSON(c, http.StatusOK, &res)
}
