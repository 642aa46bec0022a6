package taxii_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/taxii"
)

// newLimitsServer is a one-group server (election-officials, collection
// collEO, the publisher account) with mod applied to its options.
func newLimitsServer(t *testing.T, mod func(*taxii.Options)) http.Handler {
	t.Helper()
	db := openStore(t, "", bolt.Options{})
	opts := taxii.Options{
		Discovery: taxii.Discovery{Title: "limits"},
		Accounts:  []taxii.Account{{Name: userPublisher, PasswordHash: passwordHash(password(userPublisher))}},
		Groups: []taxii.Group{{
			Name: "election-officials", Title: "EO", MaxContentLength: 8 << 20,
			Members:     map[string]taxii.Role{userPublisher: taxii.RolePublisher},
			Collections: []taxii.Collection{{ID: collEO, Title: "Indicators"}},
		}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&opts)
	}
	srv := mustNewServer(t, opts, db)
	t.Cleanup(func() { srv.Close() }) // before the store's Close
	return srv
}

// errorDescription returns the description of a TAXII error resource.
func errorDescription(t testing.TB, body []byte) string {
	t.Helper()
	var e struct {
		Description string `json:"description"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not a TAXII error: %v: %s", err, body)
	}
	return e.Description
}

// Ensure that a header over Options.MaxHeaderBytes (default 64 KiB, URL
// included) gets a TAXII 431 before authentication, and one at the limit
// is served.
func TestServer_Limits_HeaderBytes(t *testing.T) {
	ts := newTestServer(t)
	// base is the size of the request without the padding header's value,
	// as httptest.NewRequest makes it.
	base := len("GET /taxii2/ HTTP/1.1\r\n") + len("Host: example.com\r\n") +
		len("Authorization: "+basic(userPublisher)+"\r\n") + len("Accept: "+mediaTAXII+"\r\n") + len("X-Pad: \r\n")

	pad := strings.Repeat("p", taxii.DefaultMaxHeaderBytes-base)
	w := ts.get(t, userPublisher, "/taxii2/", "X-Pad", pad)
	checkOK(t, w, http.StatusOK)

	w = ts.get(t, userPublisher, "/taxii2/", "X-Pad", pad+"p")
	checkError(t, w, http.StatusRequestHeaderFieldsTooLarge)
	if d := errorDescription(t, w.Body.Bytes()); !strings.Contains(d, "65537 bytes, at most 65536") {
		t.Errorf("description %q", d)
	}
	// Refused before authentication: no credentials needed to be told.
	w = do(t, ts, http.MethodGet, "/taxii2/", "", "X-Pad", pad+pad)
	checkError(t, w, http.StatusRequestHeaderFieldsTooLarge)
	// Many small fields count as much as one large one.
	kv := []string{}
	for i := range 2000 {
		kv = append(kv, fmt.Sprintf("X-Field-%d", i), strings.Repeat("v", 30))
	}
	checkError(t, ts.get(t, userPublisher, "/taxii2/", kv...), http.StatusRequestHeaderFieldsTooLarge)
}

// Ensure that a URL query over Options.MaxQueryBytes (default 32 KiB) gets
// a TAXII 414, and one at the limit is parsed as usual.
func TestServer_Limits_QueryBytes(t *testing.T) {
	ts := newTestServer(t)
	target := objectsURL(rootEO, collEO) + "?x="
	ok := target + strings.Repeat("q", taxii.DefaultMaxQueryBytes-len("x="))
	checkOK(t, ts.get(t, userPublisher, ok), http.StatusOK)

	w := ts.get(t, userPublisher, ok+"q")
	checkError(t, w, http.StatusRequestURITooLong)
	if d := errorDescription(t, w.Body.Bytes()); !strings.Contains(d, "32769 bytes, at most 32768") {
		t.Errorf("description %q", d)
	}
	// The query is checked before the header total it is part of.
	w = ts.get(t, userPublisher, target+strings.Repeat("q", 2*taxii.DefaultMaxHeaderBytes))
	checkError(t, w, http.StatusRequestURITooLong)
}

// Ensure that the query limit leaves room to page through a match[id]
// filter of 200 ids while repeating the filter on every page: the next
// token carries the ids too, so the query holds them twice.
func TestServer_Limits_QueryRoomForPaging(t *testing.T) {
	ts := newTestServer(t)
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = indicatorID(i + 1)
	}
	ts.addObjects(t, collEO, simpleIndicator(1), simpleIndicator(2), simpleIndicator(3))
	filter := "match[id]=" + strings.Join(ids, ",") + "&limit=1"
	target := objectsURL(rootEO, collEO) + "?" + filter
	var got int
	for page := 0; ; page++ {
		if page > 3 {
			t.Fatal("more pages than objects")
		}
		w := ts.get(t, userPublisher, target)
		checkOK(t, w, http.StatusOK)
		env := decodeStrict[client.Envelope](t, w.Body.Bytes())
		got += len(env.Objects)
		if !env.More {
			break
		}
		target = objectsURL(rootEO, collEO) + "?" + filter + "&next=" + url.QueryEscape(env.Next)
		if n := len(target) - strings.Index(target, "?") - 1; n > taxii.DefaultMaxQueryBytes {
			t.Fatalf("query of page %d has %d bytes", page+1, n)
		}
	}
	if got != 3 {
		t.Fatalf("paged through %d objects, want 3", got)
	}
}

// Ensure that the limits of Options are the ones applied, and that every
// envelope limit is a 422 naming what is wrong and storing nothing.
func TestServer_Limits_Configured(t *testing.T) {
	h := newLimitsServer(t, func(o *taxii.Options) {
		o.MaxHeaderBytes = 2 << 10
		o.MaxQueryBytes = 100
		o.MaxObjectsPerEnvelope = 3
	})
	auth := []string{"Authorization", basic(userPublisher), "Accept", mediaTAXII}
	get := func(target string, kv ...string) *httptest.ResponseRecorder {
		return do(t, h, http.MethodGet, target, "", append(auth, kv...)...)
	}
	post := func(body string) *httptest.ResponseRecorder {
		return do(t, h, http.MethodPost, objectsURL(rootEO, collEO), body, append(auth, "Content-Type", mediaTAXII)...)
	}
	checkOK(t, get("/taxii2/", "X-Pad", strings.Repeat("p", 1<<10)), http.StatusOK)
	checkError(t, get("/taxii2/", "X-Pad", strings.Repeat("p", 2<<10)), http.StatusRequestHeaderFieldsTooLarge)
	checkOK(t, get(objectsURL(rootEO, collEO)+"?x="+strings.Repeat("q", 98)), http.StatusOK)
	checkError(t, get(objectsURL(rootEO, collEO)+"?x="+strings.Repeat("q", 99)), http.StatusRequestURITooLong)

	for _, tt := range []struct {
		name, body, want string
	}{
		{"Objects", envelope(simpleIndicator(1), simpleIndicator(2), simpleIndicator(3), simpleIndicator(4)),
			"4 objects in one envelope, at most 3 are accepted"},
		{"Depth", envelope(strings.TrimSuffix(simpleIndicator(1), "}") + `,"x_deep":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "}"),
			"JSON nested deeper than the 64 levels accepted"},
		{"String", envelope(simpleIndicator(1), strings.TrimSuffix(simpleIndicator(2), "}")+`,"description":"`+strings.Repeat("d", 1<<20+1)+`"}`),
			`objects[1]: the value of "description" is a JSON string of 1048577 bytes, at most 1048576 are accepted`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := post(tt.body)
			checkError(t, w, http.StatusUnprocessableEntity)
			if d := errorDescription(t, w.Body.Bytes()); !strings.Contains(d, tt.want) {
				t.Errorf("description %q, want it to contain %q", d, tt.want)
			}
		})
	}
	// Nothing of the refused envelopes was stored; the limits themselves
	// are accepted.
	w := get(objectsURL(rootEO, collEO))
	checkOK(t, w, http.StatusOK)
	if env := decodeStrict[client.Envelope](t, w.Body.Bytes()); len(env.Objects) != 0 {
		t.Fatalf("%d objects stored by refused envelopes", len(env.Objects))
	}
	w = post(envelope(simpleIndicator(1), simpleIndicator(2), strings.TrimSuffix(simpleIndicator(3), "}")+`,"description":"`+strings.Repeat("d", 1<<20)+`"}`))
	checkOK(t, w, http.StatusAccepted)
	if st := decodeStrict[client.Status](t, w.Body.Bytes()); st.SuccessCount != 3 {
		t.Fatalf("status %+v, want 3 successes", st)
	}
}

// Ensure that, over a real HTTP server with Go's default MaxHeaderBytes
// (1 MiB), an oversized header is answered by the TAXII 431, not Go's
// plain-text one.
func TestServer_Limits_OverHTTP(t *testing.T) {
	ts := newTestServer(t)
	hs := httptest.NewServer(ts)
	defer hs.Close()
	req, err := http.NewRequest(http.MethodGet, hs.URL+"/taxii2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", mediaTAXII)
	req.Header.Set("X-Pad", strings.Repeat("p", 100<<10))
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431: %s", resp.StatusCode, body)
	}
	checkErrorResource(t, resp.StatusCode, resp.Header, body)
}

// Ensure that a match value that is not UTF-8 is a 400: a next token could
// not carry it back unchanged, so paging such a query would fail later.
func TestServer_Limits_MatchNotUTF8(t *testing.T) {
	ts := newTestServer(t)
	w := ts.get(t, userPublisher, objectsURL(rootEO, collEO)+"?match[id]="+indicatorID(1)+",%FF")
	checkError(t, w, http.StatusBadRequest)
	if d := errorDescription(t, w.Body.Bytes()); !strings.Contains(d, "match[id]: not valid UTF-8") {
		t.Errorf("description %q", d)
	}
}
