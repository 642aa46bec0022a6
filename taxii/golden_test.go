package taxii_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/store/storetest"
)

// TestServer_Golden compares whole response bodies, field order included,
// with testdata/taxii/golden/*.json; run with -update to rewrite them. The
// clocks are fixed and the status ids sequential (storetest.SeqIDs); the one random part, a next token, is
// checked and then replaced by "<next>".
func TestServer_Golden(t *testing.T) {
	ts := newTestServerConfig(t, config{newID: (&storetest.SeqIDs{}).NewID})
	statusW := ts.post(t, userPublisher, objectsURL(rootEO, collEO), envelope(simpleIndicator(1), ind2, simpleIndicator(1), ipv4, marking))
	checkOK(t, statusW, http.StatusAccepted)
	ts.addObjects(t, collEO, indicator(indicatorID(1), v1, v2, "[ipv4-addr:value = '198.51.100.1']"))

	tests := []struct {
		name, user, url string
		code            int
	}{
		{"discovery", userAdmin, "/taxii2/", http.StatusOK},
		{"discovery_no_groups", userNobody, "/taxii2/", http.StatusOK},
		{"api_root", userReader, rootEO, http.StatusOK},
		{"collections", userReader, rootEO + "collections/", http.StatusOK},
		{"collection", userPublisher, collectionURL(rootEO, aliasEO), http.StatusOK},
		{"manifest_page", userReader, manifestURL(rootEO, collEO) + "?match[version]=all&limit=4", http.StatusOK},
		{"versions", userReader, versionsURL(rootEO, collEO, indicatorID(1)), http.StatusOK},
		{"objects_page", userReader, objectsURL(rootEO, collEO) + "?match[type]=indicator", http.StatusOK},
		{"status", userReader, rootEO + "status/00000000-0000-4000-8000-000000000001/", http.StatusOK},
		{"error_not_found", userVendor, rootEO, http.StatusNotFound},
		{"error_bad_query", userReader, objectsURL(rootEO, collEO) + "?limit=0", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ts.get(t, tt.user, tt.url)
			if tt.code == http.StatusOK {
				checkOK(t, w, tt.code)
			} else {
				checkError(t, w, tt.code)
			}
			body := w.Body.String()
			if strings.Contains(body, `"next"`) {
				next := keys(t, w.Body.Bytes())["next"]
				if len(next) < 3 || next[0] != '"' {
					t.Fatalf("next is not a non-empty string: %s", body)
				}
				body = strings.Replace(body, string(next), `"<next>"`, 1)
			}
			checkGolden(t, tt.name, []byte(body))
		})
	}
	t.Run("status_post", func(t *testing.T) {
		// The POST's body is the status served afterwards.
		checkGolden(t, "status", statusW.Body.Bytes())
	})
}

// TestAdmin_Golden compares whole admin API response bodies, member names
// and order included, with testdata/taxii/golden/admin_*.json; run with
// -update to rewrite them. The other admin tests decode into the client
// package's wire types, which the handlers encode too: a member renamed in
// client would pass those on both sides, and fails here. The world's clock
// and ids are fixed; the one random part, a new token's secret, is checked
// and then replaced by "<token>".
func TestAdmin_Golden(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	newToken := w.call(t, admSuper, "POST", "/admin/v1/accounts/"+admPublisher+"/tokens", `{"name":"feed","expires_in":"720h"}`)
	secret := admDecode[struct {
		ID, Account, Name, Token, Created, Expires string
	}](t, newToken, http.StatusCreated).Token
	if secret == "" {
		t.Fatalf("new token without a secret: %s", newToken.Body)
	}
	admStatus(t, w.call(t, admSuper, "PATCH", "/admin/v1/groups/"+admVendors+"/collections/"+admCollVend,
		`{"description":"From vendors","policy":{"tlp_ceiling":"amber","require_tlp":true,"default_tlp":"green","anonymize":true,"read_role":"publisher","write_role":"admin"}}`), http.StatusOK)
	gets := []struct{ name, target string }{
		{"admin_me", "/admin/v1/me"},
		{"admin_organizations", "/admin/v1/organizations"},
		{"admin_organization", "/admin/v1/organizations/county"},
		{"admin_accounts", "/admin/v1/accounts"},
		{"admin_account", "/admin/v1/accounts/" + admDisabledAcc},
		{"admin_tokens", "/admin/v1/accounts/" + admPublisher + "/tokens"},
		{"admin_groups", "/admin/v1/groups"},
		{"admin_group", "/admin/v1/groups/" + admOfficials},
		{"admin_collections", "/admin/v1/groups/" + admOfficials + "/collections"},
		{"admin_collection", "/admin/v1/groups/" + admOfficials + "/collections/" + admCollOff},
		{"admin_collection_policy", "/admin/v1/groups/" + admVendors + "/collections/" + admCollVend},
		{"admin_audit", "/admin/v1/audit?action=admin.&since=2024-11-05T06:00:00Z"}, // not the bootstrap row: its target lists memberships in map order,
	}
	t.Run("admin_new_token", func(t *testing.T) {
		checkGolden(t, "admin_new_token", []byte(strings.Replace(newToken.Body.String(), secret, "<token>", 1)))
	})
	for _, g := range gets {
		t.Run(g.name, func(t *testing.T) {
			rec := w.call(t, admSuper, "GET", g.target, "")
			admStatus(t, rec, http.StatusOK)
			checkGolden(t, g.name, rec.Body.Bytes())
		})
	}
}
