package taxii_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/client"
)

// REQ-79..83, AMB-03, AMB-07: Delete an Object. The fixture holds
// indicator 1 in versions v1, v2, v3 (added in that order), indicator 2
// and an SCO.
func TestServer_DeleteObject(t *testing.T) {
	id1 := indicatorID(1)
	pat := "[ipv4-addr:value = '198.51.100.1']"
	versions := []string{v1, v2, v3}
	tests := []struct {
		name, query string
		want        int
		remaining   []int // indexes into versions still stored afterwards
	}{
		{"every version by default (AMB-03)", "", http.StatusOK, nil},
		{"all", "match[version]=all", http.StatusOK, nil},
		{"last only: the previous version is current again", "match[version]=last", http.StatusOK, []int{0, 1}},
		{"first only", "match[version]=first", http.StatusOK, []int{1, 2}},
		{"first and last", "match[version]=first,last", http.StatusOK, []int{1}},
		{"one version by timestamp", "match[version]=" + v2, http.StatusOK, []int{0, 2}},
		{"one version by timestamp in another form", "match[version]=2024-02-01T00:00:00%2B00:00", http.StatusOK, []int{0, 2}},
		{"spec_version 2.1, all versions (AMB-03)", "match[spec_version]=2.1", http.StatusOK, nil},
		{"spec_version 2.1, last", "match[spec_version]=2.1&match[version]=last", http.StatusOK, []int{0, 1}},
		{"filters match no version: 404 (REQ-83)", "match[version]=2023-01-01T00:00:00Z", http.StatusNotFound, []int{0, 1, 2}},
		{"spec_version matches none: 404", "match[spec_version]=2.0", http.StatusNotFound, []int{0, 1, 2}},
		{"paging and type parameters are ignored (REQ-93)", "limit=1&added_after=2099-01-01T00:00:00Z&match[type]=malware&match[id]=" + indicatorID(2), http.StatusOK, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.addObjects(t, collEO, indicator(id1, v1, v1, pat), indicator(id1, v1, v2, pat), indicator(id1, v1, v3, pat), ind2, ipv4)

			w := ts.del(t, userPublisher, objectURL(rootEO, collEO, id1)+"?"+tt.query)
			if tt.want != http.StatusOK {
				checkError(t, w, tt.want)
			} else {
				checkOK(t, w, http.StatusOK)
				if w.Body.Len() != 0 {
					t.Errorf("DELETE body %q, want empty (REQ-80)", w.Body)
				}
			}

			var want []string
			for _, i := range tt.remaining {
				want = append(want, versions[i])
			}
			// REQ-81: versions, the object and the lists agree.
			wv := ts.get(t, userReader, versionsURL(rootEO, collEO, id1))
			wo := ts.get(t, userReader, objectURL(rootEO, collEO, id1))
			if len(want) == 0 {
				checkError(t, wv, http.StatusNotFound)
				checkError(t, wo, http.StatusNotFound) // AMB-07
				checkError(t, ts.del(t, userPublisher, objectURL(rootEO, collEO, id1)), http.StatusNotFound)
			} else {
				checkOK(t, wv, http.StatusOK)
				if got := decodeStrict[client.Versions](t, wv.Body.Bytes()).Versions; !slices.Equal(got, want) {
					t.Errorf("versions %q, want %q", got, want)
				}
				checkOK(t, wo, http.StatusOK)
				env := decodeStrict[client.Envelope](t, wo.Body.Bytes())
				if got := objectKeys(t, env.Objects); !slices.Equal(got, []string{id1 + "@" + want[len(want)-1]}) {
					t.Errorf("object after delete %v, want its greatest remaining version %s (REQ-81)", got, want[len(want)-1])
				}
			}
			// A deleted version, pinned, is an empty envelope while other
			// versions remain (REQ-81).
			for _, v := range versions {
				if len(want) > 0 && !slices.Contains(want, v) {
					w := ts.get(t, userReader, objectURL(rootEO, collEO, id1)+"?match[version]="+v)
					checkOK(t, w, http.StatusOK)
					if w.Body.String() != "{}" {
						t.Errorf("deleted version %s still served: %s", v, w.Body)
					}
				}
			}
			// Get Objects and the manifest list exactly the remaining
			// versions (REQ-81).
			var wantKeys []string
			for _, v := range want {
				wantKeys = append(wantKeys, id1+"@"+v)
			}
			filter := "?match[id]=" + id1 + "&match[version]=all"
			var gotObjects, gotManifest []string
			if w := ts.get(t, userReader, objectsURL(rootEO, collEO)+filter); w.Body.String() != "{}" {
				gotObjects = objectKeys(t, decodeStrict[client.Envelope](t, w.Body.Bytes()).Objects)
			}
			if w := ts.get(t, userReader, manifestURL(rootEO, collEO)+filter); w.Body.String() != "{}" {
				for _, r := range decodeStrict[client.Manifest](t, w.Body.Bytes()).Objects {
					gotManifest = append(gotManifest, r.ID+"@"+r.Version)
				}
			}
			if !slices.Equal(gotObjects, wantKeys) || !slices.Equal(gotManifest, wantKeys) {
				t.Errorf("after delete objects list %v, manifest %v; want %v", gotObjects, gotManifest, wantKeys)
			}
			// The other objects are untouched.
			w = ts.get(t, userReader, objectsURL(rootEO, collEO)+"?match[id]="+indicatorID(2)+","+ipv4ID)
			if got := len(decodeStrict[client.Envelope](t, w.Body.Bytes()).Objects); got != 2 {
				t.Errorf("%d other objects left, want 2", got)
			}
		})
	}
}

// REQ-80, REQ-83, INT-03: the response of a delete, deletes of SCOs and
// through aliases and slash-less URLs, and unknown objects.
func TestServer_DeleteObject_Forms(t *testing.T) {
	ts := newTestServer(t)
	ts.addObjects(t, collEO, simpleIndicator(1), simpleIndicator(2), ipv4)
	for _, u := range []string{
		objectURL(rootEO, aliasEO, indicatorID(1)),
		strings.TrimSuffix(objectURL(rootEO, collEO, indicatorID(2)), "/"),
		objectURL(rootEO, collEO, ipv4ID),
	} {
		w := ts.del(t, userPublisher, u)
		checkOK(t, w, http.StatusOK)
		if w.Body.Len() != 0 {
			t.Errorf("DELETE %s: body %q, want empty (REQ-80)", u, w.Body)
		}
		checkError(t, ts.del(t, userPublisher, u), http.StatusNotFound)
		checkError(t, ts.get(t, userPublisher, u), http.StatusNotFound)
	}
	if body := ts.get(t, userReader, objectsURL(rootEO, collEO)).Body.String(); body != "{}" {
		t.Errorf("collection after deleting everything: %s, want {}", body)
	}
	// A deleted object can be added again.
	ts.addObjects(t, collEO, simpleIndicator(1))
	checkOK(t, ts.get(t, userReader, objectURL(rootEO, collEO, indicatorID(1))), http.StatusOK)
	// REQ-83: never stored.
	checkError(t, ts.del(t, userPublisher, objectURL(rootEO, collEO, indicatorID(99))), http.StatusNotFound)
	checkError(t, ts.del(t, userPublisher, objectURL(rootEO, collEO2, indicatorID(1))), http.StatusNotFound)
}
