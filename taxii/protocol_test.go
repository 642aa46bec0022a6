package taxii_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/client"
)

// endpoint is one TAXII route and a request to it that succeeds.
type endpoint struct {
	name   string
	method string
	path   string // with its trailing slash
	body   string
	ok     int
}

// seedEndpoints stores two indicators in election-officials' collection
// and returns a request for every TAXII endpoint; deleteID is the object
// the DELETE request removes.
func seedEndpoints(t *testing.T, ts *testServer, deleteID string) []endpoint {
	t.Helper()
	st := ts.addObjects(t, collEO, simpleIndicator(1), simpleIndicator(2))
	id := indicatorID(1)
	return []endpoint{
		{"discovery", http.MethodGet, "/taxii2/", "", http.StatusOK},
		{"api root", http.MethodGet, rootEO, "", http.StatusOK},
		{"status", http.MethodGet, rootEO + "status/" + st.ID + "/", "", http.StatusOK},
		{"collections", http.MethodGet, rootEO + "collections/", "", http.StatusOK},
		{"collection", http.MethodGet, collectionURL(rootEO, collEO), "", http.StatusOK},
		{"manifest", http.MethodGet, manifestURL(rootEO, collEO), "", http.StatusOK},
		{"get objects", http.MethodGet, objectsURL(rootEO, collEO), "", http.StatusOK},
		{"add objects", http.MethodPost, objectsURL(rootEO, collEO), envelope(simpleIndicator(3)), http.StatusAccepted},
		{"get object", http.MethodGet, objectURL(rootEO, collEO, id), "", http.StatusOK},
		{"versions", http.MethodGet, versionsURL(rootEO, collEO, id), "", http.StatusOK},
		{"delete object", http.MethodDelete, objectURL(rootEO, collEO, deleteID), "", http.StatusOK},
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// REQ-06, REQ-53: every endpoint, unknown paths and wrong methods included, answers
// a request without valid credentials with 401, a Basic challenge and a
// TAXII error, never 2xx, 403, 404 or 405.
func TestServer_Unauthenticated(t *testing.T) {
	ts := newTestServer(t)
	eps := seedEndpoints(t, ts, indicatorID(2))
	eps = append(eps,
		endpoint{"unknown path", http.MethodGet, "/no/such/path/", "", 0},
		endpoint{"root path", http.MethodGet, "/", "", 0},
		endpoint{"unknown api root", http.MethodGet, "/no-such-root/", "", 0},
		endpoint{"hidden api root", http.MethodGet, rootVendors + "collections/", "", 0},
		endpoint{"wrong method", http.MethodPut, "/taxii2/", "", 0},
		endpoint{"delete unknown object", http.MethodDelete, objectURL(rootEO, collEO, indicatorID(99)), "", 0},
	)
	creds := []struct {
		name, header string
		slow         bool // costs a bcrypt at the default cost
	}{
		{"missing", "", false},
		{"basic wrong password", "Basic " + b64(userPublisher+":wrong"), false},
		{"basic another account's password", "Basic " + b64(userPublisher+":"+password(userReader)), false},
		{"basic unknown account", "Basic " + b64("mallory:"+password(userPublisher)), true},
		{"basic no colon", "Basic " + b64(userPublisher), false},
		{"basic empty name", "Basic " + b64(":"+password(userPublisher)), false},
		{"basic not base64", "Basic %%%", false},
		{"basic without credentials", "Basic", false},
		{"basic with a token", "Basic " + b64(token(userPublisher)), false},
		{"bearer unknown token", "Bearer not-a-token", false},
		{"bearer password", "Bearer " + password(userPublisher), false},
		{"bearer token hash", "Bearer " + tokenHash(token(userPublisher)), false},
		{"token empty", "Token ", false},
		{"token without scheme", token(userPublisher), false},
		{"unknown scheme", "Digest " + token(userPublisher), false},
	}
	for i, ep := range eps {
		for _, c := range creds {
			if c.slow && i%4 != 0 {
				// A bcrypt at the default cost each: a few endpoints
				// are enough.
				continue
			}
			t.Run(ep.name+"/"+c.name, func(t *testing.T) {
				w := do(t, ts, ep.method, ep.path, ep.body, "Authorization", c.header, "Accept", mediaTAXII, "Content-Type", mediaTAXII)
				checkError(t, w, http.StatusUnauthorized)
			})
		}
	}
	// Nothing was added or deleted.
	w := ts.get(t, userPublisher, objectsURL(rootEO, collEO))
	checkOK(t, w, http.StatusOK)
	if got := objectKeys(t, decodeStrict[client.Envelope](t, w.Body.Bytes()).Objects); len(got) != 2 {
		t.Errorf("after unauthenticated requests the collection holds %v, want the 2 seeded objects", got)
	}
}

// REQ-05: HTTP Basic and API tokens (Bearer and Token schemes, any case)
// work on every endpoint.
func TestServer_AuthSchemes(t *testing.T) {
	schemes := []struct{ name, header string }{
		{"basic", basic(userPublisher)},
		{"basic lowercase scheme", "basic " + b64(userPublisher+":"+password(userPublisher))},
		{"bearer", "Bearer " + token(userPublisher)},
		{"bearer lowercase scheme", "bearer " + token(userPublisher)},
		{"token", "Token " + token(userPublisher)},
		{"token extra spaces", "  Token   " + token(userPublisher) + "  "},
	}
	for i, s := range schemes {
		t.Run(s.name, func(t *testing.T) {
			ts := newTestServer(t)
			for _, ep := range seedEndpoints(t, ts, indicatorID(2)) {
				w := do(t, ts, ep.method, ep.path, ep.body, "Authorization", s.header, "Accept", mediaTAXII, "Content-Type", mediaTAXII)
				if w.Code != ep.ok {
					t.Errorf("%s (scheme %d): status %d, want %d; body %s", ep.name, i, w.Code, ep.ok, w.Body)
				}
			}
		})
	}
}

// REQ-10..14, INT-01, AMB-01: Accept is parsed leniently; only a header
// that allows nothing we can send is a 406.
func TestServer_Accept(t *testing.T) {
	tests := []struct {
		accept string
		want   int
	}{
		{mediaTAXII, http.StatusOK},                                                                     // REQ-10
		{"application/taxii+json", http.StatusOK},                                                       // REQ-11
		{"application/taxii+json; version=2.1", http.StatusOK},                                          // REQ-12
		{"APPLICATION/TAXII+JSON;VERSION=2.1", http.StatusOK},                                           // REQ-12: case-insensitive
		{`application/taxii+json;version="2.1"`, http.StatusOK},                                         // quoted parameter value
		{"application/taxii+json;version=2.1;q=1", http.StatusOK},                                       // M-01
		{"application/taxii+json;version=2.1,application/stix+json;version=2.1", http.StatusOK},         // the §5.3 example
		{"application/stix+json;version=2.1, application/taxii+json; version=2.1;q=0.9", http.StatusOK}, // REQ-12
		{"text/html;q=0.9, application/taxii+json;version=2.1", http.StatusOK},
		{"*/*", http.StatusOK},                                                                             // INT-01
		{"application/*", http.StatusOK},                                                                   // AMB-01
		{"application/json", http.StatusOK},                                                                // INT-01
		{"application/json, text/plain, */*", http.StatusOK},                                               // axios's default (OpenCTI #4246)
		{"", http.StatusOK},                                                                                // INT-01: missing
		{"application/taxii+json;version=2.0", http.StatusNotAcceptable},                                   // REQ-14
		{"application/vnd.oasis.taxii+json", http.StatusNotAcceptable},                                     // REQ-14
		{"application/vnd.oasis.taxii+json;version=2.0", http.StatusNotAcceptable},                         // REQ-14
		{"application/taxii+json;version=2.0, application/vnd.oasis.taxii+json", http.StatusNotAcceptable}, // REQ-14
		{"application/taxii+json;version=2.1;q=0", http.StatusNotAcceptable},                               // refused range
		{"application/stix+json;version=2.1", http.StatusNotAcceptable},
		{"text/html", http.StatusNotAcceptable},
	}
	ts := newTestServer(t)
	ts.addObjects(t, collEO, simpleIndicator(1))
	paths := []string{"/taxii2/", rootEO, rootEO + "collections/", objectsURL(rootEO, collEO), manifestURL(rootEO, collEO),
		objectURL(rootEO, collEO, indicatorID(1)), versionsURL(rootEO, collEO, indicatorID(1))}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			for _, p := range paths {
				w := do(t, ts, http.MethodGet, p, "", "Authorization", basic(userReader), "Accept", tt.accept)
				if tt.want == http.StatusOK {
					checkOK(t, w, http.StatusOK)
				} else {
					checkError(t, w, tt.want)
				}
			}
			// POST: Accept is checked there too.
			w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), envelope(simpleIndicator(1)), "Accept", tt.accept)
			if tt.want == http.StatusOK {
				checkOK(t, w, http.StatusAccepted)
			} else {
				checkError(t, w, tt.want)
			}
		})
	}
}

