package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster the tests may start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// startNode starts `eitaxii serve` on the database at url with the data
// directory dir, and returns its base URL and stderr (the log).
func startNode(t *testing.T, dir, url string) (string, *syncBuffer) {
	t.Helper()
	base, _, stderr, _ := startServe(t, "--data-dir", dir, "--database-url", url)
	return base, stderr
}

// startFirstNode starts a node on a new database with the starter
// configuration and returns its base URL, its data directory and the
// admin password it printed.
func startFirstNode(t *testing.T, url string) (base, dir, password string) {
	t.Helper()
	dir = t.TempDir()
	base, stdout, _, _ := startServe(t, "--data-dir", dir, "--database-url", url)
	return base, dir, starterPassword(t, stdout)
}

// startSecondNode starts another node on url with the configuration of
// the node whose data directory is dirA, as nodes behind one load balancer
// run, and returns its base URL and log.
func startSecondNode(t *testing.T, url, dirA string) (string, *syncBuffer) {
	t.Helper()
	dirB := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(dirA, starterConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, starterConfig), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	return startNode(t, dirB, url)
}

// Ensure that two `eitaxii serve` nodes on one PostgreSQL database serve the
// same store (issue 11): what is published on one is read on the other, a
// next token made by one works on the other, and a token revoked through
// one is refused by the other within a second; and that the log names the
// database without its password.
func TestServe_TwoNodesOnPostgreSQL(t *testing.T) {
	url := pgtest.URL(t)
	baseA, dirA, password := startFirstNode(t, url)
	baseB, logB := startSecondNode(t, url, dirA)
	if u, _ := pgtestPassword(url); u != "" && strings.Contains(logB.String(), u) {
		t.Fatalf("the log shows the database password:\n%s", logB.String())
	}

	objects := "/demo/collections/indicators/objects/"
	ids := []string{"6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11", "7a2d4d3f-2c8b-4d6f-8b1c-3b5e8f1a0c22"}
	for i, id := range ids {
		base := []string{baseA, baseB}[i]
		if resp, body := do(t, "POST", base+objects, "admin", password, `{"objects":[`+fmt.Sprintf(indicatorJSON, id)+`]}`); resp.StatusCode != 202 {
			t.Fatalf("publish on node %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// A page of one from node A, continued on node B with A's next.
	resp, body := do(t, "GET", baseA+objects+"?limit=1", "admin", password, "")
	var page client.Envelope
	if err := json.Unmarshal(body, &page); resp.StatusCode != 200 || err != nil || !page.More || page.Next == "" {
		t.Fatalf("first page on node A: %d %s (%v)", resp.StatusCode, body, err)
	}
	resp, body = do(t, "GET", baseB+objects+"?limit=1&next="+page.Next, "admin", password, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "indicator--"+ids[1]) {
		t.Fatalf("node B with node A's next: %d %s", resp.StatusCode, body)
	}

	// A token made and revoked through node A.
	resp, body = doJSON(t, "POST", baseA+"/admin/v1/accounts/admin/tokens", password, `{"name":"feed"}`)
	var tok client.NewToken
	if err := json.Unmarshal(body, &tok); resp.StatusCode != 201 || err != nil {
		t.Fatalf("create token: %d %s (%v)", resp.StatusCode, body, err)
	}
	// Node B learns of it within a second too.
	withinSecond(t, "node B accepts a token made through node A", func() bool { return bearer(t, baseB+"/taxii2/", tok.Token) == http.StatusOK })
	if resp, body := doJSON(t, "DELETE", baseA+"/admin/v1/accounts/admin/tokens/"+tok.ID, password, ""); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	withinSecond(t, "node B refuses a token revoked through node A", func() bool { return bearer(t, baseB+"/taxii2/", tok.Token) == http.StatusUnauthorized })
}

// withinSecond fails the test unless cond holds within a second, the bound on
// how long a directory change on one node takes to apply on another.
func withinSecond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > time.Second {
			t.Fatalf("not within a second: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pgtestPassword returns the password in a database URL, if any.
func pgtestPassword(raw string) (string, bool) {
	i := strings.Index(raw, "://")
	j := strings.LastIndex(raw, "@")
	if i < 0 || j < i {
		return "", false
	}
	userinfo := raw[i+3 : j]
	k := strings.Index(userinfo, ":")
	if k < 0 {
		return "", false
	}
	return userinfo[k+1:], true
}

// doJSON sends an admin request as admin with Basic credentials.
func doJSON(t *testing.T, method, url, password, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return roundTrip(t, req)
}

// bearer answers the status of GET url with an API token.
func bearer(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	resp, _ := roundTrip(t, req)
	return resp.StatusCode
}

// Ensure that a database URL's password reaches neither the log nor an
// error message when the database cannot be reached, from the flag or the
// environment.
func TestServe_DatabaseURLPasswordNotShown(t *testing.T) {
	const secret = "S3cret-Never-Shown"
	url := "postgres://eitaxii:" + secret + "@127.0.0.1:1/eitaxii?connect_timeout=2"
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"Flag", []string{"--database-url", url}, nil},
		{"Environment", nil, map[string]string{"EITAXII_DATABASE_URL": url}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return tt.env[k] }}
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, tt.args...)
			if code := run(t.Context(), args, e); code == 0 {
				t.Fatal("serve started without its database")
			}
			out := stdout.String() + stderr.String()
			if strings.Contains(out, secret) {
				t.Fatalf("the password is shown:\n%s", out)
			}
			if !strings.Contains(out, "database_url") {
				t.Fatalf("the error does not name database_url:\n%s", out)
			}
		})
	}
}

