package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"golang.org/x/crypto/bcrypt"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `eitaxii serve args...` in-process on 127.0.0.1:0 and
// returns its base URL, its output, and a stop function that cancels it and
// returns its exit status.
func startServe(t *testing.T, args ...string) (base string, stdout, stderr *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, onListen: func(a net.Addr) { addrc <- a }}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), e) }()
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d before listening; stderr:\n%s", code, stderr.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("serve did not start listening")
	}
	stopped := false
	var code int
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			code = <-done
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return base, stdout, stderr, stop
}

// runCLI runs one eitaxii command in-process, with an empty stdin and
// vars as its whole environment, and returns its exit status and output.
func runCLI(vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
	code = run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

func do(t *testing.T, method, url, user, pass string, body string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	if body != "" {
		req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
	}
	return roundTrip(t, req)
}

// roundTrip sends req with http.DefaultClient and returns the response
// with its whole body, failing t if either cannot be had.
func roundTrip(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// starterPassword returns the one-time admin password a first start
// printed to stdout with the starter configuration.
func starterPassword(t *testing.T, stdout *syncBuffer) string {
	t.Helper()
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no password printed; stdout:\n%s", stdout.String())
	}
	return m[1]
}

const indicatorJSON = `{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`

// Ensure that the embedded default writes a starter config with a one-time
// password, serves discovery, publish and poll with it, and shuts down
// cleanly, closing the store (the README quick start).
func TestServe_EmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	base, stdout, _, stop := startServe(t, "--data-dir", dir)

	password := starterPassword(t, stdout)
	cfg, err := os.ReadFile(filepath.Join(dir, starterConfig))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cfg, []byte(password)) {
		t.Fatal("starter config holds the plain password")
	}

	resp, body := do(t, "GET", base+"/taxii2/", "admin", password, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"api_roots":["/demo/"]`) {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", base+"/taxii2/", "admin", "wrong", ""); resp.StatusCode != 401 {
		t.Fatalf("wrong password: status %d, want 401", resp.StatusCode)
	}

	id := "6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11"
	resp, body = do(t, "POST", base+"/demo/collections/indicators/objects/", "admin", password,
		`{"objects":[`+fmt.Sprintf(indicatorJSON, id)+`]}`)
	if resp.StatusCode != 202 {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	var st store.Status
	if err := json.Unmarshal(body, &st); err != nil || st.SuccessCount != 1 {
		t.Fatalf("publish status: %s (%v)", body, err)
	}
	resp, body = do(t, "GET", base+"/demo/status/"+st.ID, "admin", password, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), st.ID) {
		t.Fatalf("status: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", base+"/demo/collections/indicators/objects/", "admin", password, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "indicator--"+id) || !strings.Contains(string(body), "198.51.100.7']") {
		t.Fatalf("poll: %d %s", resp.StatusCode, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited with %d, want 0", code)
	}
	// The store was closed: another process (here, Open) can take the lock.
	db, err := bolt.Open(filepath.Join(dir, storeFile), bolt.Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("store still locked after shutdown: %v", err)
	}
	db.Close()

	// A second start reuses the starter config: same password, no new one printed.
	base, stdout, _, _ = startServe(t, "--data-dir", dir)
	if strings.Contains(stdout.String(), "password:") {
		t.Fatal("second start printed a new password")
	}
	if resp, body := do(t, "GET", base+"/demo/collections/indicators/objects/", "admin", password, ""); resp.StatusCode != 200 || !strings.Contains(string(body), "indicator--"+id) {
		t.Fatalf("after restart: %d %s", resp.StatusCode, body)
	}
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "eitaxii.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Ensure that a config file in the documented shape works with Basic and
// token credentials and that membership limits what each account sees.
func TestServe_ConfigFile(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-password-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	token, tokenHash := access.NewAPIToken()
	cfg := writeConfig(t, `
listen: 127.0.0.1:9
data_dir: `+t.TempDir()+`
discovery: {title: eitaxii, description: "test", contact: "soc@example.org", default: election-officials}
accounts:
  - name: alice
    password_hash: "`+string(hash)+`"
  - name: county-feed
    token_hashes: ["`+tokenHash+`"]
groups:
  - name: election-officials
    title: Election Officials
    description: "officials"
    max_content_length: 10485760
    members: {alice: publisher, county-feed: reader}
    collections:
      - {id: 6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11, title: Indicators, alias: indicators, description: "iocs"}
  - name: vendors
    title: Vendors
    members: {alice: reader}
    collections:
      - {id: 0b8e6a70-3f0e-4f5e-8f8e-6b0a4f0e9b22, title: Vendor feed}
`)
	base, _, _, _ := startServe(t, "--config", cfg)

	resp, body := do(t, "GET", base+"/taxii2/", "alice", "alice-password-1", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"api_roots":["/election-officials/","/vendors/"]`) {
		t.Fatalf("alice discovery: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", base+"/taxii2/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	r, body := roundTrip(t, req)
	if r.StatusCode != 200 || !strings.Contains(string(body), `"api_roots":["/election-officials/"]`) || strings.Contains(string(body), "vendors") {
		t.Fatalf("county-feed discovery: %d %s", r.StatusCode, body)
	}
	req, _ = http.NewRequest("GET", base+"/vendors/", nil)
	req.Header.Set("Authorization", "Token "+token)
	if r, _ = roundTrip(t, req); r.StatusCode != 404 {
		t.Fatalf("county-feed on another group's API root: %d, want 404", r.StatusCode)
	}
}

// Ensure that login_limit and credential_cache_size reach the server: past
// per_address wrong passwords the address is answered 429 with
// Retry-After, the right password included.
func TestServe_LoginLimitConfig(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-password-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `
listen: 127.0.0.1:9
data_dir: `+t.TempDir()+`
discovery: {title: eitaxii}
login_limit: {per_address: 2, per_account: -1, window: 1h}
credential_cache_size: 5
accounts:
  - {name: alice, password_hash: "`+string(hash)+`"}
`)
	base, _, _, _ := startServe(t, "--config", cfg)
	if resp, body := do(t, "GET", base+"/taxii2/", "alice", "alice-password-1", ""); resp.StatusCode != 200 {
		t.Fatalf("alice: %d %s", resp.StatusCode, body)
	}
	for range 2 {
		if resp, body := do(t, "GET", base+"/taxii2/", "alice", "wrong", ""); resp.StatusCode != 401 {
			t.Fatalf("wrong password: %d %s", resp.StatusCode, body)
		}
	}
	resp, body := do(t, "GET", base+"/taxii2/", "alice", "alice-password-1", "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1800" || !strings.Contains(string(body), `"http_status":"429"`) {
		t.Fatalf("after 2 failures of 2 per hour: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// Ensure that bad configurations are refused with a message naming the key.
func TestServe_BadConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"UnknownKey", "discovery: {title: x}\nlisten_adress: 1\n", "listen_adress"},
		{"NoTitle", "discovery: {}\n", "discovery.title"},
		{"UnknownMember", "discovery: {title: x}\ngroups:\n  - {name: g, title: G, members: {bob: reader}}\n", "groups[0].members.bob: unknown account"},
		{"UnknownRole", "discovery: {title: x}\naccounts: [{name: bob}]\ngroups:\n  - {name: g, title: G, members: {bob: owner}}\n", `groups[0].members.bob: "owner" is not a role (reader, publisher or admin)`},
		{"NotUUIDv4", "discovery: {title: x}\ngroups:\n  - {name: g, title: G, collections: [{id: 6f1c3c2e-1b7a-1c5e-9a0b-2a4d7f0e9b11, title: C}]}\n", "groups[0].collections[0].id"},
		{"DuplicateCollection", "discovery: {title: x}\ngroups:\n  - {name: g, title: G, collections: [{id: 6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11, title: C}]}\n  - {name: h, title: H, collections: [{id: 6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11, title: D}]}\n", "duplicate collection id"},
		// The admin API's rules, which the file did not apply before issue 10.
		{"AliasIsUUID", "discovery: {title: x}\ngroups:\n  - {name: g, title: G, collections: [{id: 6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11, title: C, alias: 6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b12}]}\n",
			`groups[0].collections[0].alias: "6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b12" reads as a collection id; choose a name`},
		{"TitleTooLong", "discovery: {title: x}\ngroups:\n  - {name: g, title: " + strings.Repeat("t", 257) + "}\n", "groups[0].title: at most 256 bytes"},
		{"ReservedRoot", "discovery: {title: x}\ngroups:\n  - {name: taxii2, title: G}\n", "groups[0].name"},
		{"BadTokenHash", "discovery: {title: x}\naccounts: [{name: bob, token_hashes: [abc]}]\n", "accounts[0].token_hashes[0]"},
		{"BadLoginWindow", "discovery: {title: x}\nlogin_limit: {window: soon}\n", "login_limit.window"},
		{"NegativeCredentialCache", "discovery: {title: x}\ncredential_cache_size: -1\n", "credential_cache_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, tc.yaml)
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"serve", "--config", cfg, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"},
				&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr})
			if code != 1 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}

// Ensure that serve refuses plain HTTP on a non-loopback address unless
// told --insecure-http.
func TestServe_RefusesPublicPlainHTTP(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--listen", "0.0.0.0:0"},
		&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr})
	if code != 1 || !strings.Contains(stderr.String(), "not a loopback address") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	for addr, want := range map[string]bool{"127.0.0.1:80": true, "localhost:1": true, "[::1]:8080": true, ":8080": false, "10.0.0.1:80": false} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// Ensure that hash-password produces a bcrypt hash of the password read on
