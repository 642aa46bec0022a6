package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/storetest"
	"github.com/eitaxii/eitaxii/taxii"
	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"
)

// The test directory: two groups; ana publishes to officials, rita reads
// it, vic is in vendors only.
const (
	collOfficials = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	collVendors   = "c3f1c0de-9a0b-4c3e-8d21-5b7e0f6a9d10"
)

func password(user string) string { return user + "-password-long" }

var hashes sync.Map

func hash(t testing.TB, pw string) string {
	if h, ok := hashes.Load(pw); ok {
		return h.(string)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hashes.Store(pw, string(h))
	return string(h)
}

// clock is a movable server clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     testing.TB
	url   string
	hs    *httptest.Server
	srv   *taxii.Server
	db    store.Store
	clock *clock
}

func newEnv(t testing.TB, settings func(*taxii.Options)) *env {
	t.Helper()
	gin.SetMode(gin.TestMode)
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		storetest.CheckConsistent(t, db, func(error) bool { return false })
		db.Close()
	})
	v, err := stix.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	var accounts []taxii.Account
	for _, u := range []string{"ana", "rita", "vic", "root"} {
		accounts = append(accounts, taxii.Account{Name: u, PasswordHash: hash(t, password(u)), Superadmin: u == "root"})
	}
	opts := taxii.Options{
		Discovery: taxii.Discovery{Title: "t"},
		Accounts:  accounts,
		Groups: []taxii.Group{
			{Name: "officials", Title: "Election officials",
				Members:     map[string]taxii.Role{"ana": taxii.RolePublisher, "rita": taxii.RoleReader},
				OwnDomains:  []string{"sos.example.gov"},
				Collections: []taxii.Collection{{ID: collOfficials, Title: "Indicators", Alias: "indicators"}}},
			{Name: "vendors", Title: "Vendors",
				Members:     map[string]taxii.Role{"vic": taxii.RolePublisher},
				Collections: []taxii.Collection{{ID: collVendors, Title: "Vendor advisories"}}},
		},
		Now: clk.now,
	}
	if settings != nil {
		settings(&opts)
	}
	srv, err := taxii.NewServer(context.Background(), opts, db, v)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &env{t: t, url: hs.URL, hs: hs, srv: srv, db: db, clock: clk}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see each answer.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.url+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token returns the CSRF token of a page.