// Ensure that `eitaxii migrate` copies an embedded store into an empty
// PostgreSQL database, after which a node on the database serves the same
// objects with the same date_added to the same credentials, and that a
// database that is not empty is refused.
func TestMigrate(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	base, stdout, _, stop := startServe(t, "--data-dir", dir)
	password := starterPassword(t, stdout)
	objects := "/demo/collections/indicators/objects/"
	for _, id := range []string{"6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11", "7a2d4d3f-2c8b-4d6f-8b1c-3b5e8f1a0c22"} {
		if resp, body := do(t, "POST", base+objects, "admin", password, `{"objects":[`+fmt.Sprintf(indicatorJSON, id)+`]}`); resp.StatusCode != 202 {
			t.Fatalf("publish: %d %s", resp.StatusCode, body)
		}
	}
	_, before := do(t, "GET", base+objects, "admin", password, "")
	_, manifestBefore := do(t, "GET", base+"/demo/collections/indicators/manifest/", "admin", password, "")
	if code := stop(); code != 0 {
		t.Fatalf("serve exited with %d", code)
	}

	migrateRun := func() (int, string) {
		code, out, errOut := runCLI(map[string]string{"EITAXII_DATABASE_URL": url}, "migrate", "--from", dir)
		return code, out + errOut
	}
	code, out := migrateRun()
	if code != 0 || !strings.Contains(out, "2 object versions") {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}

	baseP, _ := startNode(t, dir, url)
	_, after := do(t, "GET", baseP+objects, "admin", password, "")
	_, manifestAfter := do(t, "GET", baseP+"/demo/collections/indicators/manifest/", "admin", password, "")
	if string(after) != string(before) || string(manifestAfter) != string(manifestBefore) {
		t.Fatalf("after the migration the node serves\n%s\n%s\nwant\n%s\n%s", after, manifestAfter, before, manifestBefore)
	}

	if code, out := migrateRun(); code != 1 || !strings.Contains(out, "not empty") {
		t.Fatalf("second migrate into the same database: exit %d\n%s", code, out)
	}
}

// Ensure that `eitaxii check --database` verifies a PostgreSQL store, and
// that `eitaxii backup --server` on a node that keeps its store in
// PostgreSQL says to use pg_dump and leaves no file behind.
func TestCheckAndBackup_PostgreSQL(t *testing.T) {
	url := pgtest.URL(t)
	base, _, password := startFirstNode(t, url)
	vars := map[string]string{"EITAXII_DATABASE_URL": url, "EITAXII_PASSWORD": password}
	cmd := func(args ...string) (int, string) {
		code, out, errOut := runCLI(vars, args...)
		return code, out + errOut
	}
	if code, out := cmd("check", "--database"); code != 0 || !strings.Contains(out, ": ok: 1 collections") {
		t.Fatalf("check --database: exit %d\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	if code, out := cmd("backup", "--server", base, "--user", "admin", "--out", file); code != 1 || !strings.Contains(out, "pg_dump") {
		t.Fatalf("backup of a node on PostgreSQL: exit %d\n%s", code, out)
	}
	for _, f := range []string{file, file + ".tmp"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Fatalf("backup left %s behind: %v", f, err)
		}
	}
}

