// Package taxii is eitaxii's HTTP transport: the TAXII 2.1 API and the admin
// API over gin, with content negotiation, authentication, sharing-group
// membership, collection policies, rate limits, the audit trail, and the
// mapping of every error to a TAXII error resource.
package taxii

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"github.com/eitaxii/eitaxii/console"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// Server serves the TAXII 2.1 API and the admin API. Build it with
// NewServer and Close it after the HTTP server has shut down; it is an
// http.Handler safe for concurrent use.
type Server struct {
	opts       Options
	store      store.Store
	validator  *stix.Validator
	log        *slog.Logger
	now        func() time.Time
	auth       *authenticator
	dir        atomic.Pointer[directory]
	reloads    sync.Mutex    // held by reload from read to swap
	dirVersion atomic.Uint64 // the store's DirectoryVersion that dir was loaded at
	stop       context.CancelFunc
	done       sync.WaitGroup // background loops
	limits     limiter
	reads      readSlots
	logins     *loginGuard
	audit      *auditor
	metrics    *Metrics
	engine     *gin.Engine

	// The live stream (stream.go): the fan-out of the change feeds, the
	// open streams checked on each reload, the per-account count, and
	// the context whose end ends them all (EndStreams).
	hub         *delivery.Hub
	streams     streams
	streamSlots readSlots
	streamsCtx  context.Context
	endStreams  context.CancelFunc
	// console serves /console/ (console.go).
	console *console.Console
	// webhookHosts are exempt from the webhook target guard
	// (Options.WebhookAllowHosts).
	webhookHosts delivery.Hosts
}

// NewServer checks opts, applies its directory to st (see Options), and
// returns the server. Its errors name the configuration key at fault.
func NewServer(ctx context.Context, opts Options, st store.Store, v *stix.Validator) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, store: st, validator: v, log: opts.Logger, now: opts.Now, metrics: opts.Metrics,
		webhookHosts: delivery.NewHosts(opts.WebhookAllowHosts)}
	s.hub = delivery.NewHub(st, delivery.HubOptions{Queue: opts.StreamQueue, Logger: opts.Logger})
	s.streamsCtx, s.endStreams = context.WithCancel(context.Background())
	s.metrics.registerStore(st)
	if err := s.bootstrap(ctx); err != nil {
		return nil, err
	}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	s.auth = newAuthenticator(s.opts.CredentialCacheSize, s.opts.PasswordChecks, opts.Now, s.metrics.passwordChecks.Inc)
	s.logins = newLoginGuard(s.opts.LoginLimit)
	s.audit = newAuditor(st, s.log, s.auth, &s.opts)
	cons, err := console.New(console.Options{Settings: opts.Console, Store: st, Service: consoleService{s}, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	s.console = cons
	s.engine = s.routes()
	// The loop outlives NewServer's ctx (a start-up deadline): it ends
	// with Close.
	loops, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.done.Go(func() { s.followDirectory(loops) })
	return s, nil
}

// Close ends the open streams (EndStreams) and writes the audit rows still
// queued. Call it after the HTTP server has drained and before closing the
// store.
func (s *Server) Close() error {
	s.EndStreams()
	s.streams.wait()
	s.console.Close()
	s.stop()
	s.done.Wait()
	for _, ev := range s.logins.flush() {
		s.audit.record(ev)
	}
	s.audit.close()
	return nil
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
	e.Use(s.logRequests, s.recover)
	e.Use(s.limitRequest)
	// Operations endpoints, before authentication: probes carry no
	// credentials, and /metrics checks its own.
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", s.handleMetrics())
	// The console signs its users in itself (sessions), before the
	// API's authentication.
	serveConsole := gin.WrapH(s.console)
	e.Any("/console", serveConsole)
	e.Any("/console/*path", serveConsole)
	e.Use(s.authenticate)
	e.NoRoute(func(c *gin.Context) { s.writeError(c, errNotFound) })
	// gin's 405 lookup reuses its route-search state across the method
	// trees, so its Allow header can name methods whose routes do not match
	// the path (POST /taxii2/ got "Allow: GET, PATCH"): Allow is computed
	// from the routes instead, set once they are all registered.
	var routes gin.RoutesInfo
	e.NoMethod(func(c *gin.Context) {
		allow := allowedMethods(routes, c.Request.URL.Path)
		if len(allow) == 0 {
			c.Writer.Header().Del("Allow")
			s.writeError(c, errNotFound)
			return
		}
		c.Header("Allow", strings.Join(allow, ", "))
		s.writeError(c, errorf(http.StatusMethodNotAllowed, "Method Not Allowed", c.Request.Method+" is not supported here"))
	})

	s.handle(e, http.MethodGet, "/taxii2", s.handleDiscovery)
	s.handle(e, http.MethodGet, "/:root", s.handleAPIRoot)
	s.handle(e, http.MethodGet, "/:root/status/:status", s.handleStatus)
	s.handle(e, http.MethodGet, "/:root/collections", s.handleCollections)
	s.handle(e, http.MethodGet, "/:root/collections/:coll", s.handleCollection)
	s.handle(e, http.MethodGet, "/:root/collections/:coll/manifest", s.handleManifest)
	s.handle(e, http.MethodGet, "/:root/collections/:coll/objects", s.handleGetObjects)
	s.handle(e, http.MethodPost, "/:root/collections/:coll/objects", s.handleAddObjects)
	s.handle(e, http.MethodGet, "/:root/collections/:coll/objects/:object", s.handleGetObject)
	s.handle(e, http.MethodDelete, "/:root/collections/:coll/objects/:object", s.handleDeleteObject)
	s.handle(e, http.MethodGet, "/:root/collections/:coll/objects/:object/versions", s.handleVersions)
	s.handle(e, http.MethodGet, "/:root/collections/:coll/stream", s.handleStream)
	s.adminRoutes(e)
	routes = e.Routes()
	return e
}

// handle registers h on r for method and path, with and without a
// trailing slash; an error h returns is answered by writeError.
func (s *Server) handle(r gin.IRoutes, method, path string, h func(*gin.Context) error) {
	hf := func(c *gin.Context) {
		if err := h(c); err != nil {
			s.writeError(c, err)
		}
	}
	r.Handle(method, path+"/", hf)
	r.Handle(method, path, hf)
}

// allowedMethods returns the methods of the routes whose pattern matches
// path, each once, in route order.
func allowedMethods(routes gin.RoutesInfo, path string) []string {
	var allow []string
	for _, r := range routes {
		if !slices.Contains(allow, r.Method) && routeMatches(r.Path, path) {
			allow = append(allow, r.Method)
		}
	}
	return allow
}

// routeMatches reports whether the gin route pattern matches path: ":name"
// matches one non-empty segment, "*name" the rest.
func routeMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	for i, p := range ps {
		switch {
		case strings.HasPrefix(p, "*"):
			return true
		case i >= len(xs):
			return false
		case p != xs[i] && (!strings.HasPrefix(p, ":") || xs[i] == ""):
			return false
		}
	}
	return len(ps) == len(xs)
}

