package taxii_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/storetest"
	"github.com/eitaxii/eitaxii/taxii"
	"github.com/google/uuid"
)

// The admin API's world: three organizations, two groups, and an account
// for every kind of caller. Each configured account's password is
// admPassword(name) and its API token admToken(name).
const (
	admSuper       = "root"        // superadmin, organization isac
	admOrgAdmin    = "countyadmin" // org_admin of county
	admGroupAdmin  = "gadmin"      // admin of officials, organization isac
	admPublisher   = "pub"         // publisher in officials, county
	admReader      = "rdr"         // reader in officials, county
	admOutsider    = "vend"        // publisher in vendors, vendorco
	admPlain       = "plain"       // county, no group
	admDisabledAcc = "off"         // county, reader in officials; disabled by the fixture

	admOfficials = "officials"
	admVendors   = "vendors"
	admCollOff   = "0f6e1c9a-3b7d-4c2e-9a5f-1d2e3f4a5b6c" // officials, alias "indicators"
	admCollVend  = "5e8f2b1c-7a4d-4e3f-8b2c-6d7e8f9a0b1c" // vendors

	admJSON = "application/json"
)

var admAccounts = []string{admSuper, admOrgAdmin, admGroupAdmin, admPublisher, admReader, admOutsider, admPlain, admDisabledAcc}

func admPassword(name string) string { return name + "-secret-password" }
func admToken(name string) string    { return "tok-" + name + "-0123456789" }
func admBearer(name string) string   { return "Bearer " + admToken(name) }
func admBasic(name, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+password))
}

type admWorld struct {
	srv   *taxii.Server
	db    store.Store
	clock *storetest.Clock // the server's; tests move it to expire tokens and to tell audit rows apart
	once  sync.Once
	opts  taxii.Options
}

// newAdmWorld builds the server over a real bbolt file, then disables
// admDisabledAcc through the admin API (the configuration cannot).
func newAdmWorld(t testing.TB) *admWorld {
	t.Helper()
	db := openStore(t, "", bolt.Options{Now: func() time.Time { return t0 }})
	acct := func(name, org string) taxii.Account {
		return taxii.Account{Name: name, Organization: org, PasswordHash: passwordHash(admPassword(name)), TokenHashes: []string{tokenHash(admToken(name))}}
	}
	super := acct(admSuper, "isac")
	super.Superadmin = true
	orgAdmin := acct(admOrgAdmin, "county")
	orgAdmin.OrgAdmin = true
	clock := storetest.NewClock(time.Date(2024, 11, 5, 6, 0, 0, 0, time.UTC))
	opts := taxii.Options{
		Discovery: taxii.Discovery{Title: "Election ISAC"},
		Organizations: []taxii.Organization{
			{Name: "isac", Title: "Election ISAC"}, {Name: "county", Title: "Example County"}, {Name: "vendorco", Title: "Vendor Co"},
		},
		Accounts: []taxii.Account{
			super, orgAdmin, acct(admGroupAdmin, "isac"), acct(admPublisher, "county"), acct(admReader, "county"),
			acct(admOutsider, "vendorco"), acct(admPlain, "county"), acct(admDisabledAcc, "county"),
		},
		Groups: []taxii.Group{
			{
				Name: admOfficials, Title: "Election officials",
				Members: map[string]taxii.Role{admGroupAdmin: taxii.RoleAdmin, admPublisher: taxii.RolePublisher,
					admReader: taxii.RoleReader, admDisabledAcc: taxii.RoleReader},
				Collections: []taxii.Collection{{ID: admCollOff, Title: "Indicators", Alias: "indicators"}},
			},
			{
				Name: admVendors, Title: "Vendors",
				Members:     map[string]taxii.Role{admOutsider: taxii.RolePublisher},
				Collections: []taxii.Collection{{ID: admCollVend, Title: "Vendor advisories"}},
			},
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    clock.Now,
		NewID:  (&storetest.SeqIDs{}).NewID, // 00000000-0000-4000-8000-000000000001, ...2, in order
	}
	w := &admWorld{srv: mustNewServer(t, opts, db), db: db, clock: clock, opts: opts}
	t.Cleanup(func() { w.close(t) }) // before the store's Close
	admDecode[client.Account](t, w.call(t, admSuper, "PATCH", "/admin/v1/accounts/"+admDisabledAcc, `{"disabled":true}`), http.StatusOK)
	return w
}

// node starts another server on the world's store, configured the same,
// as a second eitaxii node on one database is; it is closed at cleanup.
func (w *admWorld) node(t testing.TB) *taxii.Server {
	t.Helper()
	srv := mustNewServer(t, w.opts, w.db)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	return srv
}

// close stops the server's background writer, flushing queued audit rows.
func (w *admWorld) close(t testing.TB) {
	w.once.Do(func() {
		if err := w.srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
}

// call sends one request as user (by API token; "" sends no credentials)
// with body as application/json.
func (w *admWorld) call(t testing.TB, user, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	auth := ""
	if user != "" {
		auth = admBearer(user)
	}
	return w.callAuth(t, auth, method, target, body)
}

// callAuth sends one request with the given Authorization header value.
func (w *admWorld) callAuth(t testing.TB, auth, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	return callNode(t, w.srv, auth, method, target, body)
}

// callNode sends one request to srv with the given Authorization header
// value and body as application/json.
func callNode(t testing.TB, srv http.Handler, auth, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	contentType := "" // none without a body
	if body != "" {
		contentType = admJSON
	}
	return do(t, srv, method, target, body, "Authorization", auth, "Content-Type", contentType, "Accept", admJSON)
}

// admDecode checks a successful admin response (status, application/json)
// and decodes it, refusing fields T does not know: a password hash or a
// token secret in a response would fail here.
func admDecode[T any](t testing.TB, w *httptest.ResponseRecorder, code int) T {
	t.Helper()
	var v T
	if w.Code != code {
		t.Fatalf("status %d, want %d; body %s", w.Code, code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != admJSON {
		t.Errorf("Content-Type %q, want %q", ct, admJSON)
	}
	d := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\nbody: %s", v, err, w.Body)
	}
	return v
}

// admStatus checks only the status of a response.
func admStatus(t testing.TB, w *httptest.ResponseRecorder, code int) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d; body %s", w.Code, code, w.Body)
	}
}

// admError checks that w is a TAXII error resource with status code whose
// description contains want.
func admError(t testing.TB, w *httptest.ResponseRecorder, code int, want string) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d; body %s", w.Code, code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != mediaTAXII {
		t.Errorf("error Content-Type %q, want %q", ct, mediaTAXII)
	}
	var e struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		HTTPStatus  string `json:"http_status"`
	}
	d := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		t.Fatalf("not a TAXII error resource: %v: %s", err, w.Body)
	}
	if e.Title == "" || e.HTTPStatus != fmt.Sprint(code) {
		t.Errorf("error resource %+v, want a title and http_status %q", e, fmt.Sprint(code))
	}
	if !strings.Contains(e.Description, want) {
		t.Errorf("error description %q, want it to contain %q", e.Description, want)
	}
}

