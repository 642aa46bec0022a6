package taxii_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/taxii"
)

// rulesBase is a valid configuration that each case of
// TestRules_SameEverywhere breaks in one place.
func rulesBase() taxii.Options {
	return taxii.Options{
		Discovery:     taxii.Discovery{Title: "Rules"},
		Organizations: []taxii.Organization{{Name: "county", Title: "County"}},
		Accounts:      []taxii.Account{{Name: "bob", Organization: "county"}},
		Groups: []taxii.Group{{
			Name: "g", Title: "G", Members: map[string]taxii.Role{"bob": taxii.RoleReader},
			Collections: []taxii.Collection{{ID: "7b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", Title: "C"}},
		}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// newRulesServer runs opts through NewServer, which validates them and
// bootstraps the store's directory from them: the path of the
// configuration file.
func newRulesServer(t *testing.T, opts taxii.Options) error {
	t.Helper()
	db := openStore(t, "", bolt.Options{})
	v := mustValidator(t)
	srv, err := taxii.NewServer(context.Background(), opts, db, v)
	if err == nil {
		srv.Close()
	}
	return err
}

// Ensure that the configuration file (taxii.Options, which bootstrap
// applies) and the admin API refuse the same bad inputs with the same
// message: one rule set in access (issue 10). The admin API names the
// field of its body; the configuration names the same field under its
// path in the file.
func TestRules_SameEverywhere(t *testing.T) {
	long := strings.Repeat("x", 257)
	const uuidAlias = "0f6e1c9a-3b7d-4c2e-9a5f-1d2e3f4a5b6d"
	w := newAdmWorld(t) // refused requests change nothing: one world serves all
	coll := func(o *taxii.Options) *taxii.Collection { return &o.Groups[0].Collections[0] }
	for _, tt := range []struct {
		name   string
		config func(o *taxii.Options)
		// configKey is the path of the field in the configuration,
		// adminKey its name in the admin API's answer.
		configKey          string
		method, path, body string
		adminKey           string
		problem            string
	}{
		{"AliasIsUUID", func(o *taxii.Options) { coll(o).Alias = uuidAlias }, "groups[0].collections[0].alias",
			"POST", "/admin/v1/groups/officials/collections", `{"title":"X","alias":"` + uuidAlias + `"}`, "alias",
			`"` + uuidAlias + `" reads as a collection id; choose a name`},
		{"AliasPattern", func(o *taxii.Options) { coll(o).Alias = "Bad Alias" }, "groups[0].collections[0].alias",
			"POST", "/admin/v1/groups/officials/collections", `{"title":"X","alias":"Bad Alias"}`, "alias",
			`"Bad Alias" is not a valid alias (lowercase letters, digits, . _ -; at most 63, starting with a letter or digit)`},
		{"CollectionTitleLong", func(o *taxii.Options) { coll(o).Title = long }, "groups[0].collections[0].title",
			"POST", "/admin/v1/groups/officials/collections", `{"title":"` + long + `"}`, "title", "at most 256 bytes"},
		{"CollectionTitleControl", func(o *taxii.Options) { coll(o).Title = "a\x07b" }, "groups[0].collections[0].title",
			"POST", "/admin/v1/groups/officials/collections", `{"title":"a\u0007b"}`, "title", "control characters are not allowed"},
		{"CollectionTitleBlank", func(o *taxii.Options) { coll(o).Title = "  " }, "groups[0].collections[0].title",
			"POST", "/admin/v1/groups/officials/collections", `{"title":"  "}`, "title", "must not be empty"},
		{"CollectionDescriptionLong", func(o *taxii.Options) { coll(o).Description = strings.Repeat("x", 4097) }, "groups[0].collections[0].description",
			"POST", "/admin/v1/groups/officials/collections", `{"title":"X","description":"` + strings.Repeat("x", 4097) + `"}`, "description", "at most 4096 bytes"},
		{"CollectionPolicyTLP", func(o *taxii.Options) { coll(o).Policy.TLPCeiling = "pink" }, "groups[0].collections[0].tlp_ceiling",
			"POST", "/admin/v1/groups/officials/collections", `{"title":"X","policy":{"tlp_ceiling":"pink"}}`, "policy.tlp_ceiling",
			`"pink" is not a TLP level (clear, green, amber, amber+strict, red)`},
		{"GroupName", func(o *taxii.Options) { o.Groups[0].Name = "admin" }, "groups[0].name",
			"POST", "/admin/v1/groups", `{"name":"admin","title":"A"}`, "name",
			`"admin" cannot name an API root (lowercase letters, digits, . _ -; at most 63, starting with a letter or digit; not taxii2, admin, console, metrics, healthz, readyz)`},
		{"GroupNameConsole", func(o *taxii.Options) { o.Groups[0].Name = "console" }, "groups[0].name",
			"POST", "/admin/v1/groups", `{"name":"console","title":"C"}`, "name",
			`"console" cannot name an API root (lowercase letters, digits, . _ -; at most 63, starting with a letter or digit; not taxii2, admin, console, metrics, healthz, readyz)`},
		{"GroupTitleLong", func(o *taxii.Options) { o.Groups[0].Title = long }, "groups[0].title",
			"POST", "/admin/v1/groups", `{"name":"newg","title":"` + long + `"}`, "title", "at most 256 bytes"},
		{"GroupDescriptionControl", func(o *taxii.Options) { o.Groups[0].Description = "a\x00b" }, "groups[0].description",
			"POST", "/admin/v1/groups", `{"name":"newg","title":"N","description":"a\u0000b"}`, "description",
			"control characters other than line breaks and tabs are not allowed"},
		{"GroupMaxContentLength", func(o *taxii.Options) { o.Groups[0].MaxContentLength = -5 }, "groups[0].max_content_length",
			"POST", "/admin/v1/groups", `{"name":"newg","title":"N","max_content_length":-5}`, "max_content_length", "must be a positive number of bytes"},
		{"GroupOwnDomain", func(o *taxii.Options) { o.Groups[0].OwnDomains = []string{"sos.gov", "localhost"} }, "groups[0].own_domains[1]",
			"PATCH", "/admin/v1/groups/officials", `{"own_domains":["sos.gov","localhost"]}`, "own_domains[1]",
			`"localhost" is not a domain name (labels of letters, digits and hyphens, at least two, e.g. "elections.example.gov")`},
		{"GroupOwnDomainTwice", func(o *taxii.Options) { o.Groups[0].OwnDomains = []string{"sos.gov", "SOS.gov."} }, "groups[0].own_domains[1]",
			"POST", "/admin/v1/groups", `{"name":"newg","title":"N","own_domains":["sos.gov","SOS.gov."]}`, "own_domains[1]",
			`"sos.gov" is listed twice`},
		{"MemberRole", func(o *taxii.Options) { o.Groups[0].Members["bob"] = "owner" }, "groups[0].members.bob",
			"PUT", "/admin/v1/groups/officials/members/" + admReader, `{"role":"owner"}`, "role", `"owner" is not a role (reader, publisher or admin)`},
		{"OrganizationName", func(o *taxii.Options) { o.Organizations[0].Name = "Bad Org"; o.Accounts[0].Organization = "" }, "organizations[0].name",
			"POST", "/admin/v1/organizations", `{"name":"Bad Org"}`, "name",
			`"Bad Org" is not a valid organization name (lowercase letters, digits, . _ -; at most 63, starting with a letter or digit)`},
		{"OrganizationTitleLong", func(o *taxii.Options) { o.Organizations[0].Title = long }, "organizations[0].title",
			"POST", "/admin/v1/organizations", `{"name":"neworg","title":"` + long + `"}`, "title", "at most 256 bytes"},
		{"AccountName", func(o *taxii.Options) { o.Accounts[0].Name = "-bob"; o.Groups[0].Members = nil }, "accounts[0].name",
			"POST", "/admin/v1/accounts", `{"name":"-bob","organization":"county"}`, "name",
			`"-bob" is not a valid account name (letters, digits, . _ @ -; at most 128, starting with a letter or digit)`},
		{"AccountKind", func(o *taxii.Options) { o.Accounts[0].Kind = "robot" }, "accounts[0].kind",
			"POST", "/admin/v1/accounts", `{"name":"newacct","organization":"county","kind":"robot"}`, "kind", `"robot" is neither person nor machine`},
		{"CertificateNotHex", func(o *taxii.Options) { o.Accounts[0].Certificates = []string{"xyz"} }, "accounts[0].certificates[0]",
			"POST", "/admin/v1/accounts", `{"name":"newacct","organization":"county","certificates":["xyz"]}`, "certificates[0]",
			"not a hex SHA-256 certificate fingerprint"},
		{"CertificateTwice", func(o *taxii.Options) {
			o.Accounts[0].Certificates = []string{strings.Repeat("ab", 32), strings.Repeat("AB", 32)}
		},
			"accounts[0].certificates[1]",
			"POST", "/admin/v1/accounts", `{"name":"newacct","organization":"county","certificates":["` + strings.Repeat("ab", 32) + `","` + strings.Repeat("AB", 32) + `"]}`,
			"certificates[1]", "listed twice"},
		{"RateLimitNegative", func(o *taxii.Options) { o.Accounts[0].RateLimit = &store.RateLimit{PerSecond: -1, Burst: 1} }, "accounts[0].rate_limit",
			"POST", "/admin/v1/accounts", `{"name":"newacct","organization":"county","rate_limit":{"per_second":-1,"burst":1}}`, "rate_limit",
			"per_second and burst must not be negative"},
		{"RateLimitBurst", func(o *taxii.Options) { o.Accounts[0].RateLimit = &store.RateLimit{PerSecond: 5} }, "accounts[0].rate_limit",
			"POST", "/admin/v1/accounts", `{"name":"newacct","organization":"county","rate_limit":{"per_second":5,"burst":0}}`, "rate_limit",
			"burst must be at least 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := rulesBase()
			tt.config(&opts)
			if err := newRulesServer(t, opts); err == nil || err.Error() != tt.configKey+": "+tt.problem {
				t.Errorf("configuration: %v\nwant %s: %s", err, tt.configKey, tt.problem)
			}
			rec := w.call(t, admSuper, tt.method, tt.path, tt.body)
			var e struct {
				Description string `json:"description"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); rec.Code != http.StatusBadRequest || err != nil || e.Description != tt.adminKey+": "+tt.problem {
				t.Errorf("admin API: %d %s\nwant 400 %s: %s", rec.Code, rec.Body, tt.adminKey, tt.problem)
			}
		})
	}
	if err := newRulesServer(t, rulesBase()); err != nil {
		t.Fatalf("the base configuration is refused: %v", err)
	}
}

// Ensure that the configuration's own_domains are normalized into a new
// group and that a later start adds those the stored group lacks, keeping
// the ones set through the admin API (bootstrap creates what the store
// lacks and changes nothing else).
func TestBootstrap_OwnDomains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eitaxii.db")
	start := func(domains ...string) ([]string, error) {
		t.Helper()
		opts := rulesBase()
		opts.Groups[0].OwnDomains = domains
		db := openStore(t, path, bolt.Options{})
		v := mustValidator(t)
		srv, err := taxii.NewServer(context.Background(), opts, db, v)
		if err != nil {
			db.Close()
			return nil, err
		}
		srv.Close()
		d, err := db.LoadDirectory(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		return d.Groups[0].OwnDomains, nil
	}
	if got, err := start("SOS.example.gov."); err != nil || !slices.Equal(got, []string{"sos.example.gov"}) {
		t.Fatalf("first start: %q, %v", got, err)
	}
	if got, err := start("votes.example.org", "sos.example.gov"); err != nil || !slices.Equal(got, []string{"sos.example.gov", "votes.example.org"}) {
		t.Fatalf("second start: %q, %v", got, err)
	}
	if got, err := start(); err != nil || !slices.Equal(got, []string{"sos.example.gov", "votes.example.org"}) {
		t.Fatalf("a start without own_domains removed some: %q, %v", got, err)
	}
	// 99 more: each list is within the bound, together they are not.
	var more []string
	for i := range 99 {
		more = append(more, fmt.Sprintf("d%d.example.net", i))
	}
	if _, err := start(more...); err == nil || !strings.Contains(err.Error(), "own_domains: the stored group's and the configuration's are more than 100 together") {
		t.Fatalf("101 own domains in all: %v", err)
	}
}