// REQ-15, REQ-16, INT-02: a POST is accepted with the TAXII media type,
// with or without version=2.1 and other parameters, in any order and case;
// anything else is a 415.
func TestServer_ContentType(t *testing.T) {
	tests := []struct {
		contentType string
		want        int
	}{
		{mediaTAXII, http.StatusAccepted},
		{"application/taxii+json", http.StatusAccepted},
		{"application/taxii+json; version=2.1", http.StatusAccepted},
		{"application/taxii+json;version=2.1; charset=utf-8", http.StatusAccepted},
		{"application/taxii+json; charset=UTF-8; version=2.1", http.StatusAccepted},
		{"application/taxii+json; charset=utf-8", http.StatusAccepted},
		{"Application/TAXII+JSON;Version=2.1", http.StatusAccepted},
		{`application/taxii+json;version="2.1"`, http.StatusAccepted},
		{"", http.StatusUnsupportedMediaType},
		{"application/json", http.StatusUnsupportedMediaType},
		{"application/stix+json;version=2.1", http.StatusUnsupportedMediaType},
		{"application/taxii+json;version=2.0", http.StatusUnsupportedMediaType},
		{"application/vnd.oasis.taxii+json", http.StatusUnsupportedMediaType},
		{"text/plain", http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
	}
	for i, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			ts := newTestServer(t)
			w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), envelope(simpleIndicator(i)), "Content-Type", tt.contentType)
			if tt.want != http.StatusAccepted {
				checkError(t, w, tt.want)
				w = ts.get(t, userPublisher, objectsURL(rootEO, collEO))
				if body := w.Body.String(); body != "{}" {
					t.Errorf("after a 415 the collection holds %s", body)
				}
				return
			}
			checkOK(t, w, http.StatusAccepted)
			if st := decodeStrict[client.Status](t, w.Body.Bytes()); st.SuccessCount != 1 {
				t.Errorf("status %+v, want one success", st)
			}
		})
	}
}

