package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const rootPassword = "root-password-1"

// startAdminServer runs serve with one superadmin, root, whose password is
// rootPassword, plus extra YAML, and returns the server's base URL.
func startAdminServer(t *testing.T, extra string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(rootPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `
data_dir: `+t.TempDir()+`
discovery: {title: eitaxii admin test}
accounts:
  - name: root
    superadmin: true
    password_hash: "`+string(hash)+`"
`+extra)
	base, _, _, _ := startServe(t, "--config", cfg)
	return base
}

// adminCLI runs `eitaxii admin` in-process against one server, with a
// fake environment.
type adminCLI struct {
	t    *testing.T
	base string // given as --server unless empty
	env  map[string]string
}

func newAdminCLI(t *testing.T, base string) *adminCLI {
	return &adminCLI{t: t, base: base, env: map[string]string{"EITAXII_USER": "root", "EITAXII_PASSWORD": rootPassword}}
}

// run runs `eitaxii admin [--server base] args...` with stdin.
func (c *adminCLI) run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return c.env[k] }}
	full := []string{"admin"}
	if c.base != "" {
		full = append(full, "--server", c.base)
	}
	code = run(context.Background(), append(full, args...), e)
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed and returns its output.
func (c *adminCLI) ok(args ...string) string {
	c.t.Helper()
	return c.okStdin("", args...)
}

