package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/poll")

const (
	countyPassword = "county-password-1"
	publisherPass  = "publisher-password-1"
	iocsID         = "6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11"
	otherID        = "0b8e6a70-3f0e-4f5e-8f8e-6b0a4f0e9b22"
)

// startPollServer runs serve with a publisher, pub, and a reader, county,
// in group officials, whose collections are iocsID (alias iocs, title
// Indicators) and otherID (title Other).
func startPollServer(t *testing.T) string {
	return startOfficials(t, "poll test", "", `
      - {id: `+iocsID+`, title: Indicators, alias: iocs}
      - {id: `+otherID+`, title: Other}`)
}

// startOfficials runs serve with accounts pub (publisher) and county
// (reader) in group officials; settings are YAML lines of the group (at
// its indentation), collections the entries of its collections list.
func startOfficials(t *testing.T, title, settings, collections string) string {
	t.Helper()
	ch, _ := bcrypt.GenerateFromPassword([]byte(countyPassword), bcrypt.MinCost)
	ph, _ := bcrypt.GenerateFromPassword([]byte(publisherPass), bcrypt.MinCost)
	cfg := writeConfig(t, `
data_dir: `+t.TempDir()+`
discovery: {title: `+title+`, default: officials}
accounts:
  - {name: county, password_hash: "`+string(ch)+`"}
  - {name: pub, password_hash: "`+string(ph)+`"}
groups:
  - name: officials
    title: Election Officials`+settings+`
    members: {county: reader, pub: publisher}
    collections:`+collections+`
`)
	base, _, _, _ := startServe(t, "--config", cfg)
	return base
}

// publish adds objects to collection coll and checks each was stored.
func publish(t *testing.T, base, coll string, objs ...string) {
	t.Helper()
	resp, body := do(t, "POST", base+"/officials/collections/"+coll+"/objects/", "pub", publisherPass, `{"objects":[`+strings.Join(objs, ",")+`]}`)
	var st struct {
		SuccessCount int `json:"success_count"`
	}
	if resp.StatusCode != 202 || json.Unmarshal(body, &st) != nil || st.SuccessCount != len(objs) {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
}

// indicator returns an indicator with pattern, its id ending in n.
func indicator(n int, pattern string, extra string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-02T00:00:00.000Z","pattern":%q,"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"%s}`, n, pattern, extra)
}

// sampleObjects is one of each case the formats treat differently.
func sampleObjects() []string {
	return []string{
		indicator(1, "[ipv4-addr:value = '198.51.100.7']", ""),
		indicator(2, "[domain-name:value = 'pollworker-login.example.net'] OR [url:value = 'https://pollworker-login.example.net/login']", ""),
		indicator(3, "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']", ""),
		indicator(4, "[file:name = 'ballot.exe' AND file:size > 10]", ""),
		indicator(5, "[ipv4-addr:value IN ('203.0.113.0/24', '198.51.100.7')]", ""),
		indicator(6, "[domain-name:value = 'revoked.example']", `,"revoked":true`),
		indicator(7, "[email-addr:value = 'ballots@phish.example' OR ipv6-addr:value = '2001:db8::1']", ""),
		`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--00000000-0000-4000-8000-000000000008","value":"192.0.2.44"}`,
		`{"type":"malware","spec_version":"2.1","id":"malware--00000000-0000-4000-8000-000000000009","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"BallotRAT","is_family":false}`,
		`{"type":"domain-name","spec_version":"2.1","id":"domain-name--00000000-0000-4000-8000-000000000010","value":"pollworker-login.example.net"}`,
	}
}

// pollCLI runs poll and watch in-process as county.
type pollCLI struct {
	t   *testing.T
	env map[string]string
	// afterOutput is env.afterOutput.
	afterOutput func() error
}

func newPollCLI(t *testing.T) *pollCLI {
	return &pollCLI{t: t, env: map[string]string{"EITAXII_USER": "county", "EITAXII_PASSWORD": countyPassword}}
}

func (c *pollCLI) run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return c.env[k] },
		afterOutput: c.afterOutput}
	code = run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed and returns its standard output.