// INT-03, AMB-10: every endpoint answers with and without its trailing
// slash, the same way, without a redirect.
func TestServer_TrailingSlash(t *testing.T) {
	ts := newTestServer(t)
	ts.addObjects(t, collEO, simpleIndicator(4))
	for _, a := range seedEndpoints(t, ts, indicatorID(1)) {
		b := a
		b.path = strings.TrimSuffix(a.path, "/")
		if a.method == http.MethodDelete {
			// Each form deletes its own object.
			b.path = strings.TrimSuffix(objectURL(rootEO, collEO, indicatorID(4)), "/")
		}
		t.Run(a.name, func(t *testing.T) {
			wa := do(t, ts, a.method, a.path, a.body, "Authorization", basic(userPublisher), "Accept", mediaTAXII, "Content-Type", mediaTAXII)
			wb := do(t, ts, b.method, b.path, b.body, "Authorization", basic(userPublisher), "Accept", mediaTAXII, "Content-Type", mediaTAXII)
			for _, w := range []struct {
				path string
				code int
				loc  string
			}{{a.path, wa.Code, wa.Header().Get("Location")}, {b.path, wb.Code, wb.Header().Get("Location")}} {
				if w.code != a.ok || w.loc != "" {
					t.Errorf("%s %s: status %d, Location %q; want %d without a redirect", a.method, w.path, w.code, w.loc, a.ok)
				}
			}
			if a.method == http.MethodGet && wa.Body.String() != wb.Body.String() {
				t.Errorf("bodies differ:\n%s: %s\n%s: %s", a.path, wa.Body, b.path, wb.Body)
			}
		})
	}
}

