package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// The admin API (docs/admin-api.md) manages the directory at run time:
// organizations, accounts, tokens, groups with their members, collections
// with their policies, and reads the audit log. It shares the TAXII
// routes' authentication and error resources; its own responses are plain
// application/json.

// adminRoutes registers the admin API under /admin/v1/. The routes only a
// superadmin may use are one group behind superadminOnly, so each of them
// refuses everyone else (403) before it reads the URL or the body; the
// others decide per resource through access (see the handlers).
func (s *Server) adminRoutes(r gin.IRouter) {
	v1 := r.Group("/admin/v1")
	super := v1.Group("", s.superadminOnly)
	s.handle(v1, http.MethodGet, "/me", s.handleAdminMe)

	s.handle(super, http.MethodGet, "/organizations", s.handleListOrganizations)
	s.handle(super, http.MethodPost, "/organizations", s.handleCreateOrganization)
	s.handle(v1, http.MethodGet, "/organizations/:name", s.handleGetOrganization)
	s.handle(super, http.MethodPatch, "/organizations/:name", s.handleUpdateOrganization)
	s.handle(super, http.MethodDelete, "/organizations/:name", s.handleDeleteOrganization)

	s.handle(v1, http.MethodGet, "/accounts", s.handleListAccounts)
	s.handle(v1, http.MethodPost, "/accounts", s.handleCreateAccount)
	s.handle(v1, http.MethodGet, "/accounts/:name", s.handleGetAccount)
	s.handle(v1, http.MethodPatch, "/accounts/:name", s.handleUpdateAccount)
	s.handle(v1, http.MethodDelete, "/accounts/:name", s.handleDeleteAccount)
	s.handle(v1, http.MethodGet, "/accounts/:name/tokens", s.handleListTokens)
	s.handle(v1, http.MethodPost, "/accounts/:name/tokens", s.handleCreateToken)
	s.handle(v1, http.MethodDelete, "/accounts/:name/tokens", s.handleRevokeAllTokens)
	s.handle(v1, http.MethodDelete, "/accounts/:name/tokens/:id", s.handleRevokeToken)

	s.handle(v1, http.MethodGet, "/groups", s.handleListGroups)
	s.handle(super, http.MethodPost, "/groups", s.handleCreateGroup)
	s.handle(v1, http.MethodGet, "/groups/:name", s.handleGetGroup)
	s.handle(v1, http.MethodPatch, "/groups/:name", s.handleUpdateGroup)
	s.handle(super, http.MethodDelete, "/groups/:name", s.handleDeleteGroup)
	s.handle(v1, http.MethodPut, "/groups/:name/members/:account", s.handlePutMember)
	s.handle(v1, http.MethodDelete, "/groups/:name/members/:account", s.handleDeleteMember)
	s.handle(v1, http.MethodGet, "/groups/:name/collections", s.handleListCollections)
	s.handle(v1, http.MethodPost, "/groups/:name/collections", s.handleCreateCollection)
	s.handle(v1, http.MethodGet, "/groups/:name/collections/:id", s.handleGetCollection)
	s.handle(v1, http.MethodPatch, "/groups/:name/collections/:id", s.handleUpdateCollection)
	s.handle(v1, http.MethodDelete, "/groups/:name/collections/:id", s.handleDeleteCollection)

	s.webhookRoutes(v1)

	s.handle(v1, http.MethodGet, "/audit", s.handleAdminAudit)
	s.handle(super, http.MethodGet, "/backup", s.handleAdminBackup)
}

// superadminOnly answers 403 (access.NeedSuperadmin) to every caller but a
// superadmin and stops the request there.
func (s *Server) superadminOnly(c *gin.Context) {
	if err := caller(c).actor().CheckSuperadmin(); err != nil {
		s.writeError(c, err)
	}
}

// adminMediaType is the content type of admin responses (errors excepted:
// they are TAXII error resources, like every error of the server).
const adminMediaType = "application/json"

// maxAdminBody bounds an admin request body.
const maxAdminBody = 1 << 20

var errAdminBodyTooLarge = errorf(http.StatusRequestEntityTooLarge, "Request Entity Too Large", "the body exceeds the admin API's limit of 1 MiB")

// writeAdminJSON writes v as an admin response and returns nil, so a
// handler can end with it. HTML is not escaped: a title with '<' or '&'
// comes back as it was sent.
func writeAdminJSON(c *gin.Context, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Our own response types always encode; this is a bug.
		panic(err)
	}
	c.Data(status, adminMediaType, buf.Bytes())
	return nil
}

// writeNoContent answers 204 with no body and returns nil, as
// writeAdminJSON.
func writeNoContent(c *gin.Context) error {
	c.Status(http.StatusNoContent)
	c.Writer.WriteHeaderNow()
	return nil
}

func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "Bad Request", fmt.Sprintf(format, args...))
}

func forbidden(format string, args ...any) *Error {
	return errorf(http.StatusForbidden, "Forbidden", fmt.Sprintf(format, args...))
}

// decodeBody decodes the JSON object of an admin request into v. The body
// must be declared application/json (415 otherwise), be at most 1 MiB
// (413), hold exactly one JSON object, and name only fields v has, each
// once and exactly as spelled (checkMembers): a typo, a duplicate or a
// mis-cased name is a 400 that names the member, not a silently ignored or
// overridden setting.
func decodeBody(c *gin.Context, v any) error {
	typ, _ := parseMediaType(c.GetHeader("Content-Type"))
	if typ != adminMediaType {
		return errorf(http.StatusUnsupportedMediaType, "Unsupported Media Type", "send the body as Content-Type: application/json")
	}
	raw, err := readBody(c, maxAdminBody, errAdminBodyTooLarge)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return bodyError(err)
	}
	// Anything after the object is a mistake too (two objects, or a
	// stray character): refuse rather than guess.
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return badRequest("body: unexpected data after the JSON object")
	}
	if err := checkMembers(raw, reflect.TypeOf(v)); err != nil {
		return bodyError(err)
	}
	return nil
}

