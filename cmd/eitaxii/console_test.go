package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// consoleClient is a browser-like client of the console: a cookie jar,
// no redirects followed, so that each answer can be checked.
type consoleClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newConsoleClient(t *testing.T, base string) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (cc *consoleClient) do(method, path string, form url.Values) (*http.Response, string) {
	cc.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, cc.base+path, body)
	if err != nil {
		cc.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := cc.c.Do(req)
	if err != nil {
		cc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	consoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	publishLink = regexp.MustCompile(`href="(/console/g/demo/c/[^"/]+/)publish"`)
	checkedPick = regexp.MustCompile(`name="pick" value="(\d+)" id="pick-\d+" checked`)
)

// csrf returns the CSRF token of a page.
func (cc *consoleClient) csrf(page string) string {
	cc.t.Helper()
	m := consoleCSRF.FindStringSubmatch(page)
	if m == nil {
		cc.t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

func (cc *consoleClient) signIn(name, password string) string {
	cc.t.Helper()
	_, page := cc.do("GET", "/console/sign-in", nil)
	resp, page := cc.do("POST", "/console/sign-in", url.Values{"csrf": {cc.csrf(page)}, "name": {name}, "password": {password}, "next": {"/console/"}})
	if resp.StatusCode != http.StatusSeeOther {
		cc.t.Fatalf("sign in as %s: %d\n%s", name, resp.StatusCode, page)
	}
	_, home := cc.do("GET", "/console/", nil)
	return home
}

// Ensure that the README's console walk-through works on the real binary
// with its embedded default: sign in with the printed password, paste a
// defanged list, review, publish, see the status; add a second account to
// the group from the console's group admin page; that account sees the
// objects in the console, and a TAXII client sees them too (issue 13's
// "done when").
func TestConsole_READMEWalkthrough(t *testing.T) {
	base, stdout, _, _ := startServe(t, "--data-dir", t.TempDir())
	password := starterPassword(t, stdout)

	admin := newConsoleClient(t, base)
	home := admin.signIn("admin", password)
	m := publishLink.FindStringSubmatch(home)
	if m == nil {
		t.Fatalf("no publish link for the demo collection on the home page:\n%s", home)
	}
	coll := m[1]
	_, page := admin.do("GET", coll+"publish", nil)
	csrf := admin.csrf(page)
	const pasted = "Block these before Tuesday:\nhxxps://vote-count-update[.]com/login\n45.77.12[.]9\n10.0.0.5\n"
	resp, page := admin.do("POST", coll+"review", url.Values{"csrf": {csrf}, "text": {pasted}})
	picks := checkedPick.FindAllStringSubmatch(page, -1)
	if resp.StatusCode != http.StatusOK || len(picks) != 2 {
		t.Fatalf("review: %d, %d selected (want the URL and the public address; the private one flagged)\n%s", resp.StatusCode, len(picks), page)
	}
	form := url.Values{"csrf": {csrf}, "text": {pasted}, "tlp": {"green"}, "confidence": {"80"}, "labels": {"election-2026"}}
	for _, p := range picks {
		form.Add("pick", p[1])
	}
	resp, page = admin.do("POST", coll+"publish", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %d\n%s", resp.StatusCode, page)
	}
	if resp, page = admin.do("GET", resp.Header.Get("Location"), nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "complete") {
		t.Fatalf("status page: %d\n%s", resp.StatusCode, page)
	}

	// A second account, made with the CLI, joins the group from the console.
	cli := &adminCLI{t: t, base: base, env: map[string]string{"EITAXII_USER": "admin", "EITAXII_PASSWORD": password}}
	cli.ok("orgs", "create", "county", "--title", "County clerk")
	cli.okStdin("county-clerk-password\n", "accounts", "create", "clerk", "--org", "county", "--password-stdin")
	_, page = admin.do("GET", "/console/g/demo/admin", nil)
	resp, page = admin.do("POST", "/console/g/demo/admin/members", url.Values{"csrf": {admin.csrf(page)}, "account": {"clerk"}, "role": {"reader"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add clerk to demo: %d\n%s", resp.StatusCode, page)
	}

	clerk := newConsoleClient(t, base)
	clerk.signIn("clerk", "county-clerk-password")
	resp, page = clerk.do("GET", coll+"?q=vote-count-update", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "vote-count-update.com") {
		t.Fatalf("the second account's collection page: %d\n%s", resp.StatusCode, page)
	}
	resp, body := do(t, "GET", base+"/demo/collections/indicators/objects/", "clerk", "county-clerk-password", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "https://vote-count-update.com/login") ||
		!strings.Contains(string(body), "45.77.12.9") || strings.Contains(string(body), "10.0.0.5") {
		t.Fatalf("TAXII poll as the second account: %d\n%s", resp.StatusCode, body)
	}
}