func token(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

// signIn signs user in and returns the home page.
func (b *browser) signIn(user, pw string) (*http.Response, string) {
	b.e.t.Helper()
	_, page := b.do("GET", "/console/sign-in", nil)
	return b.do("POST", "/console/sign-in", url.Values{"csrf": {token(b.e.t, page)}, "name": {user}, "password": {pw}, "next": {"/console/"}})
}

// officialsBase is the console path of the officials' collection.
const officialsBase = "/console/g/officials/c/" + collOfficials

// publishToken opens the officials' publish page and returns its CSRF
// token.
func (b *browser) publishToken() string {
	b.e.t.Helper()
	_, page := b.do("GET", officialsBase+"/publish", nil)
	return token(b.e.t, page)
}

// pickBox is a review row's checkbox; group 2 is set when it is checked.
var pickBox = regexp.MustCompile(`name="pick" value="(\d+)" id="pick-\d+"( checked)?`)

func (b *browser) mustSignIn(user string) {
	b.e.t.Helper()
	resp, page := b.signIn(user, password(user))
	if resp.StatusCode != http.StatusSeeOther {
		b.e.t.Fatalf("sign in %s: %d\n%s", user, resp.StatusCode, page)
	}
}

func TestSignInSetsAStrictSessionCookie(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	resp, page := b.signIn("ana", "wrong-password-here")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "the account name or the password is wrong") {
		t.Fatalf("wrong password: %d\n%s", resp.StatusCode, page)
	}
	resp, _ = b.signIn("ana", password("ana"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("sign in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "eitaxii_session" {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/console/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/console/", sess)
	}
	resp, page = b.do("GET", "/console/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Election officials") || strings.Contains(page, "Vendors") {
		t.Fatalf("home: %d, want officials and not vendors\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

func TestSignInFormNeedsItsToken(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	resp, _ := b.do("POST", "/console/sign-in", url.Values{"name": {"ana"}, "password": {password("ana")}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without the form's token: %d, want 403", resp.StatusCode)
	}
}

// Another group's collection, and a collection that does not exist, are
// the same 404 (REQ-26 on the console).
func TestHiddenCollectionIsNotFound(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.mustSignIn("ana")
	for _, path := range []string{
		"/console/g/vendors/c/" + collVendors + "/",
		"/console/g/officials/c/00000000-0000-4000-8000-000000000000/",
		"/console/g/nosuch/c/" + collVendors + "/",
		"/console/g/vendors/c/" + collVendors + "/publish",
		"/console/g/vendors/admin",
	} {
		resp, _ := b.do("GET", path, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}

const defanged = `Advisory 2026-11: block these.
hxxp://evil-ballot[.]com/login
203.0.113[.]7
192.168.1.10
`

// Ensure that the review flags, and does not select, an indicator of the
// group's own domains (its own_domains setting), and flags nothing of
// another group's.
func TestReviewFlagsOwnDomains(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.mustSignIn("ana")
	text := "hxxps://results.sos.example[.]gov/login\nevil-ballot[.]com\n"
	resp, page := b.do("POST", officialsBase+"/review", url.Values{"csrf": {b.publishToken()}, "text": {text}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "one of the sharing group&#39;s own domains (sos.example.gov)") {
		t.Fatalf("review: %d\n%s", resp.StatusCode, page)
	}
	picks := pickBox.FindAllStringSubmatch(page, -1)
	if len(picks) != 2 || picks[0][2] != "" || picks[1][2] == "" {
		t.Errorf("picks %q: want the own domain's URL unselected and evil-ballot.com selected", picks)
	}
}

// Paste, review, publish: the status page shows what was stored, and a
// reader of the group sees the objects.
func TestPasteReviewPublish(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.mustSignIn("ana")
	base := officialsBase
	tok := b.publishToken()
	resp, page := b.do("POST", base+"/review", url.Values{"csrf": {tok}, "text": {defanged}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "evil-ballot.com") || !strings.Contains(page, "203.0.113.7") {
		t.Fatalf("review: %d\n%s", resp.StatusCode, page)
	}
	// The private address is listed with a warning, not selected.
	picks := pickBox.FindAllStringSubmatch(page, -1)
	form := url.Values{"csrf": {tok}, "text": {defanged}, "tlp": {"green"}, "confidence": {"70"}, "labels": {"election"}}
	unchecked := 0
	for _, p := range picks {
		if p[2] != "" {
			form.Add("pick", p[1])
		} else {
			unchecked++
		}
	}
	if unchecked == 0 {
		t.Errorf("the private address was selected for publishing")
	}
	resp, _ = b.do("POST", base+"/publish", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	resp, page = b.do("GET", resp.Header.Get("Location"), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "complete") {
		t.Fatalf("status: %d\n%s", resp.StatusCode, page)
	}
	// Visible to another member of the group.
	r := e.browser()
	r.mustSignIn("rita")
	resp, page = r.do("GET", base+"/?q=evil-ballot", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "evil-ballot.com") {
		t.Fatalf("reader's list: %d\n%s", resp.StatusCode, page)
	}
	// Not to another group.
	v := e.browser()
	v.mustSignIn("vic")
	if resp, _ = v.do("GET", base+"/", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another group's member: %d, want 404", resp.StatusCode)
	}
}

// A form without the session's token does nothing.
func TestPostWithoutCSRFIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.mustSignIn("ana")
	base := officialsBase
	resp, _ := b.do("POST", base+"/publish", url.Values{"text": {defanged}, "tlp": {"green"}, "confidence": {"50"}, "pick": {"0"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("publish without token: %d, want 403", resp.StatusCode)
	}
	st, err := e.db.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.ObjectVersions != 0 {
		t.Errorf("%d versions stored by a refused form", st.ObjectVersions)
	}
}

// Sessions end on sign-out, on idle expiry and on absolute expiry.
func TestSessionEnds(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.mustSignIn("ana")
	_, page := b.do("GET", "/console/", nil)
	if resp, _ := b.do("POST", "/console/sign-out", url.Values{"csrf": {token(t, page)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want a redirect to sign-in", resp.StatusCode)
	}

	b = e.browser()
	b.mustSignIn("ana")
	e.clock.advance(2 * time.Hour) // past the default idle time
	if resp, _ := b.do("GET", "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 2 h idle: %d, want a redirect to sign-in", resp.StatusCode)
	}
}

// A sign-in deletes the sessions that have expired.
func TestSignInPrunesExpiredSessions(t *testing.T) {
	e := newEnv(t, nil)
	e.browser().mustSignIn("ana")
	e.clock.advance(13 * time.Hour) // past the default lifetime, and the prune interval
	e.browser().mustSignIn("rita")
	n, err := e.db.PruneSessions(context.Background(), e.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d expired sessions left after a sign-in", n)
	}
}

// Disabling the account, or changing its password, ends its sessions at
// once (the admin API's change reloads the directory the console reads).
func TestSessionEndsWithTheCredential(t *testing.T) {
	e := newEnv(t, nil)
	admin := func(body string) {
		t.Helper()
		req, _ := http.NewRequest("PATCH", e.url+"/admin/v1/accounts/ana", strings.NewReader(body))
		req.SetBasicAuth("root", password("root"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PATCH %s: %d %s", body, resp.StatusCode, b)
		}
	}
	b := e.browser()
	b.mustSignIn("ana")
	admin(`{"disabled":true}`)
	if resp, _ := b.do("GET", "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the account was disabled: %d, want a redirect to sign-in", resp.StatusCode)
	}
	admin(`{"disabled":false}`)
	b = e.browser()
	b.mustSignIn("ana")
	admin(`{"password":"` + password("ana") + `-new"}`)
	if resp, _ := b.do("GET", "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the password changed: %d, want a redirect to sign-in", resp.StatusCode)
	}
}