// bodyError turns a decoding error into a 400 that says what to fix.
func bodyError(err error) *Error {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("body: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body: the JSON object is truncated")
	case errors.As(err, &syntax):
		return badRequest("body: invalid JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return badRequest("body: a JSON object is required, not a JSON %s", typeErr.Value)
		}
		return badRequest("%s: expected %s, not a JSON %s", field, jsonKind(typeErr.Type.String()), typeErr.Value)
	}
	// DisallowUnknownFields reports `json: unknown field "x"`; the
	// encoding/json package has no error type for it.
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest("body: unknown field %s", msg)
	}
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	return badRequest("body: %v", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	case goType == "access.Role", goType == "client.Role":
		return "a role (reader, publisher or admin)"
	}
	return "an object"
}

// changeList is what an admin change sets, for its audit row's detail.
type changeList []string

func (l changeList) String() string { return strings.Join(l, ", ") }

// set sets *dst to *v if the body names the field (v is not nil) and notes
// the change: format holds one verb for the new value ("title=%q"), or
// none when the value is not to be written down ("description changed").
func set[T any](l *changeList, dst, v *T, format string) {
	if v == nil {
		return
	}
	*dst = *v
	if strings.Contains(format, "%") {
		format = fmt.Sprintf(format, *v)
	}
	*l = append(*l, format)
}

// adminCall is who asks for an admin change and from where: the context,
// the authenticated caller and its client address. The admin API makes one
// from each request (callOf); the console makes one for its signed-in
// account (consoleService), so that both surfaces run the same decisions
// and write the same audit rows.
type adminCall struct {
	ctx  context.Context
	by   *principal
	addr string
}

func callOf(c *gin.Context) adminCall {
	return adminCall{ctx: c.Request.Context(), by: caller(c), addr: c.ClientIP()}
}

// change runs the admin change fn for the request's caller (see commit)
// and answers status with the reply fn returned (no body for 204).
func (s *Server) change(c *gin.Context, status int, fn func(tx store.DirectoryTx) (reply any, ev store.AuditEvent, err error)) error {
	reply, err := s.commit(callOf(c), fn)
	if err != nil {
		return err
	}
	if status == http.StatusNoContent {
		return writeNoContent(c)
	}
	return writeAdminJSON(c, status, reply)
}

// commit runs fn in one store transaction and writes the audit row fn
// returns in the same transaction (none when its Action is empty), then
// reloads the in-memory directory so the change applies from the next
// request on, and returns the reply fn returned. fn reads what it changes
// from tx, never from the in-memory directory, which another server
// sharing the store may have made stale: the store checks the directory's
// invariants in that transaction and its typed errors (a
// store.ConflictError is a 409) reach writeError as they are. fn may run
// more than once (see store.Store.ChangeDirectory); the reply of its last
// run is the one returned.
func (s *Server) commit(a adminCall, fn func(tx store.DirectoryTx) (reply any, ev store.AuditEvent, err error)) (any, error) {
	var reply any
	err := s.store.ChangeDirectory(a.ctx, func(tx store.DirectoryTx) error {
		var (
			ev  store.AuditEvent
			err error
		)
		reply, ev, err = fn(tx)
		if err != nil || ev.Action == "" {
			return err
		}
		return s.auditChange(a, tx, ev)
	})
	if err != nil {
		return nil, err
	}
	// The change is committed: reload even if the client has gone, or a
	// revoked token would keep working.
	if err := s.reload(context.WithoutCancel(a.ctx)); err != nil {
		return nil, fmt.Errorf("reload the directory after an admin change: %w", err)
	}
	return reply, nil
}

// auditChange writes the audit row of an admin change, in the change's
// transaction: the actor, the actor's organization, what was changed
// (target) and how (detail). detail must never hold a password, a hash or
// a token.
func (s *Server) auditChange(a adminCall, tx store.DirectoryTx, ev store.AuditEvent) error {
	ev.Time = s.now()
	ev.Account = a.by.Name
	ev.Organization = a.by.Organization
	ev.RemoteAddr = a.addr
	return tx.Audit(ev)
}

// Authorization. Each handler first refuses callers who may never use the
// endpoint (403, whatever the URL names), then resolves the resource in the
// caller's scope: anything outside it answers 404, as if it did not exist.

// actor is the caller as the access decisions see it.
func (p *principal) actor() access.Actor {
	return access.Actor{Name: p.Name, Organization: p.Organization, Superadmin: p.Superadmin, OrgAdmin: p.OrgAdmin, Groups: p.groups}
}

// target is account a as the access decisions see it.
func target(a *store.Account) access.Target {
	return access.Target{Name: a.Name, Organization: a.Organization, Superadmin: a.Superadmin}
}

// adminGroup returns the group named in the URL if the caller manages it
// (see groupFor).
func (s *Server) adminGroup(c *gin.Context) (*group, error) {
	return s.groupFor(caller(c), c.Param("name"))
}

// groupFor returns the named group if by manages it: 403 for a member
// with a lesser role (the group is no secret to it), 404 for anyone else,
// as for a group that does not exist.
func (s *Server) groupFor(by *principal, name string) (*group, error) {
	g := s.dir.Load().groups[name]
	if g == nil {
		return nil, errNotFound
	}
	if err := by.actor().CheckAdminGroup(g.Name); err != nil {
		return nil, err
	}
	return g, nil
}