func (c *adminCLI) okStdin(stdin string, args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("eitaxii admin %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// json runs a command with --json and decodes its output into v.
func (c *adminCLI) json(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("eitaxii admin %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fails runs a command that must exit with code and print want on stderr.
func (c *adminCLI) fails(code int, want string, args ...string) {
	c.t.Helper()
	got, out, errs := c.run("", args...)
	if got != code || !strings.Contains(errs, want) {
		c.t.Fatalf("eitaxii admin %s: exit %d, stderr %q (stdout %q); want exit %d and %q", strings.Join(args, " "), got, errs, out, code, want)
	}
}

// line returns the line of a table whose first column is first.
func line(t *testing.T, table, first string) string {
	t.Helper()
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == first {
			return l
		}
	}
	t.Fatalf("no row %q in table:\n%s", first, table)
	return ""
}

// lineMatches checks a table row against a regular expression.
func lineMatches(t *testing.T, table, first, re string) {
	t.Helper()
	if l := line(t, table, first); !regexp.MustCompile(re).MatchString(l) {
		t.Fatalf("row %q does not match %s:\n%s", l, re, table)
	}
}

// taxiiGet sends GET path to the TAXII API with an Authorization header.
func taxiiGet(t *testing.T, base, path, authz string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	req.Header.Set("Authorization", authz)
	resp, body := roundTrip(t, req)
	return resp.StatusCode, string(body)
}

// auditLines decodes JSON lines, failing on any line that is not one JSON
// object.
func auditLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func findEvent(evs []map[string]any, action, target string) map[string]any {
	for _, ev := range evs {
		if ev["action"] == action && (target == "" || ev["target"] == target) {
			return ev
		}
	}
	return nil
}

// Ensure that an administrator can set up a sharing group from nothing with
// `eitaxii admin`: an organization, accounts of each kind, a token that
// works on TAXII until it is revoked, memberships, a collection with a
// policy; that tables and --json show it; that a disabled account is
// refused at once; and that the audit log tells who did what.
func TestAdmin_EndToEnd(t *testing.T) {
	base := startAdminServer(t, "")
	cli := newAdminCLI(t, base)

	out := cli.ok("me")
	if !regexp.MustCompile(`(?m)^account:\s+root$`).MatchString(out) || !regexp.MustCompile(`(?m)^superadmin:\s+yes$`).MatchString(out) {
		t.Fatalf("me:\n%s", out)
	}

	// An organization.
	out = cli.ok("orgs", "create", "acme", "--title", "Acme County Elections")
	if !regexp.MustCompile(`(?m)^identity:\s+identity--[0-9a-f-]{36}$`).MatchString(out) {
		t.Fatalf("orgs create:\n%s", out)
	}
	out = cli.ok("orgs", "list")
	lineMatches(t, out, "acme", `^acme\s+Acme County Elections\s+identity--[0-9a-f-]{36}\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	if h, r := line(t, out, "NAME"), line(t, out, "acme"); strings.Index(h, "TITLE") != strings.Index(r, "Acme") || strings.Index(h, "IDENTITY") != strings.Index(r, "identity--") {
		t.Fatalf("columns not aligned:\n%s", out)
	}
	var orgs struct {
		Organizations []struct{ Name, Title, IdentityID string } `json:"organizations"`
	}
	cli.json(&orgs, "orgs", "list")
	if len(orgs.Organizations) != 2 || orgs.Organizations[0].Name != "acme" || orgs.Organizations[0].Title != "Acme County Elections" || orgs.Organizations[1].Name != "default" {
		t.Fatalf("orgs list --json: %+v", orgs)
	}

	// Accounts of each kind and credential.
	cli.okStdin("alice-password-1\n", "accounts", "create", "alice", "--org", "acme", "--password-stdin")
	cli.ok("accounts", "create", "feed", "--org", "acme", "--kind", "machine", "--rate", "5", "--burst", "10")
	cli.okStdin("boss-password-12\n", "accounts", "create", "boss", "--org", "acme", "--org-admin", "--password-stdin")
	fp := strings.Repeat("AB:", 31) + "AB"
	out = cli.ok("accounts", "create", "certbot", "--org", "acme", "--kind", "machine", "--cert-fingerprint", fp)
	if want := strings.Repeat("ab", 32); !regexp.MustCompile(`(?m)^certificates:\s+` + want + `$`).MatchString(out) {
		t.Fatalf("accounts create certbot:\n%s", out)
	}
	out = cli.ok("accounts", "list", "--org", "acme")
	lineMatches(t, out, "alice", `^alice\s+acme\s+person\s+-\s+active\s+yes\s+0\s+default\s+`)
	lineMatches(t, out, "feed", `^feed\s+acme\s+machine\s+-\s+active\s+no\s+0\s+5/s burst 10\s+`)
	lineMatches(t, out, "boss", `^boss\s+acme\s+person\s+org-admin\s+active\s+yes\s+0\s+default\s+`)
	lineMatches(t, out, "certbot", `^certbot\s+acme\s+machine\s+-\s+active\s+no\s+1\s+default\s+`)
	if strings.Contains(out, "root") {
		t.Fatalf("accounts list --org acme shows root:\n%s", out)
	}
	var accounts struct {
		Accounts []struct {
			Name, Kind   string
			HasPassword  bool `json:"has_password"`
			OrgAdmin     bool `json:"org_admin"`
			Certificates []string
			RateLimit    *struct {
				PerSecond float64 `json:"per_second"`
				Burst     int
			} `json:"rate_limit"`
		} `json:"accounts"`
	}
	cli.json(&accounts, "accounts", "list")
	if len(accounts.Accounts) != 5 {
		t.Fatalf("accounts list --json: %+v", accounts)
	}
	for _, a := range accounts.Accounts {
		switch a.Name {
		case "alice":
			if !a.HasPassword || a.Kind != "person" || a.RateLimit != nil {
				t.Fatalf("alice: %+v", a)
			}
		case "feed":
			if a.HasPassword || a.Kind != "machine" || a.RateLimit == nil || a.RateLimit.PerSecond != 5 || a.RateLimit.Burst != 10 {
				t.Fatalf("feed: %+v", a)
			}
		case "boss":
			if !a.OrgAdmin {
				t.Fatalf("boss: %+v", a)
			}
		case "certbot":
			if len(a.Certificates) != 1 || a.Certificates[0] != strings.Repeat("ab", 32) {
				t.Fatalf("certbot: %+v", a)
			}
		}
	}
	// The organization admin sees and creates accounts of its own
	// organization only.
	boss := newAdminCLI(t, base)
	boss.env = map[string]string{"EITAXII_USER": "boss", "EITAXII_PASSWORD": "boss-password-12"}
	out = boss.ok("accounts", "create", "clerk", "--kind", "person")
	if !regexp.MustCompile(`(?m)^organization:\s+acme$`).MatchString(out) {
		t.Fatalf("org admin's accounts create:\n%s", out)
	}
	if out := boss.ok("accounts", "list"); strings.Contains(out, "root") || !strings.Contains(out, "clerk") {
		t.Fatalf("org admin's accounts list:\n%s", out)
	}
	boss.fails(1, "Forbidden: only a superadmin may do this (HTTP 403)", "orgs", "list")

	// A token, shown once, that works on TAXII.
	code, out, errs := cli.run("", "tokens", "create", "feed", "--name", "ingest", "--expires-in", "30d")
	if code != 0 || !strings.Contains(errs, "not shown again") {
		t.Fatalf("tokens create: exit %d, stderr %q", code, errs)
	}
	m := regexp.MustCompile(`(?m)^token:\s+(eit_\S+)$`).FindStringSubmatch(out)
	id := regexp.MustCompile(`(?m)^id:\s+(\S+)$`).FindStringSubmatch(out)
	exp := regexp.MustCompile(`(?m)^expires:\s+(\S+)$`).FindStringSubmatch(out)
	if m == nil || id == nil || exp == nil {
		t.Fatalf("tokens create:\n%s", out)
	}
	token, tokenID := m[1], id[1]
	if e, err := time.Parse(time.RFC3339, exp[1]); err != nil || e.Sub(time.Now()) < 719*time.Hour || e.Sub(time.Now()) > 721*time.Hour {
		t.Fatalf("token expires %s, want in 30 days (%v)", exp[1], err)
	}
	if code, body := taxiiGet(t, base, "/taxii2/", "Bearer "+token); code != 200 || !strings.Contains(body, `"title":"eitaxii admin test"`) {
		t.Fatalf("discovery with the new token: %d %s", code, body)
	}
	var created struct{ ID, Token, Name string }
	cli.json(&created, "tokens", "create", "feed", "--name", "spare")
	if created.Name != "spare" || !strings.HasPrefix(created.Token, "eit_") || created.ID == "" {
		t.Fatalf("tokens create --json: %+v", created)
	}
	out = cli.ok("tokens", "list", "feed")
	lineMatches(t, out, tokenID, `^`+tokenID+`\s+ingest\s+active\s+\S+Z\s+\S+Z\s+`)
	lineMatches(t, out, created.ID, `^`+created.ID+`\s+spare\s+active\s+\S+Z\s+-\s+`)
	if strings.Contains(out, "eit_") {
		t.Fatalf("tokens list shows a secret:\n%s", out)
	}

	// A group with members.
	cli.ok("groups", "create", "officials", "--title", "Election Officials", "--description", "county and state officials")
	cli.ok("members", "set", "officials", "alice", "publisher")
	cli.ok("members", "set", "officials", "feed", "reader")
	out = cli.ok("members", "set", "officials", "boss", "admin")
	lineMatches(t, out, "boss", `^boss\s+admin$`)
	out = cli.ok("members", "list", "officials")
	lineMatches(t, out, "alice", `^alice\s+publisher$`)
	lineMatches(t, out, "feed", `^feed\s+reader$`)
	out = cli.ok("groups", "list")
	lineMatches(t, out, "officials", `^officials\s+Election Officials\s+3\s+`)
	var group struct {
		Name, Title, Description string
		Members                  map[string]string
	}
	cli.json(&group, "groups", "show", "officials")
	if group.Description != "county and state officials" || len(group.Members) != 3 || group.Members["feed"] != "reader" {
		t.Fatalf("groups show --json: %+v", group)
	}
	cli.fails(1, `Bad Request: role: "owner" is not a role`, "members", "set", "officials", "alice", "owner")
	out = cli.ok("groups", "update", "officials", "--own-domains", "SOS.example.gov, votes.example.org")
	if !regexp.MustCompile(`(?m)^own domains:\s+sos\.example\.gov, votes\.example\.org$`).MatchString(out) {
		t.Fatalf("groups update --own-domains:\n%s", out)
	}
	cli.fails(1, `Bad Request: own_domains[0]: "nodot" is not a domain name`, "groups", "update", "officials", "--own-domains", "nodot")
	var owned struct {
		OwnDomains []string `json:"own_domains"`
	}
	cli.json(&owned, "groups", "update", "officials", "--own-domains", "")
	if owned.OwnDomains == nil || len(owned.OwnDomains) != 0 {
		t.Fatalf("--own-domains \"\" left %#v", owned.OwnDomains)
	}

	// A collection with a policy; update changes only what it names.
	var coll struct {
		ID, Alias, Title string
		Policy           map[string]any
	}
	cli.json(&coll, "collections", "create", "officials", "--title", "Indicators", "--alias", "indicators",
		"--tlp-ceiling", "amber", "--require-tlp", "--default-tlp", "green", "--anonymize")
	if coll.Alias != "indicators" || coll.Policy["tlp_ceiling"] != "amber" || coll.Policy["anonymize"] != true {
		t.Fatalf("collections create --json: %+v", coll)
	}
	cli.ok("collections", "update", "officials", coll.ID, "--tlp-ceiling", "red", "--write-role", "publisher")
	cli.json(&coll, "collections", "show", "officials", coll.ID)
	if p := coll.Policy; p["tlp_ceiling"] != "red" || p["require_tlp"] != true || p["default_tlp"] != "green" || p["anonymize"] != true || p["write_role"] != "publisher" {
		t.Fatalf("policy after update: %+v", p)
	}
	out = cli.ok("collections", "list", "officials")
	lineMatches(t, out, coll.ID, `^`+coll.ID+`\s+indicators\s+Indicators\s+reader\s+publisher\s+tlp<=red, require-tlp \(default green\), anonymize$`)
	if code, body := taxiiGet(t, base, "/officials/collections/", "Bearer "+token); code != 200 || !strings.Contains(body, coll.ID) {
		t.Fatalf("feed's collections: %d %s", code, body)
	}
	// alice publishes: the publish is audited below.
	resp, body := do(t, "POST", base+"/officials/collections/"+coll.ID+"/objects/", "alice", "alice-password-1",
		`{"objects":[`+fmt.Sprintf(indicatorJSON, "6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11")+`]}`)
	if resp.StatusCode != 202 || !strings.Contains(string(body), `"success_count":1`) {
		t.Fatalf("alice publishes: %d %s", resp.StatusCode, body)
	}

	// A revoked token is refused at once.
	out = cli.ok("tokens", "revoke", "feed", tokenID)
	if out != "revoked token "+tokenID+" of feed\n" {
		t.Fatalf("tokens revoke: %q", out)
	}
	if code, body := taxiiGet(t, base, "/taxii2/", "Bearer "+token); code != 401 {
		t.Fatalf("discovery with the revoked token: %d %s", code, body)
	}
	lineMatches(t, cli.ok("tokens", "list", "feed"), tokenID, `^`+tokenID+`\s+ingest\s+revoked\s+`)
	// --all revokes the rest (issue 9: a password change does not end
	// tokens; this does).
	if out := cli.ok("tokens", "revoke", "feed", "--all"); out != "revoked 1 tokens of feed\n" {
		t.Fatalf("tokens revoke --all: %q", out)
	}
	if code, body := taxiiGet(t, base, "/taxii2/", "Bearer "+created.Token); code != 401 {
		t.Fatalf("discovery with the spare token after revoke --all: %d %s", code, body)
	}
	if code, _, errs := cli.run("", "tokens", "revoke", "feed", tokenID, "--all"); code != 2 || !strings.Contains(errs, "not both") {
		t.Fatalf("tokens revoke ID --all: exit %d, stderr %q", code, errs)
	}

	// So is a disabled account, until it is enabled again.
	out = cli.ok("accounts", "update", "alice", "--disable")
	if !regexp.MustCompile(`(?m)^status:\s+disabled$`).MatchString(out) {
		t.Fatalf("accounts update --disable:\n%s", out)
	}
	if resp, _ := do(t, "GET", base+"/taxii2/", "alice", "alice-password-1", ""); resp.StatusCode != 401 {
		t.Fatalf("disabled alice: %d", resp.StatusCode)
	}
	lineMatches(t, cli.ok("accounts", "list"), "alice", `^alice\s+acme\s+person\s+-\s+disabled\s+`)
	cli.ok("accounts", "update", "alice", "--enable")
	if resp, _ := do(t, "GET", base+"/taxii2/", "alice", "alice-password-1", ""); resp.StatusCode != 200 {
		t.Fatalf("enabled alice: %d", resp.StatusCode)
	}

	// Deletions: refused while in use, then done.
	cli.fails(1, `Conflict: organization "acme" still has accounts (HTTP 409)`, "orgs", "delete", "acme")
	if out := cli.ok("accounts", "delete", "clerk"); out != "deleted account clerk\n" {
		t.Fatalf("accounts delete: %q", out)
	}
	cli.fails(1, "Not Found: no such resource (HTTP 404)", "accounts", "show", "clerk")

	// The audit log: root's admin changes, alice's publish, and alice's
	// refused request while disabled.
	evs := auditLines(t, cli.ok("audit", "--since", "1h", "--account", "root"))
	for _, want := range []struct{ action, target string }{
		{"admin.organization.create", "organization acme"},
		{"admin.account.create", "account feed"},
		{"admin.token.create", "token " + tokenID + " of account feed"},
		{"admin.group.create", "group officials"},
		{"admin.token.revoke", ""},
		{"admin.account.update", "account alice"},
		{"admin.collection.update", ""},
	} {
		if findEvent(evs, want.action, want.target) == nil {
			t.Errorf("no %s %q in root's audit rows:\n%v", want.action, want.target, evs)
		}
	}
	for _, ev := range evs {
		if ev["account"] != "root" {
			t.Fatalf("--account root returned %v", ev)
		}
		if ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["time"])); err != nil || time.Since(ts) > time.Hour {
			t.Fatalf("event time %v (%v)", ev["time"], err)
		}
	}
	if ev := findEvent(evs, "admin.account.update", "account alice"); ev == nil || !strings.Contains(fmt.Sprint(ev["detail"]), "disabled=true") {
		t.Fatalf("alice disabled: %v", ev)
	}
	if strings.Contains(fmt.Sprint(evs), "alice-password-1") || strings.Contains(fmt.Sprint(evs), token) {
		t.Fatal("the audit log holds a password or a token")
	}
	evs = auditLines(t, cli.ok("audit", "--since", "1h", "--collection", coll.ID, "--action", "publish"))
	if len(evs) != 1 || evs[0]["account"] != "alice" || evs[0]["organization"] != "acme" || evs[0]["count"] != 1.0 {
		t.Fatalf("publish rows: %v", evs)
	}
	// Refused requests are written in batches, about every second.
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs = auditLines(t, cli.ok("audit", "--since", "1h", "--account", "alice", "--action", "auth.refused"))
		if len(evs) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(evs) != 1 || evs[0]["detail"] != "GET /taxii2/" {
		t.Fatalf("alice's refused requests: %v", evs)
	}
	code, out, errs = cli.run("", "audit", "--since", "1h", "--action", "admin.", "--limit", "2")
	if evs := auditLines(t, out); code != 0 || len(evs) != 2 || !strings.Contains(errs, "there may be more") {
		t.Fatalf("audit --limit 2: exit %d, %d rows, stderr %q", code, len(evs), errs)
	}
	if out := cli.ok("audit", "--since", time.Now().Add(time.Hour).Format(time.RFC3339)); out != "" {
		t.Fatalf("audit from the future: %q", out)
	}
}

// Ensure that credentials come from flags or the environment, flags first,
// and that mistakes give the server's message (exit 1) or the usage (exit 2).
func TestAdmin_Credentials(t *testing.T) {
	base := startAdminServer(t, "")
	root := newAdminCLI(t, base)
	var tok struct{ Token string }
	root.json(&tok, "tokens", "create", "root", "--name", "ci")

	// Server and user from the environment, password on stdin.
	cli := &adminCLI{t: t, env: map[string]string{"EITAXII_SERVER": base, "EITAXII_USER": "root"}}
	if out := cli.okStdin(rootPassword+"\n", "--password-stdin", "me"); !strings.Contains(out, "root") {
		t.Fatalf("me:\n%s", out)
	}
	// --user and --password-stdin after the verb.
	cli.env = map[string]string{"EITAXII_SERVER": base}
	cli.okStdin(rootPassword+"\n", "orgs", "list", "--user", "root", "--password-stdin")
	// A token from the environment, or from --token.
	cli.env = map[string]string{"EITAXII_SERVER": base, "EITAXII_TOKEN": tok.Token}
	cli.ok("orgs", "list")
	cli.env = map[string]string{"EITAXII_SERVER": base}
	cli.ok("--token", tok.Token, "me")
	// --server wins over EITAXII_SERVER.
	cli.env = map[string]string{"EITAXII_SERVER": "http://127.0.0.1:1", "EITAXII_TOKEN": tok.Token}
	cli.ok("--server", base, "me")

	// A wrong password: the server's message, exit 1.
	cli = &adminCLI{t: t, base: base, env: map[string]string{"EITAXII_USER": "root", "EITAXII_PASSWORD": "not-the-password"}}
	cli.fails(1, "eitaxii admin: Unauthorized: valid credentials are required", "orgs", "list")
	// Every verb reports a refusal, account create and update included.
	cli.fails(1, "Unauthorized", "accounts", "create", "eve", "--kind", "machine")
	cli.fails(1, "Unauthorized", "accounts", "update", "root", "--cert-fingerprint", strings.Repeat("ab", 32))
	cli.env = map[string]string{"EITAXII_TOKEN": "eit_revoked-or-made-up"}
	cli.fails(1, "Unauthorized", "me")

	// Usage errors: exit 2, with the usage of the resource.
	cli = newAdminCLI(t, base)
	cli.fails(2, `unknown resource "bogus"`, "bogus", "list")
	cli.fails(2, "resources:", "bogus")
	cli.fails(2, `orgs: unknown verb "frobnicate"`, "orgs", "frobnicate")
	cli.fails(2, "eitaxii admin orgs create NAME --title TITLE", "orgs", "frobnicate")
	cli.fails(2, "tokens revoke: give a token id or --all", "tokens", "revoke", "root")
	cli.fails(2, "tokens revoke: missing arguments", "tokens", "revoke")
	cli.fails(2, "eitaxii admin tokens revoke ACCOUNT ID", "tokens", "revoke", "root")
	cli.fails(2, `unexpected argument "extra"`, "orgs", "show", "default", "extra")
	cli.fails(2, "flag provided but not defined: -password", "--password", "hunter2", "me")
	cli.fails(2, "flag provided but not defined: -password", "accounts", "create", "x", "--password", "hunter2")
	cli.fails(2, "--since", "audit", "--since", "yesterday")
	cli.fails(2, "--limit must be between 1 and 10000", "audit", "--limit", "0")
	cli.fails(2, "tokens create: --name is required", "tokens", "create", "root")
	cli.fails(2, "not a SHA-256 fingerprint", "accounts", "create", "x", "--org", "default", "--cert-fingerprint", "abc")
	cli.fails(2, "standard input can hold one password", "--password-stdin", "accounts", "update", "root", "--password-stdin")
	(&adminCLI{t: t, base: base}).fails(2, "no credentials", "me")
	(&adminCLI{t: t, base: base, env: map[string]string{"EITAXII_USER": "root"}}).fails(2, "no password for root", "me")
	cli.fails(2, "give --user or --token, not both", "--user", "root", "--token", "x", "me")
	cli.fails(2, "is not an http:// or https:// URL", "--server", "ftp://example.org", "me")

	// Help goes to stdout with exit 0.
	for _, args := range [][]string{{"help"}, {"accounts", "help"}, {"collections", "create", "--help"}} {
		code, out, _ := cli.run("", args...)
		if code != 0 || !strings.Contains(out, "usage") {
			t.Fatalf("%v: exit %d, %q", args, code, out)
		}
	}
	// "admin" with nothing else is a usage error, listed in the main usage.
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"admin"}, &env{stdout: io.Discard, stderr: &stderr}); code != 2 || !strings.Contains(stderr.String(), "name a resource") {
		t.Fatalf("admin: exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	run(context.Background(), nil, &env{stderr: &stderr})
	if !strings.Contains(stderr.String(), "eitaxii admin [--server URL]") {
		t.Fatalf("usage does not list admin:\n%s", stderr.String())
	}
}

// Ensure that --cacert trusts a server whose certificate a private CA
// signed, that --cert-file registers a client certificate by its
// fingerprint, and that --cert/--key then authenticate with it alone.
func TestAdmin_TLS(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	ca := newTestCA(t, "eitaxii test ca")
	writeTestPEM(t, p("ca.pem"), "CERTIFICATE", ca.cert.Raw)
	writeTestPair(t, p("server.pem"), p("server.key"), ca.issue(t, "127.0.0.1", true))
	writeTestPair(t, p("client.pem"), p("client.key"), ca.issue(t, "eitaxii test client", false))

	base := startAdminServer(t, `
tls:
  cert_file: `+p("server.pem")+`
  key_file: `+p("server.key")+`
  client_ca_file: `+p("ca.pem")+`
`)
	base = "https://" + strings.TrimPrefix(base, "http://")
	cli := newAdminCLI(t, base)

	cli.fails(1, "certificate signed by unknown authority", "me")
	out := cli.ok("--cacert", p("ca.pem"), "accounts", "create", "certbot", "--org", "default", "--kind", "machine", "--cert-file", p("client.pem"))
	der, _ := pem.Decode(must(os.ReadFile(p("client.pem"))))
	sum := sha256.Sum256(der.Bytes)
	if !strings.Contains(out, hex.EncodeToString(sum[:])) {
		t.Fatalf("accounts create --cert-file: fingerprint %x not in\n%s", sum, out)
	}

	certOnly := &adminCLI{t: t, base: base}
	out = certOnly.ok("me", "--cacert", p("ca.pem"), "--cert", p("client.pem"), "--key", p("client.key"))
	if !regexp.MustCompile(`(?m)^account:\s+certbot$`).MatchString(out) || !regexp.MustCompile(`(?m)^kind:\s+machine$`).MatchString(out) {
		t.Fatalf("me with a client certificate:\n%s", out)
	}
	certOnly.fails(2, "give --cert and --key together", "me", "--cacert", p("ca.pem"), "--cert", p("client.pem"))

	// Removing the certificate refuses it at once.
	cli.ok("--cacert", p("ca.pem"), "accounts", "update", "certbot", "--remove-cert", hex.EncodeToString(sum[:]))
	certOnly.fails(1, "Unauthorized", "me", "--cacert", p("ca.pem"), "--cert", p("client.pem"), "--key", p("client.key"))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
