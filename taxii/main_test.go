package taxii_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/storetest"
	"github.com/eitaxii/eitaxii/taxii"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/taxii/golden")

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// mediaTAXII is the one content type every TAXII response carries (REQ-09).
const mediaTAXII = "application/taxii+json;version=2.1"

// The configured API roots and collections. The election-officials
// collections are declared in the reverse of their id order, so that the
// collections list shows it sorts (REQ-50).
const (
	rootEO        = "/election-officials/"
	rootVendors   = "/vendors/"
	rootObservers = "/observers/" // a group without collections

	collEO      = "91a7b528-80eb-42ed-a74d-c6fbd5a26116" // alias "indicators"
	collEO2     = "52892447-4d7e-4f70-b94d-d7f22742ff63"
	collVendors = "c3f1c0de-9a0b-4c3e-8d21-5b7e0f6a9d10"
	aliasEO     = "indicators"

	// eoMaxContentLength is election-officials' max_content_length.
	eoMaxContentLength = 64 << 10
)

// The accounts. Each one's password is its name + "-password" and its API
// token "token-" + its name.
const (
	userPublisher = "publisher" // election-officials publisher
	userReader    = "reader"    // election-officials reader
	userAdmin     = "admin"     // election-officials admin, vendors reader, observers reader
	userVendor    = "vendor"    // vendors publisher only
	userNobody    = "nobody"    // no group
)

var allUsers = []string{userPublisher, userReader, userAdmin, userVendor, userNobody}

func password(user string) string { return user + "-password" }
func token(user string) string    { return "token-" + user }

// basic is the Basic Authorization header value of user (REQ-05).
func basic(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password(user)))
}

// bcryptHashes holds the bcrypt hash (MinCost) of each password the tests
// use, computed once: bcrypt even at MinCost is the slowest part of
// building a server.
var bcryptHashes sync.Map

