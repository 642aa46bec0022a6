// Package console is eitaxii's analyst console under /console/: pages
// rendered on the server with html/template, assets embedded with
// go:embed, and a few lines of JavaScript of our own (local times, the
// live board's EventSource, the review table's select-all). Sign-in makes a
// session kept in the store, so it works on every node of a PostgreSQL
// deployment; every form carries the session's CSRF token; every page
// asks the Service (the TAXII server) what the account may see, so a
// collection hidden from the TAXII API is a 404 here too.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Defaults of Settings.
const (
	DefaultSessionLifetime = 12 * time.Hour
	DefaultSessionIdle     = time.Hour
	DefaultMaxUpload       = 10 << 20
	DefaultLiveHeartbeat   = 15 * time.Second
)

// Settings are the console's configurable parts.
type Settings struct {
	// Disabled turns the console off: /console/ answers 404.
	Disabled bool
	// SessionLifetime ends a session that long after sign-in, whatever its
	// use; SessionIdle ends one not used for that long.
	SessionLifetime time.Duration
	SessionIdle     time.Duration
	// SecureCookies marks the session cookie Secure on plain HTTP too: the
	// server runs behind a TLS-terminating proxy. Over TLS it always is.
	SecureCookies bool
	// MaxUpload bounds a pasted IOC list or an uploaded STIX file, bytes.
	MaxUpload int64
	// LiveHeartbeat is how often the live board's stream says it is alive.
	LiveHeartbeat time.Duration
}

func (s Settings) withDefaults() Settings {
	if s.SessionLifetime <= 0 {
		s.SessionLifetime = DefaultSessionLifetime
	}
	if s.SessionIdle <= 0 {
		s.SessionIdle = DefaultSessionIdle
	}
	if s.MaxUpload <= 0 {
		s.MaxUpload = DefaultMaxUpload
	}
	if s.LiveHeartbeat <= 0 {
		s.LiveHeartbeat = DefaultLiveHeartbeat
	}
	return s
}

// Options build a Console.
type Options struct {
	Settings
	Store   store.Store
	Service Service
	Logger  *slog.Logger
}

// Console serves /console/. It is an http.Handler safe for concurrent use.
type Console struct {
	opts  Settings
	store store.Store
	svc   Service
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template

	// liveBoards counts the open live boards per account (maxLiveBoards).
	liveMu     sync.Mutex
	liveBoards map[string]int
	// lastPrune is when this node last deleted expired sessions (Unix
	// seconds): sign-ins prune at most every sessionPruneEvery.
	lastPrune atomic.Int64

	// live ends the live board's streams on Close.
	liveCtx  context.Context
	endLive  context.CancelFunc
	liveDone sync.WaitGroup
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// New returns the console.
func New(o Options) (*Console, error) {
	if o.Store == nil || o.Service == nil {
		return nil, errors.New("console: Store and Service are required")
	}
	c := &Console{opts: o.Settings.withDefaults(), store: o.Store, svc: o.Service, log: o.Logger, liveBoards: map[string]int{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.liveCtx, c.endLive = context.WithCancel(context.Background())
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c.pages = pages
	c.mux = c.routes()
	return c, nil
}

// Close ends the live board's streams.
func (c *Console) Close() {
	c.endLive()
	c.liveDone.Wait()
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No inline script or style anywhere: the pages load their script
	// and style from /console/assets/ only.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer browsers send
	// "Origin: null" with the console's own forms, which the Origin
	// check must refuse.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if c.opts.Disabled {
		http.NotFound(w, r)
		return
	}
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() *http.ServeMux {
	m := http.NewServeMux()
	static, _ := fs.Sub(assetFS, "assets")
	files := http.StripPrefix("/console/assets/", http.FileServerFS(static))
	m.HandleFunc("GET /console/assets/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
	m.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /console/sign-in", c.handleSignInPage)
	m.HandleFunc("POST /console/sign-in", c.handleSignIn)
	m.Handle("POST /console/sign-out", c.form(maxFormBytes, c.handleSignOut))
	m.Handle("GET /console/{$}", c.session(c.handleHome))
	m.Handle("GET /console/g/{group}/c/{coll}/{$}", c.session(c.handleCollection))
	m.Handle("GET /console/g/{group}/c/{coll}/o/{id}", c.session(c.handleObject))
	m.Handle("GET /console/g/{group}/c/{coll}/publish", c.session(c.handlePublishPage))
	upload := c.opts.MaxUpload + 64<<10 // the upload and the form's other fields
	m.Handle("POST /console/g/{group}/c/{coll}/review", c.form(upload, c.handleReview))
	m.Handle("POST /console/g/{group}/c/{coll}/publish", c.form(upload, c.handlePublish))
	m.Handle("GET /console/g/{group}/status/{id}", c.session(c.handleStatus))
	m.Handle("GET /console/g/{group}/admin", c.session(c.handleGroupAdmin))
	m.Handle("POST /console/g/{group}/admin/members", c.form(maxFormBytes, c.handleSetMember))
	m.Handle("POST /console/g/{group}/admin/members/remove", c.form(maxFormBytes, c.handleRemoveMember))
	m.Handle("POST /console/g/{group}/admin/tokens", c.form(maxFormBytes, c.handleCreateToken))
	m.Handle("POST /console/g/{group}/admin/tokens/revoke", c.form(maxFormBytes, c.handleRevokeToken))
	m.Handle("GET /console/live", c.session(c.handleLive))
	m.Handle("GET /console/live/events", c.session(c.handleLiveEvents))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.notFound(w, r, nil)
	})
	return m
}

// parsePages parses every page with the layout: one template set per
// page, so that each defines its own "content".
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return pages, nil
}

// page is what every template gets: the signed-in viewer (nil on the
// sign-in page), the session's CSRF token, the page's title and data.
type page struct {
	Title  string
	Viewer *Viewer
	CSRF   string
	Now    time.Time
	Data   any
}

// render writes a page with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := c.pages[name]
	if t == nil {
		c.log.ErrorContext(r.Context(), "console: no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if s := sessionOf(r); s != nil {
		p.Viewer, p.CSRF = s.viewer, s.CSRF
	}
	p.Now = c.svc.Now()
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		c.log.ErrorContext(r.Context(), "console: rendering a page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// notFound answers 404 with the console's page: the same for a hidden
// group, collection, object or status as for a missing one.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request, _ error) {
	c.render(w, r, http.StatusNotFound, "message", page{Title: "Not found",
		Data: message{Heading: "Not found", Text: "There is nothing here, or nothing you may see."}})
}

// fail answers a page whose work failed: the store is unavailable (503),
// or something unexpected (500, logged; the page says no more).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrCollectionNotFound):
		c.notFound(w, r, err)
	case errors.Is(err, store.ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		c.render(w, r, http.StatusServiceUnavailable, "message", page{Title: "Unavailable",
			Data: message{Heading: "The database is unavailable", Text: "Try again in a few seconds."}})
	default:
		c.log.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "err", err)
		c.render(w, r, http.StatusInternalServerError, "message", page{Title: "Error",
			Data: message{Heading: "Something went wrong", Text: "The error was logged on the server."}})
	}
}

// message is the data of the message page.
type message struct {
	Heading, Text string
}
