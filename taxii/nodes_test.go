package taxii_test

import (
	"net/http"
	"testing"
	"time"
)

// Ensure that a change made through one node applies on another node of the
// same store within a second (issue 11: revoking a token, removing a member
// or deleting a collection on node A takes effect on node B), with the
// default Options.DirectoryPoll: node B learns of it from the store's
// DirectoryVersion, not from node A.
func TestNodes_ChangesFollowWithinASecond(t *testing.T) {
	w := newAdmWorld(t)
	b := w.node(t)
	apiRoot := "/" + admOfficials + "/"
	collection := apiRoot + "collections/" + admCollOff + "/"
	for _, tt := range []struct {
		name, user, target string // what user reads on node B
		change             func() // made through node A
	}{
		{"RevokeTokens", admReader, "/taxii2/", func() {
			admStatus(t, w.call(t, admSuper, "DELETE", "/admin/v1/accounts/"+admReader+"/tokens", ""), http.StatusOK)
		}},
		{"RemoveMember", admPublisher, apiRoot, func() {
			admStatus(t, w.call(t, admGroupAdmin, "DELETE", "/admin/v1/groups/"+admOfficials+"/members/"+admPublisher, ""), http.StatusOK)
		}},
		{"DeleteCollection", admGroupAdmin, collection, func() {
			admStatus(t, w.call(t, admGroupAdmin, "DELETE", "/admin/v1/groups/"+admOfficials+"/collections/"+admCollOff, ""), http.StatusNoContent)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			read := func() int { return callNode(t, b, admBearer(tt.user), "GET", tt.target, "").Code }
			if code := read(); code != http.StatusOK {
				t.Fatalf("before the change, node B answers %d, want 200", code)
			}
			tt.change()
			changed := time.Now()
			for read() == http.StatusOK {
				if time.Since(changed) > time.Second {
					t.Fatal("node B still serves what node A changed a second ago")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if code := read(); code != http.StatusUnauthorized && code != http.StatusNotFound {
				t.Fatalf("after the change, node B answers %d, want 401 or 404", code)
			}
		})
	}
}