// Keys of request-scoped values in the gin context.
const (
	ctxPrincipal = "eitaxii.principal"
	ctxObjects   = "eitaxii.objects"
)

// logRequests writes one structured line per request (never a secret: no
// headers, no query string).
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
	if p := caller(c); p != nil {
		attrs = append(attrs, "account", p.Name)
	}
	if n, ok := c.Get(ctxObjects); ok {
		attrs = append(attrs, "objects", n)
	}
	s.log.InfoContext(c.Request.Context(), "request", attrs...)
	s.metrics.observeRequest(route, c.Request.Method, c.Writer.Status(), time.Since(start))
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

// authenticate resolves the caller (see login), applies the account's
// rate limit (429), then checks Accept (406): the check order of the
// conformance reference.
func (s *Server) authenticate(c *gin.Context) {
	p, err := s.login(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Set(ctxPrincipal, p)
	limit := s.opts.RateLimit
	if p.RateLimit != nil {
		limit = p.RateLimit
	}
	if limit != nil {
		if ok, wait := s.limits.allow(p.Name, *limit, s.now()); !ok {
			s.metrics.rateLimited.Inc()
			// Collapsed like refused logins: a client hammering past its
			// limit must not write a row per request.
			now := s.now()
			s.recordRefusals(s.logins.refused(store.AuditEvent{Time: now, Action: "ratelimit", Account: p.Name,
				Organization: p.Organization, RemoteAddr: c.ClientIP()}, now))
			c.Header("Retry-After", retryAfter(wait))
			s.writeError(c, errorf(http.StatusTooManyRequests, "Too Many Requests",
				"this account's request rate limit is exceeded; retry after the number of seconds in Retry-After"))
			return
		}
	}
	// The stream answers text/event-stream and checks its Accept itself.
	if !isStreamRoute(c.FullPath()) && !acceptable(c.GetHeader("Accept")) {
		s.writeError(c, errNotAcceptable)
		return
	}
	c.Next()
}

// errLoginLimited answers a login from an address, or for an account name,
// past its failed-login limit (Options.LoginLimit).
var errLoginLimited = errorf(http.StatusTooManyRequests, "Too Many Requests",
	"too many failed logins from this address or for this account; retry after the number of seconds in Retry-After")

// login returns the principal the request's credentials prove (see
// authenticator.authenticate), behind the failed-login limits of
// loginGuard. It refuses with 400 a request with more than one
// Authorization header; with 429 and Retry-After a password login from an
// address or for a name past its limit, before any bcrypt; with 503 and
// Retry-After one that found no free bcrypt slot; otherwise with 401.
// Every refusal is audited (auth.refused, collapsed per address); only
// failed passwords count toward the limits. Tokens and certificates are
// checked whatever the limits say: checking costs a hash, they cannot be
// guessed, and machine feeds behind an address shared with a guesser keep
// working. A missing header is no failure either: clients that wait for a
// challenge send a request without one first.
func (s *Server) login(c *gin.Context) (*principal, error) {
	if n := len(c.Request.Header.Values("Authorization")); n > 1 {
		return nil, errorf(http.StatusBadRequest, "Bad Request",
			"the request has "+strconv.Itoa(n)+" Authorization headers; send exactly one")
	}
	p, retry, err := s.checkLogin(loginAttempt{header: c.GetHeader("Authorization"), tls: c.Request.TLS,
		addr: c.ClientIP(), line: c.Request.Method + " " + c.Request.URL.Path})
	if retry != "" {
		c.Header("Retry-After", retry)
	}
	return p, err
}

// loginAttempt is one request's credentials and origin, as checkLogin
// sees them: the TAXII and admin APIs' Authorization header, or the
// console's sign-in form turned into a Basic header.
type loginAttempt struct {
	header string
	tls    *tls.ConnectionState
	addr   string // the client's address
	line   string // method and path, for the audit row of a refusal
}

// checkLogin is login without the HTTP request: it returns the principal,
// or the refusal and the Retry-After value that goes with it ("" for
// none). See login for the rules.
func (s *Server) checkLogin(a loginAttempt) (*principal, string, error) {
	now := s.now()
	// After this request's own refusal, if any, so that its address's
	// row counts it.
	defer func() { s.recordRefusals(s.logins.sweep(now)) }()
	dir := s.dir.Load()
	name, isBasic := basicName(a.header)
	var guard *checkGuard
	if isBasic {
		if wait, limited := s.logins.limited(a.addr, name, now); limited {
			s.refused(a, dir, now)
			return nil, retryAfter(wait), errLoginLimited
		}
		// Checked again in the bcrypt slot, and failures counted before
		// it is freed: concurrent wrong passwords then cannot all pass
		// on the last failure left, with no failure taken ahead from
		// logins that turn out right.
		// The clock is read again in the slot: a login may wait there
		// while newer ones refill the buckets.
		guard = &checkGuard{
			admit:  func() bool { _, limited := s.logins.limited(a.addr, name, s.now()); return !limited },
			failed: func() { s.logins.failed(a.addr, name, s.now()) },
		}
	}
	p, err := s.auth.authenticate(dir, a.header, a.tls, guard)
	switch {
	case p != nil:
		if p.via == "password" {
			s.logins.succeeded(a.addr, name)
		}
		return p, "", nil
	case err == errLoginBusy:
		return nil, "1", err
	case err == errLoginLimited:
		s.refused(a, dir, now)
		wait, _ := s.logins.limited(a.addr, name, s.now())
		return nil, retryAfter(wait), err
	}
	s.refused(a, dir, now)
	return nil, "", errUnauthorized
}

// refused counts and audits one refused login.
func (s *Server) refused(a loginAttempt, dir *directory, now time.Time) {
	s.metrics.authFailures.Inc()
	s.recordRefusals(s.logins.refused(store.AuditEvent{Time: now, Action: "auth.refused", RemoteAddr: a.addr,
		Account: attemptedAccount(dir, a.header), Detail: clip(a.line, maxRefusalDetail)}, now))
}

// maxRefusalDetail bounds the request line kept in a refusal's audit row:
// the path is the client's choice, up to the header limit, and rows wait
// in memory until their interval ends.
const maxRefusalDetail = 256

// clip cuts s to at most n bytes, at a UTF-8 boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (s *Server) recordRefusals(rows []store.AuditEvent) {
	for _, ev := range rows {
		s.audit.record(ev)
	}
}

// retryAfter renders wait as a Retry-After value: whole seconds, at least 1.
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// basicName returns the user name of a Basic Authorization header, if it
// is one ("" if it cannot be decoded).
func basicName(header string) (string, bool) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "basic") {
		return "", false
	}
	name, _, ok := decodeBasic(strings.TrimSpace(cred))
	if !ok {
		name = ""
	}
	return name, true
}

// attemptedAccount returns the account a refused Basic credential named,
// for the audit log; never the password, never a token. A name that is no
// account is not recorded: clients put tokens and passwords in the user
// name field too (`curl -u $TOKEN:`), and the log must not keep them.
func attemptedAccount(dir *directory, header string) string {
	name, _ := basicName(header)
	if name == "" || dir.accounts[name] == nil {
		return ""
	}
	return name
}

func caller(c *gin.Context) *principal {
	v, _ := c.Get(ctxPrincipal)
	p, _ := v.(*principal)
	return p
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
