package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/taxii"
	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

const (
	testUser     = "loader"
	testPassword = "loader-password"
	testCollID   = "5b8e2f0c-3f4a-4d6e-9c1b-7a2d9e4f6b10"
)

// newTestServer starts an in-process eitaxii on 127.0.0.1: one group
// "load" with one collection (alias "indicators") and one publisher.
func newTestServer(t testing.TB) string {
	t.Helper()
	url, _ := newTestServerHandler(t)
	return url
}

// newTestServerHandler is newTestServer that also returns the handler.
func newTestServerHandler(t testing.TB) (string, http.Handler) {
	t.Helper()
	return newTestServerWith(t, nil)
}

// newTestServerWith is newTestServerHandler with the options changed by
// mod (given the bcrypt hash of testPassword, for accounts it adds).
func newTestServerWith(t testing.TB, mod func(o *taxii.Options, hash string)) (string, http.Handler) {
	t.Helper()
	db, v, hash := openTestStore(t)
	opts := testOptions(hash)
	if mod != nil {
		mod(&opts, hash)
	}
	return serveTest(t, opts, db, v)
}

// openTestStore opens a store on a new file, closed when the test ends
// (after whatever the test registers later, such as the server), and
// returns it with the STIX validator and the bcrypt hash of testPassword.
func openTestStore(t testing.TB) (*bolt.DB, *stix.Validator, string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "eitaxii.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	v, err := validator()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return db, v, string(hash)
}

