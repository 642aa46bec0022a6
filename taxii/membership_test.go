package taxii_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/client"
)

// REQ-34..39: discovery lists the API roots of the caller's groups only,
// as relative URLs ending in '/', and names the default only when the
// caller sees it.
func TestServer_Discovery(t *testing.T) {
	tests := []struct {
		user        string
		wantRoots   []string
		wantDefault string
	}{
		{userPublisher, []string{rootEO}, rootEO},
		{userReader, []string{rootEO}, rootEO},
		{userAdmin, []string{rootEO, rootObservers, rootVendors}, rootEO}, // sorted by group name
		{userVendor, []string{rootVendors}, ""},
		{userNobody, nil, ""},
	}
	ts := newTestServer(t)
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			w := ts.get(t, tt.user, "/taxii2/")
			checkOK(t, w, http.StatusOK)
			d := decodeStrict[client.Discovery](t, w.Body.Bytes())
			if d.Title == "" {
				t.Error("discovery without title (REQ-35)")
			}
			if !slices.Equal(d.APIRoots, tt.wantRoots) {
				t.Errorf("api_roots %q, want %q (REQ-39)", d.APIRoots, tt.wantRoots)
			}
			if d.Default != tt.wantDefault {
				t.Errorf("default %q, want %q", d.Default, tt.wantDefault)
			}
			if d.Default != "" && !slices.Contains(d.APIRoots, d.Default) {
				t.Errorf("default %q is not one of api_roots %q (REQ-36)", d.Default, d.APIRoots)
			}
			for _, r := range d.APIRoots {
				if !strings.HasPrefix(r, "/") || strings.HasPrefix(r, "//") || !strings.HasSuffix(r, "/") || strings.Contains(r, "?") {
					t.Errorf("api root %q is not a relative URL ending in / (REQ-37, INT-12)", r)
				}
			}
			if _, ok := keys(t, w.Body.Bytes())["api_roots"]; ok && tt.wantRoots == nil {
				t.Errorf("api_roots present for a caller without roots, want it omitted (REQ-37): %s", w.Body)
			}
		})
	}
}

// REQ-40, REQ-41: the API root resource, and 404 for an unknown or hidden
// one.
func TestServer_APIRoot(t *testing.T) {
	ts := newTestServer(t)
	w := ts.get(t, userReader, rootEO)
	checkOK(t, w, http.StatusOK)
	r := decodeStrict[client.APIRoot](t, w.Body.Bytes())
	if r.Title == "" || !slices.Equal(r.Versions, []string{mediaTAXII}) || r.MaxContentLength != eoMaxContentLength {
		t.Errorf("api root %+v, want a title, versions [%s] and max_content_length %d", r, mediaTAXII, eoMaxContentLength)
	}
	w = ts.get(t, userVendor, rootVendors)
	checkOK(t, w, http.StatusOK)
	if r := decodeStrict[client.APIRoot](t, w.Body.Bytes()); r.MaxContentLength != 10<<20 {
		t.Errorf("vendors max_content_length %d, want the default %d", r.MaxContentLength, 10<<20)
	}
}

