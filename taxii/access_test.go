package taxii_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/storetest"
	"github.com/eitaxii/eitaxii/taxii"
)

// The sharing-group tests (access, policy, audit, rate limit) share the
// helpers of this file, all named sg…: a server over a real bbolt file
// whose directory is set up through taxii.Options (the bootstrap) and, for
// what Options cannot express (a revoked or expired token, a disabled
// account), through store.Store.ChangeDirectory followed by a fresh
// taxii.NewServer on the same store.

// sgStart is where every sharing-group clock starts.
var sgStart = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// sgPassword is the password of account name.
func sgPassword(name string) string { return name + "-Secret-Pw-7" }

// sgToken is the API token of account name.
func sgToken(name string) string { return "eit_tok_" + name + "_9f2c" }

func sgBasic(name, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+pass))
}

func sgBearer(tok string) string { return "Bearer " + tok }

// sgAccount is an account of org with a password and a token (sgPassword,
// sgToken).
func sgAccount(name, org string) taxii.Account {
	return taxii.Account{Name: name, Organization: org, PasswordHash: passwordHash(sgPassword(name)), TokenHashes: []string{tokenHash(sgToken(name))}}
}

// sgCollID returns a distinct lowercase UUIDv4 for n.
func sgCollID(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", 0xc0110000+n, n) }

// sgWorld is a taxii.Server over a real bbolt file in t.TempDir().
type sgWorld struct {
	db    store.Store
	opts  taxii.Options
	clock *storetest.Clock
	srv   *taxii.Server
}

// newSGWorld opens a store and starts a server with opts. Options.Now, if
// unset, and the store's clock are w.clock; Options.Logger discards.
func newSGWorld(t *testing.T, opts taxii.Options) *sgWorld {
	t.Helper()
	clock := storetest.NewClock(sgStart)
	db := openStore(t, "", bolt.Options{Now: clock.Now})
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.LoginLimit == (taxii.LoginLimit{}) {
		// The tables send more wrong passwords from one address, on a
		// clock that stands still, than the limits allow; the limits
		// have tests of their own (login_test.go).
		opts.LoginLimit = taxii.LoginLimit{PerAddress: -1, PerAccount: -1}
	}
	w := &sgWorld{db: db, opts: opts, clock: clock}
	w.start(t)
	t.Cleanup(func() { w.stop(t) }) // before the store's Close
	return w
}

func (w *sgWorld) start(t testing.TB) {
	t.Helper()
	w.srv = mustNewServer(t, w.opts, w.db)
}

// stop closes the server, which flushes the audit rows still queued.
func (w *sgWorld) stop(t testing.TB) {
	t.Helper()
	if w.srv != nil {
		if err := w.srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
		w.srv = nil
	}
}

// change changes the store's directory and starts a fresh server on the
// same store, as an admin change followed by a restart would.
func (w *sgWorld) change(t testing.TB, fn func(store.DirectoryTx) error) {
	t.Helper()
	if err := w.db.ChangeDirectory(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
	w.stop(t)
	w.start(t)
}

// directory returns the store's directory.
func (w *sgWorld) directory(t testing.TB) *store.Directory {
	t.Helper()
	d, err := w.db.LoadDirectory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// audit flushes the audit rows queued so far (by closing the server and
// starting another on the same store) and returns those q selects.
func (w *sgWorld) audit(t testing.TB, q store.AuditQuery) []store.AuditEvent {
	t.Helper()
	w.stop(t)
	rows, err := w.db.FindAudit(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	w.start(t)
	return rows
}

// req sends one request with the given Authorization ("" for none).
func (w *sgWorld) req(t testing.TB, method, target, body, auth string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, w.srv, method, target, body, "Authorization", auth, "Accept", mediaTAXII, "Content-Type", mediaTAXII)
}

// publish posts objs to target as auth and returns the status; anything
// but a 202 fails the test.
func (w *sgWorld) publish(t testing.TB, auth, target string, objs ...string) client.Status {
	t.Helper()
	rec := w.req(t, http.MethodPost, target, envelope(objs...), auth)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST %s: %d %s", target, rec.Code, rec.Body)
	}
	return decodeStrict[client.Status](t, rec.Body.Bytes())
}

// fetch GETs target as auth, requires a 200 and decodes the envelope.
func (w *sgWorld) fetch(t testing.TB, auth, target string) []json.RawMessage {
	t.Helper()
	rec := w.req(t, http.MethodGet, target, "", auth)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
	}
	return decodeStrict[client.Envelope](t, rec.Body.Bytes()).Objects
}

// sgObject is an indicator with id and extra JSON members appended
// (",\"k\":v…" or "").
func sgObject(id, extra string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"Suspicious resolver","pattern":"[ipv4-addr:value = '203.0.113.9']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"%s}`, id, extra)
}

// sgID returns a distinct STIX id of type typ for n.
func sgID(typ string, n int) string { return fmt.Sprintf("%s--%08x-1111-4000-8000-%012x", typ, n, n) }

// The access matrix's directory: two organizations and two sharing
// groups. Every name, title and alias of the target group is distinctive,
// so that finding it in a response cannot be a coincidence.
const (
	accRoot        = "ballot-officials"
	accTitle       = "Ballot Officials Closed Circle"
	accDescription = "Precinct-level reporting among ballot officials"
	accOtherRoot   = "vendor-room"

	accReader    = "rd-ann"
	accPublisher = "pub-bo"
	accAdmin     = "adm-cy"
	accRevoked   = "tok-revoked-dee"
	accExpired   = "tok-expired-eve"
	accDisabled  = "disabled-fay"
	accOutsider  = "vendor-gus"
	accSuper     = "operator-hal"
	accSpare     = "spare-ivy"
)

var (
	accColl      = sgCollID(1) // alias accAlias
	accSubmit    = sgCollID(2) // submissions: write_role reader, read_role admin
	accOtherColl = sgCollID(3) // in vendor-room
)

const (
	accCollTitle   = "Precinct Tabulator Indicators"
	accAlias       = "precinct-tabulator-iocs"
	accSubmitTitle = "Anonymous Tip Dropbox"
	accSubmitAlias = "tip-dropbox-intake"
)

func accessOptions() taxii.Options {
	return taxii.Options{
		Discovery: taxii.Discovery{Title: "Election ISAC", Default: accRoot},
		Organizations: []taxii.Organization{
			{Name: "county-clerks", Title: "County Clerks Association"},
			{Name: "ballot-vendor", Title: "Ballot Vendor Inc"},
			{Name: "isac-ops", Title: "ISAC operations"},
		},
		Accounts: []taxii.Account{
			sgAccount(accReader, "county-clerks"),
			sgAccount(accPublisher, "county-clerks"),
			sgAccount(accAdmin, "county-clerks"),
			sgAccount(accRevoked, "county-clerks"),
			sgAccount(accExpired, "county-clerks"),
			sgAccount(accDisabled, "county-clerks"),
			sgAccount(accOutsider, "ballot-vendor"),
			sgAccount(accSpare, "county-clerks"), // in no group; the admin matrix makes it a member
			func() taxii.Account { a := sgAccount(accSuper, "isac-ops"); a.Superadmin = true; return a }(),
		},
		Groups: []taxii.Group{
			{
				Name: accRoot, Title: accTitle, Description: accDescription,
				Members: map[string]taxii.Role{
					accReader: taxii.RoleReader, accPublisher: taxii.RolePublisher, accAdmin: taxii.RoleAdmin,
					// Publishers whose credentials are about to stop working.
					accRevoked: taxii.RolePublisher, accExpired: taxii.RolePublisher, accDisabled: taxii.RolePublisher,
				},
				Collections: []taxii.Collection{
					{ID: accColl, Title: accCollTitle, Description: "Indicators seen on tabulators", Alias: accAlias},
					{ID: accSubmit, Title: accSubmitTitle, Alias: accSubmitAlias,
						Policy: access.PolicySpec{WriteRole: access.RoleReader, ReadRole: access.RoleAdmin}},
				},
			},
			{
				Name: accOtherRoot, Title: "Vendor room",
				Members:     map[string]taxii.Role{accOutsider: taxii.RolePublisher},
				Collections: []taxii.Collection{{ID: accOtherColl, Title: "Vendor feed"}},
			},
		},
	}
}

// newAccessWorld builds the matrix's server, checks that the credentials
// about to be broken work, then revokes one token, expires another and
// disables an account through the store, and restarts.
func newAccessWorld(t *testing.T) *sgWorld {
	t.Helper()
	w := newSGWorld(t, accessOptions())
	for _, auth := range []string{sgBearer(sgToken(accRevoked)), sgBearer(sgToken(accExpired)), sgBasic(accDisabled, sgPassword(accDisabled))} {
		if rec := w.req(t, http.MethodGet, "/"+accRoot+"/", "", auth); rec.Code != http.StatusOK {
			t.Fatalf("before the change, %q: %d %s", auth, rec.Code, rec.Body)
		}
	}
	w.change(t, func(tx store.DirectoryTx) error {
		for name, edit := range map[string]func(*store.Token){
			accRevoked: func(tok *store.Token) { tok.Revoked = true },
			accExpired: func(tok *store.Token) { tok.Expires = sgStart.Add(-time.Minute) },
		} {
			toks, err := tx.Tokens(name)
			if err != nil {
				return err
			}
			if len(toks) != 1 {
				return fmt.Errorf("%s has %d tokens, want 1", name, len(toks))
			}
			edit(&toks[0])
			if err := tx.UpdateToken(&toks[0]); err != nil {
				return err
			}
		}
		a, err := tx.Account(accDisabled)
		if err != nil {
			return err
		}
		a.Disabled = true
		return tx.UpdateAccount(a)
	})
	// Revocation and expiry are per token; disabling is per account, every
	// credential.
	for auth, want := range map[string]int{
		sgBasic(accRevoked, sgPassword(accRevoked)): http.StatusOK,
		sgBasic(accExpired, sgPassword(accExpired)): http.StatusOK,
		sgBearer(sgToken(accDisabled)):              http.StatusUnauthorized,
	} {
		if rec := w.req(t, http.MethodGet, "/"+accRoot+"/", "", auth); rec.Code != want {
			t.Fatalf("after the change, %q: %d, want %d; %s", auth, rec.Code, want, rec.Body)
		}
	}
	return w
}

// accCaller is one row of the matrix: who calls, and how.
type accCaller struct {
	name     string
	auth     string
	outsider bool // must learn nothing of ballot-officials
}

func accCallers() []accCaller {
	return []accCaller{
		{"no credentials", "", true},
		{"wrong password", sgBasic(accReader, "not-"+sgPassword(accReader)), true},
		{"revoked token", sgBearer(sgToken(accRevoked)), true},
		{"expired token", sgBearer(sgToken(accExpired)), true},
		{"disabled account", sgBasic(accDisabled, sgPassword(accDisabled)), true},
		{"member of another group", sgBasic(accOutsider, sgPassword(accOutsider)), true},
		{"reader", sgBasic(accReader, sgPassword(accReader)), false},
		{"publisher", sgBearer(sgToken(accPublisher)), false},
		{"group admin", sgBasic(accAdmin, sgPassword(accAdmin)), false},
		{"superadmin", sgBasic(accSuper, sgPassword(accSuper)), true},
	}
}

// The matrix's columns, in the order of the rows' want arrays.
var accEndpoints = [...]string{"discovery", "api root", "status", "collections", "collection", "manifest",
	"get objects", "add objects", "get object", "delete object", "versions"}

// accMatrix is the expected status of every TAXII endpoint (columns as in
// accEndpoints) for every caller.
//
// Decision: a superadmin who is not a member of a group sees nothing of it
// on TAXII, exactly like any other non-member (REQ-26). Superadmin is an
// administrative power, exercised through /admin/v1/ and audited there;
// reading a group's intelligence takes membership, which a superadmin can
// grant itself, and that grant is an audited admin change. Discovery
// answers 200 with no API roots.
var accMatrix = map[string][len(accEndpoints)]int{
	//                         disc apiroot status colls coll manif objs add  obj  del  vers
	"no credentials":          {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"wrong password":          {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"revoked token":           {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"expired token":           {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"disabled account":        {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"member of another group": {200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404},
	"reader":                  {200, 200, 200, 200, 200, 200, 200, 403, 200, 403, 200},
	"publisher":               {200, 200, 200, 200, 200, 200, 200, 202, 200, 200, 200},
	"group admin":             {200, 200, 200, 200, 200, 200, 200, 202, 200, 200, 200},
	"superadmin":              {200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404},
}

// accRequest is one request of a matrix column.
type accRequest struct{ method, target, body string }

// accCells checks one matrix row: the status of each request, that a
// refusal is a TAXII error resource and a 404 the same as for a path that
// does not exist (REQ-26), and, when the caller is an outsider, that no
// body or header holds a secret. It records in seen the secrets a
// non-outsider was shown.
type accCells struct {
	w        *sgWorld
	secrets  []string
	seen     map[string]bool
	notFound map[string]string // caller -> body of a 404 for a root that does not exist
}

func newAccCells(t *testing.T, w *sgWorld, secrets []string) *accCells {
	a := &accCells{w: w, secrets: secrets, seen: map[string]bool{}, notFound: map[string]string{}}
	for _, c := range accCallers() {
		a.notFound[c.name] = w.req(t, http.MethodGet, "/no-such-root/collections/", "", c.auth).Body.String()
	}
	return a
}

func (a *accCells) check(t *testing.T, c accCaller, outsider bool, names []string, reqs []accRequest, want []int, okType string) {
	t.Helper()
	if len(reqs) != len(want) || len(names) != len(want) {
		t.Fatalf("row %q: %d requests, %d names, %d statuses", c.name, len(reqs), len(names), len(want))
	}
	for j, r := range reqs {
		t.Run(c.name+"/"+names[j], func(t *testing.T) {
			// Requests carry the media type of the responses they expect.
			rec := do(t, a.w.srv, r.method, r.target, r.body, "Authorization", c.auth, "Accept", okType, "Content-Type", okType)
			if rec.Code != want[j] {
				t.Fatalf("%s %s: status %d, want %d; body %s", r.method, r.target, rec.Code, want[j], rec.Body)
			}
			switch ct := rec.Header().Get("Content-Type"); {
			case rec.Code >= 400:
				checkErrorResource(t, rec.Code, rec.Header(), rec.Body.Bytes())
			case rec.Code != http.StatusNoContent && ct != okType:
				t.Errorf("Content-Type %q, want %q", ct, okType)
			}
			if rec.Code == http.StatusNotFound && rec.Body.String() != a.notFound[c.name] {
				t.Errorf("a hidden resource answers unlike a missing one (REQ-26):\nhidden:  %s\nmissing: %s", rec.Body, a.notFound[c.name])
			}
			text := rec.Body.String()
			for k, vs := range rec.Header() {
				text += "\n" + k + ": " + strings.Join(vs, ", ")
			}
			for _, s := range a.secrets {
				if !strings.Contains(text, s) {
					continue
				}
				if outsider {
					t.Errorf("response to an outsider contains %q:\n%s", s, text)
				}
				a.seen[s] = true
			}
		})
	}
}

// checkSeen makes sure the leak check can fail: members were shown each of
// the secrets that outsiders were not.
func (a *accCells) checkSeen(t *testing.T, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if !a.seen[s] {
			t.Errorf("no member was ever shown %q: the leak check would not notice it", s)
		}
	}
}

// accSecrets returns what an outsider must never see of ballot-officials:
// its name, title, description, collections' ids, titles and aliases, its
// STIX identity, and the given object and status ids.
func accSecrets(t *testing.T, w *sgWorld, ids ...string) []string {
	secrets := append([]string{accRoot, accTitle, accDescription, accColl, accCollTitle, accAlias,
		accSubmit, accSubmitTitle, accSubmitAlias}, ids...)
	for _, g := range w.directory(t).Groups {
		if g.Name == accRoot {
			secrets = append(secrets, g.IdentityID)
		}
	}
	return secrets
}

// Ensure that every TAXII endpoint answers every kind of caller with the
// status of the matrix, that a refusal is a TAXII error resource, and that
// nothing an outsider receives (body or header) names the group's API
// root, title, collections, aliases, objects or statuses (REQ-06, REQ-26,
// REQ-79).
func TestAccess_Matrix(t *testing.T) {
	w := newAccessWorld(t)
	pub := sgBearer(sgToken(accPublisher))

	// keep is read by every row; each row deletes its own object, so that
	// a 200 for one row cannot turn the next row's 200 into a 404.
	keep := sgID("indicator", 1)
	objs := []string{sgObject(keep, "")}
	callers := accCallers()
	for i := range callers {
		objs = append(objs, sgObject(sgID("indicator", 100+i), ""))
	}
	st := w.publish(t, pub, "/"+accRoot+"/collections/"+accColl+"/objects/", objs...)
	if st.SuccessCount != len(objs) {
		t.Fatalf("seed: %+v", st)
	}
	tip := w.publish(t, sgBasic(accReader, sgPassword(accReader)), "/"+accRoot+"/collections/"+accSubmit+"/objects/", sgObject(sgID("indicator", 2), ""))

	ids := []string{st.ID, tip.ID, keep, sgID("indicator", 2)}
	for i := range callers {
		ids = append(ids, sgID("indicator", 100+i))
	}
	cells := newAccCells(t, w, accSecrets(t, w, ids...))

	root := "/" + accRoot + "/"
	coll := root + "collections/" + accColl + "/"
	for i, c := range callers {
		want, ok := accMatrix[c.name]
		if !ok {
			t.Fatalf("no matrix row for %q", c.name)
		}
		cells.check(t, c, c.outsider, accEndpoints[:], []accRequest{
			{http.MethodGet, "/taxii2/", ""},
			{http.MethodGet, root, ""},
			{http.MethodGet, root + "status/" + st.ID + "/", ""},
			{http.MethodGet, root + "collections/", ""},
			{http.MethodGet, coll, ""},
			{http.MethodGet, coll + "manifest/", ""},
			{http.MethodGet, coll + "objects/", ""},
			{http.MethodPost, coll + "objects/", envelope(sgObject(sgID("indicator", 200+i), ""))},
			{http.MethodGet, coll + "objects/" + keep + "/", ""},
			{http.MethodDelete, coll + "objects/" + sgID("indicator", 100+i) + "/", ""},
			{http.MethodGet, coll + "objects/" + keep + "/versions/", ""},
		}, want[:], mediaTAXII)
	}
	cells.checkSeen(t, accRoot, accTitle, accDescription, accColl, accCollTitle, accAlias, accSubmit, accSubmitTitle, accSubmitAlias, st.ID, keep)

	// What the refused rows tried changed nothing: only the publisher's and
	// the admin's objects were deleted, only theirs were added.
	var got []string
	for _, o := range w.fetch(t, pub, coll+"objects/") {
		var h struct{ ID string }
		json.Unmarshal(o, &h)
		got = append(got, h.ID)
	}
	slices.Sort(got)
	wantIDs := []string{keep}
	for i, c := range callers {
		if accMatrix[c.name][7] != http.StatusAccepted {
			wantIDs = append(wantIDs, sgID("indicator", 100+i))
		} else {
			wantIDs = append(wantIDs, sgID("indicator", 200+i))
		}
	}
	slices.Sort(wantIDs)
	if !slices.Equal(got, wantIDs) {
		t.Errorf("collection holds\n%q\nwant\n%q", got, wantIDs)
	}
}

// The admin matrix's columns (docs/admin-api.md), in the order of
// accAdminMatrix's arrays. Every request names ballot-officials, its
// organization county-clerks, or the reader's own account.
var accAdminEndpoints = [...]string{"me", "list organizations", "get organization", "list accounts", "get account",
	"list reader's tokens", "create reader's token", "list groups", "get group", "update group", "list collections",
	"get collection", "put member", "create group", "audit"}

// accAdminMatrix is the expected status of every admin endpoint for every
// caller: 403 for an endpoint the caller may never use, 404 for a resource
// outside its scope (another organization, a group it is not in).
var accAdminMatrix = map[string][len(accAdminEndpoints)]int{
	//                         me   orgs org  accts acct rtoks +rtok grps grp  upd  colls coll member +grp audit
	"no credentials":          {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"wrong password":          {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"revoked token":           {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"expired token":           {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"disabled account":        {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	"member of another group": {200, 403, 404, 403, 403, 404, 404, 200, 404, 404, 404, 404, 404, 403, 403},
	"reader":                  {200, 403, 200, 403, 403, 200, 201, 200, 403, 403, 403, 403, 403, 403, 403},
	"publisher":               {200, 403, 200, 403, 403, 404, 404, 200, 403, 403, 403, 403, 403, 403, 403},
	"group admin":             {200, 403, 200, 403, 403, 404, 404, 200, 200, 200, 200, 200, 200, 403, 200},
	"superadmin":              {200, 200, 200, 200, 200, 200, 201, 200, 200, 200, 200, 200, 200, 201, 200},
}

// Ensure that every admin endpoint answers every kind of caller with the
// status of the matrix and that nothing the admin API tells a member of
// another group, or an unauthenticated caller, names ballot-officials.
func TestAccess_AdminMatrix(t *testing.T) {
	w := newAccessWorld(t)
	st := w.publish(t, sgBearer(sgToken(accPublisher)), "/"+accRoot+"/collections/"+accColl+"/objects/", sgObject(sgID("indicator", 1), ""))
	// The group admin's audit rows name the group's objects: read them once.
	w.fetch(t, sgBasic(accReader, sgPassword(accReader)), "/"+accRoot+"/collections/"+accColl+"/objects/")
	cells := newAccCells(t, w, accSecrets(t, w, st.ID, sgID("indicator", 1)))

	const v1 = "/admin/v1/"
	group := v1 + "groups/" + accRoot
	for i, c := range accCallers() {
		want, ok := accAdminMatrix[c.name]
		if !ok {
			t.Fatalf("no admin matrix row for %q", c.name)
		}
		// For the admin API a superadmin is no outsider.
		outsider := c.outsider && c.name != "superadmin"
		cells.check(t, c, outsider, accAdminEndpoints[:], []accRequest{
			{http.MethodGet, v1 + "me", ""},
			{http.MethodGet, v1 + "organizations", ""},
			{http.MethodGet, v1 + "organizations/county-clerks", ""},
			{http.MethodGet, v1 + "accounts", ""},
			{http.MethodGet, v1 + "accounts/" + accPublisher, ""},
			{http.MethodGet, v1 + "accounts/" + accReader + "/tokens", ""},
			{http.MethodPost, v1 + "accounts/" + accReader + "/tokens", `{"name":"matrix ` + strconv.Itoa(i) + `"}`},
			{http.MethodGet, v1 + "groups", ""},
			{http.MethodGet, group, ""},
			{http.MethodPatch, group, `{"title":"` + accTitle + `"}`},
			{http.MethodGet, group + "/collections", ""},
			{http.MethodGet, group + "/collections/" + accColl, ""},
			{http.MethodPut, group + "/members/" + accSpare, `{"role":"reader"}`},
			{http.MethodPost, v1 + "groups", `{"name":"made-by-row-` + strconv.Itoa(i) + `","title":"Made by the matrix"}`},
			{http.MethodGet, v1 + "audit", ""},
		}, want[:], "application/json")
	}
	cells.checkSeen(t, accRoot, accTitle, accDescription, accColl, accCollTitle, accAlias, accSubmit, st.ID)

	// Only the superadmin created a group; only the reader and the
	// superadmin a token of the reader's; refused changes left no trace.
	d := w.directory(t)
	var groups []string
	for _, g := range d.Groups {
		groups = append(groups, g.Name)
	}
	if want := []string{accRoot, "made-by-row-9", accOtherRoot}; !slices.Equal(groups, want) {
		t.Errorf("groups %q, want %q", groups, want)
	}
	var tokens []string
	for _, tok := range d.Tokens {
		if tok.Account == accReader {
			tokens = append(tokens, tok.Name)
		}
	}
	slices.Sort(tokens)
	if want := []string{"configuration file", "matrix 6", "matrix 9"}; !slices.Equal(tokens, want) {
		t.Errorf("reader's tokens %q, want %q", tokens, want)
	}
	var changes []string
	for _, ev := range w.audit(t, store.AuditQuery{Action: "admin."}) {
		changes = append(changes, ev.Action+" by "+ev.Account)
	}
	want := []string{"admin.bootstrap by ",
		"admin.token.create by " + accReader, "admin.group.update by " + accAdmin, "admin.member.create by " + accAdmin,
		"admin.token.create by " + accSuper, "admin.group.update by " + accSuper, "admin.member.update by " + accSuper, "admin.group.create by " + accSuper}
	if !slices.Equal(changes, want) {
		t.Errorf("admin changes\n%q\nwant\n%q", changes, want)
	}
}

// Ensure that discovery shows each caller the API roots of its own groups
// only, and names the default root only to its members.
func TestAccess_Discovery(t *testing.T) {
	w := newAccessWorld(t)
	for _, tt := range []struct {
		auth        string
		wantRoots   []string
		wantDefault string
	}{
		{sgBasic(accReader, sgPassword(accReader)), []string{"/" + accRoot + "/"}, "/" + accRoot + "/"},
		{sgBasic(accOutsider, sgPassword(accOutsider)), []string{"/" + accOtherRoot + "/"}, ""},
		{sgBasic(accSuper, sgPassword(accSuper)), nil, ""},
	} {
		rec := w.req(t, http.MethodGet, "/taxii2/", "", tt.auth)
		checkOK(t, rec, http.StatusOK)
		d := decodeStrict[client.Discovery](t, rec.Body.Bytes())
		if !slices.Equal(d.APIRoots, tt.wantRoots) || d.Default != tt.wantDefault {
			t.Errorf("%s: api_roots %q default %q, want %q %q", tt.auth, d.APIRoots, d.Default, tt.wantRoots, tt.wantDefault)
		}
	}
}

// Ensure that a submissions collection (write_role reader, read_role
// admin) takes objects from readers and publishers, who may not read it
// back (403: REQ-58, REQ-64, REQ-77, and REQ-79 for DELETE), while group
// admins read and delete; and
// that can_read/can_write say so (REQ-51).
func TestAccess_SubmissionsCollection(t *testing.T) {
	w := newAccessWorld(t)
	coll := "/" + accRoot + "/collections/" + accSubmit + "/"
	tests := []struct {
		name, auth         string
		canRead, canWrite  bool
		post, read, delete int
	}{
		{"reader", sgBasic(accReader, sgPassword(accReader)), false, true, 202, 403, 403},
		{"publisher", sgBasic(accPublisher, sgPassword(accPublisher)), false, true, 202, 403, 403},
		{"group admin", sgBasic(accAdmin, sgPassword(accAdmin)), true, true, 202, 200, 200},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := sgID("indicator", 300+i)
			rec := w.req(t, http.MethodPost, coll+"objects/", envelope(sgObject(id, "")), tt.auth)
			if rec.Code != tt.post {
				t.Fatalf("POST: %d %s", rec.Code, rec.Body)
			}
			if st := decodeStrict[client.Status](t, rec.Body.Bytes()); st.SuccessCount != 1 {
				t.Fatalf("POST: %+v", st)
			}

			rec = w.req(t, http.MethodGet, coll, "", tt.auth)
			checkOK(t, rec, http.StatusOK)
			c := decodeStrict[client.CollectionResource](t, rec.Body.Bytes())
			if c.CanRead != tt.canRead || c.CanWrite != tt.canWrite {
				t.Errorf("can_read %v can_write %v, want %v %v", c.CanRead, c.CanWrite, tt.canRead, tt.canWrite)
			}
			rec = w.req(t, http.MethodGet, "/"+accRoot+"/collections/", "", tt.auth)
			if !strings.Contains(rec.Body.String(), accSubmit) {
				t.Errorf("collections list hides the submissions collection from a writer: %s", rec.Body)
			}

			for _, target := range []string{coll + "objects/", coll + "manifest/", coll + "objects/" + id + "/", coll + "objects/" + id + "/versions/"} {
				rec := w.req(t, http.MethodGet, target, "", tt.auth)
				if rec.Code != tt.read {
					t.Errorf("GET %s: %d, want %d; %s", target, rec.Code, tt.read, rec.Body)
					continue
				}
				if rec.Code == http.StatusForbidden {
					checkErrorResource(t, rec.Code, rec.Header(), rec.Body.Bytes())
					if strings.Contains(rec.Body.String(), "indicator--") {
						t.Errorf("403 names an object: %s", rec.Body)
					}
				}
			}
			rec = w.req(t, http.MethodDelete, coll+"objects/"+id+"/", "", tt.auth)
			if rec.Code != tt.delete {
				t.Errorf("DELETE: %d, want %d; %s", rec.Code, tt.delete, rec.Body)
			}
		})
	}
	// The admin sees what readers and publishers submitted (the admin
	// deleted its own).
	admin := sgBasic(accAdmin, sgPassword(accAdmin))
	got := objectKeys(t, w.fetch(t, admin, coll+"objects/"))
	want := []string{sgID("indicator", 300) + "@2024-01-01T00:00:00.000Z", sgID("indicator", 301) + "@2024-01-01T00:00:00.000Z"}
	if !slices.Equal(got, want) {
		t.Errorf("admin reads %q, want %q", got, want)
	}
}

// Ensure that a status is seen by its publisher and by those who may read
// its collection, and by no other member: in a submissions collection
// another reader gets the 404 of a status that does not exist (REQ-43,
// REQ-26), while the group admin, who reads the collection, sees it.
func TestAccess_StatusVisibility(t *testing.T) {
	w := newAccessWorld(t)
	coll := "/" + accRoot + "/collections/" + accSubmit + "/objects/"
	st := w.publish(t, sgBasic(accReader, sgPassword(accReader)), coll, sgObject(sgID("indicator", 400), ""))
	target := "/" + accRoot + "/status/" + st.ID + "/"
	missing := w.req(t, http.MethodGet, "/"+accRoot+"/status/"+sgCollID(99)+"/", "", sgBasic(accPublisher, sgPassword(accPublisher)))
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"publisher of the status", sgBasic(accReader, sgPassword(accReader)), http.StatusOK},
		{"another member who cannot read the collection", sgBasic(accPublisher, sgPassword(accPublisher)), http.StatusNotFound},
		{"group admin", sgBasic(accAdmin, sgPassword(accAdmin)), http.StatusOK},
	} {
		rec := w.req(t, http.MethodGet, target, "", tt.auth)
		if rec.Code != tt.want {
			t.Errorf("%s: %d, want %d; %s", tt.name, rec.Code, tt.want, rec.Body)
			continue
		}
		if rec.Code == http.StatusNotFound && rec.Body.String() != missing.Body.String() {
			t.Errorf("%s: the 404 differs from a missing status's: %s vs %s", tt.name, rec.Body, missing.Body)
		}
		if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), st.ID) {
			t.Errorf("%s: %s", tt.name, rec.Body)
		}
	}
}

// Ensure that in a submissions collection the status tells a member who
// may write but not read nothing about what the collection holds (issue 9):
// a version already stored is reported as a new one would be (no "already
// present", and for an SCO the version this request gives it rather than
// the date it was first added), while the group admin, who reads the
// collection, is told the truth (REQ-67, REQ-107).
func TestAccess_SubmissionsStatusIsBlind(t *testing.T) {
	w := newAccessWorld(t)
	coll := "/" + accRoot + "/collections/" + accSubmit + "/objects/"
	sco := ipv4
	sdo := sgObject(sgID("indicator", 500), "")
	reader, publisher := sgBasic(accReader, sgPassword(accReader)), sgBasic(accPublisher, sgPassword(accPublisher))
	first := w.publish(t, reader, coll, sdo, sco)
	again := w.publish(t, publisher, coll, sdo, sco)
	if first.SuccessCount != 2 || again.SuccessCount != 2 {
		t.Fatalf("statuses: %+v, %+v", first, again)
	}
	for i := range again.Successes {
		if m := again.Successes[i].Message; m != "" {
			t.Errorf("write-only member told %q about %s", m, again.Successes[i].ID)
		}
	}
	if again.Successes[0].Version != first.Successes[0].Version {
		t.Errorf("SDO version %q, want %q", again.Successes[0].Version, first.Successes[0].Version)
	}
	if again.Successes[1].Version == first.Successes[1].Version {
		t.Errorf("SCO version %q is the first date_added: the status tells when it was first added", again.Successes[1].Version)
	}
	// The audit log, read by administrators, keeps the truth: the
	// versions as stored.
	found := false
	for _, r := range w.audit(t, store.AuditQuery{Action: "publish", Account: accPublisher}) {
		if r.StatusID != again.ID {
			continue
		}
		found = true
		if len(r.Objects) != 2 || r.Objects[1].Version != first.Successes[1].Version {
			t.Errorf("audit row of the blind publish lists %+v, want the stored SCO version %s", r.Objects, first.Successes[1].Version)
		}
	}
	if !found {
		t.Errorf("no audit row for status %s", again.ID)
	}
	admin := w.publish(t, sgBasic(accAdmin, sgPassword(accAdmin)), coll, sdo, sco)
	for i, d := range admin.Successes {
		if d.Message != "already present" || d.Version != first.Successes[i].Version {
			t.Errorf("reader of the collection: %+v, want already present at %s", d, first.Successes[i].Version)
		}
	}
	// Nothing was stored twice.
	if got := objectKeys(t, w.fetch(t, sgBasic(accAdmin, sgPassword(accAdmin)), "/"+accRoot+"/collections/"+accSubmit+"/objects/")); len(got) != 2 {
		t.Errorf("collection holds %q, want the two objects once", got)
	}
}