// passwordHash is the bcrypt hash of pw.
func passwordHash(pw string) string {
	if h, ok := bcryptHashes.Load(pw); ok {
		return h.(string)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	v, _ := bcryptHashes.LoadOrStore(pw, string(h))
	return v.(string)
}

func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// t0 is the store's fixed clock: with a clock that never moves, every
// date_added is t0 plus the number of versions added before (INT-05).
var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// reqTime is the server's fixed clock, the request_timestamp of statuses.
var reqTime = time.Date(2024, 6, 1, 8, 30, 0, 123456789, time.UTC)

// added returns the date_added of the n-th version (from 0) added to one
// collection: on the fixed clock each new version gets the previous one's
// date_added plus 1 µs.
func added(n int) time.Time { return t0.Add(time.Duration(n) * time.Microsecond) }

// stamp renders t as a TAXII timestamp (REQ-27).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

var taxiiTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// config varies the test server.
type config struct {
	path             string // store file; a new temporary one if ""
	maxPageSize      int
	maxPageBytes     int
	eoMaxContentLen  int64
	newID            func() uuid.UUID // store status ids; random if nil
	keepStoreOnClose bool             // the test closes the store itself

	// The live stream's options (taxii.Options); 0 for the defaults.
	streamHeartbeat time.Duration
	maxStreams      int
	streamQueue     int
	// metricsAllow lets httptest's client address (192.0.2.1) read /metrics.
	metricsAllow bool
	// clock is the server's (Options.Now); reqTime, still, if nil.
	clock *storetest.Clock
}

// testServer is a Server over a real bbolt file.
type testServer struct {
	*taxii.Server
	db        store.Store
	path      string
	closeOnce sync.Once
}

// closeServer closes the Server (it flushes queued audit rows), once, and
// before the store is closed.
func closeServer(t testing.TB, ts *testServer) {
	ts.closeOnce.Do(func() {
		if err := ts.Server.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
}

// roundTrip sends req with client and returns the response with its body
// read in full (and closed).
func roundTrip(tb testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, body
}

// testValidator compiles the STIX schemas once for all tests of the
// package; a validator is safe for concurrent use.
var testValidator = sync.OnceValues(stix.NewValidator)

// mustValidator returns the package's shared validator.
func mustValidator(tb testing.TB) *stix.Validator {
	tb.Helper()
	v, err := testValidator()
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// mustNewServer is taxii.NewServer with the package's shared validator,
// failing tb if it fails. The caller closes the server.
func mustNewServer(tb testing.TB, opts taxii.Options, db store.Store) *taxii.Server {
	tb.Helper()
	srv, err := taxii.NewServer(context.Background(), opts, db, mustValidator(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return srv
}

// openStore opens a bbolt store at path ("" for a new file in a temporary
// directory) that is verified and closed when the test ends: whatever a
// test does through the server must leave the store consistent. A store
// the test has closed itself is not verified.
func openStore(tb testing.TB, path string, opts bolt.Options) *bolt.DB {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "eitaxii.db")
	}
	db, err := bolt.Open(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		storetest.CheckConsistent(tb, db, func(error) bool {
			return db.Ping(context.Background()) != nil // closed by the test
		})
		db.Close()
	})
	return db
}

func newTestServer(t testing.TB) *testServer { return newTestServerConfig(t, config{}) }

func newTestServerConfig(t testing.TB, cfg config) *testServer {
	t.Helper()
	if cfg.path == "" {
		cfg.path = filepath.Join(t.TempDir(), "t.db")
	}
	if cfg.eoMaxContentLen == 0 {
		cfg.eoMaxContentLen = eoMaxContentLength
	}
	var db *bolt.DB
	if cfg.keepStoreOnClose {
		var err error
		if db, err = bolt.Open(cfg.path, bolt.Options{Now: func() time.Time { return t0 }, NewID: cfg.newID}); err != nil {
			t.Fatal(err)
		}
	} else {
		db = openStore(t, cfg.path, bolt.Options{Now: func() time.Time { return t0 }, NewID: cfg.newID})
	}
	var accounts []taxii.Account
	for _, u := range allUsers {
		accounts = append(accounts, taxii.Account{Name: u, PasswordHash: passwordHash(password(u)), TokenHashes: []string{tokenHash(token(u))}})
	}
	opts := taxii.Options{
		Discovery: taxii.Discovery{
			Title:       "Election ISAC TAXII",
			Description: "Indicators for election infrastructure",
			Contact:     "soc@example.org",
			Default:     "election-officials",
		},
		Accounts: accounts,
		Groups: []taxii.Group{
			{
				Name:             "election-officials",
				Title:            "State and local election officials",
				Description:      "Indicators shared among election offices",
				MaxContentLength: cfg.eoMaxContentLen,
				Members:          map[string]taxii.Role{userPublisher: taxii.RolePublisher, userReader: taxii.RoleReader, userAdmin: taxii.RoleAdmin},
				Collections: []taxii.Collection{
					{ID: collEO, Title: "Indicators", Description: "Indicators of compromise", Alias: aliasEO},
					{ID: collEO2, Title: "Advisories"},
				},
			},
			{
				Name:    "vendors",
				Title:   "Election-system vendors",
				Members: map[string]taxii.Role{userVendor: taxii.RolePublisher, userAdmin: taxii.RoleReader},
				Collections: []taxii.Collection{
					{ID: collVendors, Title: "Vendor advisories"},
				},
			},
			{
				Name:    "observers",
				Title:   "Observers",
				Members: map[string]taxii.Role{userAdmin: taxii.RoleReader},
			},
		},
		MaxPageSize:          cfg.maxPageSize,
		MaxPageBytes:         cfg.maxPageBytes,
		StreamHeartbeat:      cfg.streamHeartbeat,
		MaxStreamsPerAccount: cfg.maxStreams,
		StreamQueue:          cfg.streamQueue,
		// More wrong passwords from one address than the limits allow
		// (login_test.go tests them).
		LoginLimit: taxii.LoginLimit{PerAddress: -1, PerAccount: -1},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:        func() time.Time { return reqTime },
	}
	if cfg.clock != nil {
		opts.Now = cfg.clock.Now
	}
	if cfg.metricsAllow {
		opts.MetricsAllow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	}
	ts := &testServer{Server: mustNewServer(t, opts, db), db: db, path: cfg.path}
	t.Cleanup(func() { closeServer(t, ts) }) // runs before the store's Close
	return ts
}

// do sends one request through h. kv are header name/value pairs; an
// empty value removes the header.
func do(t testing.TB, h http.Handler, method, target, body string, kv ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			req.Header.Del(kv[i])
		} else {
			req.Header.Set(kv[i], kv[i+1])
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// get, post and del send a well-formed request as user; kv override or
// remove headers.
func (ts *testServer) get(t testing.TB, user, target string, kv ...string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, ts, http.MethodGet, target, "", append([]string{"Authorization", basic(user), "Accept", mediaTAXII}, kv...)...)
}

func (ts *testServer) post(t testing.TB, user, target, body string, kv ...string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, ts, http.MethodPost, target, body, append([]string{"Authorization", basic(user), "Accept", mediaTAXII, "Content-Type", mediaTAXII}, kv...)...)
}

func (ts *testServer) del(t testing.TB, user, target string, kv ...string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, ts, http.MethodDelete, target, "", append([]string{"Authorization", basic(user), "Accept", mediaTAXII}, kv...)...)
}

// addObjects posts an envelope of objs to coll in election-officials as the
// publisher and returns the status; anything but a 202 fails the test.
func (ts *testServer) addObjects(t testing.TB, coll string, objs ...string) client.Status {
	t.Helper()
	w := ts.post(t, userPublisher, objectsURL(rootEO, coll), envelope(objs...))
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST objects: %d %s", w.Code, w.Body)
	}
	st := decodeStrict[client.Status](t, w.Body.Bytes())
	if st.FailureCount != 0 {
		t.Fatalf("POST objects: failures %+v", st.Failures)
	}
	return st
}

