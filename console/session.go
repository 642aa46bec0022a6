package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Cookies. The session cookie holds the session's secret; the store keeps
// its SHA-256 only, so a copy of the database signs nobody in. The sign-in
// cookie is the sign-in form's CSRF token (double submit): there is no
// session yet to hold one.
const (
	sessionCookie = "eitaxii_session"
	signInCookie  = "eitaxii_sign_in"
	cookiePath    = "/console/"
)

// touchEvery is how stale a session's LastSeen may get before a request
// writes it again: idle expiry needs minutes, not a write per request.
const touchEvery = time.Minute

// sessionPruneEvery is how often a node deletes expired sessions, on a
// sign-in: sessions are created there, so that is where they would pile up.
const sessionPruneEvery = 10 * time.Minute

// pruneSessions deletes expired sessions if this node has not for
// sessionPruneEvery. A failure is logged: the sign-in goes on.
func (c *Console) pruneSessions(ctx context.Context, now time.Time) {
	last := c.lastPrune.Load()
	if now.Unix()-last < int64(sessionPruneEvery/time.Second) || !c.lastPrune.CompareAndSwap(last, now.Unix()) {
		return
	}
	if _, err := c.store.PruneSessions(ctx, now); err != nil {
		c.log.WarnContext(ctx, "console: pruning expired sessions", "err", err)
	}
}

// Limits of the sign-in form.
const (
	maxNameBytes     = 256
	maxPasswordBytes = 1024
	maxFormBytes     = 64 << 10 // every form but the publish ones
)

// Via values of a session.
const (
	viaPassword    = "password"
	viaCertificate = "certificate"
)

// signedIn is the request's session with the viewer it stands for now.
type signedIn struct {
	store.Session
	secret string
	viewer *Viewer
}

type sessionKey struct{}

// sessionOf returns the request's session, or nil outside c.session.
func sessionOf(r *http.Request) *signedIn {
	s, _ := r.Context().Value(sessionKey{}).(*signedIn)
	return s
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is the store's key of a session secret.
func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// passwordCredential fingerprints the password hash that a session was
// signed in with: when the password changes (or is removed) the
// fingerprint no longer matches and the session ends.
func passwordCredential(passwordHash string) string {
	h := sha256.Sum256([]byte("eitaxii console password\x00" + passwordHash))
	return hex.EncodeToString(h[:16])
}

// credentialHolds reports whether the credential a session was signed in
// with is still the account's.
func credentialHolds(s *store.Session, acct *store.Account) bool {
	switch s.Via {
	case viaPassword:
		return acct.PasswordHash != "" &&
			subtle.ConstantTimeCompare([]byte(passwordCredential(acct.PasswordHash)), []byte(s.Credential)) == 1
	case viaCertificate:
		return slices.Contains(acct.Certificates, s.Credential)
	}
	return false
}

// session wraps a page that needs a signed-in account. Without a live
// session a GET is sent to the sign-in page (back here afterwards) and
// anything else answered 401. A POST's form is read here (register POST
// pages with form, which bounds it first); one without the session's CSRF
// token is answered 403 and does nothing. A session ends, and its row is
// deleted, when it has expired, has been idle too long, its account is
// gone or disabled, or the credential it was signed in with changed.
func (c *Console) session(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.loadSession(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if s == nil {
			clearCookie(w, r, sessionCookie, c.opts.SecureCookies)
			if r.Method == http.MethodGet && r.URL.Path != "/console/live/events" {
				http.Redirect(w, r, "/console/sign-in?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.render(w, r, http.StatusUnauthorized, "message", page{Title: "Signed out",
				Data: message{Heading: "You are signed out", Text: "Your session ended. Sign in again."}})
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		if r.Method == http.MethodPost {
			if err := parseForm(r); err != nil {
				c.formError(w, r, err)
				return
			}
		}
		if r.Method == http.MethodPost && !c.csrfOK(r, s.CSRF) {
			c.render(w, r, http.StatusForbidden, "message", page{Title: "Refused",
				Data: message{Heading: "The form was refused", Text: "It did not carry this session's token " +
					"(an old page, or a page from another site). Reload the page and send it again."}})
			return
		}
		h(w, r)
	})
}

// form wraps a page that takes a form (a POST, see session): its body is
// bounded by limit bytes before anything reads it.
func (c *Console) form(limit int64, h http.HandlerFunc) http.Handler {
	inner := c.session(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		inner.ServeHTTP(w, r)
	})
}

// parseForm reads a POST's form, a multipart one (an upload) with at most
// 1 MiB of it in memory.
func parseForm(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseMultipartForm(1 << 20)
	}
	return r.ParseForm()
}

// formError answers a form that could not be read: 413 when it was larger
// than its page allows, else 400.
func (c *Console) formError(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		c.render(w, r, http.StatusRequestEntityTooLarge, "message", page{Title: "Too large",
			Data: message{Heading: "The form is too large", Text: "The console accepts at most " +
				byteSize(tooLarge.Limit) + " in one form. Split what you send."}})
		return
	}
	c.render(w, r, http.StatusBadRequest, "message", page{Title: "Bad form",
		Data: message{Heading: "The form could not be read", Text: "Reload the page and send it again."}})
}

// byteSize writes n bytes in whole MiB or KiB, rounded down.
func byteSize(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}