func (c *pollCLI) ok(args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(args...)
	if code != 0 {
		c.t.Fatalf("eitaxii %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// ids returns the ids of the jsonl output, in order.
func ids(t *testing.T, jsonl string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(jsonl, "\n"), "\n") {
		if line == "" {
			continue
		}
		var o struct{ ID string }
		if err := json.Unmarshal([]byte(line), &o); err != nil || o.ID == "" {
			t.Fatalf("not an object line: %q", line)
		}
		out = append(out, o.ID)
	}
	return out
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "poll", name)
	if *updateGolden {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs (-update rewrites it)\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

// Ensure that the first run gets everything, the next only what is new,
// and a run with nothing new writes nothing and keeps the state.
func TestPoll_SinceFile(t *testing.T) {
	base := startPollServer(t)
	c := newPollCLI(t)
	objs := sampleObjects()
	publish(t, base, iocsID, objs[:4]...)
	state := filepath.Join(t.TempDir(), "iocs.state")
	args := []string{"poll", "--server", base, "--collection", "iocs", "--since-file", state}

	got := ids(t, c.ok(args...))
	if strings.Join(got, " ") != "indicator--00000000-0000-4000-8000-000000000001 indicator--00000000-0000-4000-8000-000000000002 "+
		"indicator--00000000-0000-4000-8000-000000000003 indicator--00000000-0000-4000-8000-000000000004" {
		t.Fatalf("first run: %v", got)
	}
	first, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var st pollState
	if err := json.Unmarshal(first, &st); err != nil || st.Server != base || st.APIRoot != base+"/officials/" || st.Collection != iocsID || st.DateAddedLast == "" {
		t.Fatalf("state %s (%v)", first, err)
	}
	if out := c.ok(args...); out != "" {
		t.Fatalf("second run with nothing new: %q", out)
	}
	if again, _ := os.ReadFile(state); !bytes.Equal(again, first) {
		t.Fatalf("state changed by an empty run: %s", again)
	}
	publish(t, base, iocsID, objs[4:6]...)
	if got := ids(t, c.ok(args...)); len(got) != 2 || got[0] != "indicator--00000000-0000-4000-8000-000000000005" || got[1] != "indicator--00000000-0000-4000-8000-000000000006" {
		t.Fatalf("third run: %v", got)
	}
	// The collection's id and title name the same collection as its alias.
	if out := c.ok("poll", "--server", base, "--collection", "Indicators", "--since-file", state); out != "" {
		t.Fatalf("by title: %q", out)
	}
	if out := c.ok("poll", "--server", base, "--api-root", "officials", "--collection", iocsID, "--since-file", state); out != "" {
		t.Fatalf("by id: %q", out)
	}
}

// Ensure that a run cut off after writing its output but before writing
// its state repeats what it wrote and nothing is lost: the state is only
// ever written after the output.
func TestPoll_CrashBeforeState(t *testing.T) {
	base := startPollServer(t)
	c := newPollCLI(t)
	objs := sampleObjects()
	publish(t, base, iocsID, objs[:2]...)
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	args := []string{"poll", "--server", base, "--collection", "iocs", "--since-file", state, "--out", out, "--append"}
	c.ok(args...)

	publish(t, base, iocsID, objs[2:5]...)
	c.afterOutput = func() error { return errors.New("killed") }
	if code, _, errs := c.run(args...); code != 1 || !strings.Contains(errs, "killed") {
		t.Fatalf("crashing run: exit %d, %s", code, errs)
	}
	c.afterOutput = nil
	c.ok(args...)
	data, _ := os.ReadFile(out)
	got := ids(t, string(data))
	want := []string{"1", "2", "3", "4", "5", "3", "4", "5"}
	if len(got) != len(want) {
		t.Fatalf("output %v", got)
	}
	for i, w := range want {
		if got[i] != "indicator--00000000-0000-4000-8000-00000000000"+w {
			t.Fatalf("output %v; want the crashed run's 3 objects repeated once, none lost", got)
		}
	}
	if extra := c.ok(args[:len(args)-3]...); extra != "" {
		t.Fatalf("after the repeat: %q", extra)
	}
}

// Ensure that paging with a small limit walks every object once, in
// order, both by next (eitaxii) and on a server that gives only
// X-TAXII-Date-Added-Last (the proxy drops next from every page).
func TestPoll_Paging(t *testing.T) {
	base := startPollServer(t)
	var objs, want []string
	for i := 1; i <= 23; i++ {
		objs = append(objs, indicator(100+i, fmt.Sprintf("[ipv4-addr:value = '192.0.2.%d']", i), ""))
		want = append(want, fmt.Sprintf("192.0.2.%d", i))
	}
	publish(t, base, iocsID, objs[:10]...)
	publish(t, base, iocsID, objs[10:]...)

	noNext := proxyTo(t, base, func(resp *http.Response) error {
		if !strings.Contains(resp.Request.URL.Path, "/objects/") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var env map[string]json.RawMessage
		if json.Unmarshal(body, &env) == nil {
			delete(env, "next")
			body, _ = json.Marshal(env)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	})

	for i, tc := range []struct{ name, server string }{{"Next", base}, {"DateAddedLast", noNext}} {
		server := tc.server
		t.Run(tc.name, func(t *testing.T) {
			c := newPollCLI(t)
			state := filepath.Join(t.TempDir(), "state")
			out := c.ok("poll", "--server", server, "--collection", "iocs", "--since-file", state, "--limit", "4", "--format", "values")
			if got := strings.Fields(out); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("values %v\nwant %v", got, want)
			}
			newer := fmt.Sprintf("192.0.2.%d", 200+i)
			publish(t, base, iocsID, indicator(200+i, "[ipv4-addr:value = '"+newer+"']", ""))
			want = append(want, newer)
			if out := c.ok("poll", "--server", server, "--collection", "iocs", "--since-file", state, "--limit", "4", "--format", "values"); out != newer+"\n" {
				t.Fatalf("second run: %q", out)
			}
		})
	}
}

// proxyTo serves a reverse proxy to base whose answers modify changes: a
// real server made to behave like another one.
func proxyTo(t *testing.T, base string, modify func(*http.Response) error) string {
	t.Helper()
	target, _ := url.Parse(base)
	hs := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host },
		ModifyResponse: modify,
	})
	t.Cleanup(hs.Close)
	return hs.URL
}