// REQ-18: a method a path does not support is a 405 with an Allow header
// and a TAXII error (after authentication, REQ-06).
func TestServer_MethodNotAllowed(t *testing.T) {
	ts := newTestServer(t)
	st := ts.addObjects(t, collEO, simpleIndicator(1))
	obj := objectURL(rootEO, collEO, indicatorID(1))
	tests := []struct {
		method, path string
		allow        []string
	}{
		{http.MethodPost, "/taxii2/", []string{"GET"}},
		{http.MethodPut, "/taxii2", []string{"GET"}},
		{http.MethodOptions, "/taxii2/", []string{"GET"}},
		{http.MethodDelete, rootEO, []string{"GET"}},
		{http.MethodPost, rootEO + "status/" + st.ID + "/", []string{"GET"}},
		{http.MethodPost, rootEO + "collections/", []string{"GET"}},
		{http.MethodDelete, collectionURL(rootEO, collEO), []string{"GET"}},
		{http.MethodPost, manifestURL(rootEO, collEO), []string{"GET"}},
		{http.MethodPut, objectsURL(rootEO, collEO), []string{"GET", "POST"}},
		{http.MethodDelete, strings.TrimSuffix(objectsURL(rootEO, collEO), "/"), []string{"GET", "POST"}},
		{http.MethodPatch, obj, []string{"GET", "DELETE"}},
		{http.MethodPost, obj, []string{"GET", "DELETE"}},
		{http.MethodPut, strings.TrimSuffix(obj, "/"), []string{"GET", "DELETE"}},
		{http.MethodDelete, versionsURL(rootEO, collEO, indicatorID(1)), []string{"GET"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := do(t, ts, tt.method, tt.path, envelope(simpleIndicator(2)), "Authorization", basic(userPublisher), "Accept", mediaTAXII, "Content-Type", mediaTAXII)
			checkError(t, w, http.StatusMethodNotAllowed)
			allow := strings.Split(w.Header().Get("Allow"), ", ")
			slices.Sort(allow)
			want := slices.Sorted(slices.Values(tt.allow))
			if !slices.Equal(allow, want) {
				t.Errorf("Allow %q, want %q", w.Header().Get("Allow"), strings.Join(tt.allow, ", "))
			}
		})
	}
	// A method no route of the path has is a 404 when no route has the
	// path at all.
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/taxii2/nothing/"},
		{http.MethodPatch, "/a/b/"},
		{http.MethodPut, rootEO + "collections/" + collEO + "/objects/" + indicatorID(1) + "/versions/x/"},
	} {
		w := do(t, ts, r.method, r.path, "", "Authorization", basic(userPublisher), "Accept", mediaTAXII)
		checkError(t, w, http.StatusNotFound)
		if a := w.Header().Get("Allow"); a != "" {
			t.Errorf("%s %s: 404 with Allow %q", r.method, r.path, a)
		}
	}
	// Nothing was added or deleted by those requests.
	w := ts.get(t, userPublisher, objectsURL(rootEO, collEO))
	if got := objectKeys(t, decodeStrict[client.Envelope](t, w.Body.Bytes()).Objects); len(got) != 1 || !strings.HasPrefix(got[0], indicatorID(1)) {
		t.Errorf("after 405s the collection holds %v", got)
	}
}