// testOptions is the test server's configuration: one group "load" with
// one collection (alias "indicators") and testUser, whose password has
// hash, its publisher; the log is discarded.
func testOptions(hash string) taxii.Options {
	return taxii.Options{
		Discovery: taxii.Discovery{Title: "load test", Default: "load"},
		Accounts:  []taxii.Account{{Name: testUser, PasswordHash: hash}},
		Groups: []taxii.Group{{
			Name: "load", Title: "Load test",
			Members:     map[string]taxii.Role{testUser: taxii.RolePublisher},
			Collections: []taxii.Collection{{ID: testCollID, Title: "Indicators", Alias: "indicators"}},
		}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// serveTest serves a server with opts on db at 127.0.0.1 until the test
// ends, and returns its URL and the server.
func serveTest(t testing.TB, opts taxii.Options, db *bolt.DB, v *stix.Validator) (string, http.Handler) {
	t.Helper()
	srv, err := taxii.NewServer(context.Background(), opts, db, v)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return hs.URL, srv
}

// runJSON runs taxii-load with args and the test credentials and returns
// its exit code and JSON report.
func runJSON(t testing.TB, args ...string) (int, *Report, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string {
		if k == "TAXII_LOAD_PASSWORD" {
			return testPassword
		}
		return ""
	}}
	code := run(context.Background(), append(args, "--json", "--quiet", "--user", testUser), e)
	var rep Report
	if code != exitUsage && code != exitSetup {
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("report: %v\n%s\nstderr: %s", err, stdout.String(), stderr.String())
		}
	}
	return code, &rep, stderr.String()
}

// checkPassed fails the test unless the run had no errors and its check
// passed.
func checkPassed(t *testing.T, code int, rep *Report, stderr string) {
	t.Helper()
	if code != exitOK || !rep.Check.Passed || len(rep.Errors) > 0 {
		b, _ := json.MarshalIndent(rep, "", "  ")
		t.Fatalf("exit %d, check %+v, errors %+v\n%s\nstderr: %s", code, rep.Check, rep.Errors, b, stderr)
	}
}

// op returns the named operation of the named phase.
func op(t *testing.T, rep *Report, phase, name string) OpReport {
	t.Helper()
	for _, p := range rep.Phases {
		for _, o := range p.Ops {
			if p.Name == phase && o.Name == name {
				return o
			}
		}
	}
	t.Fatalf("no op %s in phase %s: %+v", name, phase, rep.Phases)
	return OpReport{}
}

// Ensure that each scenario runs cleanly against eitaxii itself: no
// errors, and the correctness check passes.
func TestRun_Scenarios(t *testing.T) {
	url := newTestServer(t)

	t.Run("Ingest", func(t *testing.T) {
		code, rep, stderr := runJSON(t, "ingest", "--url", url, "--objects", "500", "--envelope-size", "50", "--clients", "3", "--seed", "1")
		checkPassed(t, code, rep, stderr)
		if o := op(t, rep, "ingest", "post"); o.Objects != 500 || o.Requests != 10 {
			t.Errorf("post %+v, want 500 objects in 10 requests", o)
		}
	})
	t.Run("IngestByDuration", func(t *testing.T) {
		code, rep, stderr := runJSON(t, "ingest", "--url", url, "--duration", "1s", "--envelope-size", "1", "--clients", "4", "--seed", "2")
		checkPassed(t, code, rep, stderr)
		if o := op(t, rep, "ingest", "post"); o.Objects == 0 {
			t.Errorf("no object sent in 1s: %+v", o)
		}
	})
	t.Run("Poll", func(t *testing.T) {
		code, rep, stderr := runJSON(t, "poll", "--url", url, "--api-root", "load", "--collection", "indicators",
			"--fill", "700", "--limit", "64", "--pollers", "3", "--passes", "2", "--seed", "3")
		checkPassed(t, code, rep, stderr)
		// The collection holds the earlier subtests' objects too.
		if o := op(t, rep, "poll", "page-next"); o.Objects < 3*2*700 {
			t.Errorf("page-next %+v, want at least %d objects", o, 3*2*700)
		}
	})
	t.Run("PollManifestLast", func(t *testing.T) {
		code, rep, stderr := runJSON(t, "poll", "--url", url+"/taxii2/", "--collection", testCollID,
			"--endpoint", "manifest", "--versions", "last", "--limit", "100", "--pollers", "2")
		checkPassed(t, code, rep, stderr)
	})
	t.Run("Mixed", func(t *testing.T) {
		code, rep, stderr := runJSON(t, "mixed", "--url", url, "--duration", "1s", "--clients", "2", "--envelope-size", "10",
			"--pollers", "2", "--poll-interval", "50ms", "--limit", "200", "--seed", "4")
		checkPassed(t, code, rep, stderr)
		if o := op(t, rep, "mixed", "post"); o.Objects == 0 {
			t.Errorf("nothing published: %+v", o)
		}
	})
	t.Run("MixedLast", func(t *testing.T) {
		code, rep, stderr := runJSON(t, "mixed", "--url", url, "--duration", "500ms", "--clients", "2", "--envelope-size", "5",
			"--pollers", "1", "--poll-interval", "20ms", "--versions", "last", "--version-share", "0.5", "--seed", "5")
		checkPassed(t, code, rep, stderr)
	})
}

// Ensure that scale measures at each size, on a collection of its own.
func TestRun_Scale(t *testing.T) {
	url := newTestServer(t)
	for _, versions := range []string{"all", "last"} {
		t.Run(versions, func(t *testing.T) {
			seed := map[string]string{"all": "11", "last": "12"}[versions]
			code, rep, stderr := runJSON(t, "scale", "--url", url, "--fill", "300,700", "--repeat", "5",
				"--fill-envelope-size", "64", "--versions", versions, "--version-share", "0.3", "--seed", seed)
			checkPassed(t, code, rep, stderr)
			for _, size := range []string{"300", "700"} {
				if o := op(t, rep, "read-"+size, "newest-100"); o.Requests != 5 || o.P50Ms <= 0 {
					t.Errorf("size %s: newest-100 %+v", size, o)
				}
				if o := op(t, rep, "read-"+size, "first-page"); o.Requests != 5 || o.Objects != 500 {
					t.Errorf("size %s: first-page %+v", size, o)
				}
				if o := op(t, rep, "read-"+size, "object-by-id"); o.Requests != 1 {
					t.Errorf("size %s: object-by-id %+v", size, o)
				}
				if o := op(t, rep, "read-"+size, "manifest-by-id"); o.Requests != 5 {
					t.Errorf("size %s: manifest-by-id %+v", size, o)
				}
			}
		})
	}
}

// Ensure that a run whose requests are refused fails and says why.
func TestRun_BadCredentials(t *testing.T) {
	url := newTestServer(t)
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader("wrong\n"), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := run(context.Background(), []string{"ingest", "--url", url, "--api-root", "load", "--collection", "indicators",
		"--user", testUser, "--password-stdin", "--objects", "10", "--quiet"}, e)
	if code != exitFail || !strings.Contains(stdout.String(), "http 401") || !strings.Contains(stdout.String(), "check    FAIL") {
		t.Errorf("exit %d with a wrong password:\n%s%s", code, stdout.String(), stderr.String())
	}
}

func TestParseFlags(t *testing.T) {
	e := &env{stdin: strings.NewReader("pw-from-stdin\n"), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string {
		return map[string]string{"TAXII_LOAD_PASSWORD": "pw-from-env", "TAXII_LOAD_TOKEN": ""}[k]
	}}
	t.Run("OK", func(t *testing.T) {
		cfg, err := parseFlags([]string{"scale", "--url", "http://127.0.0.1:1", "--user", "u"}, e)
		if err != nil {
			t.Fatal(err)
		} else if got, want := cfg.auth, basicAuth("u", "pw-from-env"); got != want {
			t.Errorf("auth %q, want %q", got, want)
		} else if len(cfg.fill) != 3 || cfg.fill[2] != 100000 {
			t.Errorf("default scale fill %v", cfg.fill)
		} else if cfg.duration != time.Minute {
			t.Errorf("default duration %v", cfg.duration)
		}
	})
	t.Run("PasswordStdin", func(t *testing.T) {
		cfg, err := parseFlags([]string{"ingest", "--url", "http://127.0.0.1:1", "--user", "u", "--password-stdin"}, e)
		if err != nil {
			t.Fatal(err)
		} else if got, want := cfg.auth, basicAuth("u", "pw-from-stdin"); got != want {
			t.Errorf("auth %q, want %q", got, want)
		}
	})
	for _, test := range []struct {
		name string
		args []string
	}{
		{"NoScenario", []string{"--url", "http://127.0.0.1:1"}},
		{"UnknownScenario", []string{"flood", "--url", "http://127.0.0.1:1"}},
		{"NoURL", []string{"ingest"}},
		{"UserAndToken", []string{"ingest", "--url", "http://x", "--user", "u", "--token", "t"}},
		{"ZeroDuration", []string{"ingest", "--url", "http://x", "--duration", "0s"}},
		{"ScaleStepTooSmall", []string{"scale", "--url", "http://x", "--fill", "1000,1050"}},
		{"PollManyFills", []string{"poll", "--url", "http://x", "--fill", "10,20"}},
		{"BadVersions", []string{"poll", "--url", "http://x", "--versions", "first"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			if _, err := parseFlags(test.args, e); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestParseServerURL(t *testing.T) {
	for _, test := range []struct{ in, origin, discovery string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080/taxii2/"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", "http://127.0.0.1:8080/taxii2/"},
		{"https://h/taxii2", "https://h", "https://h/taxii2/"},
		{"https://h/custom/discovery/", "https://h", "https://h/custom/discovery/"},
	} {
		o, d, err := parseServerURL(test.in)
		if err != nil {
			t.Errorf("%s: %v", test.in, err)
		} else if o.String() != test.origin || d != test.discovery {
			t.Errorf("%s: %s %s, want %s %s", test.in, o, d, test.origin, test.discovery)
		}
	}
	for _, bad := range []string{"ftp://h/", "127.0.0.1:8080", "http://user:pw@h/", "http:///x"} {
		if _, _, err := parseServerURL(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// Ensure that requests never leave the origin given with --url.
func TestClient_RefusesOtherHosts(t *testing.T) {
	origin, _, _ := parseServerURL("http://127.0.0.1:1")
	c := newClient(origin, "", 1, false, time.Second)
	var buf bytes.Buffer
	_, err := c.do(context.Background(), "GET", "http://127.0.0.2:1/taxii2/", nil, 200, &buf)
	if re, ok := err.(*requestError); !ok || re.Kind != "foreign url" {
		t.Errorf("err %v, want a foreign url error", err)
	}
	if _, err := resolve(context.Background(), c, "http://127.0.0.1:1/taxii2/", "http://127.0.0.2:1/root/", "c"); err == nil {
		t.Error("resolve accepted an API root on another host")
	}
}

// faulty wraps a server's handler and spoils some of its answers.
func faulty(t *testing.T, h http.Handler, spoil func(r *http.Request, header http.Header, body []byte) []byte) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/objects") {
			body = spoil(r, rec.Header(), body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// dropFirst removes the first object of an envelope.
func dropFirst(t *testing.T, body []byte) []byte {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	var objs []json.RawMessage
	json.Unmarshal(env["objects"], &objs)
	if len(objs) > 0 {
		objs = objs[1:]
	}
	env["objects"], _ = json.Marshal(objs)
	b, _ := json.Marshal(env)
	return b
}

// Ensure that the checks catch servers that lose, repeat or misdate
// objects.
func TestRun_DetectsFaults(t *testing.T) {
	url, h := newTestServerHandler(t)
	code, rep, stderr := runJSON(t, "ingest", "--url", url, "--objects", "300", "--envelope-size", "100")
	checkPassed(t, code, rep, stderr)

	for _, test := range []struct {
		name  string
		args  []string
		spoil func(r *http.Request, header http.Header, body []byte) []byte
		want  string // a check kind that must be reported
	}{
		{"LosesOnNextPages", []string{"poll", "--limit", "50"}, func(r *http.Request, _ http.Header, body []byte) []byte {
			if r.URL.Query().Get("next") != "" {
				return dropFirst(t, body)
			}
			return body
		}, "walks differ"},
		{"RepeatsAfterAddedAfter", []string{"poll", "--limit", "50"}, func(r *http.Request, header http.Header, body []byte) []byte {
			if r.URL.Query().Get("added_after") != "" && header.Get("X-TAXII-Date-Added-First") != "" {
				// Claim the page ends one object early: the next page repeats one.
				header.Set("X-TAXII-Date-Added-Last", header.Get("X-TAXII-Date-Added-First"))
			}
			return body
		}, "duplicate"},
		{"NoDateHeaders", []string{"poll", "--limit", "50"}, func(_ *http.Request, header http.Header, body []byte) []byte {
			header.Del("X-TAXII-Date-Added-Last")
			return body
		}, "date headers"},
		{"WrongNewest", []string{"scale", "--fill", "400", "--repeat", "2", "--seed", "9"}, func(r *http.Request, _ http.Header, body []byte) []byte {
			if r.URL.Query().Get("added_after") != "" {
				return dropFirst(t, body)
			}
			return body
		}, "newest"},
	} {
		t.Run(test.name, func(t *testing.T) {
			u := faulty(t, h, test.spoil)
			code, rep, _ := runJSON(t, append(test.args, "--url", u, "--pollers", "1")...)
			if code != exitFail || rep.Check.Passed || !strings.Contains(rep.Check.Summary, test.want) {
				t.Errorf("exit %d, check %+v; want a failed check naming %q", code, rep.Check, test.want)
			}
		})
	}
}