// Ensure that a server without X-TAXII-Date-Added-Last leaves the state
// where it was (the next run repeats, never loses) and says so.
func TestPoll_NoDateAddedLast(t *testing.T) {
	base := startPollServer(t)
	publish(t, base, iocsID, sampleObjects()[:2]...)
	server := proxyTo(t, base, func(resp *http.Response) error {
		resp.Header.Del("X-TAXII-Date-Added-Last")
		resp.Header.Del("X-TAXII-Date-Added-First")
		return nil
	})
	c := newPollCLI(t)
	state := filepath.Join(t.TempDir(), "state")
	for range 2 {
		code, out, errs := c.run("poll", "--server", server, "--collection", "iocs", "--since-file", state)
		if code != 0 || len(ids(t, out)) != 2 || !strings.Contains(errs, "sent no X-TAXII-Date-Added-Last after 2 objects") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("state written without a position: %v", err)
	}
}

// Ensure that each format writes exactly its documented output.
func TestPoll_Formats(t *testing.T) {
	base := startPollServer(t)
	publish(t, base, iocsID, sampleObjects()...)
	c := newPollCLI(t)
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			out := c.ok("poll", "--server", base, "--collection", "iocs", "--format", f)
			golden(t, f+".golden", out)
			if f == formatSTIX {
				var env struct{ Objects []json.RawMessage }
				if err := json.Unmarshal([]byte(out), &env); err != nil || len(env.Objects) != len(sampleObjects()) {
					t.Fatalf("stix: %d objects, %v", len(env.Objects), err)
				}
			}
		})
	}
	t.Run("TypeFilter", func(t *testing.T) {
		out := c.ok("poll", "--server", base, "--collection", "iocs", "--type", "malware,ipv4-addr")
		if got := ids(t, out); strings.Join(got, " ") != "ipv4-addr--00000000-0000-4000-8000-000000000008 malware--00000000-0000-4000-8000-000000000009" {
			t.Fatalf("--type: %v", got)
		}
	})
	t.Run("OutReplacedAtomically", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "blocklist.txt")
		os.WriteFile(out, []byte("old\n"), 0o644)
		c.ok("poll", "--server", base, "--collection", "iocs", "--format", "values", "--out", out)
		data, _ := os.ReadFile(out)
		golden(t, "values.golden", string(data))
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp*")); len(left) != 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	})
	t.Run("AppendValuesOnce", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "blocklist.txt")
		os.WriteFile(out, []byte("198.51.100.7\n"), 0o644)
		c.ok("poll", "--server", base, "--collection", "iocs", "--format", "values", "--out", out, "--append")
		c.ok("poll", "--server", base, "--collection", "iocs", "--format", "values", "--out", out, "--append")
		data, _ := os.ReadFile(out)
		golden(t, "values.golden", string(data))
	})
}