// stdin, and new-token a token whose SHA-256 is the printed hash.
func TestCredentialCommands(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"hash-password"}, &env{stdin: strings.NewReader("correct horse battery\n"), stdout: &out, stderr: io.Discard}); code != 0 {
		t.Fatalf("hash-password exit %d", code)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(out.String())), []byte("correct horse battery")); err != nil {
		t.Fatalf("hash does not verify: %v", err)
	}
	var errs bytes.Buffer
	if code := run(context.Background(), []string{"hash-password"}, &env{stdin: strings.NewReader("short\n"), stdout: io.Discard, stderr: &errs}); code != 1 {
		t.Fatalf("short password accepted (exit %d)", code)
	}
	if got := errs.String(); got != "eitaxii: hash-password: password: must be 12 to 72 bytes long (bcrypt uses at most 72), not 5\n" {
		t.Errorf("short password: stderr %q", got)
	}
	// Issue 9: arguments were ignored (--help waited for a password).
	errs.Reset()
	if code := run(context.Background(), []string{"hash-password", "hunter2hunter2"}, &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errs}); code != 1 ||
		!strings.Contains(errs.String(), "takes no arguments") || !strings.HasSuffix(errs.String(), "\n") {
		t.Errorf("hash-password with an argument: exit %d, stderr %q", code, errs.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"hash-password", "--help"}, &env{stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard}); code != 0 ||
		!strings.HasPrefix(out.String(), "usage: eitaxii hash-password") {
		t.Errorf("hash-password --help: exit %d, stdout %q", code, out.String())
	}

	out.Reset()
	if code := run(context.Background(), []string{"new-token"}, &env{stdout: &out, stderr: io.Discard}); code != 0 {
		t.Fatalf("new-token exit %d", code)
	}
	m := regexp.MustCompile(`token: (\S+)\nhash:  ([0-9a-f]{64})`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("new-token output: %q", out.String())
	}
	sum := sha256.Sum256([]byte(m[1]))
	if hex.EncodeToString(sum[:]) != m[2] {
		t.Fatal("printed hash is not the SHA-256 of the token")
	}
}

