package taxii_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/taxii"
)

// The accounts of the login tests.
const (
	lgAlice = "alice"
	lgBob   = "bob"
	lgRoot  = "root" // superadmin
	lgRoot2 = "lg"   // the API root
)

// newLoginWorld is a server whose failed-login limits are limit, with
// /metrics open to every test address.
func newLoginWorld(t *testing.T, limit taxii.LoginLimit, mod func(*taxii.Options)) *sgWorld {
	t.Helper()
	root := sgAccount(lgRoot, "")
	root.Superadmin = true
	opts := taxii.Options{
		Discovery:    taxii.Discovery{Title: "login test"},
		Accounts:     []taxii.Account{sgAccount(lgAlice, ""), sgAccount(lgBob, ""), root},
		Groups:       []taxii.Group{{Name: lgRoot2, Title: "Login", Members: map[string]taxii.Role{lgAlice: taxii.RoleReader, lgBob: taxii.RoleReader}}},
		LoginLimit:   limit,
		MetricsAllow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")},
	}
	if mod != nil {
		mod(&opts)
	}
	return newSGWorld(t, opts)
}

// from sends GET /taxii2/ from the client address addr with the given
// Authorization values (none, one, or several headers).
func (w *sgWorld) from(t testing.TB, addr string, auth ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/taxii2/", nil)
	req.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(addr), 40000).String()
	req.Header.Set("Accept", mediaTAXII)
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, req)
	return rec
}

// passwordChecks reads eitaxii_password_checks_total from /metrics: the
// bcrypt verifications so far.
func (w *sgWorld) passwordChecks(t testing.TB) int {
	t.Helper()
	rec := do(t, w.srv, http.MethodGet, "/metrics", "")
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "eitaxii_password_checks_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatalf("/metrics: no eitaxii_password_checks_total (status %d)", rec.Code)
	return 0
}

// Ensure that past PerAddress failed passwords an address is answered 429
// with Retry-After and a TAXII error before any bcrypt, a correct password
// of any account included; that other addresses and API tokens are not
// affected; and that the bucket refills over the window.
func TestLogin_AddressLimit(t *testing.T) {
	w := newLoginWorld(t, taxii.LoginLimit{PerAddress: 3, PerAccount: 100, Window: time.Minute}, nil)
	const attacker, other = "198.51.100.7", "198.51.100.8"
	for i := range 3 {
		checkError(t, w.from(t, attacker, sgBasic(lgAlice, "wrong-"+strconv.Itoa(i))), http.StatusUnauthorized)
	}
	checks := w.passwordChecks(t)
	for _, auth := range []string{sgBasic(lgAlice, sgPassword(lgAlice)), sgBasic(lgBob, sgPassword(lgBob)), sgBasic("nobody", "x")} {
		rec := w.from(t, attacker, auth)
		checkError(t, rec, http.StatusTooManyRequests)
		// Three per minute: one comes back every 20 s.
		if got := rec.Header().Get("Retry-After"); got != "20" {
			t.Errorf("Retry-After %q, want 20", got)
		}
	}
	if got := w.passwordChecks(t); got != checks {
		t.Errorf("%d bcrypt verifications for limited logins, want none", got-checks)
	}
	checkOK(t, w.from(t, attacker, sgBearer(sgToken(lgAlice))), http.StatusOK)
	checkOK(t, w.from(t, other, sgBasic(lgBob, sgPassword(lgBob))), http.StatusOK)

	w.clock.Advance(20 * time.Second)
	checkOK(t, w.from(t, attacker, sgBasic(lgAlice, sgPassword(lgAlice))), http.StatusOK)
	// A success gives nothing back: the one failure that refilled is the
	// next wrong password's, and then the address is limited again.
	checkError(t, w.from(t, attacker, sgBasic(lgAlice, "wrong")), http.StatusUnauthorized)
	checkError(t, w.from(t, attacker, sgBasic(lgAlice, sgPassword(lgAlice))), http.StatusTooManyRequests)
}

// Ensure that concurrent wrong passwords cannot all pass on the last
// failure left: with one bcrypt slot, exactly PerAddress are checked
// (with n slots, up to n-1 more), the others answered 429.
func TestLogin_ConcurrentFailuresBounded(t *testing.T) {
	w := newLoginWorld(t, taxii.LoginLimit{PerAddress: 3, PerAccount: -1}, func(o *taxii.Options) { o.PasswordChecks = 1 })
	checks := w.passwordChecks(t)
	codes := make(chan int, 16)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() { codes <- w.from(t, "198.51.100.9", sgBasic(lgAlice, "wrong-"+strconv.Itoa(i))).Code })
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[http.StatusUnauthorized] != 3 || n[http.StatusTooManyRequests] != 13 {
		t.Errorf("answers by status %v, want 3 401s and 13 429s", n)
	}
	if got := w.passwordChecks(t) - checks; got != 3 {
		t.Errorf("%d bcrypt verifications, want 3", got)
	}
}