// REQ-26, REQ-41, REQ-48, REQ-52, REQ-23: an API root, collection or
// status of a group the caller is not in answers exactly as one that does
// not exist: the same 404 and the same body, on every endpoint and method.
func TestServer_HiddenResources(t *testing.T) {
	ts := newTestServer(t)
	st := ts.addObjects(t, collEO, simpleIndicator(1))
	w := ts.post(t, userVendor, objectsURL(rootVendors, collVendors), envelope(simpleIndicator(1)))
	checkOK(t, w, http.StatusAccepted)
	vendorStatus := decodeStrict[client.Status](t, w.Body.Bytes())
	const unknownColl = "0d2a4a3e-8d0e-4e55-b2a1-2c5c1f0e8a77"
	id := indicatorID(1)

	// Each hidden request is paired with one for something that does not
	// exist at all.
	tests := []struct {
		name, user, method, hidden, unknown string
	}{
		{"api root of another group", userVendor, http.MethodGet, rootEO, "/no-such-root/"},
		{"api root for an account without groups", userNobody, http.MethodGet, rootEO, "/no-such-root/"},
		{"status of another group", userVendor, http.MethodGet, rootEO + "status/" + st.ID + "/", "/no-such-root/status/" + st.ID + "/"},
		{"status of another api root (REQ-48)", userAdmin, http.MethodGet, rootEO + "status/" + vendorStatus.ID + "/", rootEO + "status/6f1d3c2b-5e4f-4a3b-9c2d-1e0f9a8b7c6d/"},
		{"status under an api root it does not belong to, same caller", userAdmin, http.MethodGet, rootObservers + "status/" + st.ID + "/", rootObservers + "status/" + unknownColl + "/"},
		{"collections of another group", userVendor, http.MethodGet, rootEO + "collections/", "/no-such-root/collections/"},
		{"collection of another group", userVendor, http.MethodGet, collectionURL(rootEO, collEO), collectionURL(rootVendors, unknownColl)},
		{"collection by alias of another group", userVendor, http.MethodGet, collectionURL(rootEO, aliasEO), collectionURL(rootVendors, "no-such-alias")},
		{"another group's collection under an own root", userPublisher, http.MethodGet, collectionURL(rootEO, collVendors), collectionURL(rootEO, unknownColl)},
		{"objects of another group", userVendor, http.MethodGet, objectsURL(rootEO, collEO), objectsURL(rootVendors, unknownColl)},
		{"objects of another group's collection under an own root", userPublisher, http.MethodGet, objectsURL(rootEO, collVendors), objectsURL(rootEO, unknownColl)},
		{"manifest of another group", userVendor, http.MethodGet, manifestURL(rootEO, collEO), manifestURL(rootVendors, unknownColl)},
		{"object of another group", userVendor, http.MethodGet, objectURL(rootEO, collEO, id), objectURL(rootVendors, unknownColl, id)},
		{"versions of another group", userVendor, http.MethodGet, versionsURL(rootEO, collEO, id), versionsURL(rootVendors, unknownColl, id)},
		{"delete in another group", userVendor, http.MethodDelete, objectURL(rootEO, collEO, id), objectURL(rootVendors, unknownColl, id)},
		{"add to another group", userVendor, http.MethodPost, objectsURL(rootEO, collEO), objectsURL(rootVendors, unknownColl)},
		{"add for an account without groups", userNobody, http.MethodPost, objectsURL(rootEO, collEO), objectsURL("/no-such-root/", unknownColl)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == http.MethodPost {
				body = envelope(simpleIndicator(7))
			}
			hdr := []string{"Authorization", basic(tt.user), "Accept", mediaTAXII, "Content-Type", mediaTAXII}
			wh := do(t, ts, tt.method, tt.hidden, body, hdr...)
			wu := do(t, ts, tt.method, tt.unknown, body, hdr...)
			checkError(t, wh, http.StatusNotFound)
			checkError(t, wu, http.StatusNotFound)
			if wh.Body.String() != wu.Body.String() {
				t.Errorf("a hidden resource answers differently from a missing one (REQ-26):\nhidden:  %s\nmissing: %s", wh.Body, wu.Body)
			}
		})
	}
	// The hidden requests changed nothing: the object is still there and
	// nothing was added.
	w = ts.get(t, userPublisher, objectsURL(rootEO, collEO))
	if got := objectKeys(t, decodeStrict[client.Envelope](t, w.Body.Bytes()).Objects); len(got) != 1 {
		t.Errorf("election-officials holds %v after hidden requests, want the one indicator", got)
	}
	// The status is served under its own API root, to any member.
	checkOK(t, ts.get(t, userAdmin, rootVendors+"status/"+vendorStatus.ID+"/"), http.StatusOK)
}