func collectionURL(root, coll string) string { return root + "collections/" + coll + "/" }
func objectsURL(root, coll string) string    { return collectionURL(root, coll) + "objects/" }
func manifestURL(root, coll string) string   { return collectionURL(root, coll) + "manifest/" }
func objectURL(root, coll, id string) string { return objectsURL(root, coll) + id + "/" }
func versionsURL(root, coll, id string) string {
	return objectURL(root, coll, id) + "versions/"
}

func envelope(objs ...string) string { return `{"objects":[` + strings.Join(objs, ",") + `]}` }

// STIX objects, built as the exact bytes that are posted and must be served
// back (REQ-60).

// indicatorID is the conformance suite's id of indicator n.
func indicatorID(n int) string { return storetest.STIXID("indicator", n) }

// indicator is a valid STIX 2.1 indicator; pattern is JSON-quoted as given.
func indicator(id, created, modified, pattern string) string {
	p, _ := json.Marshal(pattern)
	p = bytes.ReplaceAll(p, []byte(`\u003e`), []byte(">")) // keep '>' literal, as a client would send it
	p = bytes.ReplaceAll(p, []byte(`\u003c`), []byte("<"))
	p = bytes.ReplaceAll(p, []byte(`\u0026`), []byte("&"))
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"Bad IP","pattern":%s,"pattern_type":"stix","valid_from":%q}`,
		id, created, modified, p, created)
}

// simpleIndicator is version created==modified of indicator n.
func simpleIndicator(n int) string {
	return indicator(indicatorID(n), "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z", fmt.Sprintf("[ipv4-addr:value = '198.51.100.%d']", n%250))
}

const (
	markingID = "marking-definition--e8a1b2c3-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	marking   = `{"type":"marking-definition","spec_version":"2.1","id":"` + markingID + `","created":"2024-01-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2024, Example Election ISAC"},"name":"Election ISAC copyright"}`
)

// ipv4ID is the deterministic (UUIDv5) id of ipv4-addr 198.51.100.7, an SCO
// without created or modified.
var ipv4ID = "ipv4-addr--" + uuid.NewSHA1(uuid.MustParse("00abedb4-aa42-466c-9c01-fed23315a9b7"), []byte(`{"value":"198.51.100.7"}`)).String()

var ipv4 = `{"type":"ipv4-addr","spec_version":"2.1","id":"` + ipv4ID + `","value":"198.51.100.7"}`

// decodeStrict decodes a TAXII resource, refusing unknown fields (REQ-31)
// and empty lists (REQ-29). Tests decode into the client package's types,
// which the handlers encode; the golden files (TestServer_Golden) pin the
// spec's member names independently of them.
func decodeStrict[T any](t testing.TB, body []byte) T {
	t.Helper()
	var v T
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\nbody: %s", v, err, body)
	}
	if bytes.Contains(body, []byte("[]")) {
		t.Errorf("empty list in a TAXII resource (REQ-29): %s", body)
	}
	return v
}

// keys returns the top-level keys of a JSON object.
func keys(t testing.TB, body []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, body)
	}
	return m
}

// checkOK checks a 2xx TAXII response: its status and the TAXII content
// type (REQ-09).
func checkOK(t testing.TB, w *httptest.ResponseRecorder, code int) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d; body %s", w.Code, code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != mediaTAXII {
		t.Errorf("Content-Type %q, want %q (REQ-09)", ct, mediaTAXII)
	}
}

// checkError checks that w is a TAXII error: the status, the TAXII
// content type (REQ-09) and an error resource with a title and http_status
// as a string equal to the status (REQ-20, REQ-21). A 401 also carries a
// challenge (REQ-06).
func checkError(t testing.TB, w *httptest.ResponseRecorder, code int) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d; body %s", w.Code, code, w.Body)
	}
	checkErrorResource(t, w.Code, w.Header(), w.Body.Bytes())
}

func checkErrorResource(t testing.TB, code int, h http.Header, body []byte) {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != mediaTAXII {
		t.Errorf("Content-Type %q, want %q (REQ-09)", ct, mediaTAXII)
	}
	var e struct {
		Title           string         `json:"title"`
		Description     string         `json:"description"`
		ErrorID         string         `json:"error_id"`
		ErrorCode       string         `json:"error_code"`
		HTTPStatus      any            `json:"http_status"`
		ExternalDetails string         `json:"external_details"`
		Details         map[string]any `json:"details"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		t.Fatalf("not a TAXII error resource (REQ-21): %v: %s", err, body)
	}
	if e.Title == "" {
		t.Errorf("error resource without title (REQ-21): %s", body)
	}
	if s, ok := e.HTTPStatus.(string); !ok || s != strconv.Itoa(code) {
		t.Errorf("http_status %#v, want the string %q (REQ-21)", e.HTTPStatus, strconv.Itoa(code))
	}
	if code == http.StatusUnauthorized && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("401 with WWW-Authenticate %q, want a Basic challenge (REQ-06)", h.Get("WWW-Authenticate"))
	}
}

