package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/taxii"
	"golang.org/x/crypto/bcrypt"
)

const (
	rootPassword = "root-password-1"
	collID       = "3f0b8c5e-2d1a-4e7b-9c6f-8a1d2e3f4a5b"
)

// newServer runs a real eitaxii server (temp bbolt file) with one
// superadmin, root, who publishes to the collection collID of group demo,
// and returns its URL.
func newServer(t *testing.T) string {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	v, err := stix.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(rootPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := taxii.NewServer(context.Background(), taxii.Options{
		Discovery: taxii.Discovery{Title: "client test", Default: "demo"},
		Accounts:  []taxii.Account{{Name: "root", Superadmin: true, PasswordHash: string(hash)}},
		Groups: []taxii.Group{{Name: "demo", Title: "Demo", Members: map[string]taxii.Role{"root": taxii.RolePublisher},
			Collections: []taxii.Collection{{ID: collID, Title: "Indicators"}}}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, db, v)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return hs.URL
}

func newClient(t *testing.T, base string) *client.Client {
	t.Helper()
	c, err := client.New(base, client.Options{Username: "root", Password: rootPassword, UserAgent: "client-test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantStatus fails unless err is an *client.Error with status.
func wantStatus(t *testing.T, err error, status int) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("err = %v, want a *client.Error with status %d", err, status)
	}
	return e
}

// Ensure that admin calls create, change and delete resources, that PATCH
// fields given as null remove what they name, and that refusals come back
// as *client.Error with the status and the server's title.
func TestAdmin(t *testing.T) {
	ctx := context.Background()
	base := newServer(t)
	adm := newClient(t, base).Admin()

	var raw []byte
	me, err := adm.Me(ctx, client.KeepBody(&raw))
	if err != nil || me.Account.Name != "root" || !me.Account.Superadmin || me.Groups["demo"] != "publisher" {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	if !bytes.Contains(raw, []byte(`"name":"root"`)) {
		t.Fatalf("KeepBody kept %q", raw)
	}

	org, err := adm.CreateOrganization(ctx, client.OrganizationBody{Name: new("acme"), Title: new("Acme & Co <county>")})
	if err != nil || org.Title != "Acme & Co <county>" || !strings.HasPrefix(org.IdentityID, "identity--") {
		t.Fatalf("CreateOrganization = %+v, %v", org, err)
	}
	_, err = adm.CreateOrganization(ctx, client.OrganizationBody{Name: new("acme")})
	if e := wantStatus(t, err, http.StatusConflict); e.Title != "Conflict" {
		t.Fatalf("duplicate organization: %+v", e)
	}

	acct, err := adm.CreateAccount(ctx, client.AccountBody{Name: new("feed"), Organization: new("acme"), AccountPatch: client.AccountPatch{
		Kind: new("machine"), Password: client.Some("feed-password-1"), RateLimit: client.Some(&client.RateLimit{PerSecond: 5, Burst: 10})}})
	if err != nil || !acct.HasPassword || acct.RateLimit == nil || acct.RateLimit.Burst != 10 || acct.Certificates == nil {
		t.Fatalf("CreateAccount = %+v, %v", acct, err)
	}
	acct, err = adm.UpdateAccount(ctx, "feed", client.AccountPatch{Password: client.Null[string](), RateLimit: client.Null[*client.RateLimit]()})
	if err != nil || acct.HasPassword || acct.RateLimit != nil {
		t.Fatalf("UpdateAccount with nulls = %+v, %v", acct, err)
	}
	// A patch that names nothing is refused by the server, not the client.
	_, err = adm.UpdateAccount(ctx, "feed", client.AccountPatch{})
	if e := wantStatus(t, err, http.StatusBadRequest); !strings.Contains(e.Description, "nothing to change") {
		t.Fatalf("empty patch: %+v", e)
	}

	tok, err := adm.CreateToken(ctx, "feed", client.TokenBody{Name: new("ingest"), ExpiresIn: new("720h")})
	if err != nil || !strings.HasPrefix(tok.Token, "eit_") || tok.Expires.IsZero() {
		t.Fatalf("CreateToken = %+v, %v", tok, err)
	}
	feed, err := client.New(base, client.Options{Token: tok.Token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feed.Admin().Me(ctx); err != nil {
		t.Fatalf("Me with the new token: %v", err)
	}
	if n, err := adm.RevokeAllTokens(ctx, "feed"); err != nil || n != 1 {
		t.Fatalf("RevokeAllTokens = %d, %v", n, err)
	}
	_, err = feed.Admin().Me(ctx)
	wantStatus(t, err, http.StatusUnauthorized)

	g, err := adm.CreateGroup(ctx, client.GroupBody{Name: new("officials"), GroupPatch: client.GroupPatch{Title: new("Officials")}})
	if err != nil || g.Members == nil || len(g.Members) != 0 {
		t.Fatalf("CreateGroup = %+v, %v", g, err)
	}
	if g, err = adm.SetMember(ctx, "officials", "feed", "reader"); err != nil || g.Members["feed"] != "reader" {
		t.Fatalf("SetMember = %+v, %v", g, err)
	}
	_, err = adm.SetMember(ctx, "officials", "feed", "owner")
	wantStatus(t, err, http.StatusBadRequest)

	coll, err := adm.CreateCollection(ctx, "officials", client.CollectionBody{CollectionPatch: client.CollectionPatch{Title: new("Advisories"),
		Policy: &client.Policy{TLPCeiling: "amber", ReadRole: "admin"}}})
	if err != nil || coll.APIRoot != "officials" || coll.Policy.ReadRole != "admin" {
		t.Fatalf("CreateCollection = %+v, %v", coll, err)
	}
	if err := adm.DeleteCollection(ctx, "officials", coll.ID); err != nil {
		t.Fatal(err)
	}
	_, err = adm.Collection(ctx, "officials", coll.ID)
	wantStatus(t, err, http.StatusNotFound)

	evs, err := adm.Audit(ctx, client.AuditQuery{Action: "admin.", Account: "root"})
	if err != nil || len(evs) == 0 || evs[0].Action != "admin.organization.create" {
		t.Fatalf("Audit = %+v, %v", evs, err)
	}

	var buf bytes.Buffer
	if n, err := adm.Backup(ctx, &buf, 0); err != nil || n == 0 || int64(buf.Len()) != n {
		t.Fatalf("Backup = %d, %v (%d bytes)", n, err, buf.Len())
	}
}

// Ensure that objects added through the client come back page by page
// through next, each once, and that the status counts them.
func TestTAXII_AddAndPage(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, newServer(t))

	d, err := c.Discovery(ctx)
	if err != nil || d.Default != "/demo/" {
		t.Fatalf("Discovery = %+v, %v", d, err)
	}
	root, err := c.APIRoot(ctx, d.Default)
	if err != nil || root.Title != "Demo" {
		t.Fatalf("APIRoot = %+v, %v", root, err)
	}
	colls, err := c.Collections(ctx, "demo")
	if err != nil || len(colls) != 1 || colls[0].ID != collID || !colls[0].CanWrite {
		t.Fatalf("Collections = %+v, %v", colls, err)
	}

	const n = 5
	var objs []string
	for i := range n {
		objs = append(objs, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b1%d",`+
			`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.%d']",`+
			`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, i, i))
	}
	st, err := c.AddObjects(ctx, d.Default, collID, []byte(`{"objects":[`+strings.Join(objs, ",")+`]}`))
	if err != nil || st.SuccessCount != n || st.Status != "complete" {
		t.Fatalf("AddObjects = %+v, %v", st, err)
	}
	if again, err := c.Status(ctx, "demo", st.ID); err != nil || again.SuccessCount != n {
		t.Fatalf("Status = %+v, %v", again, err)
	}

	seen := map[string]bool{}
	f := client.Filter{Limit: 2, Types: []string{"indicator"}}
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("paging does not end")
		}
		page, err := c.Objects(ctx, "demo", collID, f)
		if err != nil {
			t.Fatal(err)
		}
		if page.DateAddedFirst == "" || page.DateAddedLast == "" {
			t.Fatalf("page without X-TAXII-Date-Added headers: %+v", page)
		}
		for _, o := range page.Objects {
			var h struct{ ID string }
			if err := json.Unmarshal(o, &h); err != nil || seen[h.ID] {
				t.Fatalf("object %s: seen %v, %v", o, seen[h.ID], err)
			}
			seen[h.ID] = true
		}
		if !page.More {
			break
		}
		f.Next = page.Next
	}
	if len(seen) != n {
		t.Fatalf("paged %d objects, want %d", len(seen), n)
	}
	m, err := c.Manifest(ctx, "demo", collID, client.Filter{Limit: 100})
	if err != nil || len(m.Objects) != n || m.More {
		t.Fatalf("Manifest = %+v, %v", m, err)
	}

	const first = "indicator--6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b10"
	if e, err := c.Object(ctx, "demo", collID, first, client.Filter{}); err != nil || len(e.Objects) != 1 || !bytes.Contains(e.Objects[0], []byte(first)) {
		t.Fatalf("Object = %+v, %v", e, err)
	}
	if v, err := c.Versions(ctx, "demo", collID, first, client.Filter{}); err != nil || len(v.Versions) != 1 || v.Versions[0] != "2026-01-01T00:00:00.000Z" {
		t.Fatalf("Versions = %+v, %v", v, err)
	}

	// A bad next token is the server's 400, typed.
	_, err = c.Objects(ctx, "demo", collID, client.Filter{Next: "not-a-token"})
	wantStatus(t, err, http.StatusBadRequest)
	_, err = c.Collection(ctx, "demo", "9d4e1f2a-3b5c-4d6e-8f7a-0b1c2d3e4f5a")
	if e := wantStatus(t, err, http.StatusNotFound); e.Title != "Not Found" {
		t.Fatalf("unknown collection: %+v", e)
	}
}

// Ensure that the client sends nothing to a host other than its server's,
// and that an answer above MaxResponse is an error, not a truncated value.
func TestClient_Bounds(t *testing.T) {
	ctx := context.Background()
	base := newServer(t)
	c := newClient(t, base)
	if _, err := c.APIRoot(ctx, "http://attacker.example/demo/"); err == nil || !strings.Contains(err.Error(), "not on") {
		t.Fatalf("APIRoot on another host: %v", err)
	}
	small, err := client.New(base, client.Options{Username: "root", Password: rootPassword, MaxResponse: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Discovery(ctx); err == nil || !strings.Contains(err.Error(), "answer larger than 16 bytes") {
		t.Fatalf("Discovery past MaxResponse: %v", err)
	}
	for _, bad := range []string{"ftp://x", "http://u:p@host", "http://host/?q=1", "not a url"} {
		if _, err := client.New(bad, client.Options{}); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	if _, err := client.New(base, client.Options{Username: "a", Token: "b"}); err == nil {
		t.Error("New accepted a password and a token")
	}
}

// Ensure that Optional encodes absent (left out with omitzero), null and a
// value, and decodes each back as it was sent.
func TestOptional(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    client.AccountPatch
		want string
	}{
		{"Absent", client.AccountPatch{}, `{}`},
		{"Null", client.AccountPatch{Password: client.Null[string](), RateLimit: client.Null[*client.RateLimit]()}, `{"password":null,"rate_limit":null}`},
		{"Value", client.AccountPatch{Password: client.Some("pw"), RateLimit: client.Some(&client.RateLimit{PerSecond: 1, Burst: 2})},
			`{"password":"pw","rate_limit":{"per_second":1,"burst":2}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.p)
			if err != nil || string(b) != tc.want {
				t.Fatalf("Marshal = %s, %v; want %s", b, err, tc.want)
			}
			var back client.AccountPatch
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Password.Set != tc.p.Password.Set || back.Password.Null != tc.p.Password.Null || back.Password.Value != tc.p.Password.Value ||
				back.RateLimit.Set != tc.p.RateLimit.Set || back.RateLimit.Null != tc.p.RateLimit.Null {
				t.Fatalf("Unmarshal(%s) = %+v, want %+v", b, back, tc.p)
			}
		})
	}
}

// Ensure that the client's copies of types the server answers with
// straight from the store (audit rows, statuses) have every member the
// store's have, spelled the same: a row decoded strictly and encoded again
// is the same JSON.
func TestWire_MatchesStore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server any
		client any
	}{
		{"AuditEvent", store.AuditEvent{Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Action: "publish", Account: "a", Organization: "o",
			Group: "g", Collection: "c", StatusID: "s", Objects: []store.ObjectRef{{ID: "indicator--x", Version: "v"}}, Count: 1,
			DateAddedFirst: "f", DateAddedLast: "l", Target: "t", Detail: "d", RemoteAddr: "r"}, &client.AuditEvent{}},
		{"Status", store.Status{ID: "s", Status: "complete", RequestTimestamp: "r", TotalCount: 3, SuccessCount: 1,
			Successes: []store.StatusDetail{{ID: "i", Version: "v", Message: "m"}}, FailureCount: 1, Failures: []store.StatusDetail{{ID: "j", Version: "v"}},
			PendingCount: 1, Pendings: []store.StatusDetail{{ID: "k", Version: "v"}}}, &client.Status{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.server)
			if err != nil {
				t.Fatal(err)
			}
			// Every member set: a member the client lacks is an unknown field.
			var members map[string]any
			if err := json.Unmarshal(want, &members); err != nil || reflect.TypeOf(tc.server).NumField() != len(members) {
				t.Fatalf("%s: %d members encoded, %d fields: populate every field", want, len(members), reflect.TypeOf(tc.server).NumField())
			}
			d := json.NewDecoder(bytes.NewReader(want))
			d.DisallowUnknownFields()
			if err := d.Decode(tc.client); err != nil {
				t.Fatalf("client decodes %s: %v", want, err)
			}
			got, err := json.Marshal(tc.client)
			if err != nil || string(got) != string(want) {
				t.Fatalf("client encodes\n%s\nwant\n%s (%v)", got, want, err)
			}
		})
	}
}