// Ensure that validate passes a valid file, fails an invalid one with one
// line per finding naming the object, and reads standard input for "-".
func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(fmt.Sprintf(indicatorJSON, "6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11")), 0o600)
	os.WriteFile(bad, []byte(`{"type":"bundle","id":"bundle--6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11","objects":[`+
		fmt.Sprintf(indicatorJSON, "0b8e6a70-3f0e-4f5e-8f8e-6b0a4f0e9b22")+`,{"type":"indicator","id":"malware--0b8e6a70-3f0e-4f5e-8f8e-6b0a4f0e9b22"}]}`), 0o600)

	var out bytes.Buffer
	if code := run(context.Background(), []string{"validate", good}, &env{stdout: &out, stderr: io.Discard}); code != 0 {
		t.Fatalf("valid file: exit %d, output %q", code, out.String())
	}
	out.Reset()
	code := run(context.Background(), []string{"validate", good, bad}, &env{stdout: &out, stderr: io.Discard})
	if code != 1 {
		t.Fatalf("invalid file: exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), bad+": malware--0b8e6a70-3f0e-4f5e-8f8e-6b0a4f0e9b22: /id:") || strings.Contains(out.String(), good) {
		t.Fatalf("output %q", out.String())
	}
	out.Reset()
	code = run(context.Background(), []string{"validate", "-"}, &env{stdin: strings.NewReader(`{"objects":[{"spec_version":"2.1"}]}`), stdout: &out, stderr: io.Discard})
	if code != 1 || !strings.Contains(out.String(), "-: objects[0]: /type: type is required") {
		t.Fatalf("stdin: exit %d, output %q", code, out.String())
	}
}

// Ensure that the page-memory keys reach the server's options (issue 9).
func TestConfig_PageMemory(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, "discovery: {title: x}\nmax_page_bytes: 1048576\nmax_concurrent_reads: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := cfg.serverOptions()
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxPageBytes != 1<<20 || o.MaxConcurrentReads != 2 {
		t.Errorf("MaxPageBytes %d, MaxConcurrentReads %d; want 1048576 and 2", o.MaxPageBytes, o.MaxConcurrentReads)
	}
}