// Ensure that the backup the README gives for PostgreSQL works: a database
// dumped with pg_dump and restored with pg_restore into an empty one
// passes `eitaxii check`, and a node on it serves what the original held
// with the same date_added, honours a next token and an API token made
// before the dump (the signing key and the token hashes are in the
// database), and publishes after the restored objects (issue 11).
func TestBackup_PgDumpRestore(t *testing.T) {
	url := pgtest.URL(t)
	base, dir, password := startFirstNode(t, url)
	objects := "/demo/collections/indicators/objects/"
	ids := []string{"0b8e7c55-6d5f-4a35-9c7e-1f0e2d3c4b01", "1c9f8d66-7e60-4b46-8d8f-2a1f3e4d5c02", "2da09e77-8f71-4c57-9e90-3b2a4f5e6d03"}
	for _, id := range ids {
		if resp, body := do(t, "POST", base+objects, "admin", password, `{"objects":[`+fmt.Sprintf(indicatorJSON, id)+`]}`); resp.StatusCode != 202 {
			t.Fatalf("publish: %d %s", resp.StatusCode, body)
		}
	}
	resp, before := do(t, "GET", base+objects, "admin", password, "")
	lastAdded := resp.Header.Get("X-TAXII-Date-Added-Last")
	resp, body := do(t, "GET", base+objects+"?limit=1", "admin", password, "")
	var page client.Envelope
	if err := json.Unmarshal(body, &page); resp.StatusCode != 200 || err != nil || page.Next == "" {
		t.Fatalf("first page: %d %s (%v)", resp.StatusCode, body, err)
	}
	resp, body = doJSON(t, "POST", base+"/admin/v1/accounts/admin/tokens", password, `{"name":"feed"}`)
	var tok client.NewToken
	if err := json.Unmarshal(body, &tok); resp.StatusCode != 201 || err != nil {
		t.Fatalf("create token: %d %s (%v)", resp.StatusCode, body, err)
	}

	restored := pgtest.DumpRestore(t, url)
	if code, out, errOut := runCLI(map[string]string{"EITAXII_DATABASE_URL": restored}, "check", "--database"); code != 0 || !strings.Contains(out, ": ok: 1 collections") {
		t.Fatalf("check of the restored database: exit %d\n%s%s", code, out, errOut)
	}
	baseR, _ := startSecondNode(t, restored, dir)
	if _, after := do(t, "GET", baseR+objects, "admin", password, ""); string(after) != string(before) {
		t.Fatalf("the restored node serves\n%s\nthe original served\n%s", after, before)
	}
	if resp, body := do(t, "GET", baseR+objects+"?limit=1&next="+page.Next, "admin", password, ""); resp.StatusCode != 200 ||
		!strings.Contains(string(body), "indicator--"+ids[1]) {
		t.Fatalf("a next token made before the dump: %d %s", resp.StatusCode, body)
	}
	if got := bearer(t, baseR+"/taxii2/", tok.Token); got != http.StatusOK {
		t.Fatalf("an API token made before the dump: %d", got)
	}
	const newID = "3eb1af88-9082-4d68-8fa1-4c3b5a6f7e04"
	if resp, body := do(t, "POST", baseR+objects, "admin", password, `{"objects":[`+fmt.Sprintf(indicatorJSON, newID)+`]}`); resp.StatusCode != 202 {
		t.Fatalf("publish on the restored node: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", baseR+objects+"?added_after="+lastAdded, "admin", password, "")
	var newer client.Envelope
	if err := json.Unmarshal(body, &newer); resp.StatusCode != 200 || err != nil || len(newer.Objects) != 1 ||
		!strings.Contains(string(newer.Objects[0]), newID) {
		t.Fatalf("added after the restored objects' last (%s): %d %s", lastAdded, resp.StatusCode, body)
	}
}

// Ensure that a node whose database goes away answers TAXII requests 503
// with a TAXII error body and Retry-After, and /readyz 503, and serves
// again by itself when the database is back (issue 11).
func TestServe_DatabaseAway(t *testing.T) {
	url := pgtest.URL(t)
	base, _, password := startFirstNode(t, url)
	objects := base + "/demo/collections/indicators/objects/"
	if resp, body := do(t, "GET", objects, "admin", password, ""); resp.StatusCode != 200 {
		t.Fatalf("before: %d %s", resp.StatusCode, body)
	}

	up := pgtest.Down(t)
	resp, body := do(t, "GET", objects, "admin", password, "")
	var taxiiErr struct {
		Title      string `json:"title"`
		HTTPStatus string `json:"http_status"`
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || json.Unmarshal(body, &taxiiErr) != nil || taxiiErr.HTTPStatus != "503" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/taxii+json") {
		t.Fatalf("with the database away: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, _ := do(t, "GET", base+"/readyz", "", "", ""); resp.StatusCode != 503 {
		t.Fatalf("/readyz with the database away: %d, want 503", resp.StatusCode)
	}

	up()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, body := do(t, "GET", objects, "admin", password, "")
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node did not recover after the database came back: %d %s", resp.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp, _ := do(t, "GET", base+"/readyz", "", "", ""); resp.StatusCode != 200 {
		t.Fatalf("/readyz after the database is back: %d", resp.StatusCode)
	}
}

// Ensure that a live stream on one node of a PostgreSQL database carries
// what is published on another node (issue 12: the stream works across
// nodes).
func TestStream_AcrossNodes(t *testing.T) {
	url := pgtest.URL(t)
	baseA, dirA, password := startFirstNode(t, url)
	baseB, _ := startSecondNode(t, url, dirA)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", baseB+"/demo/collections/indicators/stream/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", password)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream on node B: %d", resp.StatusCode)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
	// The stream has started once its retry field is read: what is
	// published from then on must arrive.
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "retry:") {
	}
	id := "9c3e5f4a-3d9c-4e7a-9c2d-4c6f9a2b1d33"
	if resp, body := do(t, "POST", baseA+"/demo/collections/indicators/objects/", "admin", password, `{"objects":[`+fmt.Sprintf(indicatorJSON, id)+`]}`); resp.StatusCode != 202 {
		t.Fatalf("publish on node A: %d %s", resp.StatusCode, body)
	}
	event := ""
	for lines.Scan() {
		line := lines.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "object":
			if !strings.Contains(line, "indicator--"+id) {
				t.Fatalf("node B streamed another object: %s", line)
			}
			return
		}
	}
	t.Fatalf("node B's stream ended without the object published on node A: %v", lines.Err())
}