// Ensure that IPv6 clients are limited by their /64.
func TestLogin_AddressLimitIPv6(t *testing.T) {
	w := newLoginWorld(t, taxii.LoginLimit{PerAddress: 2, PerAccount: 100}, nil)
	checkError(t, w.from(t, "2001:db8::1", sgBasic(lgAlice, "wrong")), http.StatusUnauthorized)
	checkError(t, w.from(t, "2001:db8::2", sgBasic(lgAlice, "wrong")), http.StatusUnauthorized)
	checkError(t, w.from(t, "2001:db8::3", sgBasic(lgAlice, sgPassword(lgAlice))), http.StatusTooManyRequests)
	checkOK(t, w.from(t, "2001:db8:0:1::1", sgBasic(lgAlice, sgPassword(lgAlice))), http.StatusOK)
}

// Ensure that past PerAccount failed passwords for one name, from any
// addresses, that name is refused with 429 before any bcrypt, whether it
// names an account or not, while other accounts log in from the same
// address; and that a name which is no account is never audited.
func TestLogin_AccountLimit(t *testing.T) {
	w := newLoginWorld(t, taxii.LoginLimit{PerAddress: 100, PerAccount: 5, Window: time.Minute}, nil)
	for _, name := range []string{lgAlice, "ghost-eit_tok_secret"} {
		for i := range 5 {
			checkError(t, w.from(t, "203.0.113."+strconv.Itoa(10+i), sgBasic(name, "wrong")), http.StatusUnauthorized)
		}
		checks := w.passwordChecks(t)
		rec := w.from(t, "203.0.113.99", sgBasic(name, sgPassword(name)))
		checkError(t, rec, http.StatusTooManyRequests)
		if got := rec.Header().Get("Retry-After"); got != "12" {
			t.Errorf("%s: Retry-After %q, want 12", name, got)
		}
		if got := w.passwordChecks(t); got != checks {
			t.Errorf("%s: %d bcrypt verifications for a limited name, want none", name, got-checks)
		}
	}
	checkOK(t, w.from(t, "203.0.113.99", sgBasic(lgBob, sgPassword(lgBob))), http.StatusOK)
	checkOK(t, w.from(t, "203.0.113.99", sgBearer(sgToken(lgAlice))), http.StatusOK)
	for _, r := range w.audit(t, store.AuditQuery{Action: "auth.refused"}) {
		if r.Account != "" && r.Account != lgAlice {
			t.Errorf("refusal row names %q, not an account", r.Account)
		}
	}
}

// Ensure that refusals from one address naming one account (or none) are
// audited once per minute: the first at once, the rest counted into the
// next row, written by the next such refusal after the minute, by any
// request once the minute has passed, or at Close.
func TestLogin_RefusalsAuditedOncePerMinute(t *testing.T) {
	w := newLoginWorld(t, taxii.LoginLimit{PerAddress: -1, PerAccount: -1}, nil)
	const a, b = "192.0.2.10", "192.0.2.20"
	for range 100 {
		checkError(t, w.from(t, a, sgBearer("eit_wrong")), http.StatusUnauthorized)
	}
	for range 3 {
		checkError(t, w.from(t, a, sgBasic(lgAlice, "wrong")), http.StatusUnauthorized)
	}
	for range 4 {
		checkError(t, w.from(t, b, ""), http.StatusUnauthorized)
	}
	w.clock.Advance(time.Minute)
	// a's next refusal without an account writes that row; a success
	// from elsewhere writes the others, which saw no refusal since.
	checkError(t, w.from(t, a, sgBasic("not-an-account", "x")), http.StatusUnauthorized)
	checkOK(t, w.from(t, "192.0.2.30", sgBasic(lgBob, sgPassword(lgBob))), http.StatusOK)
	for range 2 {
		checkError(t, w.from(t, b, ""), http.StatusUnauthorized)
	}
	rows := w.audit(t, store.AuditQuery{Action: "auth.refused"}) // closes the server: b's last 2
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %q %d %s", r.RemoteAddr, r.Account, r.Count, r.Time.Sub(sgStart)))
	}
	slices.Sort(got)
	want := []string{
		a + ` "" 1 0s`, a + ` "" 100 1m0s`, a + ` "alice" 1 0s`, a + ` "alice" 2 0s`,
		b + ` "" 1 0s`, b + ` "" 2 1m0s`, b + ` "" 3 0s`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows (address, account, count, time of the latest refusal)\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Ensure that refusals from one IPv6 /64 are audited as one address (a
// client there can use any of 2^64 addresses), and that a refusal's row
// keeps at most a bounded part of the request path it names.
func TestLogin_RefusalsAuditedPer64(t *testing.T) {
	w := newLoginWorld(t, taxii.LoginLimit{PerAddress: -1, PerAccount: -1}, nil)
	long := "/taxii2/" + strings.Repeat("é", 20000)
	for i := range 50 {
		req := httptest.NewRequest(http.MethodGet, long, nil)
		req.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1)), 40000).String()
		req.Header.Set("Authorization", sgBearer("eit_wrong"))
		rec := httptest.NewRecorder()
		w.srv.ServeHTTP(rec, req)
		checkError(t, rec, http.StatusUnauthorized)
	}
	rows := w.audit(t, store.AuditQuery{Action: "auth.refused"}) // closes the server: the pending row too
	if len(rows) != 2 {
		t.Fatalf("%d rows for 50 refusals from one /64, want 2 (the first, then one counting the rest)", len(rows))
	}
	if n := rows[0].Count + rows[1].Count; n != 50 {
		t.Errorf("rows count %d refusals, want 50", n)
	}
	for _, r := range rows {
		if len(r.Detail) > 256 || !strings.HasPrefix(r.Detail, "GET /taxii2/é") || !utf8.ValidString(r.Detail) {
			t.Errorf("detail of %d bytes: %.40q...", len(r.Detail), r.Detail)
		}
	}
}