// checkDateHeaders checks X-TAXII-Date-Added-First/Last (REQ-101): both
// equal to the given times, or both absent when first is zero (AMB-02).
func checkDateHeaders(t testing.TB, h http.Header, first, last time.Time) {
	t.Helper()
	gotFirst, gotLast := h.Values("X-TAXII-Date-Added-First"), h.Values("X-TAXII-Date-Added-Last")
	if first.IsZero() {
		if len(gotFirst)+len(gotLast) != 0 {
			t.Errorf("date headers %q, %q; want none (AMB-02)", gotFirst, gotLast)
		}
		return
	}
	if len(gotFirst) != 1 || len(gotLast) != 1 {
		t.Fatalf("date headers %q, %q; want one of each (REQ-101)", gotFirst, gotLast)
	}
	for _, v := range []string{gotFirst[0], gotLast[0]} {
		if !taxiiTimestamp.MatchString(v) {
			t.Errorf("date header %q is not a TAXII timestamp (REQ-27)", v)
		}
	}
	if gotFirst[0] != stamp(first) || gotLast[0] != stamp(last) {
		t.Errorf("date headers %s .. %s, want %s .. %s (REQ-101)", gotFirst[0], gotLast[0], stamp(first), stamp(last))
	}
}

// objectKeys returns "id@modified-or-created" of each object of an
// envelope, failing on anything that is not an object.
func objectKeys(t testing.TB, objs []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, raw := range objs {
		var o struct{ ID, Created, Modified string }
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatalf("object %s: %v", raw, err)
		}
		v := o.Modified
		if v == "" {
			v = o.Created
		}
		out = append(out, o.ID+"@"+v)
	}
	return out
}

// Golden files.

// checkGolden compares a JSON body with testdata/taxii/golden/<name>.json,
// both indented, and reports the lines that differ; -update rewrites the
// file instead.
func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", "taxii", "golden", name+".json")
	got := indent(t, body)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./taxii -run '%s' -update)", err, t.Name())
	}
	want := indent(t, raw)
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-want +got):\n%s", path, lineDiff(string(want), string(got)))
	}
}

func indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(b), "", "  "); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// lineDiff is a longest-common-subsequence diff of two short texts.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var sb strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			sb.WriteString("  " + x[i] + "\n")
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			sb.WriteString("+ " + y[j] + "\n")
			j++
		default:
			sb.WriteString("- " + x[i] + "\n")
			i++
		}
	}
	return sb.String()
}
