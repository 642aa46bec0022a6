package taxii_test

import (
	"net/http"
	"strings"
	"testing"
)

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