// Ensure that a state file is refused with status 3 for another
// collection or server, or when it is not a state, and nothing is
// written.
func TestPoll_StateRefused(t *testing.T) {
	base := startPollServer(t)
	publish(t, base, iocsID, sampleObjects()[:1]...)
	c := newPollCLI(t)
	state := filepath.Join(t.TempDir(), "state")
	c.ok("poll", "--server", base, "--collection", "iocs", "--since-file", state)
	before, _ := os.ReadFile(state)

	code, out, errs := c.run("poll", "--server", base, "--collection", "Other", "--since-file", state)
	if code != 3 || out != "" || !strings.Contains(errs, "records collection "+iocsID) || !strings.Contains(errs, "not "+otherID) {
		t.Fatalf("other collection: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	other := strings.Replace(base, "127.0.0.1", "localhost", 1)
	if code, _, errs := c.run("poll", "--server", other, "--collection", "iocs", "--since-file", state); code != 3 || !strings.Contains(errs, "on "+base) {
		t.Fatalf("other server: exit %d, %s", code, errs)
	}
	if after, _ := os.ReadFile(state); !bytes.Equal(after, before) {
		t.Fatal("refused state was rewritten")
	}
	os.WriteFile(state, []byte("198.51.100.7\n"), 0o600)
	if code, _, errs := c.run("poll", "--server", base, "--collection", "iocs", "--since-file", state); code != 3 || !strings.Contains(errs, "not a state file") {
		t.Fatalf("not a state: exit %d, %s", code, errs)
	}
}

// Ensure that refusals are shown with the server's title and description,
// and mistakes in the command line as usage errors.
func TestPoll_Errors(t *testing.T) {
	base := startPollServer(t)
	c := newPollCLI(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"WrongPassword", map[string]string{"EITAXII_USER": "county", "EITAXII_PASSWORD": "wrong-password-1"},
			[]string{"--collection", "iocs"}, 1, "(HTTP 401)"},
		{"UnknownCollection", nil, []string{"--collection", "nope"}, 1, `no collection "nope" that you may see`},
		{"UnknownAPIRoot", nil, []string{"--collection", "iocs", "--api-root", "vendors"}, 1, "collections of " + base + "/vendors/: "},
		{"NoCollection", nil, nil, 2, "--collection is required"},
		{"BadFormat", nil, []string{"--collection", "iocs", "--format", "xml"}, 2, `"xml" is not one of stix, jsonl, csv, values`},
		{"AppendSTIX", nil, []string{"--collection", "iocs", "--format", "stix", "--out", "x", "--append"}, 2, "--append cannot add to a stix envelope"},
		{"NoPassword", map[string]string{"EITAXII_USER": "county"}, []string{"--collection", "iocs"}, 2, "no password for county"},
		{"PasswordFlag", nil, []string{"--collection", "iocs", "--password", "x"}, 2, "flag provided but not defined: -password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != nil {
				old := c.env
				c.env = tc.env
				defer func() { c.env = old }()
			}
			code, _, errs := c.run(append([]string{"poll", "--server", base}, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tc.code, tc.want)
			}
		})
	}
}

// Ensure that simple patterns give their values and anything else none.
func TestPatternValues(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    string
	}{
		{"[ipv4-addr:value = '198.51.100.0/24']", "198.51.100.0/24"},
		{"[domain-name:value = 'a.example' OR domain-name:value = 'b.example']", "a.example b.example"},
		{"([url:value = 'http://x.example/'] OR [email-addr:value = 'x@y.example'])", "http://x.example/ x@y.example"},
		{"[file:hashes.MD5 = '0123456789abcdef0123456789abcdef']", "0123456789abcdef0123456789abcdef"},
		{"[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]", "192.0.2.1 192.0.2.2"},
		{"[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']", ""},
		{"[ipv4-addr:value != '192.0.2.1']", ""},
		{"[ipv4-addr:value NOT = '192.0.2.1']", ""},
		{"[domain-name:value LIKE '%.example']", ""},
		{"[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.2']", ""},
		{"[ipv4-addr:value = '192.0.2.1'] REPEATS 5 TIMES", ""},
		{"[ipv4-addr:value = '192.0.2.1'] OR [file:name = 'x.exe']", ""},
		{"[network-traffic:dst_ref.value = '192.0.2.1']", ""},
		{"[ipv4-addr:value = '192.0.2.1'", ""},
	} {
		if got := strings.Join(patternValues(tc.pattern), " "); got != tc.want {
			t.Errorf("patternValues(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
	// A value that would add a line of its own to a blocklist is dropped.
	o := &stixObject{Type: "indicator", Pattern: "[domain-name:value = 'a.example\n0.0.0.0/0']"}
	if vals, _ := o.values(); len(vals) != 0 {
		t.Errorf("value with a newline: %q", vals)
	}
}

// Ensure that --help prints the usage with the exit statuses, and that
// the top-level usage names both commands.
func TestPoll_Help(t *testing.T) {
	c := newPollCLI(t)
	for cmd, want := range map[string]string{"poll": "usage: eitaxii poll", "watch": "usage: eitaxii watch"} {
		if out := c.ok(cmd, "--help"); !strings.HasPrefix(out, want) || !strings.Contains(out, "exit status:") {
			t.Errorf("%s --help: %q", cmd, out)
		}
	}
	if out := c.ok("help"); !strings.Contains(out, "eitaxii poll --server") || !strings.Contains(out, "eitaxii watch --server") {
		t.Errorf("usage: %q", out)
	}
}
