package taxii_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/taxii"
)

// The audit world: two organizations publishing into one group with two
// collections, and three readers.
const (
	audRoot    = "watch"
	audPubA    = "pub-kim"  // organization clerks-north
	audPubB    = "pub-lou"  // organization clerks-south
	audReader1 = "rd-max"   // clerks-north
	audReader2 = "rd-ned"   // clerks-south
	audReader3 = "rd-ola"   // clerks-south
	audNobody  = "nobody-x" // no group
)

var (
	audColl1 = sgCollID(51)
	audColl2 = sgCollID(52)
)

func newAuditWorld(t *testing.T, mod func(*taxii.Options)) *sgWorld {
	t.Helper()
	opts := taxii.Options{
		Discovery:     taxii.Discovery{Title: "Election ISAC"},
		Organizations: []taxii.Organization{{Name: "clerks-north"}, {Name: "clerks-south"}},
		Accounts: []taxii.Account{
			sgAccount(audPubA, "clerks-north"), sgAccount(audPubB, "clerks-south"),
			sgAccount(audReader1, "clerks-north"), sgAccount(audReader2, "clerks-south"), sgAccount(audReader3, "clerks-south"),
			sgAccount(audNobody, "clerks-south"),
		},
		Groups: []taxii.Group{{
			Name: audRoot, Title: "Watch floor",
			Members: map[string]taxii.Role{
				audPubA: taxii.RolePublisher, audPubB: taxii.RolePublisher,
				audReader1: taxii.RoleReader, audReader2: taxii.RoleReader, audReader3: taxii.RoleReader,
			},
			Collections: []taxii.Collection{{ID: audColl1, Title: "One"}, {ID: audColl2, Title: "Two"}},
		}},
	}
	if mod != nil {
		mod(&opts)
	}
	return newSGWorld(t, opts)
}

func audAuth(name string) string { return sgBasic(name, sgPassword(name)) }

func audColl(coll string) string { return "/" + audRoot + "/collections/" + coll + "/" }