// The check order of the conformance reference, for requests with several
// faults: 401 → 406 → 404 → 403 → 415 → 413 → 400 → 422. Every answer is a
// TAXII error (REQ-09, REQ-20, REQ-21).
func TestServer_CheckOrder(t *testing.T) {
	const badAccept = "application/taxii+json;version=2.0"
	tooBig := envelope(simpleIndicator(1)) + strings.Repeat(" ", eoMaxContentLength)
	notJSON := `{"objects":[`
	unknownColl := objectsURL(rootEO, "0d2a4a3e-8d0e-4e55-b2a1-2c5c1f0e8a77")
	tests := []struct {
		name                string
		method, path, body  string
		auth, accept, ctype string
		want                int
	}{
		{"401 before 406 and 404", http.MethodGet, "/no-such-root/collections/", "", "", badAccept, "", http.StatusUnauthorized},
		{"401 before 405", http.MethodPut, "/taxii2/", "", "Bearer nope", mediaTAXII, "", http.StatusUnauthorized},
		{"401 before 400", http.MethodGet, objectsURL(rootEO, collEO) + "?limit=0", "", "", mediaTAXII, "", http.StatusUnauthorized},
		{"401 before 415 and 413", http.MethodPost, objectsURL(rootEO, collEO), tooBig, "Basic " + b64(userPublisher+":x"), mediaTAXII, "text/plain", http.StatusUnauthorized},
		{"406 before 404", http.MethodGet, "/no-such-root/", "", basic(userPublisher), badAccept, "", http.StatusNotAcceptable},
		{"406 before 404 of a hidden root", http.MethodGet, rootVendors + "collections/", "", basic(userPublisher), badAccept, "", http.StatusNotAcceptable},
		{"406 before 405", http.MethodPut, "/taxii2/", "", basic(userPublisher), badAccept, "", http.StatusNotAcceptable},
		{"406 before 403 and 415", http.MethodPost, objectsURL(rootEO, collEO), notJSON, basic(userReader), badAccept, "text/plain", http.StatusNotAcceptable},
		{"404 unknown collection before 400", http.MethodGet, unknownColl + "?limit=0&added_after=x", "", basic(userPublisher), mediaTAXII, "", http.StatusNotFound},
		{"404 hidden collection before 400", http.MethodGet, objectsURL(rootVendors, collVendors) + "?limit=0", "", basic(userPublisher), mediaTAXII, "", http.StatusNotFound},
		{"404 unknown collection before 403", http.MethodPost, unknownColl, envelope(), basic(userReader), mediaTAXII, mediaTAXII, http.StatusNotFound},
		{"404 hidden collection before 415 and 413", http.MethodPost, objectsURL(rootVendors, collVendors), tooBig, basic(userPublisher), mediaTAXII, "text/plain", http.StatusNotFound},
		{"403 before 415, 413 and 422", http.MethodPost, objectsURL(rootEO, collEO), tooBig + notJSON, basic(userReader), mediaTAXII, "text/plain", http.StatusForbidden},
		{"403 before 400 on delete", http.MethodDelete, objectURL(rootEO, collEO, indicatorID(9)) + "?match[version]=bogus", "", basic(userReader), mediaTAXII, "", http.StatusForbidden},
		{"415 before 413 and 422", http.MethodPost, objectsURL(rootEO, collEO), tooBig + notJSON, basic(userPublisher), mediaTAXII, "application/json", http.StatusUnsupportedMediaType},
		{"413 before 422", http.MethodPost, objectsURL(rootEO, collEO), notJSON + tooBig, basic(userPublisher), mediaTAXII, mediaTAXII, http.StatusRequestEntityTooLarge},
		{"400 before 404 of an object", http.MethodGet, objectURL(rootEO, collEO, indicatorID(9)) + "?limit=-1", "", basic(userPublisher), mediaTAXII, "", http.StatusBadRequest},
		{"400 on delete before 404 of an object", http.MethodDelete, objectURL(rootEO, collEO, indicatorID(9)) + "?match[version]=all,last", "", basic(userPublisher), mediaTAXII, "", http.StatusBadRequest},
		{"422", http.MethodPost, objectsURL(rootEO, collEO), notJSON, basic(userPublisher), mediaTAXII, mediaTAXII, http.StatusUnprocessableEntity},
	}
	ts := newTestServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, ts, tt.method, tt.path, tt.body, "Authorization", tt.auth, "Accept", tt.accept, "Content-Type", tt.ctype)
			checkError(t, w, tt.want)
		})
	}
	if body := ts.get(t, userPublisher, objectsURL(rootEO, collEO)).Body.String(); body != "{}" {
		t.Errorf("refused requests stored objects: %s", body)
	}
}
