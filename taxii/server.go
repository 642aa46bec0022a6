// Package taxii is eitaxii's HTTP transport: the TAXII 2.1 API over gin,
// with content negotiation, authentication, sharing-group membership, and
// the mapping of every error to a TAXII error resource.
package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// Server serves the TAXII 2.1 API. Build it with NewServer; it is an
// http.Handler safe for concurrent use.
type Server struct {
	opts      Options
	store     *store.DB
	validator *stix.Validator
	log       *slog.Logger
	now       func() time.Time
	auth      *authenticator
	groups    map[string]*group
	engine    *gin.Engine
}

// group is a sharing group with its collections, by id and by alias.
type group struct {
	Group
	byID    map[string]*Collection
	byAlias map[string]*Collection
	sorted  []*Collection // by id (REQ-50)
}

// NewServer checks opts, makes sure every configured collection exists in
// st, and returns the server. Its errors name the configuration key at
// fault.
func NewServer(ctx context.Context, opts Options, st *store.DB, v *stix.Validator) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, store: st, validator: v, log: opts.Logger, now: opts.Now, groups: map[string]*group{}}

	accounts := map[string]*account{}
	tokens := map[string]*account{}
	for _, a := range opts.Accounts {
		acct := &account{name: a.Name, passwordHash: []byte(a.PasswordHash), groups: map[string]Role{}}
		accounts[a.Name] = acct
		for _, h := range a.TokenHashes {
			tokens[strings.ToLower(h)] = acct
		}
	}
	for _, g := range opts.Groups {
		grp := &group{Group: g, byID: map[string]*Collection{}, byAlias: map[string]*Collection{}}
		for i := range g.Collections {
			c := &grp.Collections[i]
			grp.byID[c.ID] = c
			if c.Alias != "" {
				grp.byAlias[c.Alias] = c
			}
			grp.sorted = append(grp.sorted, c)
			err := st.EnsureCollection(ctx, store.Collection{ID: c.ID, APIRoot: g.Name, Title: c.Title, Description: c.Description, Alias: c.Alias})
			if err != nil {
				return nil, err
			}
		}
		slices.SortFunc(grp.sorted, func(a, b *Collection) int { return strings.Compare(a.ID, b.ID) })
		s.groups[g.Name] = grp
		for name, role := range g.Members {
			accounts[name].groups[g.Name] = role
		}
	}
	s.auth = newAuthenticator(accounts, tokens, opts.CredentialCacheTTL, opts.Now)
	s.engine = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// routes builds the gin engine. Every route is registered with and without
// its trailing slash and served without a redirect (INT-03, AMB-10).
func (s *Server) routes() *gin.Engine {
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.SetTrustedProxies(nil)
	e.Use(s.logRequests, s.recover, s.authenticate)
	e.NoRoute(func(c *gin.Context) { s.writeError(c, errNotFound) })
	e.NoMethod(func(c *gin.Context) {
		s.writeError(c, errorf(http.StatusMethodNotAllowed, "Method Not Allowed", c.Request.Method+" is not supported here"))
	})

	handle := func(method, path string, h func(*gin.Context) error) {
		hf := func(c *gin.Context) {
			if err := h(c); err != nil {
				s.writeError(c, err)
			}
		}
		e.Handle(method, path+"/", hf)
		e.Handle(method, path, hf)
	}
	handle(http.MethodGet, "/taxii2", s.handleDiscovery)
	handle(http.MethodGet, "/:root", s.handleAPIRoot)
	handle(http.MethodGet, "/:root/status/:status", s.handleStatus)
	handle(http.MethodGet, "/:root/collections", s.handleCollections)
	handle(http.MethodGet, "/:root/collections/:coll", s.handleCollection)
	handle(http.MethodGet, "/:root/collections/:coll/manifest", s.handleManifest)
	handle(http.MethodGet, "/:root/collections/:coll/objects", s.handleGetObjects)
	handle(http.MethodPost, "/:root/collections/:coll/objects", s.handleAddObjects)
	handle(http.MethodGet, "/:root/collections/:coll/objects/:object", s.handleGetObject)
	handle(http.MethodDelete, "/:root/collections/:coll/objects/:object", s.handleDeleteObject)
	handle(http.MethodGet, "/:root/collections/:coll/objects/:object/versions", s.handleVersions)
	return e
}

// Keys of request-scoped values in the gin context.
const (
	ctxAccount = "eitaxii.account"
	ctxObjects = "eitaxii.objects"
)

// logRequests writes one structured line per request (never a secret: no
// headers, no query string, which may carry tokens of other systems).
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := strings.TrimSuffix(c.FullPath(), "/")
	if route == "" {
		route = "unmatched"
	}
	attrs := []any{
		"method", c.Request.Method,
		"route", route,
		"status", c.Writer.Status(),
		"duration", time.Since(start),
	}
	if a, ok := c.Get(ctxAccount); ok {
		attrs = append(attrs, "account", a.(*account).name)
	}
	if n, ok := c.Get(ctxObjects); ok {
		attrs = append(attrs, "objects", n)
	}
	s.log.InfoContext(c.Request.Context(), "request", attrs...)
}

// recover turns a panic in a handler into a TAXII 500.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.log.Error("panic serving request", "path", c.Request.URL.Path, "panic", r)
			s.writeError(c, errorf(http.StatusInternalServerError, "Internal Server Error", "the server failed to process the request; the problem has been logged"))
		}
	}()
	c.Next()
}

// authenticate resolves the caller's account (401 otherwise; REQ-06), then
// checks Accept (406), in the check order of the conformance reference.
func (s *Server) authenticate(c *gin.Context) {
	acct := s.auth.authenticate(c.GetHeader("Authorization"))
	if acct == nil {
		s.writeError(c, errUnauthorized)
		return
	}
	c.Set(ctxAccount, acct)
	if !acceptable(c.GetHeader("Accept")) {
		s.writeError(c, errNotAcceptable)
		return
	}
	c.Next()
}

func caller(c *gin.Context) *account {
	a, _ := c.Get(ctxAccount)
	acct, _ := a.(*account)
	return acct
}

// writeJSON writes v as a TAXII resource: the TAXII content type, and no
// HTML escaping so that patterns keep their '<' and '>'.
func writeJSON(c *gin.Context, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Our own resource types always encode; this is a bug.
		panic(err)
	}
	c.Data(status, MediaType, bytes.TrimRight(buf.Bytes(), "\n"))
}