// Ensure that a console session made on one node works on the other, as
// behind a load balancer, and that signing out on the other ends it on
// both (issue 13: sessions work on every node on PostgreSQL).
func TestConsole_SessionOnEveryNode(t *testing.T) {
	url := pgtest.URL(t)
	baseA, dirA, password := startFirstNode(t, url)
	baseB, _ := startSecondNode(t, url, dirA)
	jar, _ := cookiejar.New(nil) // cookies are per host, not per port: both nodes see them
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	get := func(base, path string) (int, string) {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	post := func(base, path string, form neturl.Values) int {
		t.Helper()
		resp, err := hc.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	_, page := get(baseA, "/console/sign-in")
	m := csrf.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-in form on node A:\n%s", page)
	}
	if code := post(baseA, "/console/sign-in", neturl.Values{"csrf": {m[1]}, "name": {"admin"}, "password": {password}, "next": {"/console/"}}); code != http.StatusSeeOther {
		t.Fatalf("sign in on node A: %d", code)
	}
	code, home := get(baseB, "/console/")
	if code != http.StatusOK || !strings.Contains(home, "/demo/") {
		t.Fatalf("node B with node A's session: %d\n%s", code, home)
	}
	m = csrf.FindStringSubmatch(home)
	if m == nil {
		t.Fatalf("no sign-out form on node B:\n%s", home)
	}
	if code := post(baseB, "/console/sign-out", neturl.Values{"csrf": {m[1]}}); code != http.StatusSeeOther {
		t.Fatalf("sign out on node B: %d", code)
	}
	if code, _ := get(baseA, "/console/"); code != http.StatusSeeOther {
		t.Fatalf("node A after signing out on node B: %d, want a redirect to sign-in", code)
	}
}