// Ensure that guesses from other addresses cannot lock an account out of
// an address it has logged in from with its password (the per-name limit
// does not apply there; the per-address limit still does), while a new
// address is refused once the name is past its limit.
func TestLogin_AccountLimitSparesKnownAddresses(t *testing.T) {
	w := newLoginWorld(t, taxii.LoginLimit{PerAddress: 100, PerAccount: 3, Window: time.Minute}, nil)
	const home = "198.51.100.7"
	checkOK(t, w.from(t, home, sgBasic(lgAlice, sgPassword(lgAlice))), http.StatusOK)
	for i := range 5 {
		w.from(t, "203.0.113."+strconv.Itoa(10+i), sgBasic(lgAlice, "wrong"))
	}
	checkError(t, w.from(t, "203.0.113.99", sgBasic(lgAlice, sgPassword(lgAlice))), http.StatusTooManyRequests)
	checkOK(t, w.from(t, home, sgBasic(lgAlice, sgPassword(lgAlice))), http.StatusOK)
	// A wrong password from home still counts against home's own limit.
	checkError(t, w.from(t, home, sgBasic(lgAlice, "wrong")), http.StatusUnauthorized)
}

// Ensure that a request with two Authorization headers is refused with a
// 400 that says so, not decided by the first.
func TestLogin_TwoAuthorizationHeaders(t *testing.T) {
	w := newLoginWorld(t, taxii.LoginLimit{}, nil)
	rec := w.from(t, "192.0.2.1", sgBearer(sgToken(lgAlice)), sgBasic(lgBob, "wrong"))
	checkError(t, rec, http.StatusBadRequest)
	if !strings.Contains(rec.Body.String(), "2 Authorization headers") {
		t.Errorf("body %s does not say why", rec.Body)
	}
}

// Ensure that a verified Basic credential is remembered without an age
// limit, least recently used first out past CredentialCacheSize, and
// forgotten when the password changes or the account is disabled.
func TestLogin_CredentialCache(t *testing.T) {
	w := newLoginWorld(t, taxii.LoginLimit{}, func(o *taxii.Options) { o.CredentialCacheSize = 2 })
	login := func(name string, want int) {
		t.Helper()
		if rec := w.from(t, "192.0.2.1", sgBasic(name, sgPassword(name))); rec.Code != want {
			t.Fatalf("%s: %d, want %d; %s", name, rec.Code, want, rec.Body)
		}
	}
	checks := func(want int) {
		t.Helper()
		if got := w.passwordChecks(t); got != want {
			t.Fatalf("%d bcrypt verifications, want %d", got, want)
		}
	}
	login(lgAlice, 200)
	checks(1)
	w.clock.Advance(48 * time.Hour)
	login(lgAlice, 200)
	checks(1)
	login(lgBob, 200)  // cache: bob, alice
	login(lgRoot, 200) // root, bob; alice forgotten
	checks(3)
	login(lgBob, 200) // bob, root
	checks(3)
	login(lgAlice, 200) // alice, bob; root forgotten
	checks(4)

	admin := func(name, body string) {
		t.Helper()
		rec := do(t, w.srv, http.MethodPatch, "/admin/v1/accounts/"+name, body,
			"Authorization", sgBearer(sgToken(lgRoot)), "Accept", "application/json", "Content-Type", "application/json")
		if rec.Code != http.StatusOK {
			t.Fatalf("PATCH %s %s: %d %s", name, body, rec.Code, rec.Body)
		}
	}
	admin(lgAlice, `{"disabled":true}`)
	login(lgAlice, 401)
	admin(lgAlice, `{"disabled":false}`)
	login(lgAlice, 200) // the entry is still there, and valid again
	admin(lgBob, `{"password":"a-new-password-for-bob"}`)
	login(lgBob, 401)
}
