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
	"sync"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// The admin API (docs/admin-api.md) manages the directory at run time:
// organizations, accounts, tokens, groups with their members, collections
// with their policies, and reads the audit log. It shares the TAXII
// routes' authentication and error resources; its own responses are plain
// application/json.

// adminRoutes registers the admin API under /admin/v1/.
func (s *Server) adminRoutes(handle func(method, path string, h func(*gin.Context) error)) {
	const v1 = "/admin/v1"
	handle(http.MethodGet, v1+"/me", s.handleAdminMe)

	handle(http.MethodGet, v1+"/organizations", s.handleListOrganizations)
	handle(http.MethodPost, v1+"/organizations", s.handleCreateOrganization)
	handle(http.MethodGet, v1+"/organizations/:name", s.handleGetOrganization)
	handle(http.MethodPatch, v1+"/organizations/:name", s.handleUpdateOrganization)
	handle(http.MethodDelete, v1+"/organizations/:name", s.handleDeleteOrganization)

	handle(http.MethodGet, v1+"/accounts", s.handleListAccounts)
	handle(http.MethodPost, v1+"/accounts", s.handleCreateAccount)
	handle(http.MethodGet, v1+"/accounts/:name", s.handleGetAccount)
	handle(http.MethodPatch, v1+"/accounts/:name", s.handleUpdateAccount)
	handle(http.MethodDelete, v1+"/accounts/:name", s.handleDeleteAccount)
	handle(http.MethodGet, v1+"/accounts/:name/tokens", s.handleListTokens)
	handle(http.MethodPost, v1+"/accounts/:name/tokens", s.handleCreateToken)
	handle(http.MethodDelete, v1+"/accounts/:name/tokens", s.handleRevokeAllTokens)
	handle(http.MethodDelete, v1+"/accounts/:name/tokens/:id", s.handleRevokeToken)

	handle(http.MethodGet, v1+"/groups", s.handleListGroups)
	handle(http.MethodPost, v1+"/groups", s.handleCreateGroup)
	handle(http.MethodGet, v1+"/groups/:name", s.handleGetGroup)
	handle(http.MethodPatch, v1+"/groups/:name", s.handleUpdateGroup)
	handle(http.MethodDelete, v1+"/groups/:name", s.handleDeleteGroup)
	handle(http.MethodPut, v1+"/groups/:name/members/:account", s.handlePutMember)
	handle(http.MethodDelete, v1+"/groups/:name/members/:account", s.handleDeleteMember)
	handle(http.MethodGet, v1+"/groups/:name/collections", s.handleListCollections)
	handle(http.MethodPost, v1+"/groups/:name/collections", s.handleCreateCollection)
	handle(http.MethodGet, v1+"/groups/:name/collections/:id", s.handleGetCollection)
	handle(http.MethodPatch, v1+"/groups/:name/collections/:id", s.handleUpdateCollection)
	handle(http.MethodDelete, v1+"/groups/:name/collections/:id", s.handleDeleteCollection)

	handle(http.MethodGet, v1+"/audit", s.handleAdminAudit)
	handle(http.MethodGet, v1+"/backup", s.handleAdminBackup)
}

// adminMediaType is the content type of admin responses (errors excepted:
// they are TAXII error resources, like every error of the server).
const adminMediaType = "application/json"

// maxAdminBody bounds an admin request body.
const maxAdminBody = 1 << 20

var errAdminBodyTooLarge = errorf(http.StatusRequestEntityTooLarge, "Request Entity Too Large", "the body exceeds the admin API's limit of 1 MiB")

// writeAdminJSON writes v as an admin response. HTML is not escaped: a
// title with '<' or '&' comes back as it was sent.
func writeAdminJSON(c *gin.Context, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Our own response types always encode; this is a bug.
		panic(err)
	}
	c.Data(status, adminMediaType, buf.Bytes())
}

// writeNoContent answers 204 with no body.
func writeNoContent(c *gin.Context) {
	c.Status(http.StatusNoContent)
	c.Writer.WriteHeaderNow()
}

func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "Bad Request", fmt.Sprintf(format, args...))
}

func forbidden(format string, args ...any) *Error {
	return errorf(http.StatusForbidden, "Forbidden", fmt.Sprintf(format, args...))
}

func conflict(format string, args ...any) *Error {
	return errorf(http.StatusConflict, "Conflict", fmt.Sprintf(format, args...))
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
	case goType == "access.Role":
		return "a role (reader, publisher or admin)"
	}
	return "an object"
}

// optional is a PATCH field that tells "absent" from "null": Set is true
// when the body names the field, Null when it names it with null.
type optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// directoryChanges serializes admin changes together with the reload that
// follows each one. Without it two changes could reload out of order and
// the older snapshot would win (a revoked token accepted again). Holding it
// also makes the in-memory directory equal to the store's while a change
// runs, so checks the store cannot make in its transaction (an alias unique
// in its group, a certificate registered once) are atomic with the change.
// Admin changes are rare, so one lock for the process costs nothing.
var directoryChanges sync.Mutex

// changeDirectory runs fn in one store transaction, with the current
// in-memory directory for the checks that need lists, then swaps in the
// changed directory so the change applies from the next request on. fn
// writes the change's audit row with s.auditChange in the same
// transaction. A store.ErrConflict from fn is answered 409.
func (s *Server) changeDirectory(c *gin.Context, fn func(tx store.DirectoryTx, dir *directory) error) error {
	directoryChanges.Lock()
	defer directoryChanges.Unlock()
	err := s.store.ChangeDirectory(c.Request.Context(), func(tx store.DirectoryTx) error {
		return fn(tx, s.dir.Load())
	})
	if errors.Is(err, store.ErrConflict) {
		return conflict("%s", strings.TrimSuffix(err.Error(), ": "+store.ErrConflict.Error()))
	}
	if err != nil {
		return err
	}
	// The change is committed: reload even if the client has gone, or a
	// revoked token would keep working.
	if err := s.reload(context.WithoutCancel(c.Request.Context())); err != nil {
		return fmt.Errorf("reload the directory after an admin change: %w", err)
	}
	return nil
}

// auditChange writes the audit row of an admin change, in the change's
// transaction: the actor, the actor's organization, what was changed
// (target) and how (detail). detail must never hold a password, a hash or
// a token.
func (s *Server) auditChange(c *gin.Context, tx store.DirectoryTx, ev store.AuditEvent) error {
	p := caller(c)
	ev.Time = s.now()
	ev.Account = p.Name
	ev.Organization = p.Organization
	ev.RemoteAddr = c.ClientIP()
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

// adminGroup returns the group named in the URL if the caller manages it:
// 403 for a member with a lesser role (the group is no secret to it), 404
// for anyone else, as for a group that does not exist.
func (s *Server) adminGroup(c *gin.Context) (*group, error) {
	g := s.dir.Load().groups[c.Param("name")]
	if g == nil {
		return nil, errNotFound
	}
	if err := caller(c).actor().CheckAdminGroup(g.Name); err != nil {
		return nil, err
	}
	return g, nil
}