// Ensure that a publish is audited with the account, its organization, the
// group, the collection, the status id and every stored object's id and
// version, and that the row is written with the objects (it is there
// before the server flushes its queue).
func TestAudit_Publish(t *testing.T) {
	w := newAuditWorld(t, nil)
	a, b := sgID("indicator", 1), sgID("indicator", 2)
	bad := `{"type":"indicator","spec_version":"2.1","id":"` + sgID("indicator", 3) + `"}`
	st := w.publish(t, audAuth(audPubA), audColl(audColl1)+"objects/", sgObject(a, ""), sgObject(b, ""), bad)
	if st.SuccessCount != 2 || st.FailureCount != 1 {
		t.Fatalf("status %+v", st)
	}
	// Not through w.audit: the server keeps running.
	rows, err := w.db.FindAudit(context.Background(), store.AuditQuery{Action: "publish"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("publish rows before any flush: %+v, want 1", rows)
	}
	r := rows[0]
	want := store.AuditEvent{Time: sgStart, Action: "publish", Account: audPubA, Organization: "clerks-north", Group: audRoot,
		Collection: audColl1, StatusID: st.ID, Count: 2,
		Objects: []store.ObjectRef{{ID: a, Version: "2024-01-01T00:00:00.000Z"}, {ID: b, Version: "2024-01-01T00:00:00.000Z"}}}
	r.RemoteAddr = ""
	if got, want := jsonString(t, r), jsonString(t, want); got != want {
		t.Errorf("publish row\n%s\nwant\n%s", got, want)
	}
}

// Ensure that every read of objects, manifest, one object or its
// versions is audited with the account, organization, collection, number
// of objects and the date_added range served, and that a delete is
// audited with the object and the number of versions deleted.
func TestAudit_ReadsAndDelete(t *testing.T) {
	w := newAuditWorld(t, nil)
	ids := []string{sgID("indicator", 1), sgID("indicator", 2), sgID("indicator", 3)}
	for _, id := range ids {
		w.publish(t, audAuth(audPubA), audColl(audColl1)+"objects/", sgObject(id, ""))
		w.clock.Advance(time.Second) // distinct date_added per object
	}
	reader := audAuth(audReader2)
	added := func(i int) string {
		return sgStart.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000000Z")
	}

	type read struct {
		target      string
		detail      string
		count       int
		first, last string
	}
	reads := []read{
		{audColl(audColl1) + "objects/", "objects", 3, added(0), added(2)},
		{audColl(audColl1) + "objects/?limit=2", "objects", 2, added(0), added(1)},
		{audColl(audColl1) + "manifest/?added_after=" + added(0), "manifest", 2, added(1), added(2)},
		{audColl(audColl1) + "objects/" + ids[1] + "/", "object", 1, added(1), added(1)},
		{audColl(audColl1) + "objects/" + ids[2] + "/versions/", "versions", 1, added(2), added(2)},
		{audColl(audColl1) + "objects/?added_after=" + added(2), "objects", 0, "", ""},
	}
	for _, r := range reads {
		rec := w.req(t, http.MethodGet, r.target, "", reader)
		checkOK(t, rec, http.StatusOK)
		// The audited range is the one the client was told.
		if r.count > 0 && (rec.Header().Get("X-TAXII-Date-Added-First") != r.first || rec.Header().Get("X-TAXII-Date-Added-Last") != r.last) {
			t.Errorf("%s: headers %s..%s, want %s..%s", r.target, rec.Header().Get("X-TAXII-Date-Added-First"), rec.Header().Get("X-TAXII-Date-Added-Last"), r.first, r.last)
		}
	}
	rec := w.req(t, http.MethodDelete, audColl(audColl1)+"objects/"+ids[0]+"/", "", audAuth(audPubB))
	checkOK(t, rec, http.StatusOK)

	rows := w.audit(t, store.AuditQuery{Action: "read"})
	if len(rows) != len(reads) {
		t.Fatalf("%d read rows, want %d: %+v", len(rows), len(reads), rows)
	}
	for i, r := range reads {
		got := rows[i]
		if got.Account != audReader2 || got.Organization != "clerks-south" || got.Group != audRoot || got.Collection != audColl1 ||
			got.Detail != r.detail || got.Count != r.count || got.DateAddedFirst != r.first || got.DateAddedLast != r.last {
			t.Errorf("%s: row %+v, want %s of %d objects, %q..%q", r.target, got, r.detail, r.count, r.first, r.last)
		}
	}
	rows = w.audit(t, store.AuditQuery{Action: "delete"})
	if len(rows) != 1 {
		t.Fatalf("delete rows %+v", rows)
	}
	if d := rows[0]; d.Account != audPubB || d.Organization != "clerks-south" || d.Collection != audColl1 || d.Count != 1 ||
		len(d.Objects) != 1 || d.Objects[0].ID != ids[0] {
		t.Errorf("delete row %+v", d)
	}
	// Refused reads are not reads.
	w.req(t, http.MethodGet, audColl(audColl1)+"objects/", "", audAuth(audNobody))
	if rows := w.audit(t, store.AuditQuery{Action: "read", Account: audNobody}); len(rows) != 0 {
		t.Errorf("a 404 was audited as a read: %+v", rows)
	}
}

// Ensure that refused authentications are audited, name the account only
// when the attempt names an existing one, and that no row anywhere in the
// log holds a password or a token, whatever field the client put it in.
func TestAudit_RefusedAuthentication(t *testing.T) {
	w := newAuditWorld(t, nil)
	tok := sgToken(audReader1)
	pw := sgPassword(audReader1)
	attempts := []struct {
		name, auth, account string
	}{
		{"wrong password", sgBasic(audReader1, "wrong-"+pw), audReader1},
		{"password of another account", sgBasic(audReader2, pw), audReader2},
		{"unknown account", sgBasic("mallory", pw), ""},
		{"unknown bearer token", sgBearer(tok + "x"), ""},
		{"password as a bearer token", sgBearer(pw), ""},
		{"token as a Basic user name", sgBasic(tok, ""), ""},
		{"token as Basic credentials without a colon", "Basic " + base64.StdEncoding.EncodeToString([]byte(tok)), ""},
		{"password as a Basic user name", sgBasic(pw, "x"), ""},
		{"token without a scheme", tok, ""},
		{"no credentials", "", ""},
	}
	for _, a := range attempts {
		rec := w.req(t, http.MethodGet, audColl(audColl1)+"objects/", "", a.auth)
		checkError(t, rec, http.StatusUnauthorized)
		// One row per address per minute: a minute apart, each
		// refusal gets its own.
		w.clock.Advance(time.Minute)
	}
	// The same credentials, correct, for the scan below to be meaningful.
	checkOK(t, w.req(t, http.MethodGet, "/taxii2/", "", sgBearer(tok)), http.StatusOK)
	checkOK(t, w.req(t, http.MethodGet, "/taxii2/", "", audAuth(audReader1)), http.StatusOK)

	rows := w.audit(t, store.AuditQuery{Action: "auth.refused"})
	if len(rows) != len(attempts) {
		t.Fatalf("%d refusal rows, want %d: %+v", len(rows), len(attempts), rows)
	}
	for i, a := range attempts {
		r := rows[i]
		if r.Account != a.account || r.Detail != "GET "+audColl(audColl1)+"objects/" || r.RemoteAddr == "" || r.Count != 1 {
			t.Errorf("%s: row %+v, want account %q and the request line", a.name, r, a.account)
		}
	}
	all := w.audit(t, store.AuditQuery{})
	text := jsonString(t, all)
	for _, secret := range []string{pw, tok, "wrong-" + pw, base64.StdEncoding.EncodeToString([]byte(tok)), strings.TrimSuffix(base64.StdEncoding.EncodeToString([]byte(tok+":")), "=")} {
		if strings.Contains(text, secret) {
			t.Errorf("the audit log holds the secret %q:\n%s", secret, text)
		}
	}
}

// Ensure that rate-limit refusals are audited with the account and its
// organization, collapsed like refused logins: the first at once, then at
// most one row a minute counting the refusals it stands for (issue 9: a
// row per refused request let one client grow the log without end).
func TestAudit_RateLimit(t *testing.T) {
	w := newAuditWorld(t, func(o *taxii.Options) { o.RateLimit = &store.RateLimit{PerSecond: 1, Burst: 1} })
	checkOK(t, w.req(t, http.MethodGet, "/taxii2/", "", audAuth(audReader3)), http.StatusOK)
	for range 50 {
		checkError(t, w.req(t, http.MethodGet, "/taxii2/", "", audAuth(audReader3)), http.StatusTooManyRequests)
	}
	rows := w.audit(t, store.AuditQuery{Action: "ratelimit"}) // closes the server: the pending row too
	if len(rows) != 2 {
		t.Fatalf("%d ratelimit rows for 50 refusals, want 2: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if r.Account != audReader3 || r.Organization != "clerks-south" || !r.Time.Equal(sgStart) {
			t.Errorf("ratelimit row %+v", r)
		}
	}
	if n := rows[0].Count + rows[1].Count; n != 50 {
		t.Errorf("rows count %d refusals, want 50", n)
	}
}

// Ensure that FindAudit answers "who published X" and "who pulled
// collection Y since Z", and filters by time, account, collection and
// action (exact or by prefix).
func TestAudit_Queries(t *testing.T) {
	w := newAuditWorld(t, nil)
	x, y := sgID("indicator", 10), sgID("indicator", 11)
	w.publish(t, audAuth(audPubA), audColl(audColl1)+"objects/", sgObject(x, ""))
	w.publish(t, audAuth(audPubB), audColl(audColl1)+"objects/", sgObject(y, ""))
	w.publish(t, audAuth(audPubB), audColl(audColl2)+"objects/", sgObject(x, ""))

	w.clock.Advance(time.Hour)
	w.req(t, http.MethodGet, audColl(audColl1)+"objects/", "", audAuth(audReader1))
	w.clock.Advance(time.Hour)
	z := w.clock.Now()
	w.clock.Advance(time.Hour)
	w.req(t, http.MethodGet, audColl(audColl1)+"objects/", "", audAuth(audReader2))
	w.req(t, http.MethodGet, audColl(audColl1)+"manifest/", "", audAuth(audReader3))
	w.req(t, http.MethodGet, audColl(audColl2)+"objects/", "", audAuth(audReader1))
	w.req(t, http.MethodGet, audColl(audColl1)+"objects/", "", sgBasic(audReader1, "bad"))

	// Who published x? Both organizations, into different collections.
	var publishers []string
	for _, r := range w.audit(t, store.AuditQuery{Action: "publish"}) {
		for _, o := range r.Objects {
			if o.ID == x {
				publishers = append(publishers, r.Account+"@"+r.Organization+" in "+r.Collection)
			}
		}
	}
	if want := []string{audPubA + "@clerks-north in " + audColl1, audPubB + "@clerks-south in " + audColl2}; !slices.Equal(publishers, want) {
		t.Errorf("who published %s: %q, want %q", x, publishers, want)
	}

	// Who pulled collection 1 since z?
	var pulled []string
	for _, r := range w.audit(t, store.AuditQuery{Action: "read", Collection: audColl1, Since: z}) {
		pulled = append(pulled, r.Account+" "+r.Detail)
	}
	if want := []string{audReader2 + " objects", audReader3 + " manifest"}; !slices.Equal(pulled, want) {
		t.Errorf("who pulled %s since %s: %q, want %q", audColl1, z, pulled, want)
	}

	count := func(q store.AuditQuery) int { return len(w.audit(t, q)) }
	for _, tt := range []struct {
		name string
		q    store.AuditQuery
		want int
	}{
		{"everything", store.AuditQuery{}, 1 + 3 + 4 + 1}, // bootstrap, publishes, reads, refusal
		{"since z", store.AuditQuery{Since: z}, 4},
		{"until z", store.AuditQuery{Until: z}, 1 + 3 + 1},
		{"between", store.AuditQuery{Since: sgStart.Add(time.Minute), Until: z}, 1},
		{"account", store.AuditQuery{Account: audReader1}, 3}, // two reads and the refusal naming it
		{"account and collection", store.AuditQuery{Account: audReader1, Collection: audColl2}, 1},
		{"collection", store.AuditQuery{Collection: audColl1}, 2 + 3},
		{"action publish", store.AuditQuery{Action: "publish"}, 3},
		{"action prefix auth.", store.AuditQuery{Action: "auth."}, 1},
		{"action prefix admin.", store.AuditQuery{Action: "admin."}, 1},
		{"action that is a prefix without a dot", store.AuditQuery{Action: "pub"}, 0},
		{"limit", store.AuditQuery{Limit: 2}, 2},
	} {
		if got := count(tt.q); got != tt.want {
			t.Errorf("%s: %d rows, want %d", tt.name, got, tt.want)
		}
	}
}

// Ensure that with AuditRetention the server prunes rows older than the
// retention, measured on its own clock, and keeps the others.
func TestAudit_Retention(t *testing.T) {
	w := newAuditWorld(t, func(o *taxii.Options) { o.AuditRetention = 24 * time.Hour })
	ctx := context.Background()
	if err := w.db.AppendAudit(ctx,
		store.AuditEvent{Time: sgStart.Add(-48 * time.Hour), Action: "read", Account: "old"},
		store.AuditEvent{Time: sgStart.Add(-time.Hour), Action: "read", Account: "recent"},
	); err != nil {
		t.Fatal(err)
	}
	accounts := func() []string {
		rows, err := w.db.FindAudit(ctx, store.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r.Action+":"+r.Account)
		}
		return out
	}
	waitFor := func(want []string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Equal(accounts(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("audit rows %q, want %q", accounts(), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The first pruning runs within a second of the start.
	waitFor([]string{"read:recent", "admin.bootstrap:"})

	// A day later (on the server's clock) the recent row is old too; the
	// bootstrap row, exactly 24 hours old, stays.
	w.clock.Advance(24 * time.Hour)
	w.stop(t)
	w.start(t)
	waitFor([]string{"admin.bootstrap:"})
}

func jsonString(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Ensure that statuses stay retrievable for StatusRetention and are swept
// in the background after it (REQ-43), on the server's injected clock.
func TestStatus_Retention(t *testing.T) {
	w := newAuditWorld(t, func(o *taxii.Options) { o.StatusRetention = 48 * time.Hour })
	target := "/" + audRoot + "/collections/" + audColl1 + "/objects/"
	st := w.publish(t, audAuth(audPubA), target, sgObject(sgID("indicator", 900), ""))
	statusURL := "/" + audRoot + "/status/" + st.ID + "/"
	get := func() int { return w.req(t, http.MethodGet, statusURL, "", audAuth(audPubA)).Code }

	// 47 hours later the status is still there, sweeps or not.
	w.clock.Advance(47 * time.Hour)
	w.stop(t)
	w.start(t)
	time.Sleep(1500 * time.Millisecond) // the first sweep runs within a second of the start
	if code := get(); code != http.StatusOK {
		t.Fatalf("status after 47 h: %d, want 200", code)
	}
	// Past 48 hours the next sweep removes it.
	w.clock.Advance(2 * time.Hour)
	w.stop(t)
	w.start(t)
	deadline := time.Now().Add(10 * time.Second)
	for get() != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("status still retrievable 49 h after its request; want 404")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The objects themselves stay.
	if objs := w.fetch(t, audAuth(audPubA), target); len(objs) != 1 {
		t.Fatalf("%d objects after the sweep, want 1", len(objs))
	}
}