// loadSession returns the request's live session, or nil.
func (c *Console) loadSession(r *http.Request) (*signedIn, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || len(ck.Value) == 0 || len(ck.Value) > 128 {
		return nil, nil
	}
	ctx := r.Context()
	now := c.svc.Now()
	hash := hashSecret(ck.Value)
	sess, err := c.store.FindSession(ctx, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v := c.svc.Viewer(sess.Account)
	if v == nil || !credentialHolds(sess, &v.Account) || !now.Before(sess.LastSeen.Add(c.opts.SessionIdle)) {
		if err := c.store.DeleteSession(ctx, hash); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return nil, nil
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		if err := c.store.TouchSession(ctx, hash, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		sess.LastSeen = now
	}
	return &signedIn{Session: *sess, secret: ck.Value, viewer: v}, nil
}

// csrfOK checks a POST's token and, when the browser sends one, its
// Origin: the token is the defence; the Origin check costs nothing.
func (c *Console) csrfOK(r *http.Request, want string) bool {
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
		return false
	}
	got := r.PostFormValue("csrf")
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin reports whether an Origin header names the host the request
// was sent to.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func (c *Console) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: cookiePath, MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil || c.opts.SecureCookies, SameSite: http.SameSiteStrictMode}
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: cookiePath, MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil || secure, SameSite: http.SameSiteStrictMode})
}

// signInData is the sign-in page's data.
type signInData struct {
	Name, Next, Error string
	Token             string // the form's CSRF token
	Certificate       bool   // the connection presents a client certificate of an account
}

// safeNext returns where to go after sign-in: a console path only, never
// another site (an open redirect).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/"
	}
	return next
}

func (c *Console) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	if s, err := c.loadSession(r); err == nil && s != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.signInPage(w, r, http.StatusOK, signInData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	d.Token = randomToken()
	http.SetCookie(w, c.cookie(r, signInCookie, d.Token, 3600))
	if v, _ := c.svc.CertificateViewer(r.TLS); v != nil {
		d.Certificate = true
	}
	c.render(w, r, status, "sign-in", page{Title: "Sign in", Data: d})
}

// handleSignIn signs in with a name and password, or with the
// connection's client certificate (the "certificate" button), and starts
// a session.
func (c *Console) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.signInPage(w, r, http.StatusBadRequest, signInData{Error: "The form could not be read."})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	ck, err := r.Cookie(signInCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf"))) != 1 ||
		(r.Header.Get("Origin") != "" && !sameOrigin(r.Header.Get("Origin"), r)) {
		c.signInPage(w, r, http.StatusForbidden, signInData{Next: next,
			Error: "The sign-in form had expired or came from another page. Sign in again."})
		return
	}
	var v *Viewer
	via, credential := viaPassword, ""
	name := r.PostForm.Get("name")
	if r.PostForm.Get("method") == viaCertificate {
		v, credential = c.svc.CertificateViewer(r.TLS)
		via = viaCertificate
		if v == nil {
			c.signInPage(w, r, http.StatusUnauthorized, signInData{Next: next,
				Error: "This connection presents no client certificate registered to an enabled account."})
			return
		}
	} else {
		password := r.PostForm.Get("password")
		if name == "" || password == "" || len(name) > maxNameBytes || len(password) > maxPasswordBytes {
			c.signInPage(w, r, http.StatusUnauthorized, signInData{Name: clipName(name), Next: next,
				Error: "Give the account name and its password."})
			return
		}
		v, err = c.svc.CheckPassword(r.Context(), name, password, remoteAddr(r))
		if err != nil {
			status := http.StatusUnauthorized
			var se *SignInError
			msg := errSignIn.Error()
			if errors.As(err, &se) {
				msg = se.Message
				if se.RetryAfter != "" {
					w.Header().Set("Retry-After", se.RetryAfter)
					status = http.StatusTooManyRequests
				}
			}
			c.signInPage(w, r, status, signInData{Name: name, Next: next, Error: msg})
			return
		}
		credential = passwordCredential(v.Account.PasswordHash)
	}
	now := c.svc.Now()
	secret := randomToken()
	sess := store.Session{Hash: hashSecret(secret), Account: v.Account.Name, Via: via, Credential: credential,
		CSRF: randomToken(), Created: now, LastSeen: now, Expires: now.Add(c.opts.SessionLifetime)}
	if err := c.store.CreateSession(r.Context(), sess); err != nil {
		c.fail(w, r, err)
		return
	}
	c.pruneSessions(r.Context(), now)
	clearCookie(w, r, signInCookie, c.opts.SecureCookies)
	http.SetCookie(w, c.cookie(r, sessionCookie, secret, int(c.opts.SessionLifetime/time.Second)))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleSignOut ends the session: its row is deleted, so the cookie is
// worthless even if kept.
func (c *Console) handleSignOut(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	if err := c.store.DeleteSession(r.Context(), s.Hash); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, err)
		return
	}
	clearCookie(w, r, sessionCookie, c.opts.SecureCookies)
	http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
}

// clipName keeps an over-long name out of the page it is echoed in.
func clipName(s string) string {
	if len(s) > maxNameBytes {
		return ""
	}
	return s
}

// remoteAddr is the client's address without the port.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
