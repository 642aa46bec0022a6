package console_test

import (
	"context"
	"encoding/json"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/taxii"
)

// adminEnv is newEnv with a group admin: gail administers officials and is
// the admin of organization sos, to which ana belongs too; rita is in the
// default organization, so her tokens are not gail's to see.
func adminEnv(t testing.TB, settings ...func(*taxii.Options)) *env {
	return newEnv(t, func(o *taxii.Options) {
		for _, s := range settings {
			s(o)
		}
		o.Organizations = append(o.Organizations, taxii.Organization{Name: "sos", Title: "Secretary of State"})
		for i := range o.Accounts {
			if o.Accounts[i].Name == "ana" {
				o.Accounts[i].Organization = "sos"
			}
		}
		o.Accounts = append(o.Accounts, taxii.Account{Name: "gail", Organization: "sos", OrgAdmin: true,
			PasswordHash: hash(t, password("gail"))})
		o.Groups[0].Members["gail"] = taxii.RoleAdmin
	})
}

const officialsAdmin = "/console/g/officials/admin"

// members returns the officials' members as the store has them.
func (e *env) members() map[string]access.Role {
	e.t.Helper()
	d, err := e.db.LoadDirectory(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, g := range d.Groups {
		if g.Name == "officials" {
			return g.Members
		}
	}
	e.t.Fatal("no group officials")
	return nil
}

// adminRows returns the audit rows of admin changes made after the start,
// oldest first.
func (e *env) adminRows() []store.AuditEvent {
	e.t.Helper()
	rows, err := e.db.FindAudit(context.Background(), store.AuditQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []store.AuditEvent
	for _, r := range rows {
		if strings.HasPrefix(r.Action, "admin.") && r.Action != "admin.bootstrap" {
			out = append(out, r)
		}
	}
	return out
}

// post sends a form of the admin page with its CSRF token.
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	_, page := b.do("GET", officialsAdmin, nil)
	form.Set("csrf", token(b.e.t, page))
	return b.do("POST", path, form)
}

// apiDescription is the description of the admin API's answer to a
// request of user.
func (e *env) apiDescription(user, method, path, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.SetBasicAuth(user, password(user))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var er struct{ Description string }
	json.NewDecoder(resp.Body).Decode(&er)
	return resp.StatusCode, er.Description
}

// Ensure that a group admin adds a member, changes a role and removes a
// member from the console, each stored with the admin API's audit row, and
// that a refused change shows the admin API's message and changes nothing.
func TestGroupAdminChangesMembers(t *testing.T) {
	e := adminEnv(t)
	b := e.browser()
	b.mustSignIn("gail")
	resp, page := b.do("GET", officialsAdmin, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<label for="add-account">Account name</label>`) {
		t.Fatalf("admin page: %d\n%s", resp.StatusCode, page)
	}
	for _, name := range []string{"ana", "gail", "rita"} {
		if !strings.Contains(page, `<th scope="row">`+name+`</th>`) {
			t.Errorf("the admin page does not list member %s", name)
		}
	}

	resp, _ = b.post(officialsAdmin+"/members", url.Values{"account": {"vic"}, "role": {"reader"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != officialsAdmin+"?done=member" {
		t.Fatalf("add vic: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := e.members()["vic"]; got != access.RoleReader {
		t.Fatalf("vic's stored role is %q, want reader", got)
	}
	_, page = b.do("GET", officialsAdmin+"?done=member", nil)
	if !strings.Contains(page, "The membership is saved.") || !strings.Contains(page, `<th scope="row">vic</th>`) {
		t.Errorf("after adding vic the page has no notice or no row for vic:\n%s", page)
	}
	if resp, _ := b.post(officialsAdmin+"/members", url.Values{"account": {"rita"}, "role": {"publisher"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rita's role: %d", resp.StatusCode)
	}
	if got := e.members()["rita"]; got != access.RolePublisher {
		t.Fatalf("rita's stored role is %q, want publisher", got)
	}
	if resp, _ := b.post(officialsAdmin+"/members/remove", url.Values{"account": {"vic"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove vic: %d", resp.StatusCode)
	}
	if _, ok := e.members()["vic"]; ok {
		t.Fatal("vic is still a member after the removal")
	}

	// The audit rows are the admin API's, written by gail.
	rows := e.adminRows()
	want := []struct{ action, target, detail string }{
		{"admin.member.create", "member vic of group officials", "role=reader"},
		{"admin.member.update", "member rita of group officials", "role reader -> publisher"},
		{"admin.member.delete", "member vic of group officials", "role was reader"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d admin audit rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Action != w.action || r.Target != w.target || r.Detail != w.detail || r.Account != "gail" ||
			r.Organization != "sos" || r.Group != "officials" || r.RemoteAddr != "127.0.0.1" {
			t.Errorf("audit row %d is %+v, want %s %q %q by gail of sos from 127.0.0.1", i, r, w.action, w.target, w.detail)
		}
	}

	// Refusals: the admin API's message (a bad role), or one that names
	// what is missing; nothing changes.
	before := e.members()
	status, apiMsg := e.apiDescription("gail", "PUT", "/admin/v1/groups/officials/members/rita", `{"role":"owner"}`)
	if status != http.StatusBadRequest || apiMsg == "" {
		t.Fatalf("admin API on a bad role: %d %q", status, apiMsg)
	}
	for _, c := range []struct {
		path   string
		form   url.Values
		status int
		msg    string
	}{
		{"/members", url.Values{"account": {"rita"}, "role": {"owner"}}, http.StatusBadRequest, apiMsg},
		{"/members", url.Values{"account": {"nobody"}, "role": {"reader"}}, http.StatusNotFound, `There is no account named "nobody".`},
		{"/members", url.Values{"account": {""}, "role": {"reader"}}, http.StatusBadRequest, "Give the name of the account to add."},
		{"/members/remove", url.Values{"account": {"vic"}}, http.StatusNotFound, `"vic" is not a member of this group.`},
	} {
		resp, page := b.post(officialsAdmin+c.path, c.form)
		if resp.StatusCode != c.status || !strings.Contains(html.UnescapeString(page), c.msg) {
			t.Errorf("POST %s %v: %d, want %d with %q\n%s", c.path, c.form, resp.StatusCode, c.status, c.msg, page)
		}
	}
	if got := e.members(); len(got) != len(before) || got["rita"] != before["rita"] {
		t.Errorf("refused changes changed the members: %v, was %v", got, before)
	}
	if got := len(e.adminRows()); got != len(want) {
		t.Errorf("refused changes wrote audit rows: %d, want %d", got, len(want))
	}
}

// Ensure that only the group's admins may change it from the console, as
// through the admin API: a lesser member is refused (403), anyone else
// gets a 404, and a form without the session's CSRF token does nothing.
func TestGroupAdminRefusesOthers(t *testing.T) {
	e := adminEnv(t)
	for _, c := range []struct {
		user   string
		status int
	}{{"ana", http.StatusForbidden}, {"vic", http.StatusNotFound}} {
		b := e.browser()
		b.mustSignIn(c.user)
		_, home := b.do("GET", "/console/", nil)
		for _, path := range []string{"/members", "/members/remove", "/tokens", "/tokens/revoke"} {
			resp, _ := b.do("POST", officialsAdmin+path, url.Values{"csrf": {token(t, home)}, "account": {"rita"}, "role": {"admin"}, "name": {"x"}})
			if resp.StatusCode != c.status {
				t.Errorf("%s POST %s: %d, want %d", c.user, path, resp.StatusCode, c.status)
			}
		}
		if resp, _ := b.do("GET", officialsAdmin, nil); resp.StatusCode != c.status {
			t.Errorf("%s GET the admin page: %d, want %d", c.user, resp.StatusCode, c.status)
		}
	}
	b := e.browser()
	b.mustSignIn("gail")
	resp, _ := b.do("POST", officialsAdmin+"/members", url.Values{"csrf": {"forged"}, "account": {"vic"}, "role": {"admin"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a forged CSRF token: %d, want 403", resp.StatusCode)
	}
	if _, ok := e.members()["vic"]; ok || e.members()["rita"] != access.RoleReader || len(e.adminRows()) != 0 {
		t.Errorf("refused forms changed the group: %v, %d audit rows", e.members(), len(e.adminRows()))
	}
	// A form larger than the page allows is refused before anything reads it.
	resp, page := b.post(officialsAdmin+"/members", url.Values{"account": {"vic"}, "role": {"admin"}, "pad": {strings.Repeat("x", 80<<10)}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "64 KiB") {
		t.Errorf("an 80 KiB form: %d, want 413 naming 64 KiB\n%s", resp.StatusCode, page)
	}
	if _, ok := e.members()["vic"]; ok {
		t.Error("the over-large form added vic")
	}
}

var secretOnPage = regexp.MustCompile(`<code id="token-secret">([^<]+)</code>`)

// taxiiStatus is the status of a TAXII request with an API token.
func (e *env) taxiiStatus(secret string) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/officials/collections/", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Ensure that a group admin makes a token for a member it manages (shown
// once, working over TAXII at once) and revokes it (refused at once), and
// that the tokens of a member of another organization are neither listed
// nor changeable.
func TestGroupAdminTokens(t *testing.T) {
	e := adminEnv(t)
	b := e.browser()
	b.mustSignIn("gail")
	resp, page := b.post(officialsAdmin+"/tokens", url.Values{"account": {"ana"}, "name": {"siem feed"}, "expires_in": {"720h"}})
	m := secretOnPage.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusCreated || m == nil || !strings.Contains(page, "shown on this page only") {
		t.Fatalf("new token: %d\n%s", resp.StatusCode, page)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the token page may be cached: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	secret := m[1]
	if got := e.taxiiStatus(secret); got != http.StatusOK {
		t.Fatalf("TAXII with the new token: %d, want 200", got)
	}
	d, _ := e.db.LoadDirectory(context.Background())
	var tok store.Token
	for _, x := range d.Tokens {
		if x.Account == "ana" {
			tok = x
		}
	}
	if tok.Name != "siem feed" || tok.Expires.Sub(tok.Created).Hours() != 720 || tok.Hash == "" || strings.Contains(tok.Hash, secret) {
		t.Fatalf("stored token %+v", tok)
	}
	_, page = b.do("GET", officialsAdmin, nil)
	if strings.Contains(page, secret) || !strings.Contains(page, `name="id" value="`+tok.ID+`"`) {
		t.Errorf("the admin page shows the secret, or no revoke form for %s:\n%s", tok.ID, page)
	}
	resp, _ = b.post(officialsAdmin+"/tokens/revoke", url.Values{"account": {"ana"}, "id": {tok.ID}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != officialsAdmin+"?done=revoked" {
		t.Fatalf("revoke: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := e.taxiiStatus(secret); got != http.StatusUnauthorized {
		t.Errorf("TAXII with the revoked token: %d, want 401", got)
	}
	rows := e.adminRows()
	if len(rows) != 2 || rows[0].Action != "admin.token.create" || rows[1].Action != "admin.token.revoke" ||
		rows[0].Account != "gail" || strings.Contains(rows[0].Detail, secret) {
		t.Errorf("audit rows %+v, want admin.token.create then admin.token.revoke by gail, no secret", rows)
	}

	// rita is in another organization: her tokens are not listed, and a
	// form naming her (or a non-member, or a bad name) is refused.
	_, page = b.do("GET", officialsAdmin, nil)
	if !strings.Contains(page, "managed by the account's organization") || strings.Contains(page, `<option value="rita">rita</option></select>`) {
		t.Errorf("rita's tokens are offered to gail:\n%s", page)
	}
	for _, c := range []struct {
		form   url.Values
		status int
		msg    string
	}{
		{url.Values{"account": {"rita"}, "name": {"x"}}, http.StatusNotFound, `"rita" is not a member whose tokens you manage.`},
		{url.Values{"account": {"vic"}, "name": {"x"}}, http.StatusNotFound, `"vic" is not a member whose tokens you manage.`},
		{url.Values{"account": {"ana"}, "name": {""}}, http.StatusBadRequest, "name"},
		{url.Values{"account": {"ana"}, "name": {"x"}, "expires_in": {"soon"}}, http.StatusBadRequest, `expires_in: "soon" is not a positive duration`},
	} {
		resp, page := b.post(officialsAdmin+"/tokens", c.form)
		if resp.StatusCode != c.status || !strings.Contains(html.UnescapeString(page), c.msg) {
			t.Errorf("token %v: %d, want %d with %q\n%s", c.form, resp.StatusCode, c.status, c.msg, page)
		}
	}
	if resp, _ := b.post(officialsAdmin+"/tokens/revoke", url.Values{"account": {"ana"}, "id": {"00000000-0000-4000-8000-000000000000"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoking a made-up token: %d, want 404", resp.StatusCode)
	}
	if got := len(e.adminRows()); got != 2 {
		t.Errorf("refused token forms wrote audit rows: %d in all, want 2", got)
	}
}

// Ensure that an admin who takes away its own admin role is sent home,
// not to a page it may no longer see.
func TestGroupAdminDemotesItself(t *testing.T) {
	e := adminEnv(t)
	b := e.browser()
	b.mustSignIn("gail")
	resp, _ := b.post(officialsAdmin+"/members", url.Values{"account": {"gail"}, "role": {"reader"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("self-demotion: %d to %q, want 303 to /console/", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.do("GET", officialsAdmin, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the admin page after self-demotion: %d, want 403", resp.StatusCode)
	}
}

// Ensure that a publish form larger than the console's MaxUpload (plus
// the form's other fields) is refused with 413 before anything reads it,
// whether pasted or uploaded, and that nothing is published.
func TestUploadIsBounded(t *testing.T) {
	e := newEnv(t, func(o *taxii.Options) { o.Console.MaxUpload = 1 << 10 })
	b := e.browser()
	b.mustSignIn("ana")
	csrf := b.publishToken()
	big := strings.Repeat("evil-ballot.example.com\n", 100<<10/24)
	resp, page := b.do("POST", officialsBase+"/review", url.Values{"csrf": {csrf}, "text": {big}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "65 KiB") {
		t.Errorf("100 KiB pasted: %d, want 413 naming 65 KiB\n%s", resp.StatusCode, page)
	}
	var body strings.Builder
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", csrf)
	fw, _ := mw.CreateFormFile("stix_file", "big.json")
	fw.Write([]byte(big))
	mw.Close()
	req, _ := http.NewRequest("POST", e.url+officialsBase+"/publish?mode=stix", strings.NewReader(body.String()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("100 KiB uploaded: %d, want 413", r.StatusCode)
	}
	if st, err := e.db.Stats(context.Background()); err != nil || st.ObjectVersions != 0 {
		t.Errorf("%+v versions stored (%v), want 0", st, err)
	}
}

// publishedCreatedBy publishes value from the review form with the extra form
// fields and returns the created_by_ref of the indicator stored, as a
// TAXII client reads it.
func (b *browser) publishedCreatedBy(value string, extra url.Values) (int, string) {
	t := b.e.t
	t.Helper()
	form := url.Values{"csrf": {b.publishToken()}, "text": {value}, "tlp": {"green"}, "confidence": {"50"}, "pick": {"0"}}
	for k, v := range extra {
		form[k] = v
	}
	resp, page := b.do("POST", officialsBase+"/publish", form)
	if resp.StatusCode != http.StatusSeeOther {
		return resp.StatusCode, page
	}
	req, _ := http.NewRequest("GET", b.e.url+"/officials/collections/"+collOfficials+"/objects/?limit=1000", nil)
	req.SetBasicAuth("rita", password("rita"))
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var env struct {
		Objects []struct {
			Pattern      string `json:"pattern"`
			CreatedByRef string `json:"created_by_ref"`
		} `json:"objects"`
	}
	if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	for _, o := range env.Objects {
		if strings.Contains(o.Pattern, value) {
			return resp.StatusCode, o.CreatedByRef
		}
	}
	t.Fatalf("no stored indicator of %s", value)
	return 0, ""
}

// identities returns the identity ids the server made for the default
// organization and the officials group.
func (e *env) identities() (org, group string) {
	e.t.Helper()
	d, err := e.db.LoadDirectory(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range d.Organizations {
		if o.Name == taxii.DefaultOrganization {
			org = o.IdentityID
		}
	}
	for _, g := range d.Groups {
		if g.Name == "officials" {
			group = g.IdentityID
		}
	}
	if org == "" || group == "" {
		e.t.Fatalf("identities: organization %q, group %q", org, group)
	}
	return org, group
}

// Ensure that the review publishes indicators as the publisher's
// organization (created_by_ref its identity) or, when the analyst
// chooses, as the group; and that a collection that anonymizes publishers
// publishes as the group whatever the form says (issue 13: anonymize when
// the collection allows it).
func TestPublishAs(t *testing.T) {
	e := newEnv(t, nil)
	org, group := e.identities()
	b := e.browser()
	b.mustSignIn("ana")
	_, page := b.do("POST", officialsBase+"/review", url.Values{"csrf": {b.publishToken()}, "text": {"198.51.100.1"}})
	if !strings.Contains(page, `id="as-organization" value="organization" checked`) || !strings.Contains(page, `id="as-group"`) {
		t.Fatalf("the review offers no choice of whom to publish as:\n%s", page)
	}
	for _, c := range []struct {
		value, as, want string
	}{{"198.51.100.1", "", org}, {"198.51.100.2", "organization", org}, {"198.51.100.3", "group", group}} {
		if status, got := b.publishedCreatedBy(c.value, url.Values{"as": {c.as}}); status != http.StatusSeeOther || got != c.want {
			t.Errorf("as %q: %d, created_by_ref %q, want %q", c.as, status, got, c.want)
		}
	}
	if status, page := b.publishedCreatedBy("198.51.100.4", url.Values{"as": {"someone-else"}}); status != http.StatusBadRequest ||
		!strings.Contains(page, "Choose whom to publish as") {
		t.Errorf("as someone-else: %d\n%s", status, page)
	}

	e = newEnv(t, func(o *taxii.Options) { o.Groups[0].Collections[0].Policy.Anonymize = true })
	_, group = e.identities()
	b = e.browser()
	b.mustSignIn("ana")
	_, page = b.do("POST", officialsBase+"/review", url.Values{"csrf": {b.publishToken()}, "text": {"198.51.100.1"}})
	if strings.Contains(page, `id="as-organization"`) || !strings.Contains(page, "publishes under the group's identity") {
		t.Errorf("an anonymizing collection offers to publish as the organization:\n%s", page)
	}
	if status, got := b.publishedCreatedBy("198.51.100.5", url.Values{"as": {"organization"}}); status != http.StatusSeeOther || got != group {
		t.Errorf("anonymizing collection, as organization: %d, created_by_ref %q, want the group's %q", status, got, group)
	}
}