// REQ-49..52, INT-11, REQ-50: collections are listed in id order with
// can_read and can_write computed for the caller; a collection by id or
// alias equals its list entry; an API root without collections is {}.
func TestServer_Collections(t *testing.T) {
	tests := []struct {
		user, root        string
		canRead, canWrite bool
		wantIDs           []string
	}{
		{userReader, rootEO, true, false, []string{collEO2, collEO}},
		{userPublisher, rootEO, true, true, []string{collEO2, collEO}},
		{userAdmin, rootEO, true, true, []string{collEO2, collEO}},
		{userAdmin, rootVendors, true, false, []string{collVendors}},
		{userVendor, rootVendors, true, true, []string{collVendors}},
		{userAdmin, rootObservers, false, false, nil},
	}
	ts := newTestServer(t)
	for _, tt := range tests {
		t.Run(tt.user+tt.root, func(t *testing.T) {
			w := ts.get(t, tt.user, tt.root+"collections/")
			checkOK(t, w, http.StatusOK)
			if tt.wantIDs == nil {
				if w.Body.String() != "{}" {
					t.Errorf("collections of a root without any: %s, want {} (REQ-49)", w.Body)
				}
				return
			}
			list := decodeStrict[client.Collections](t, w.Body.Bytes()).Collections
			var ids []string
			for _, c := range list {
				ids = append(ids, c.ID)
				if c.CanRead != tt.canRead || c.CanWrite != tt.canWrite {
					t.Errorf("%s: can_read %v, can_write %v; want %v, %v (REQ-51, INT-11)", c.ID, c.CanRead, c.CanWrite, tt.canRead, tt.canWrite)
				}
				if c.Title == "" || !slices.Equal(c.MediaTypes, []string{"application/stix+json;version=2.1"}) {
					t.Errorf("collection %+v: want a title and media_types [application/stix+json;version=2.1]", c)
				}
				// REQ-52: the single collection is the list entry, by id
				// and by alias.
				paths := []string{collectionURL(tt.root, c.ID)}
				if c.Alias != "" {
					paths = append(paths, collectionURL(tt.root, c.Alias))
				}
				for _, p := range paths {
					w := ts.get(t, tt.user, p)
					checkOK(t, w, http.StatusOK)
					if one := decodeStrict[client.CollectionResource](t, w.Body.Bytes()); !equalCollections(one, c) {
						t.Errorf("GET %s = %+v, want the list entry %+v (REQ-52)", p, one, c)
					}
				}
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("collection ids %q, want %q sorted by id (REQ-50)", ids, tt.wantIDs)
			}
			if w2 := ts.get(t, tt.user, tt.root+"collections/"); w2.Body.String() != w.Body.String() {
				t.Errorf("repeated list differs (REQ-50):\n%s\n%s", w.Body, w2.Body)
			}
		})
	}
	// The alias is shown on the collection that has one.
	w := ts.get(t, userReader, collectionURL(rootEO, collEO))
	if c := decodeStrict[client.CollectionResource](t, w.Body.Bytes()); c.Alias != aliasEO {
		t.Errorf("alias %q, want %q", c.Alias, aliasEO)
	}
}

func equalCollections(a, b client.CollectionResource) bool {
	return a.ID == b.ID && a.Title == b.Title && a.Description == b.Description && a.Alias == b.Alias &&
		a.CanRead == b.CanRead && a.CanWrite == b.CanWrite && slices.Equal(a.MediaTypes, b.MediaTypes)
}

// REQ-66, REQ-79, INT-11: a reader may read but neither add (403) nor
// delete (403, object kept); publishers and admins may do both; a reader
// of one group is not a writer there even if it writes elsewhere.
func TestServer_WritePermissions(t *testing.T) {
	tests := []struct {
		user, root, coll string
		canWrite         bool
	}{
		{userReader, rootEO, collEO, false},
		{userPublisher, rootEO, collEO, true},
		{userAdmin, rootEO, collEO, true},
		{userAdmin, rootVendors, collVendors, false},
		{userVendor, rootVendors, collVendors, true},
	}
	for _, tt := range tests {
		t.Run(tt.user+tt.root, func(t *testing.T) {
			ts := newTestServer(t)
			// Seed as the group's writer.
			writer := userPublisher
			if tt.root == rootVendors {
				writer = userVendor
			}
			checkOK(t, ts.post(t, writer, objectsURL(tt.root, tt.coll), envelope(simpleIndicator(1))), http.StatusAccepted)

			// Reading is allowed to every member.
			checkOK(t, ts.get(t, tt.user, objectsURL(tt.root, tt.coll)), http.StatusOK)
			checkOK(t, ts.get(t, tt.user, manifestURL(tt.root, tt.coll)), http.StatusOK)
			checkOK(t, ts.get(t, tt.user, objectURL(tt.root, tt.coll, indicatorID(1))), http.StatusOK)
			checkOK(t, ts.get(t, tt.user, versionsURL(tt.root, tt.coll, indicatorID(1))), http.StatusOK)

			wp := ts.post(t, tt.user, objectsURL(tt.root, tt.coll), envelope(simpleIndicator(2)))
			wd := ts.del(t, tt.user, objectURL(tt.root, tt.coll, indicatorID(1)))
			if tt.canWrite {
				checkOK(t, wp, http.StatusAccepted)
				checkOK(t, wd, http.StatusOK)
				return
			}
			checkError(t, wp, http.StatusForbidden)
			checkError(t, wd, http.StatusForbidden)
			w := ts.get(t, tt.user, objectsURL(tt.root, tt.coll))
			if got := objectKeys(t, decodeStrict[client.Envelope](t, w.Body.Bytes()).Objects); len(got) != 1 || !strings.HasPrefix(got[0], indicatorID(1)+"@") {
				t.Errorf("after a refused add and delete the collection holds %v, want only %s", got, indicatorID(1))
			}
		})
	}
}