// roots returns the API roots discovery shows auth.
func (w *admWorld) roots(t testing.TB, auth string) []string {
	t.Helper()
	rec := w.callAuth(t, auth, "GET", "/taxii2/", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("discovery: %d %s", rec.Code, rec.Body)
	}
	var d struct {
		APIRoots []string `json:"api_roots"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	return d.APIRoots
}

// adminEvents returns the admin.* audit rows, oldest first.
func (w *admWorld) adminEvents(t testing.TB) []store.AuditEvent {
	t.Helper()
	evs, err := w.db.FindAudit(context.Background(), store.AuditQuery{Action: "admin."})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// lastEvent returns the newest admin.* audit row.
func (w *admWorld) lastEvent(t testing.TB) store.AuditEvent {
	t.Helper()
	evs := w.adminEvents(t)
	if len(evs) == 0 {
		t.Fatal("no admin audit rows")
	}
	return evs[len(evs)-1]
}

// mustDelete deletes path as user (204), checks the audit event of the
// delete (checkEvent with action, user, org and target), and that the
// resource is gone: a GET and a second DELETE of path answer 404.
func (w *admWorld) mustDelete(t testing.TB, user, path, action, org, target string) {
	t.Helper()
	admStatus(t, w.call(t, user, "DELETE", path, ""), http.StatusNoContent)
	w.checkEvent(t, action, user, org, target)
	admError(t, w.call(t, user, "GET", path, ""), http.StatusNotFound, "")
	admError(t, w.call(t, user, "DELETE", path, ""), http.StatusNotFound, "")
}

// checkEvent checks the newest admin audit row.
func (w *admWorld) checkEvent(t testing.TB, action, actor, org, target string) store.AuditEvent {
	t.Helper()
	ev := w.lastEvent(t)
	if ev.Action != action || ev.Account != actor || ev.Organization != org || ev.Target != target {
		t.Errorf("last audit row %s by %s (%s) on %q; want %s by %s (%s) on %q",
			ev.Action, ev.Account, ev.Organization, ev.Target, action, actor, org, target)
	}
	return ev
}

// Ensure that /me tells every account who it is, and refuses disabled and
// anonymous callers.
func TestAdmin_Me(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	tests := []struct {
		user, org string
		groups    map[string]client.Role
	}{
		{admSuper, "isac", map[string]client.Role{}},
		{admOrgAdmin, "county", map[string]client.Role{}},
		{admGroupAdmin, "isac", map[string]client.Role{admOfficials: "admin"}},
		{admPublisher, "county", map[string]client.Role{admOfficials: "publisher"}},
		{admOutsider, "vendorco", map[string]client.Role{admVendors: "publisher"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			for _, path := range []string{"/admin/v1/me", "/admin/v1/me/"} {
				rec := w.call(t, tt.user, "GET", path, "")
				me := admDecode[client.Me](t, rec, http.StatusOK)
				if me.Account.Name != tt.user || me.Organization.Name != tt.org || !strings.HasPrefix(me.Organization.IdentityID, "identity--") {
					t.Errorf("%s: me %+v", path, me)
				}
				if !maps.Equal(me.Groups, tt.groups) {
					t.Errorf("%s: groups %v, want %v", path, me.Groups, tt.groups)
				}
				if !me.Account.HasPassword || strings.Contains(rec.Body.String(), "$2a$") {
					t.Errorf("%s: has_password %t, body %s", path, me.Account.HasPassword, rec.Body)
				}
			}
		})
	}
	admError(t, w.call(t, admDisabledAcc, "GET", "/admin/v1/me", ""), http.StatusUnauthorized, "")
	admError(t, w.call(t, "", "GET", "/admin/v1/me", ""), http.StatusUnauthorized, "")
	admError(t, w.call(t, admSuper, "POST", "/admin/v1/me", `{}`), http.StatusMethodNotAllowed, "")
	admError(t, w.call(t, admSuper, "GET", "/admin/v1/nothing-here", ""), http.StatusNotFound, "")
}

// Ensure that organizations are created, read, renamed and deleted by a
// superadmin only, read by their own members, and that each change is
// audited.
func TestAdmin_Organizations(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)

	rec := w.call(t, admSuper, "POST", "/admin/v1/organizations", `{"name":"state-x","title":"State <X> & Co"}`)
	o := admDecode[client.Organization](t, rec, http.StatusCreated)
	if o.Name != "state-x" || o.Title != "State <X> & Co" || !strings.HasPrefix(o.IdentityID, "identity--") || !o.Created.Equal(w.clock.Now()) {
		t.Errorf("created %+v", o)
	}
	if !strings.Contains(rec.Body.String(), "State <X> & Co") {
		t.Errorf("title HTML-escaped: %s", rec.Body)
	}
	w.checkEvent(t, "admin.organization.create", admSuper, "isac", "organization state-x")

	admError(t, w.call(t, admSuper, "POST", "/admin/v1/organizations", `{"name":"state-x"}`), http.StatusConflict, "already exists")
	admError(t, w.call(t, admSuper, "POST", "/admin/v1/organizations", `{"name":"State X"}`), http.StatusBadRequest, "name:")
	admError(t, w.call(t, admSuper, "POST", "/admin/v1/organizations", `{"title":"x"}`), http.StatusBadRequest, "name: required")
	admError(t, w.call(t, admSuper, "POST", "/admin/v1/organizations", `{"name":"y","titel":"x"}`), http.StatusBadRequest, `unknown field "titel"`)

	list := admDecode[client.OrganizationList](t, w.call(t, admSuper, "GET", "/admin/v1/organizations", ""), http.StatusOK)
	var names []string
	for _, o := range list.Organizations {
		names = append(names, o.Name)
	}
	if want := []string{"county", "isac", "state-x", "vendorco"}; !slices.Equal(names, want) {
		t.Errorf("organizations %q, want %q", names, want)
	}

	o = admDecode[client.Organization](t, w.call(t, admSuper, "PATCH", "/admin/v1/organizations/state-x", `{"title":"State X"}`), http.StatusOK)
	if o.Title != "State X" {
		t.Errorf("patched title %q", o.Title)
	}
	w.checkEvent(t, "admin.organization.update", admSuper, "isac", "organization state-x")
	admError(t, w.call(t, admSuper, "PATCH", "/admin/v1/organizations/state-x", `{"name":"z"}`), http.StatusBadRequest, `unknown field "name"`)
	admError(t, w.call(t, admSuper, "PATCH", "/admin/v1/organizations/nope", `{"title":"z"}`), http.StatusNotFound, "")

	// Members read their own organization, nobody else's.
	if o := admDecode[client.Organization](t, w.call(t, admPublisher, "GET", "/admin/v1/organizations/county", ""), http.StatusOK); o.Name != "county" {
		t.Errorf("own organization %+v", o)
	}
	admError(t, w.call(t, admPublisher, "GET", "/admin/v1/organizations/isac", ""), http.StatusNotFound, "")
	admError(t, w.call(t, admPublisher, "GET", "/admin/v1/organizations/nope", ""), http.StatusNotFound, "")
	for _, user := range []string{admPublisher, admOrgAdmin, admGroupAdmin} {
		admError(t, w.call(t, user, "GET", "/admin/v1/organizations", ""), http.StatusForbidden, "superadmin")
		admError(t, w.call(t, user, "POST", "/admin/v1/organizations", `{"name":"q"}`), http.StatusForbidden, "")
		admError(t, w.call(t, user, "PATCH", "/admin/v1/organizations/county", `{"title":"q"}`), http.StatusForbidden, "")
		admError(t, w.call(t, user, "DELETE", "/admin/v1/organizations/county", ""), http.StatusForbidden, "")
	}

	admError(t, w.call(t, admSuper, "DELETE", "/admin/v1/organizations/county", ""), http.StatusConflict, "still has accounts")
	w.mustDelete(t, admSuper, "/admin/v1/organizations/state-x", "admin.organization.delete", "isac", "organization state-x")
}

// Ensure that a superadmin manages every account and its new credentials
// work on TAXII at once.
func TestAdmin_Accounts_Superadmin(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	fp := strings.Repeat("ab", 32)
	const pw = "correct horse battery"
	rec := w.call(t, admSuper, "POST", "/admin/v1/accounts", `{"name":"newbie","organization":"county","kind":"machine","password":"`+pw+`",
		"certificates":["`+strings.ToUpper(fp[:2])+":"+fp[2:]+`"],"rate_limit":{"per_second":5,"burst":10},"org_admin":true}`)
	a := admDecode[client.Account](t, rec, http.StatusCreated)
	want := client.Account{Name: "newbie", Organization: "county", Kind: "machine", OrgAdmin: true, Certificates: []string{fp},
		RateLimit: &client.RateLimit{PerSecond: 5, Burst: 10}, Created: w.clock.Now(), HasPassword: true}
	if a.Name != want.Name || a.Organization != want.Organization || a.Kind != want.Kind || !a.OrgAdmin || a.Superadmin || a.Disabled ||
		!slices.Equal(a.Certificates, want.Certificates) || a.RateLimit == nil || *a.RateLimit != *want.RateLimit || !a.Created.Equal(want.Created) || !a.HasPassword {
		t.Errorf("created %+v, want %+v", a, want)
	}
	if strings.Contains(rec.Body.String(), pw) || strings.Contains(rec.Body.String(), "$2a$") {
		t.Errorf("response shows the password or its hash: %s", rec.Body)
	}
	ev := w.checkEvent(t, "admin.account.create", admSuper, "isac", "account newbie")
	if !strings.Contains(ev.Detail, "organization=county") || !strings.Contains(ev.Detail, "password set") {
		t.Errorf("create detail %q", ev.Detail)
	}
	// The password works on TAXII at once; the account is in no group.
	if roots := w.roots(t, admBasic("newbie", pw)); len(roots) != 0 {
		t.Errorf("new account sees roots %q", roots)
	}
	// A kind defaults to person.
	if a := admDecode[client.Account](t, w.call(t, admSuper, "POST", "/admin/v1/accounts", `{"name":"p2","organization":"isac"}`), http.StatusCreated); a.Kind != "person" || a.HasPassword {
		t.Errorf("defaults: %+v", a)
	}

	all := admDecode[client.AccountList](t, w.call(t, admSuper, "GET", "/admin/v1/accounts", ""), http.StatusOK)
	if len(all.Accounts) != len(admAccounts)+2 {
		t.Errorf("%d accounts, want %d", len(all.Accounts), len(admAccounts)+2)
	}
	county := admDecode[client.AccountList](t, w.call(t, admSuper, "GET", "/admin/v1/accounts?organization=county", ""), http.StatusOK)
	var names []string
	for _, a := range county.Accounts {
		names = append(names, a.Name)
	}
	if want := []string{admOrgAdmin, "newbie", admDisabledAcc, admPlain, admPublisher, admReader}; !slices.Equal(names, want) {
		t.Errorf("county accounts %q, want %q", names, want)
	}
	admError(t, w.call(t, admSuper, "GET", "/admin/v1/accounts?organization=nope", ""), http.StatusNotFound, "")
	admError(t, w.call(t, admSuper, "GET", "/admin/v1/accounts?org=county", ""), http.StatusBadRequest, "org: unknown parameter")

	a = admDecode[client.Account](t, w.call(t, admSuper, "PATCH", "/admin/v1/accounts/newbie", `{"kind":"person","rate_limit":null,"certificates":[]}`), http.StatusOK)
	if a.Kind != "person" || a.RateLimit != nil || len(a.Certificates) != 0 || !a.HasPassword {
		t.Errorf("patched %+v", a)
	}
	w.checkEvent(t, "admin.account.update", admSuper, "isac", "account newbie")
	if a := admDecode[client.Account](t, w.call(t, admSuper, "GET", "/admin/v1/accounts/newbie", ""), http.StatusOK); a.Kind != "person" {
		t.Errorf("read back %+v", a)
	}

	// Deleting an account takes its tokens and memberships with it.
	admStatus(t, w.call(t, admSuper, "DELETE", "/admin/v1/accounts/"+admPublisher, ""), http.StatusNoContent)
	ev = w.checkEvent(t, "admin.account.delete", admSuper, "isac", "account "+admPublisher)
	if !strings.Contains(ev.Detail, admOfficials) {
		t.Errorf("delete detail %q does not name the groups left", ev.Detail)
	}
	admError(t, w.call(t, admPublisher, "GET", "/taxii2/", ""), http.StatusUnauthorized, "")
	admError(t, w.callAuth(t, admBasic(admPublisher, admPassword(admPublisher)), "GET", "/taxii2/", ""), http.StatusUnauthorized, "")
	admError(t, w.call(t, admSuper, "GET", "/admin/v1/accounts/"+admPublisher, ""), http.StatusNotFound, "")
	g := admDecode[client.Group](t, w.call(t, admSuper, "GET", "/admin/v1/groups/"+admOfficials, ""), http.StatusOK)
	if _, ok := g.Members[admPublisher]; ok {
		t.Errorf("deleted account still a member: %v", g.Members)
	}
	admError(t, w.call(t, admSuper, "DELETE", "/admin/v1/accounts/"+admPublisher, ""), http.StatusNotFound, "")

	// Nobody deletes or disables itself, or drops its own superadmin flag.
	admError(t, w.call(t, admSuper, "DELETE", "/admin/v1/accounts/"+admSuper, ""), http.StatusForbidden, "itself")
	admError(t, w.call(t, admSuper, "PATCH", "/admin/v1/accounts/"+admSuper, `{"disabled":true}`), http.StatusForbidden, "itself")
	admError(t, w.call(t, admSuper, "PATCH", "/admin/v1/accounts/"+admSuper, `{"superadmin":false}`), http.StatusForbidden, "itself")
}

// Ensure that account bodies are validated, each error naming its field.
func TestAdmin_Accounts_Validation(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	fp := strings.Repeat("cd", 32)
	admDecode[client.Account](t, w.call(t, admSuper, "PATCH", "/admin/v1/accounts/"+admPlain, `{"certificates":["`+fp+`"]}`), http.StatusOK)
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"no name", "POST", "/admin/v1/accounts", `{"organization":"county"}`, 400, "name: required"},
		{"bad name", "POST", "/admin/v1/accounts", `{"name":"-x","organization":"county"}`, 400, "name:"},
		{"name with space", "POST", "/admin/v1/accounts", `{"name":"a b","organization":"county"}`, 400, "name:"},
		{"no organization", "POST", "/admin/v1/accounts", `{"name":"x"}`, 400, "organization: required"},
		{"unknown organization", "POST", "/admin/v1/accounts", `{"name":"x","organization":"nope"}`, 400, "organization: no organization"},
		{"kind", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","kind":"robot"}`, 400, "kind:"},
		{"short password", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","password":"short"}`, 400, "password:"},
		{"long password", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","password":"` + strings.Repeat("p", 73) + `"}`, 400, "password:"},
		{"certificate", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","certificates":["zz"]}`, 400, "certificates[0]:"},
		{"certificate twice", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","certificates":["` + strings.Repeat("ef", 32) + `","` + strings.Repeat("EF", 32) + `"]}`, 400, "certificates[1]:"},
		{"certificate of another", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","certificates":["` + fp + `"]}`, 409, "certificates[0]:"},
		{"negative rate", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","rate_limit":{"per_second":-1,"burst":1}}`, 400, "rate_limit:"},
		{"no burst", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","rate_limit":{"per_second":1,"burst":0}}`, 400, "rate_limit:"},
		{"typed flag", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","disabled":"yes"}`, 400, "disabled: expected true or false"},
		{"unknown field", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","is_admin":true}`, 400, `unknown field "is_admin"`},
		{"duplicate", "POST", "/admin/v1/accounts", `{"name":"` + admPlain + `","organization":"county"}`, 409, "already exists"},
		// Issue 9: encoding/json matches names case-insensitively and keeps
		// the last of two equal names; the admin API takes neither.
		{"mis-cased field", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","org_admin":false,"Org_Admin":true}`, 400, `unknown field "Org_Admin": member names are case-sensitive, write "org_admin"`},
		{"field twice", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","org_admin":false,"org_admin":true}`, 400, `member "org_admin" appears twice`},
		{"mis-cased nested field", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","rate_limit":{"per_second":1,"Burst":2}}`, 400, `unknown field "rate_limit.Burst"`},
		{"unknown nested field", "POST", "/admin/v1/accounts", `{"name":"x","organization":"county","rate_limit":{"per_second":1,"burst":2,"window":3}}`, 400, `unknown field "rate_limit.window"`},
		{"patch mis-cased field", "PATCH", "/admin/v1/accounts/" + admPlain, `{"Disabled":true}`, 400, `unknown field "Disabled"`},
		{"patch nested twice", "PATCH", "/admin/v1/accounts/" + admPlain, `{"rate_limit":{"per_second":1,"burst":2,"burst":3}}`, 400, `member "rate_limit.burst" appears twice`},
		{"patch nothing", "PATCH", "/admin/v1/accounts/" + admPlain, `{}`, 400, "nothing to change"},
		{"patch organization", "PATCH", "/admin/v1/accounts/" + admPlain, `{"organization":"isac"}`, 400, `unknown field "organization"`},
		{"patch name", "PATCH", "/admin/v1/accounts/" + admPlain, `{"name":"other"}`, 400, `unknown field "name"`},
		{"patch password", "PATCH", "/admin/v1/accounts/" + admPlain, `{"password":"short"}`, 400, "password:"},
		{"patch kind", "PATCH", "/admin/v1/accounts/" + admPlain, `{"kind":5}`, 400, "kind: expected a string"},
		{"patch certificate of another", "PATCH", "/admin/v1/accounts/" + admReader, `{"certificates":["` + fp + `"]}`, 409, "certificates[0]:"},
		{"patch unknown account", "PATCH", "/admin/v1/accounts/nope", `{"kind":"person"}`, 404, ""},
	}
	before := len(w.adminEvents(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admError(t, w.call(t, admSuper, tt.method, tt.path, tt.body), tt.code, tt.want)
		})
	}
	if after := len(w.adminEvents(t)); after != before {
		t.Errorf("refused changes wrote %d audit rows", after-before)
	}
	// The certificate may stay on its own account.
	admDecode[client.Account](t, w.call(t, admSuper, "PATCH", "/admin/v1/accounts/"+admPlain, `{"certificates":["`+fp+`"]}`), http.StatusOK)
}

// Ensure that an organization admin manages the accounts of its own
// organization only, never superadmins, and that other accounts may not use
// the accounts endpoints at all.
func TestAdmin_Accounts_OrgAdmin(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	list := admDecode[client.AccountList](t, w.call(t, admOrgAdmin, "GET", "/admin/v1/accounts", ""), http.StatusOK)
	for _, a := range list.Accounts {
		if a.Organization != "county" {
			t.Errorf("org admin lists %s of %s", a.Name, a.Organization)
		}
	}
	if len(list.Accounts) != 5 {
		t.Errorf("org admin lists %d accounts, want the 5 of county", len(list.Accounts))
	}
	admDecode[client.AccountList](t, w.call(t, admOrgAdmin, "GET", "/admin/v1/accounts?organization=county", ""), http.StatusOK)
	admError(t, w.call(t, admOrgAdmin, "GET", "/admin/v1/accounts?organization=isac", ""), http.StatusNotFound, "")
	admError(t, w.call(t, admOrgAdmin, "GET", "/admin/v1/accounts/"+admGroupAdmin, ""), http.StatusNotFound, "")
	admDecode[client.Account](t, w.call(t, admOrgAdmin, "GET", "/admin/v1/accounts/"+admPublisher, ""), http.StatusOK)

	// Creating: in its organization (the default), never a superadmin.
	a := admDecode[client.Account](t, w.call(t, admOrgAdmin, "POST", "/admin/v1/accounts", `{"name":"clerk2","kind":"person"}`), http.StatusCreated)
	if a.Organization != "county" {
		t.Errorf("created in %q, want county", a.Organization)
	}
	w.checkEvent(t, "admin.account.create", admOrgAdmin, "county", "account clerk2")
	admError(t, w.call(t, admOrgAdmin, "POST", "/admin/v1/accounts", `{"name":"clerk3","organization":"isac"}`), http.StatusForbidden, "own organization")
	admError(t, w.call(t, admOrgAdmin, "POST", "/admin/v1/accounts", `{"name":"clerk3","superadmin":true}`), http.StatusForbidden, "superadmin")
	admError(t, w.call(t, admOrgAdmin, "POST", "/admin/v1/accounts", `{"name":"clerk3","superadmin":false}`), http.StatusForbidden, "superadmin")

	// Updating and deleting.
	a = admDecode[client.Account](t, w.call(t, admOrgAdmin, "PATCH", "/admin/v1/accounts/"+admPublisher, `{"org_admin":true}`), http.StatusOK)
	if !a.OrgAdmin {
		t.Errorf("org_admin not granted: %+v", a)
	}
	admError(t, w.call(t, admOrgAdmin, "PATCH", "/admin/v1/accounts/"+admPublisher, `{"superadmin":true}`), http.StatusForbidden, "superadmin")
	admError(t, w.call(t, admOrgAdmin, "PATCH", "/admin/v1/accounts/"+admGroupAdmin, `{"disabled":true}`), http.StatusNotFound, "")
	admError(t, w.call(t, admOrgAdmin, "DELETE", "/admin/v1/accounts/"+admOutsider, ""), http.StatusNotFound, "")
	admStatus(t, w.call(t, admOrgAdmin, "DELETE", "/admin/v1/accounts/clerk2", ""), http.StatusNoContent)
	w.checkEvent(t, "admin.account.delete", admOrgAdmin, "county", "account clerk2")

	// A superadmin in the organization is out of the org admin's reach,
	// and so are its tokens: changing either would make it a superadmin.
	admDecode[client.Account](t, w.call(t, admSuper, "POST", "/admin/v1/accounts", `{"name":"boss","organization":"county","superadmin":true}`), http.StatusCreated)
	admDecode[client.Account](t, w.call(t, admOrgAdmin, "GET", "/admin/v1/accounts/boss", ""), http.StatusOK)
	admError(t, w.call(t, admOrgAdmin, "PATCH", "/admin/v1/accounts/boss", `{"password":"a long enough password"}`), http.StatusForbidden, "superadmin account")
	admError(t, w.call(t, admOrgAdmin, "DELETE", "/admin/v1/accounts/boss", ""), http.StatusForbidden, "superadmin account")
	admError(t, w.call(t, admOrgAdmin, "POST", "/admin/v1/accounts/boss/tokens", `{"name":"mine now"}`), http.StatusForbidden, "superadmin account")
	admDecode[client.TokenList](t, w.call(t, admOrgAdmin, "GET", "/admin/v1/accounts/boss/tokens", ""), http.StatusOK)

	// Accounts that are neither superadmin nor org admin may not use the
	// accounts endpoints, whatever account they name.
	for _, user := range []string{admGroupAdmin, admReader, admOutsider} {
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/admin/v1/accounts", ""},
			{"POST", "/admin/v1/accounts", `{"name":"x","organization":"county"}`},
			{"GET", "/admin/v1/accounts/" + user, ""},
			{"GET", "/admin/v1/accounts/nope", ""},
			{"PATCH", "/admin/v1/accounts/" + admPublisher, `{"disabled":true}`},
			{"DELETE", "/admin/v1/accounts/" + admPublisher, ""},
		} {
			admError(t, w.call(t, user, r.method, r.path, r.body), http.StatusForbidden, "")
		}
	}
}

// Ensure that disabling an account refuses it at once everywhere, by
// password and by token, and enabling it lets it back in.
func TestAdmin_DisableAccount(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	basicAuth := admBasic(admReader, admPassword(admReader))
	for _, auth := range []string{basicAuth, admBearer(admReader)} {
		admStatus(t, w.callAuth(t, auth, "GET", "/taxii2/", ""), http.StatusOK)
		admStatus(t, w.callAuth(t, auth, "GET", "/admin/v1/me", ""), http.StatusOK)
	}
	a := admDecode[client.Account](t, w.call(t, admOrgAdmin, "PATCH", "/admin/v1/accounts/"+admReader, `{"disabled":true}`), http.StatusOK)
	if !a.Disabled {
		t.Fatalf("not disabled: %+v", a)
	}
	w.checkEvent(t, "admin.account.update", admOrgAdmin, "county", "account "+admReader)
	for _, auth := range []string{basicAuth, admBearer(admReader)} {
		for _, path := range []string{"/taxii2/", "/" + admOfficials + "/collections/" + admCollOff + "/objects/", "/admin/v1/me", "/admin/v1/accounts/" + admReader + "/tokens"} {
			admError(t, w.callAuth(t, auth, "GET", path, ""), http.StatusUnauthorized, "")
		}
	}
	// The fixture's disabled account is refused too.
	admError(t, w.callAuth(t, admBasic(admDisabledAcc, admPassword(admDisabledAcc)), "GET", "/taxii2/", ""), http.StatusUnauthorized, "")

	admDecode[client.Account](t, w.call(t, admOrgAdmin, "PATCH", "/admin/v1/accounts/"+admReader, `{"disabled":false}`), http.StatusOK)
	for _, auth := range []string{basicAuth, admBearer(admReader)} {
		if roots := w.roots(t, auth); !slices.Equal(roots, []string{"/" + admOfficials + "/"}) {
			t.Errorf("re-enabled account sees %q", roots)
		}
	}
}

// Ensure that a password change takes effect at once: the old password is
// refused, the new one works; null removes the password.
func TestAdmin_PasswordChange(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	old := admBasic(admReader, admPassword(admReader))
	admStatus(t, w.callAuth(t, old, "GET", "/taxii2/", ""), http.StatusOK) // cached from here on
	const newPassword = "a brand new secret"
	rec := w.call(t, admSuper, "PATCH", "/admin/v1/accounts/"+admReader, `{"password":"`+newPassword+`"}`)
	admDecode[client.Account](t, rec, http.StatusOK)
	ev := w.checkEvent(t, "admin.account.update", admSuper, "isac", "account "+admReader)
	if ev.Detail != "password set" {
		t.Errorf("detail %q, want %q", ev.Detail, "password set")
	}
	admError(t, w.callAuth(t, old, "GET", "/taxii2/", ""), http.StatusUnauthorized, "")
	admStatus(t, w.callAuth(t, admBasic(admReader, newPassword), "GET", "/taxii2/", ""), http.StatusOK)
	admStatus(t, w.callAuth(t, admBasic(admReader, newPassword), "GET", "/admin/v1/me", ""), http.StatusOK)

	a := admDecode[client.Account](t, w.call(t, admSuper, "PATCH", "/admin/v1/accounts/"+admReader, `{"password":null}`), http.StatusOK)
	if a.HasPassword {
		t.Errorf("password not removed: %+v", a)
	}
	admError(t, w.callAuth(t, admBasic(admReader, newPassword), "GET", "/taxii2/", ""), http.StatusUnauthorized, "")
	admStatus(t, w.call(t, admReader, "GET", "/taxii2/", ""), http.StatusOK) // its token still works
}

// Ensure that a token is shown once, works for TAXII at once, is never
// listed with its secret, stops working when revoked or expired, and that
// who may manage which tokens follows the doc.
func TestAdmin_Tokens(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	created := w.clock.Now()
	rec := w.call(t, admPublisher, "POST", "/admin/v1/accounts/"+admPublisher+"/tokens", `{"name":"siem <feed>","expires_in":"720h"}`)
	tok := admDecode[client.NewToken](t, rec, http.StatusCreated)
	if !strings.HasPrefix(tok.Token, "eit_") || len(tok.Token) != 4+43 || tok.Name != "siem <feed>" || tok.Account != admPublisher ||
		!tok.Created.Equal(created) || !tok.Expires.Equal(created.Add(720*time.Hour)) {
		t.Errorf("new token %+v", tok)
	}
	if _, err := uuid.Parse(tok.ID); err != nil {
		t.Errorf("token id %q: %v", tok.ID, err)
	}
	ev := w.checkEvent(t, "admin.token.create", admPublisher, "county", "token "+tok.ID+" of account "+admPublisher)
	if strings.Contains(ev.Detail, tok.Token) {
		t.Errorf("audit detail holds the token: %q", ev.Detail)
	}

	// It works on TAXII right away.
	bearer := "Bearer " + tok.Token
	if roots := w.roots(t, bearer); !slices.Equal(roots, []string{"/" + admOfficials + "/"}) {
		t.Errorf("new token sees %q", roots)
	}
	admStatus(t, w.callAuth(t, "Token "+tok.Token, "GET", "/"+admOfficials+"/collections/", ""), http.StatusOK)

	// Listing never shows the secret or its hash.
	rec = w.call(t, admPublisher, "GET", "/admin/v1/accounts/"+admPublisher+"/tokens", "")
	list := admDecode[client.TokenList](t, rec, http.StatusOK)
	if len(list.Tokens) != 2 {
		t.Fatalf("tokens %+v, want the configured one and the new one", list.Tokens)
	}
	if body := rec.Body.String(); strings.Contains(body, tok.Token) || strings.Contains(body, tokenHash(tok.Token)) ||
		strings.Contains(body, tokenHash(admToken(admPublisher))) {
		t.Errorf("token list shows a secret or a hash: %s", body)
	}

	// Revoked: refused at once, kept for the record.
	admStatus(t, w.call(t, admPublisher, "DELETE", "/admin/v1/accounts/"+admPublisher+"/tokens/"+tok.ID, ""), http.StatusNoContent)
	w.checkEvent(t, "admin.token.revoke", admPublisher, "county", "token "+tok.ID+" of account "+admPublisher)
	admError(t, w.callAuth(t, bearer, "GET", "/taxii2/", ""), http.StatusUnauthorized, "")
	admError(t, w.callAuth(t, bearer, "GET", "/admin/v1/me", ""), http.StatusUnauthorized, "")
	list = admDecode[client.TokenList](t, w.call(t, admPublisher, "GET", "/admin/v1/accounts/"+admPublisher+"/tokens", ""), http.StatusOK)
	revoked := 0
	for _, l := range list.Tokens {
		if l.Revoked {
			revoked++
			if l.ID != tok.ID {
				t.Errorf("revoked %s, want %s", l.ID, tok.ID)
			}
		}
	}
	if revoked != 1 {
		t.Errorf("%d revoked tokens listed, want 1", revoked)
	}
	n := len(w.adminEvents(t))
	admStatus(t, w.call(t, admPublisher, "DELETE", "/admin/v1/accounts/"+admPublisher+"/tokens/"+tok.ID, ""), http.StatusNoContent)
	if len(w.adminEvents(t)) != n {
		t.Error("revoking a revoked token wrote an audit row")
	}
	admError(t, w.call(t, admPublisher, "DELETE", "/admin/v1/accounts/"+admPublisher+"/tokens/"+uuid.NewString(), ""), http.StatusNotFound, "")

	// Another account's token is not reachable through this account's URL.
	other := admDecode[client.NewToken](t, w.call(t, admSuper, "POST", "/admin/v1/accounts/"+admReader+"/tokens", `{"name":"r"}`), http.StatusCreated)
	if !other.Expires.IsZero() {
		t.Errorf("token without expires_in expires %v", other.Expires)
	}
	admError(t, w.call(t, admSuper, "DELETE", "/admin/v1/accounts/"+admPublisher+"/tokens/"+other.ID, ""), http.StatusNotFound, "")
	admStatus(t, w.callAuth(t, "Bearer "+other.Token, "GET", "/taxii2/", ""), http.StatusOK)

	// Expired: refused once the clock passes expires.
	short := admDecode[client.NewToken](t, w.call(t, admPublisher, "POST", "/admin/v1/accounts/"+admPublisher+"/tokens", `{"name":"short","expires_in":"1h"}`), http.StatusCreated)
	admStatus(t, w.callAuth(t, "Bearer "+short.Token, "GET", "/taxii2/", ""), http.StatusOK)
	w.clock.Advance(time.Hour)
	admError(t, w.callAuth(t, "Bearer "+short.Token, "GET", "/taxii2/", ""), http.StatusUnauthorized, "")
	admError(t, w.callAuth(t, "Bearer "+short.Token, "GET", "/admin/v1/me", ""), http.StatusUnauthorized, "")

	// Bodies.
	for _, tt := range []struct{ body, want string }{
		{`{}`, "name: required"},
		{`{"name":"  "}`, "name: required"},
		{`{"name":"x","expires_in":"-1h"}`, "expires_in:"},
		{`{"name":"x","expires_in":"30d"}`, "expires_in:"},
		{`{"name":"x","expires":"2025-01-01T00:00:00Z"}`, `unknown field "expires"`},
		{`{"name":"a\u0000b"}`, "name: control characters"},
	} {
		admError(t, w.call(t, admPublisher, "POST", "/admin/v1/accounts/"+admPublisher+"/tokens", tt.body), http.StatusBadRequest, tt.want)
	}

	// Who reaches which account's tokens.
	for _, tt := range []struct {
		user, account string
		list, create  int
	}{
		{admReader, admPublisher, 404, 404},     // someone else's
		{admGroupAdmin, admPublisher, 404, 404}, // group admins do not manage accounts
		{admOrgAdmin, admPublisher, 200, 201},   // its organization
		{admOrgAdmin, admOutsider, 404, 404},    // another organization
		{admSuper, admOutsider, 200, 201},
		{admPlain, admPlain, 200, 201}, // its own, without any role
		{admPlain, "nope", 404, 404},
	} {
		admStatus(t, w.call(t, tt.user, "GET", "/admin/v1/accounts/"+tt.account+"/tokens", ""), tt.list)
		admStatus(t, w.call(t, tt.user, "POST", "/admin/v1/accounts/"+tt.account+"/tokens", `{"name":"t"}`), tt.create)
	}
}

// Ensure that groups are created and deleted by a superadmin, read and
// updated by their admins, and hidden (404) from non-members.
func TestAdmin_Groups(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	rec := w.call(t, admSuper, "POST", "/admin/v1/groups", `{"name":"auditors","title":"Auditors","description":"Post-election <audits>\nline two","max_content_length":1048576}`)
	g := admDecode[client.Group](t, rec, http.StatusCreated)
	if g.Name != "auditors" || g.Title != "Auditors" || g.MaxContentLength != 1<<20 || !strings.HasPrefix(g.IdentityID, "identity--") ||
		g.Members == nil || len(g.Members) != 0 || g.Description != "Post-election <audits>\nline two" {
		t.Errorf("created %+v", g)
	}
	ev := w.checkEvent(t, "admin.group.create", admSuper, "isac", "group auditors")
	if ev.Group != "auditors" {
		t.Errorf("audit row group %q", ev.Group)
	}
	if g := admDecode[client.Group](t, w.call(t, admSuper, "POST", "/admin/v1/groups", `{"name":"small","title":"Small"}`), http.StatusCreated); g.MaxContentLength != taxii.DefaultMaxContentLength {
		t.Errorf("default max_content_length %d", g.MaxContentLength)
	}

	for _, tt := range []struct {
		body string
		code int
		want string
	}{
		{`{"name":"auditors","title":"x"}`, 409, "already exists"},
		{`{"name":"admin","title":"x"}`, 400, "name:"},
		{`{"name":"taxii2","title":"x"}`, 400, "name:"},
		{`{"name":"Upper","title":"x"}`, 400, "name:"},
		{`{"title":"x"}`, 400, "name: required"},
		{`{"name":"g1"}`, 400, "title: required"},
		{`{"name":"g1","title":" "}`, 400, "title:"},
		{`{"name":"g1","title":"x","max_content_length":-1}`, 400, "max_content_length:"},
		{`{"name":"g1","title":"x","max_content_length":"big"}`, 400, "max_content_length: expected a number"},
		{`{"name":"g1","title":"x","members":{"pub":"reader"}}`, 400, `unknown field "members"`},
	} {
		admError(t, w.call(t, admSuper, "POST", "/admin/v1/groups", tt.body), tt.code, tt.want)
	}
	admError(t, w.call(t, admGroupAdmin, "POST", "/admin/v1/groups", `{"name":"g2","title":"x"}`), http.StatusForbidden, "superadmin")

	// Lists: everything for a superadmin, the groups one administers for
	// anyone else.
	for _, tt := range []struct {
		user string
		want []string
	}{
		{admSuper, []string{"auditors", admOfficials, "small", admVendors}},
		{admGroupAdmin, []string{admOfficials}},
		{admPublisher, nil},
		{admOutsider, nil},
	} {
		res := admDecode[client.GroupList](t, w.call(t, tt.user, "GET", "/admin/v1/groups", ""), http.StatusOK)
		var names []string
		for _, g := range res.Groups {
			names = append(names, g.Name)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("%s lists %q, want %q", tt.user, names, tt.want)
		}
	}

	g = admDecode[client.Group](t, w.call(t, admGroupAdmin, "GET", "/admin/v1/groups/"+admOfficials, ""), http.StatusOK)
	if g.Members[admPublisher] != "publisher" || g.Members[admGroupAdmin] != "admin" {
		t.Errorf("members %v", g.Members)
	}
	admError(t, w.call(t, admPublisher, "GET", "/admin/v1/groups/"+admOfficials, ""), http.StatusForbidden, "")
	admError(t, w.call(t, admOutsider, "GET", "/admin/v1/groups/"+admOfficials, ""), http.StatusNotFound, "")
	admError(t, w.call(t, admGroupAdmin, "GET", "/admin/v1/groups/"+admVendors, ""), http.StatusNotFound, "")
	admError(t, w.call(t, admGroupAdmin, "GET", "/admin/v1/groups/nope", ""), http.StatusNotFound, "")

	// Updates show on TAXII at once.
	g = admDecode[client.Group](t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials, `{"title":"Officials & clerks","max_content_length":2048}`), http.StatusOK)
	if g.Title != "Officials & clerks" || g.MaxContentLength != 2048 {
		t.Errorf("patched %+v", g)
	}
	w.checkEvent(t, "admin.group.update", admGroupAdmin, "isac", "group "+admOfficials)
	rec = w.call(t, admPublisher, "GET", "/"+admOfficials+"/", "")
	var root struct {
		Title            string `json:"title"`
		MaxContentLength int64  `json:"max_content_length"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &root); err != nil || root.Title != "Officials & clerks" || root.MaxContentLength != 2048 {
		t.Errorf("API root after PATCH: %s", rec.Body)
	}
	if g.OwnDomains == nil || len(g.OwnDomains) != 0 {
		t.Errorf("own_domains before any: %#v, want []", g.OwnDomains)
	}

	// Own domains: normalized, replaced as a whole, emptied by [].
	g = admDecode[client.Group](t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials, `{"own_domains":["SOS.Example.gov.","votes.example.org"]}`), http.StatusOK)
	if !slices.Equal(g.OwnDomains, []string{"sos.example.gov", "votes.example.org"}) {
		t.Errorf("own_domains %q", g.OwnDomains)
	}
	if ev := w.checkEvent(t, "admin.group.update", admGroupAdmin, "isac", "group "+admOfficials); !strings.Contains(ev.Detail, "sos.example.gov") {
		t.Errorf("audit detail %q", ev.Detail)
	}
	g = admDecode[client.Group](t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials, `{"own_domains":["votes.example.org"]}`), http.StatusOK)
	if got := admDecode[client.Group](t, w.call(t, admGroupAdmin, "GET", "/admin/v1/groups/"+admOfficials, ""), http.StatusOK); !slices.Equal(got.OwnDomains, []string{"votes.example.org"}) {
		t.Errorf("own_domains after replacing: %q", got.OwnDomains)
	}
	admError(t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials, `{"own_domains":["a.gov","bad domain"]}`), http.StatusBadRequest, "own_domains[1]:")
	if got := admDecode[client.Group](t, w.call(t, admGroupAdmin, "GET", "/admin/v1/groups/"+admOfficials, ""), http.StatusOK); !slices.Equal(got.OwnDomains, []string{"votes.example.org"}) {
		t.Errorf("a refused PATCH changed own_domains: %q", got.OwnDomains)
	}
	g = admDecode[client.Group](t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials, `{"own_domains":[]}`), http.StatusOK)
	if g.OwnDomains == nil || len(g.OwnDomains) != 0 {
		t.Errorf("own_domains after []: %#v", g.OwnDomains)
	}
	admError(t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials, `{"name":"renamed"}`), http.StatusBadRequest, `unknown field "name"`)
	admError(t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials, `{"title":""}`), http.StatusBadRequest, "title:")
	admError(t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials, `{}`), http.StatusBadRequest, "nothing to change")
	admError(t, w.call(t, admPublisher, "PATCH", "/admin/v1/groups/"+admOfficials, `{"title":"x"}`), http.StatusForbidden, "")
	admError(t, w.call(t, admOutsider, "PATCH", "/admin/v1/groups/"+admOfficials, `{"title":"x"}`), http.StatusNotFound, "")

	// Deleting.
	admError(t, w.call(t, admGroupAdmin, "DELETE", "/admin/v1/groups/"+admOfficials, ""), http.StatusForbidden, "superadmin")
	admError(t, w.call(t, admOutsider, "DELETE", "/admin/v1/groups/"+admOfficials, ""), http.StatusForbidden, "superadmin")
	admError(t, w.call(t, admSuper, "DELETE", "/admin/v1/groups/"+admOfficials, ""), http.StatusConflict, "still has collections")
	w.mustDelete(t, admSuper, "/admin/v1/groups/auditors", "admin.group.delete", "isac", "group auditors")
}

// Ensure that membership changes take effect on discovery and collections
// at once.
func TestAdmin_Members(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	if roots := w.roots(t, admBearer(admPlain)); len(roots) != 0 {
		t.Fatalf("plain sees %q before joining", roots)
	}
	g := admDecode[client.Group](t, w.call(t, admGroupAdmin, "PUT", "/admin/v1/groups/"+admOfficials+"/members/"+admPlain, `{"role":"reader"}`), http.StatusOK)
	if g.Members[admPlain] != "reader" {
		t.Errorf("members %v", g.Members)
	}
	ev := w.checkEvent(t, "admin.member.create", admGroupAdmin, "isac", "member "+admPlain+" of group "+admOfficials)
	if ev.Group != admOfficials || ev.Detail != "role=reader" {
		t.Errorf("audit row %+v", ev)
	}
	if roots := w.roots(t, admBearer(admPlain)); !slices.Equal(roots, []string{"/" + admOfficials + "/"}) {
		t.Errorf("plain sees %q after joining", roots)
	}
	canWrite := func() bool {
		t.Helper()
		rec := w.call(t, admPlain, "GET", "/"+admOfficials+"/collections/"+admCollOff+"/", "")
		var c struct {
			CanRead  bool `json:"can_read"`
			CanWrite bool `json:"can_write"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &c) != nil || !c.CanRead {
			t.Fatalf("collection as member: %d %s", rec.Code, rec.Body)
		}
		return c.CanWrite
	}
	if canWrite() {
		t.Error("reader can write")
	}
	admDecode[client.Group](t, w.call(t, admGroupAdmin, "PUT", "/admin/v1/groups/"+admOfficials+"/members/"+admPlain, `{"role":"publisher"}`), http.StatusOK)
	ev = w.checkEvent(t, "admin.member.update", admGroupAdmin, "isac", "member "+admPlain+" of group "+admOfficials)
	if ev.Detail != "role reader -> publisher" {
		t.Errorf("detail %q", ev.Detail)
	}
	if !canWrite() {
		t.Error("publisher cannot write")
	}

	g = admDecode[client.Group](t, w.call(t, admGroupAdmin, "DELETE", "/admin/v1/groups/"+admOfficials+"/members/"+admPlain, ""), http.StatusOK)
	if _, ok := g.Members[admPlain]; ok {
		t.Errorf("still a member: %v", g.Members)
	}
	w.checkEvent(t, "admin.member.delete", admGroupAdmin, "isac", "member "+admPlain+" of group "+admOfficials)
	if roots := w.roots(t, admBearer(admPlain)); len(roots) != 0 {
		t.Errorf("plain sees %q after leaving", roots)
	}
	admError(t, w.call(t, admPlain, "GET", "/"+admOfficials+"/", ""), http.StatusNotFound, "")
	admError(t, w.call(t, admGroupAdmin, "DELETE", "/admin/v1/groups/"+admOfficials+"/members/"+admPlain, ""), http.StatusNotFound, "")

	// Members may come from any organization; bodies are checked.
	admDecode[client.Group](t, w.call(t, admGroupAdmin, "PUT", "/admin/v1/groups/"+admOfficials+"/members/"+admOutsider, `{"role":"reader"}`), http.StatusOK)
	if roots := w.roots(t, admBearer(admOutsider)); len(roots) != 2 {
		t.Errorf("vendor in two groups sees %q", roots)
	}
	admError(t, w.call(t, admGroupAdmin, "PUT", "/admin/v1/groups/"+admOfficials+"/members/nope", `{"role":"reader"}`), http.StatusNotFound, "")
	admError(t, w.call(t, admGroupAdmin, "PUT", "/admin/v1/groups/"+admOfficials+"/members/"+admPlain, `{"role":"owner"}`), http.StatusBadRequest, "role:")
	admError(t, w.call(t, admGroupAdmin, "PUT", "/admin/v1/groups/"+admOfficials+"/members/"+admPlain, `{}`), http.StatusBadRequest, "role: required")
	admError(t, w.call(t, admPublisher, "PUT", "/admin/v1/groups/"+admOfficials+"/members/"+admPlain, `{"role":"reader"}`), http.StatusForbidden, "")
	admError(t, w.call(t, admPublisher, "DELETE", "/admin/v1/groups/"+admOfficials+"/members/"+admReader, ""), http.StatusForbidden, "")
	admError(t, w.call(t, admPlain, "PUT", "/admin/v1/groups/"+admOfficials+"/members/"+admPlain, `{"role":"admin"}`), http.StatusNotFound, "")
	admError(t, w.call(t, admGroupAdmin, "PUT", "/admin/v1/groups/"+admVendors+"/members/"+admPlain, `{"role":"reader"}`), http.StatusNotFound, "")
	// A superadmin manages any group's members.
	admDecode[client.Group](t, w.call(t, admSuper, "PUT", "/admin/v1/groups/"+admVendors+"/members/"+admSuper, `{"role":"admin"}`), http.StatusOK)
}

// admIndicator is a valid STIX indicator to publish.
const admIndicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--6b7d1a2c-1f3e-4d5a-9b8c-7e6f5d4c3b2a","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"Bad IP","pattern":"[ipv4-addr:value = '198.51.100.9']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`

// Ensure that group admins manage their group's collections and policies,
// that ids and aliases are checked, and that changes show on TAXII at once.
func TestAdmin_Collections(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	base := "/admin/v1/groups/" + admOfficials + "/collections"
	rec := w.call(t, admGroupAdmin, "POST", base, `{"title":"Submissions","alias":"submissions","policy":{"read_role":"admin","write_role":"reader"}}`)
	sub := admDecode[client.Collection](t, rec, http.StatusCreated)
	if u, err := uuid.Parse(sub.ID); err != nil || u.Version() != 4 || sub.ID != strings.ToLower(sub.ID) {
		t.Errorf("generated id %q is not a lowercase UUIDv4", sub.ID)
	}
	if sub.APIRoot != admOfficials || sub.Title != "Submissions" || sub.Alias != "submissions" || sub.Policy.ReadRole != "admin" || sub.Policy.WriteRole != "reader" {
		t.Errorf("created %+v", sub)
	}
	ev := w.checkEvent(t, "admin.collection.create", admGroupAdmin, "isac", "collection "+sub.ID+" of group "+admOfficials)
	if ev.Group != admOfficials || ev.Collection != sub.ID {
		t.Errorf("audit row group %q collection %q", ev.Group, ev.Collection)
	}
	// On TAXII at once, with the policy's roles: a publisher may write but
	// not read the submissions collection.
	rec = w.call(t, admPublisher, "GET", "/"+admOfficials+"/collections/submissions/", "")
	var tc struct {
		ID       string `json:"id"`
		CanRead  bool   `json:"can_read"`
		CanWrite bool   `json:"can_write"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &tc) != nil || tc.ID != sub.ID || tc.CanRead || !tc.CanWrite {
		t.Errorf("TAXII collection: %d %s", rec.Code, rec.Body)
	}

	const given = "3d4e5f60-7182-4394-a5b6-c7d8e9f00112"
	c := admDecode[client.Collection](t, w.call(t, admSuper, "POST", base+"/", `{"id":"`+given+`","title":"Advisories","description":"Two\nlines","policy":{"tlp_ceiling":"amber","require_tlp":true,"default_tlp":"green"}}`), http.StatusCreated)
	if c.ID != given || c.Policy.TLPCeiling != "amber" || !c.Policy.RequireTLP || c.Policy.DefaultTLP != "green" {
		t.Errorf("created %+v", c)
	}
	list := admDecode[client.CollectionList](t, w.call(t, admGroupAdmin, "GET", base, ""), http.StatusOK)
	var ids []string
	for _, c := range list.Collections {
		ids = append(ids, c.ID)
	}
	if want := slices.Sorted(slices.Values([]string{admCollOff, sub.ID, given})); !slices.Equal(ids, want) {
		t.Errorf("collections %q, want %q", ids, want)
	}
	if c := admDecode[client.Collection](t, w.call(t, admGroupAdmin, "GET", base+"/"+admCollOff, ""), http.StatusOK); c.Alias != "indicators" {
		t.Errorf("GET %+v", c)
	}

	// PATCH: fields given change, alias "" removes the alias, policy is
	// replaced whole.
	c = admDecode[client.Collection](t, w.call(t, admGroupAdmin, "PATCH", base+"/"+given, `{"title":"Advisories (new)","alias":"advisories","policy":{"anonymize":true}}`), http.StatusOK)
	if c.Title != "Advisories (new)" || c.Alias != "advisories" || c.Description != "Two\nlines" || c.Policy != (client.Policy{Anonymize: true}) {
		t.Errorf("patched %+v", c)
	}
	w.checkEvent(t, "admin.collection.update", admGroupAdmin, "isac", "collection "+given+" of group "+admOfficials)
	admStatus(t, w.call(t, admPublisher, "GET", "/"+admOfficials+"/collections/advisories/", ""), http.StatusOK)
	c = admDecode[client.Collection](t, w.call(t, admGroupAdmin, "PATCH", base+"/"+given, `{"alias":""}`), http.StatusOK)
	if c.Alias != "" {
		t.Errorf("alias not removed: %+v", c)
	}
	admError(t, w.call(t, admPublisher, "GET", "/"+admOfficials+"/collections/advisories/", ""), http.StatusNotFound, "")

	// Checks.
	for _, tt := range []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"alias taken", "POST", base, `{"title":"x","alias":"indicators"}`, 409, "alias:"},
		{"alias taken on patch", "PATCH", base + "/" + given, `{"alias":"submissions"}`, 409, "alias:"},
		{"id taken in another group", "POST", base, `{"id":"` + admCollVend + `","title":"x"}`, 409, "id:"},
		{"id taken", "POST", base, `{"id":"` + given + `","title":"x"}`, 409, "id:"},
		{"id uppercase", "POST", base, `{"id":"` + strings.ToUpper(given) + `","title":"x"}`, 400, "id:"},
		{"id v1", "POST", base, `{"id":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","title":"x"}`, 400, "id:"},
		{"id junk", "POST", base, `{"id":"42","title":"x"}`, 400, "id:"},
		{"no title", "POST", base, `{"alias":"y"}`, 400, "title: required"},
		{"empty title", "PATCH", base + "/" + given, `{"title":""}`, 400, "title:"},
		{"alias pattern", "POST", base, `{"title":"x","alias":"Has Space"}`, 400, "alias:"},
		{"alias reads as id", "POST", base, `{"title":"x","alias":"` + uuid.NewString() + `"}`, 400, "alias:"},
		{"patch id", "PATCH", base + "/" + given, `{"id":"` + uuid.NewString() + `"}`, 400, `unknown field "id"`},
		{"patch nothing", "PATCH", base + "/" + given, `{}`, 400, "nothing to change"},
		{"tlp_ceiling", "POST", base, `{"title":"x","policy":{"tlp_ceiling":"purple"}}`, 400, "policy.tlp_ceiling:"},
		{"default_tlp level", "POST", base, `{"title":"x","policy":{"require_tlp":true,"default_tlp":"rainbow"}}`, 400, "policy.default_tlp:"},
		{"default_tlp without require", "POST", base, `{"title":"x","policy":{"default_tlp":"green"}}`, 400, "policy.default_tlp:"},
		{"default_tlp above ceiling", "POST", base, `{"title":"x","policy":{"tlp_ceiling":"amber","require_tlp":true,"default_tlp":"red"}}`, 400, "policy.default_tlp:"},
		{"read_role", "POST", base, `{"title":"x","policy":{"read_role":"owner"}}`, 400, "policy.read_role:"},
		{"write_role", "PATCH", base + "/" + given, `{"policy":{"write_role":"everyone"}}`, 400, "policy.write_role:"},
		{"anonymize type", "POST", base, `{"title":"x","policy":{"anonymize":"yes"}}`, 400, "policy.anonymize:"},
		{"policy typo", "POST", base, `{"title":"x","policy":{"tlp_cieling":"red"}}`, 400, `unknown field "tlp_cieling"`},
		{"other group's collection", "GET", base + "/" + admCollVend, "", 404, ""},
		{"unknown collection", "PATCH", base + "/" + uuid.NewString(), `{"title":"x"}`, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			admError(t, w.call(t, admGroupAdmin, tt.method, tt.path, tt.body), tt.code, tt.want)
		})
	}

	// Who may: group admins of this group and superadmins.
	admError(t, w.call(t, admPublisher, "GET", base, ""), http.StatusForbidden, "")
	admError(t, w.call(t, admPublisher, "POST", base, `{"title":"x"}`), http.StatusForbidden, "")
	admError(t, w.call(t, admOutsider, "GET", base, ""), http.StatusNotFound, "")
	admError(t, w.call(t, admOutsider, "DELETE", base+"/"+given, ""), http.StatusNotFound, "")
	admError(t, w.call(t, admOrgAdmin, "GET", base+"/"+admCollOff, ""), http.StatusNotFound, "")
	admError(t, w.call(t, admGroupAdmin, "GET", "/admin/v1/groups/"+admVendors+"/collections/"+admCollVend, ""), http.StatusNotFound, "")

	// Deleting a collection deletes its objects.
	req := httptest.NewRequest("POST", "/"+admOfficials+"/collections/"+given+"/objects/", strings.NewReader(`{"objects":[`+admIndicator+`]}`))
	req.Header.Set("Authorization", admBearer(admPublisher))
	req.Header.Set("Content-Type", mediaTAXII)
	rec = httptest.NewRecorder()
	w.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"success_count":1`) {
		t.Fatalf("publish: %d %s", rec.Code, rec.Body)
	}
	admStatus(t, w.call(t, admGroupAdmin, "DELETE", base+"/"+given, ""), http.StatusNoContent)
	w.checkEvent(t, "admin.collection.delete", admGroupAdmin, "isac", "collection "+given+" of group "+admOfficials)
	admError(t, w.call(t, admPublisher, "GET", "/"+admOfficials+"/collections/"+given+"/", ""), http.StatusNotFound, "")
	admError(t, w.call(t, admGroupAdmin, "DELETE", base+"/"+given, ""), http.StatusNotFound, "")
	admDecode[client.Collection](t, w.call(t, admGroupAdmin, "POST", base, `{"id":"`+given+`","title":"Again"}`), http.StatusCreated)
	rec = w.call(t, admPublisher, "GET", "/"+admOfficials+"/collections/"+given+"/objects/", "")
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "indicator--") {
		t.Errorf("re-created collection: %d %s", rec.Code, rec.Body)
	}
}

// Ensure that every endpoint answers 403 to callers who may never use it
// and 404 for resources outside the caller's scope, whether they exist or
// not: the answer for an existing resource out of scope equals the answer
// for a missing one.
func TestAdmin_Authorization(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	type cell struct {
		user, method, path, body string
		want                     int
	}
	var cells []cell
	add := func(method, path, body string, want map[string]int) {
		for user, code := range want {
			cells = append(cells, cell{user, method, path, body, code})
		}
	}
	// Each row names the answers for: superadmin, org admin (county),
	// group admin (officials), publisher and reader (officials, county),
	// outsider (vendors, vendorco), plain (county, no group).
	all := func(s, o, g, p, r, v, n int) map[string]int {
		return map[string]int{admSuper: s, admOrgAdmin: o, admGroupAdmin: g, admPublisher: p, admReader: r, admOutsider: v, admPlain: n}
	}
	add("GET", "/admin/v1/me", "", all(200, 200, 200, 200, 200, 200, 200))
	add("GET", "/admin/v1/organizations", "", all(200, 403, 403, 403, 403, 403, 403))
	add("GET", "/admin/v1/organizations/county", "", all(200, 200, 404, 200, 200, 404, 200))
	add("GET", "/admin/v1/organizations/nope", "", all(404, 404, 404, 404, 404, 404, 404))
	add("PATCH", "/admin/v1/organizations/nope", `{"title":"x"}`, all(404, 403, 403, 403, 403, 403, 403))
	// Superadmin-only routes refuse everyone else before reading the body
	// or the URL's name.
	add("POST", "/admin/v1/organizations", `{`, all(400, 403, 403, 403, 403, 403, 403))
	add("DELETE", "/admin/v1/organizations/nope", "", all(404, 403, 403, 403, 403, 403, 403))
	add("GET", "/admin/v1/backup/", "", all(200, 403, 403, 403, 403, 403, 403))
	add("GET", "/admin/v1/accounts", "", all(200, 200, 403, 403, 403, 403, 403))
	add("GET", "/admin/v1/accounts/"+admReader, "", all(200, 200, 403, 403, 403, 403, 403))
	add("GET", "/admin/v1/accounts/"+admGroupAdmin, "", all(200, 404, 403, 403, 403, 403, 403))
	add("GET", "/admin/v1/accounts/nope", "", all(404, 404, 403, 403, 403, 403, 403))
	add("GET", "/admin/v1/accounts/"+admReader+"/tokens", "", all(200, 200, 404, 404, 200, 404, 404))
	add("GET", "/admin/v1/accounts/nope/tokens", "", all(404, 404, 404, 404, 404, 404, 404))
	add("GET", "/admin/v1/groups", "", all(200, 200, 200, 200, 200, 200, 200))
	add("GET", "/admin/v1/groups/"+admOfficials, "", all(200, 404, 200, 403, 403, 404, 404))
	add("GET", "/admin/v1/groups/nope", "", all(404, 404, 404, 404, 404, 404, 404))
	add("PATCH", "/admin/v1/groups/"+admVendors, `{"title":"Vendors"}`, all(200, 404, 404, 404, 404, 403, 404))
	add("DELETE", "/admin/v1/groups/nope", "", all(404, 403, 403, 403, 403, 403, 403))
	// The superadmin's body lacks a title: the cell checks that it gets
	// past authorization without creating anything.
	add("POST", "/admin/v1/groups", `{"name":"x"}`, all(400, 403, 403, 403, 403, 403, 403))
	add("GET", "/admin/v1/groups/"+admOfficials+"/collections", "", all(200, 404, 200, 403, 403, 404, 404))
	add("GET", "/admin/v1/groups/"+admOfficials+"/collections/"+admCollOff, "", all(200, 404, 200, 403, 403, 404, 404))
	add("GET", "/admin/v1/groups/"+admOfficials+"/collections/"+admCollVend, "", all(404, 404, 404, 403, 403, 404, 404))
	add("GET", "/admin/v1/groups/"+admVendors+"/collections/"+admCollVend, "", all(200, 404, 404, 404, 404, 403, 404))
	add("DELETE", "/admin/v1/groups/"+admOfficials+"/members/nope", "", all(404, 404, 404, 403, 403, 404, 404))
	add("GET", "/admin/v1/audit?limit=1", "", all(200, 200, 200, 403, 403, 403, 403))
	for _, c := range cells {
		rec := w.call(t, c.user, c.method, c.path, c.body)
		if rec.Code != c.want {
			t.Errorf("%s %s as %s: %d, want %d; %s", c.method, c.path, c.user, rec.Code, c.want, rec.Body)
		}
	}
	// A 404 for an existing resource out of scope is the 404 of a
	// missing one, byte for byte.
	hidden := w.call(t, admOutsider, "GET", "/admin/v1/groups/"+admOfficials, "")
	missing := w.call(t, admOutsider, "GET", "/admin/v1/groups/nope", "")
	if hidden.Code != 404 || hidden.Body.String() != missing.Body.String() {
		t.Errorf("hidden group %d %s, missing group %d %s", hidden.Code, hidden.Body, missing.Code, missing.Body)
	}
	hidden = w.call(t, admOrgAdmin, "GET", "/admin/v1/accounts/"+admGroupAdmin, "")
	missing = w.call(t, admOrgAdmin, "GET", "/admin/v1/accounts/nope", "")
	if hidden.Body.String() != missing.Body.String() {
		t.Errorf("hidden account %s, missing account %s", hidden.Body, missing.Body)
	}
}

// Ensure that request bodies are bounded and strictly decoded, and that
// responses are JSON without HTML escaping.
func TestAdmin_Bodies(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	send := func(ctype, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/admin/v1/organizations", strings.NewReader(body))
		req.Header.Set("Authorization", admBearer(admSuper))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		w.srv.ServeHTTP(rec, req)
		return rec
	}
	admError(t, send("", `{"name":"a"}`), http.StatusUnsupportedMediaType, "application/json")
	admError(t, send("text/plain", `{"name":"a"}`), http.StatusUnsupportedMediaType, "application/json")
	admError(t, send(admJSON, `{"name":"a","title":"`+strings.Repeat("x", 1<<20)+`"}`), http.StatusRequestEntityTooLarge, "1 MiB")
	admError(t, send(admJSON, ``), http.StatusBadRequest, "JSON object is required")
	admError(t, send(admJSON, `[1]`), http.StatusBadRequest, "JSON object is required")
	admError(t, send(admJSON, `{"name":`), http.StatusBadRequest, "body:")
	admError(t, send(admJSON, `{"name" "a"}`), http.StatusBadRequest, "invalid JSON")
	admError(t, send(admJSON, `{"name":"a"} {"name":"b"}`), http.StatusBadRequest, "after the JSON object")
	admError(t, send(admJSON, `{"name":"a"}x`), http.StatusBadRequest, "after the JSON object")
	admError(t, send(admJSON, `{"name":5}`), http.StatusBadRequest, "name: expected a string")
	admError(t, send(admJSON, `{"name":"a","title":"a\u0007b"}`), http.StatusBadRequest, "title: control characters")
	o := admDecode[client.Organization](t, send("application/json; charset=utf-8", `{"name":"a","title":"<b>&amp;</b>"}`+"\n"), http.StatusCreated)
	if o.Title != "<b>&amp;</b>" {
		t.Errorf("title %q", o.Title)
	}
	if rec := w.call(t, admSuper, "GET", "/admin/v1/organizations/a", ""); !strings.Contains(rec.Body.String(), `"<b>&amp;</b>"`) {
		t.Errorf("HTML-escaped response: %s", rec.Body)
	}
	// No audit row for anything refused.
	n := 0
	for _, ev := range w.adminEvents(t) {
		if ev.Action == "admin.organization.create" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d organization.create rows, want 1", n)
	}
}

// Ensure that every admin change writes its audit row (actor, actor's
// organization, target) and that no audit row anywhere holds a password, a
// password hash or a token.
func TestAdmin_AuditRows(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	const pw1, pw2 = "first password 123", "second password 456"
	var tokens []string
	ok := func(method, path, body string, code int) *httptest.ResponseRecorder {
		t.Helper()
		rec := w.call(t, admSuper, method, path, body)
		admStatus(t, rec, code)
		return rec
	}
	ok("POST", "/admin/v1/organizations", `{"name":"tmp","title":"Tmp"}`, 201)
	ok("PATCH", "/admin/v1/organizations/tmp", `{"title":"Tmp 2"}`, 200)
	ok("POST", "/admin/v1/accounts", `{"name":"alice","organization":"tmp","password":"`+pw1+`"}`, 201)
	ok("PATCH", "/admin/v1/accounts/alice", `{"password":"`+pw2+`"}`, 200)
	tok := admDecode[client.NewToken](t, ok("POST", "/admin/v1/accounts/alice/tokens", `{"name":"t"}`, 201), http.StatusCreated)
	tokens = append(tokens, tok.Token)
	ok("DELETE", "/admin/v1/accounts/alice/tokens/"+tok.ID, "", 204)
	ok("POST", "/admin/v1/groups", `{"name":"tmpgroup","title":"Tmp"}`, 201)
	ok("PATCH", "/admin/v1/groups/tmpgroup", `{"description":"d"}`, 200)
	ok("PUT", "/admin/v1/groups/tmpgroup/members/alice", `{"role":"reader"}`, 200)
	ok("PUT", "/admin/v1/groups/tmpgroup/members/alice", `{"role":"admin"}`, 200)
	// alice, now admin of the group, uses a fresh token of her own.
	tok2 := admDecode[client.NewToken](t, w.callAuth(t, admBasic("alice", pw2), "POST", "/admin/v1/accounts/alice/tokens", `{"name":"own"}`), http.StatusCreated)
	tokens = append(tokens, tok2.Token)
	rec := w.callAuth(t, "Bearer "+tok2.Token, "POST", "/admin/v1/groups/tmpgroup/collections", `{"title":"C","policy":{"tlp_ceiling":"green"}}`)
	coll := admDecode[client.Collection](t, rec, http.StatusCreated)
	admStatus(t, w.callAuth(t, "Bearer "+tok2.Token, "PATCH", "/admin/v1/groups/tmpgroup/collections/"+coll.ID, `{"title":"C2"}`), http.StatusOK)
	admStatus(t, w.callAuth(t, "Bearer "+tok2.Token, "DELETE", "/admin/v1/groups/tmpgroup/collections/"+coll.ID, ""), http.StatusNoContent)
	ok("DELETE", "/admin/v1/groups/tmpgroup/members/alice", "", 200)
	ok("DELETE", "/admin/v1/groups/tmpgroup", "", 204)
	ok("DELETE", "/admin/v1/accounts/alice", "", 204)
	ok("DELETE", "/admin/v1/organizations/tmp", "", 204)
	// Refused credentials are audited too; they must not keep the secret.
	admStatus(t, w.callAuth(t, admBasic("alice", pw1), "GET", "/taxii2/", ""), http.StatusUnauthorized)
	admStatus(t, w.callAuth(t, "Bearer "+tok.Token, "GET", "/taxii2/", ""), http.StatusUnauthorized)

	want := []struct{ action, actor, org, target string }{
		{"admin.organization.create", admSuper, "isac", "organization tmp"},
		{"admin.organization.update", admSuper, "isac", "organization tmp"},
		{"admin.account.create", admSuper, "isac", "account alice"},
		{"admin.account.update", admSuper, "isac", "account alice"},
		{"admin.token.create", admSuper, "isac", "token " + tok.ID + " of account alice"},
		{"admin.token.revoke", admSuper, "isac", "token " + tok.ID + " of account alice"},
		{"admin.group.create", admSuper, "isac", "group tmpgroup"},
		{"admin.group.update", admSuper, "isac", "group tmpgroup"},
		{"admin.member.create", admSuper, "isac", "member alice of group tmpgroup"},
		{"admin.member.update", admSuper, "isac", "member alice of group tmpgroup"},
		{"admin.token.create", "alice", "tmp", "token " + tok2.ID + " of account alice"},
		{"admin.collection.create", "alice", "tmp", "collection " + coll.ID + " of group tmpgroup"},
		{"admin.collection.update", "alice", "tmp", "collection " + coll.ID + " of group tmpgroup"},
		{"admin.collection.delete", "alice", "tmp", "collection " + coll.ID + " of group tmpgroup"},
		{"admin.member.delete", admSuper, "isac", "member alice of group tmpgroup"},
		{"admin.group.delete", admSuper, "isac", "group tmpgroup"},
		{"admin.account.delete", admSuper, "isac", "account alice"},
		{"admin.organization.delete", admSuper, "isac", "organization tmp"},
	}
	evs := w.adminEvents(t)
	// Skip the rows written before this test's changes: the
	// configuration's bootstrap and the fixture's disabling.
	for len(evs) > 0 && evs[0].Target != "organization tmp" {
		evs = evs[1:]
	}
	if len(evs) != len(want) {
		t.Fatalf("%d admin audit rows, want %d: %+v", len(evs), len(want), evs)
	}
	for i, ev := range evs {
		wt := want[i]
		if ev.Action != wt.action || ev.Account != wt.actor || ev.Organization != wt.org || ev.Target != wt.target || ev.Time.IsZero() || ev.RemoteAddr == "" {
			t.Errorf("row %d: %s by %s (%s) on %q at %v from %q; want %s by %s (%s) on %q",
				i, ev.Action, ev.Account, ev.Organization, ev.Target, ev.Time, ev.RemoteAddr, wt.action, wt.actor, wt.org, wt.target)
		}
	}

	// Scan every audit row, refused authentications included.
	w.close(t)
	all, err := w.db.FindAudit(context.Background(), store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{pw1, pw2, "$2a$", "$2b$"}
	for _, tk := range tokens {
		secrets = append(secrets, tk, tokenHash(tk), strings.TrimPrefix(tk, "eit_"))
	}
	for _, a := range admAccounts {
		secrets = append(secrets, admPassword(a), admToken(a), tokenHash(admToken(a)))
	}
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the audit log holds the secret %q", s)
		}
	}
	refused := 0
	for _, ev := range all {
		if ev.Action == "auth.refused" {
			refused++
		}
	}
	if refused < 2 {
		t.Errorf("%d auth.refused rows, want the 2 refused requests", refused)
	}
}

// Ensure that GET /admin/v1/audit filters by time, account, collection,
// action and limit, and shows each caller its own scope only.
func TestAdmin_AuditQuery(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	stamp := func() time.Time { w.clock.Advance(time.Minute); return w.clock.Now() }
	t1 := stamp()
	admStatus(t, w.call(t, admSuper, "POST", "/admin/v1/organizations", `{"name":"tmp"}`), http.StatusCreated)
	t2 := stamp()
	admStatus(t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials, `{"description":"d"}`), http.StatusOK)
	stamp()
	admStatus(t, w.call(t, admGroupAdmin, "PATCH", "/admin/v1/groups/"+admOfficials+"/collections/"+admCollOff, `{"description":"d"}`), http.StatusOK)
	t4 := stamp()
	admStatus(t, w.call(t, admOrgAdmin, "PATCH", "/admin/v1/accounts/"+admPlain, `{"kind":"machine"}`), http.StatusOK)
	stamp()
	admStatus(t, w.call(t, admSuper, "PATCH", "/admin/v1/groups/"+admVendors, `{"description":"v"}`), http.StatusOK)

	query := func(user, params string) []string {
		t.Helper()
		res := admDecode[client.AuditPage](t, w.call(t, user, "GET", "/admin/v1/audit?"+params, ""), http.StatusOK)
		var got []string
		for _, ev := range res.Events {
			got = append(got, ev.Action+" "+ev.Account)
		}
		return got
	}
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	tests := []struct {
		user, params string
		want         []string
	}{
		{admSuper, "since=" + rfc(t1), []string{"admin.organization.create root", "admin.group.update gadmin", "admin.collection.update gadmin", "admin.account.update countyadmin", "admin.group.update root"}},
		{admSuper, "since=" + rfc(t2) + "&until=" + rfc(t4), []string{"admin.group.update gadmin", "admin.collection.update gadmin"}},
		{admSuper, "since=" + rfc(t1) + "&account=" + admGroupAdmin, []string{"admin.group.update gadmin", "admin.collection.update gadmin"}},
		{admSuper, "since=" + rfc(t1) + "&action=admin.group.update", []string{"admin.group.update gadmin", "admin.group.update root"}},
		{admSuper, "since=" + rfc(t1) + "&action=admin.group.", []string{"admin.group.update gadmin", "admin.group.update root"}},
		{admSuper, "since=" + rfc(t1) + "&collection=" + admCollOff, []string{"admin.collection.update gadmin"}},
		{admSuper, "since=" + rfc(t1) + "&limit=2", []string{"admin.organization.create root", "admin.group.update gadmin"}},
		{admSuper, "since=" + rfc(t1.Add(time.Hour)), nil},
		// Scopes: a group admin sees its group's rows, an organization
		// admin its organization's accounts' rows.
		{admGroupAdmin, "since=" + rfc(t1), []string{"admin.group.update gadmin", "admin.collection.update gadmin"}},
		{admOrgAdmin, "since=" + rfc(t1), []string{"admin.account.update countyadmin"}},
		{admOrgAdmin, "action=admin.account.update", []string{"admin.account.update countyadmin"}},
	}
	for _, tt := range tests {
		if got := query(tt.user, tt.params); !slices.Equal(got, tt.want) {
			t.Errorf("%s ?%s: %q, want %q", tt.user, tt.params, got, tt.want)
		}
	}
	admError(t, w.call(t, admPublisher, "GET", "/admin/v1/audit", ""), http.StatusForbidden, "audit log")
	for _, tt := range []struct{ params, want string }{
		{"since=yesterday", "since:"},
		{"until=2024-11-05", "until:"},
		{"limit=0", "limit:"},
		{"limit=10001", "limit:"},
		{"limit=x", "limit:"},
		{"group=officials", "group: unknown parameter"},
		{"account=a&account=b", "account: given 2 times"},
		{"since=" + rfc(t4) + "&until=" + rfc(t2), "until: must be after since"},
	} {
		admError(t, w.call(t, admSuper, "GET", "/admin/v1/audit?"+tt.params, ""), http.StatusBadRequest, tt.want)
	}
}

// Ensure that a scoped audit query pages through many rows that share one
// microsecond without losing or repeating any.
func TestAdmin_AuditQuery_ScopedPaging(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	at := time.Date(2024, 11, 6, 0, 0, 0, 0, time.UTC)
	var evs []store.AuditEvent
	for i := range 3500 {
		g := admVendors
		if i%3 == 0 {
			g = admOfficials
		}
		evs = append(evs, store.AuditEvent{Time: at, Action: "read", Group: g, Detail: fmt.Sprint(i)})
	}
	if err := w.db.AppendAudit(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	since := "since=" + at.Format(time.RFC3339)
	for _, tt := range []struct {
		limit, want int
	}{{10000, 1167}, {1000, 1000}, {5, 5}} {
		res := admDecode[client.AuditPage](t, w.call(t, admGroupAdmin, "GET", fmt.Sprintf("/admin/v1/audit?%s&limit=%d", since, tt.limit), ""), http.StatusOK)
		if len(res.Events) != tt.want {
			t.Errorf("limit %d: %d rows, want %d", tt.limit, len(res.Events), tt.want)
		}
		for i, ev := range res.Events {
			if ev.Group != admOfficials || ev.Detail != fmt.Sprint(3*i) {
				t.Fatalf("limit %d: row %d is %s %s, want officials %d", tt.limit, i, ev.Group, ev.Detail, 3*i)
			}
		}
	}
}

// Ensure that concurrent admin changes each take effect from the next
// request on: a token revoked by one request is refused at once even while
// other changes reload the directory.
func TestAdmin_ConcurrentChanges(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	users := []string{admSuper, admOrgAdmin, admGroupAdmin, admPublisher, admReader, admOutsider, admPlain}
	var wg sync.WaitGroup
	for _, user := range users {
		wg.Go(func() {
			for i := range 5 {
				rec := w.call(t, user, "POST", "/admin/v1/accounts/"+user+"/tokens", fmt.Sprintf(`{"name":"n%d"}`, i))
				if rec.Code != http.StatusCreated {
					t.Errorf("%s: create token: %d %s", user, rec.Code, rec.Body)
					return
				}
				var tok client.NewToken
				if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
					t.Error(err)
					return
				}
				if rec := w.callAuth(t, "Bearer "+tok.Token, "GET", "/admin/v1/me", ""); rec.Code != http.StatusOK {
					t.Errorf("%s: new token refused: %d", user, rec.Code)
				}
				if rec := w.call(t, user, "DELETE", "/admin/v1/accounts/"+user+"/tokens/"+tok.ID, ""); rec.Code != http.StatusNoContent {
					t.Errorf("%s: revoke: %d %s", user, rec.Code, rec.Body)
				}
				if rec := w.callAuth(t, "Bearer "+tok.Token, "GET", "/taxii2/", ""); rec.Code != http.StatusUnauthorized {
					t.Errorf("%s: revoked token answered %d", user, rec.Code)
				}
			}
		})
	}
	wg.Wait()
	n := 0
	for _, ev := range w.adminEvents(t) {
		if strings.HasPrefix(ev.Action, "admin.token.") {
			n++
		}
	}
	if want := 2 * 5 * len(users); n != want {
		t.Errorf("%d token audit rows, want %d", n, want)
	}
}

// Ensure that DELETE /admin/v1/accounts/{name}/tokens revokes every token
// of the account at once (issue 9: a token made before a password change
// keeps working, and ending them one by one is easy to get wrong), says how
// many it revoked, writes one audit row per token, leaves the password and
// other accounts' tokens working, and follows the rules of who manages
// which account's tokens.
func TestAdmin_RevokeAllTokens(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	base := "/admin/v1/accounts/" + admPublisher + "/tokens"
	var made []client.NewToken
	for _, name := range []string{"feed one", "feed two"} {
		made = append(made, admDecode[client.NewToken](t, w.call(t, admPublisher, "POST", base, `{"name":"`+name+`"}`), http.StatusCreated))
	}
	other := admDecode[client.NewToken](t, w.call(t, admSuper, "POST", "/admin/v1/accounts/"+admReader+"/tokens", `{"name":"r"}`), http.StatusCreated)

	admError(t, w.call(t, admReader, "DELETE", base, ""), http.StatusNotFound, "")
	admStatus(t, w.call(t, admSuper, "POST", "/admin/v1/accounts", `{"name":"boss","organization":"county","superadmin":true}`), http.StatusCreated)
	admError(t, w.call(t, admOrgAdmin, "DELETE", "/admin/v1/accounts/boss/tokens", ""), http.StatusForbidden, "superadmin account")

	before := len(w.adminEvents(t))
	type revokedJSON struct {
		Revoked int `json:"revoked"`
	}
	// The configured token and the two new ones.
	if got := admDecode[revokedJSON](t, w.call(t, admOrgAdmin, "DELETE", base, ""), http.StatusOK); got.Revoked != 3 {
		t.Errorf("revoked %d, want 3", got.Revoked)
	}
	if n := len(w.adminEvents(t)) - before; n != 3 {
		t.Errorf("%d audit rows, want one per token (3)", n)
	}
	for _, tok := range append(made, client.NewToken{Token: admToken(admPublisher)}) {
		admError(t, w.callAuth(t, "Bearer "+tok.Token, "GET", "/taxii2/", ""), http.StatusUnauthorized, "")
	}
	admStatus(t, w.callAuth(t, admBasic(admPublisher, admPassword(admPublisher)), "GET", "/taxii2/", ""), http.StatusOK)
	admStatus(t, w.callAuth(t, "Bearer "+other.Token, "GET", "/taxii2/", ""), http.StatusOK)
	// Again: nothing left to revoke, no audit row.
	before = len(w.adminEvents(t))
	if got := admDecode[revokedJSON](t, w.call(t, admSuper, "DELETE", base, ""), http.StatusOK); got.Revoked != 0 {
		t.Errorf("second revoke-all revoked %d", got.Revoked)
	}
	if len(w.adminEvents(t)) != before {
		t.Error("revoking nothing wrote an audit row")
	}
	for _, l := range admDecode[client.TokenList](t, w.call(t, admSuper, "GET", base, ""), http.StatusOK).Tokens {
		if !l.Revoked {
			t.Errorf("token %s (%s) is not revoked", l.ID, l.Name)
		}
	}
}

// Ensure that every id the server makes (the STIX identities of new
// organizations and groups, collection ids, token ids) comes from the
// injected generator (issue 10, item 7), in the order they are made.
func TestAdmin_InjectedIDs(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	org := admDecode[client.Organization](t, w.call(t, admSuper, "POST", "/admin/v1/organizations", `{"name":"ids-org","title":"Ids"}`), http.StatusCreated)
	grp := admDecode[client.Group](t, w.call(t, admSuper, "POST", "/admin/v1/groups", `{"name":"ids-group","title":"Ids"}`), http.StatusCreated)
	coll := admDecode[client.Collection](t, w.call(t, admSuper, "POST", "/admin/v1/groups/ids-group/collections", `{"title":"Ids"}`), http.StatusCreated)
	tok := admDecode[client.NewToken](t, w.call(t, admSuper, "POST", "/admin/v1/accounts/"+admSuper+"/tokens", `{"name":"ids"}`), http.StatusCreated)
	ids := []string{strings.TrimPrefix(org.IdentityID, "identity--"), strings.TrimPrefix(grp.IdentityID, "identity--"), coll.ID, tok.ID}
	var last uint64
	for i, id := range ids {
		n, err := strconv.ParseUint(strings.TrimPrefix(id, "00000000-0000-4000-8000-"), 16, 64)
		if err != nil || !strings.HasPrefix(id, "00000000-0000-4000-8000-") || n <= last {
			t.Errorf("id %d is %q, not the generator's next", i, id)
		}
		last = n
	}
}

// Ensure that the configuration file cannot take over what the admin API
// made: an account whose certificate is already registered to another
// account, or a collection with an alias another collection of the group
// has, is refused at start with a message naming both, and nothing of
// that configuration is stored.
func TestBootstrap_RefusesCollisionsWithTheStore(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	fp := strings.Repeat("ab", 32)
	admDecode[client.Account](t, w.call(t, admSuper, "PATCH", "/admin/v1/accounts/"+admPlain, `{"certificates":["`+fp+`"]}`), http.StatusOK)
	w.close(t)
	v := mustValidator(t)
	for _, tt := range []struct {
		name string
		opts taxii.Options
		want string
	}{
		{"certificate", taxii.Options{Discovery: taxii.Discovery{Title: "x"},
			Accounts: []taxii.Account{{Name: "zed", Certificates: []string{strings.ToUpper(fp)}}}},
			"accounts: zed: certificate " + strings.ToUpper(fp) + " is already registered to account " + admPlain},
		{"alias", taxii.Options{Discovery: taxii.Discovery{Title: "x"},
			Groups: []taxii.Group{{Name: admOfficials, Title: "Election officials",
				Collections: []taxii.Collection{{ID: "0b4c1f38-9d2e-4a57-8f6b-3c2d1e0f9a8b", Title: "Other", Alias: "indicators"}}}}},
			`collection 0b4c1f38-9d2e-4a57-8f6b-3c2d1e0f9a8b: alias "indicators" is already the alias of collection ` + admCollOff},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			srv, err := taxii.NewServer(context.Background(), tt.opts, w.db, v)
			if err == nil {
				srv.Close()
				t.Fatal("NewServer accepted the collision")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to say %q", err, tt.want)
			}
		})
	}
	d, err := w.db.LoadDirectory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range d.Accounts {
		if a.Name == "zed" {
			t.Error("account zed was stored")
		}
	}
	if len(d.Collections) != 2 {
		t.Errorf("%d collections stored, want the 2 of before", len(d.Collections))
	}
}
