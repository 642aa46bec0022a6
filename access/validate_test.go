package access_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/stix"
)

// Ensure that each rule accepts good input and refuses bad input with a
// *FieldError naming the field and the problem.
func TestRules(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string // "" for accepted
	}{
		{"OrganizationName", access.OrganizationName("county-1"), ""},
		{"OrganizationNameUpper", access.OrganizationName("County"), `name: "County" is not a valid organization name`},
		{"OrganizationNameLong", access.OrganizationName(strings.Repeat("a", 64)), "not a valid organization name"},
		{"AccountName", access.AccountName("Alice@example.org"), ""},
		{"AccountNameDash", access.AccountName("-alice"), `name: "-alice" is not a valid account name`},
		{"GroupName", access.GroupName("officials"), ""},
		{"GroupNameReserved", access.GroupName("taxii2"), `name: "taxii2" cannot name an API root`},
		{"GroupNameConsole", access.GroupName("console"), `name: "console" cannot name an API root`},
		{"Kind", access.Kind("machine"), ""},
		{"KindBad", access.Kind("robot"), `kind: "robot" is neither person nor machine`},
		{"CollectionID", access.CollectionID("7b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"), ""},
		{"CollectionIDUpper", access.CollectionID("7B1D2E3F-4A5B-4C6D-8E7F-9A0B1C2D3E4F"), "is not a lowercase UUIDv4"},
		{"CollectionIDv1", access.CollectionID("7b1d2e3f-4a5b-1c6d-8e7f-9a0b1c2d3e4f"), "is not a lowercase UUIDv4"},
		{"CollectionIDBraces", access.CollectionID("{7b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f}"), "is not a lowercase UUIDv4"},
		{"AliasNone", access.Alias(""), ""},
		{"Alias", access.Alias("indicators"), ""},
		{"AliasUUID", access.Alias("7b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"), "reads as a collection id; choose a name"},
		{"AliasPattern", access.Alias("Indicators"), "is not a valid alias"},
		{"Title", access.Title("Indicators"), ""},
		{"TitleBlank", access.Title(" \t"), "title: must not be empty"},
		{"TitleLong", access.Title(strings.Repeat("é", 129)), "title: at most 256 bytes"},
		{"TitleNewline", access.Title("a\nb"), "title: control characters are not allowed"},
		{"OrganizationTitleEmpty", access.OrganizationTitle(""), ""},
		{"Description", access.Description("line one\nline two\ttabbed"), ""},
		{"DescriptionControl", access.Description("bell\a"), "description: control characters other than line breaks and tabs are not allowed"},
		{"DescriptionLong", access.Description(strings.Repeat("x", 4097)), "description: at most 4096 bytes"},
		{"TokenName", access.TokenName("siem feed"), ""},
		{"TokenNameBlank", access.TokenName("  "), "name: required"},
		{"TokenNameLong", access.TokenName(strings.Repeat("x", 129)), "name: at most 128 bytes"},
		{"Password", access.Password("twelve chars"), ""},
		{"PasswordShort", access.Password("short"), "password: must be 12 to 72 bytes long (bcrypt uses at most 72), not 5"},
		{"PasswordLong", access.Password(strings.Repeat("x", 73)), "not 73"},
		{"RateLimit", access.RateLimit(10, 20), ""},
		{"RateLimitUnlimited", access.RateLimit(0, 0), ""},
		{"RateLimitNegative", access.RateLimit(1, -1), "rate_limit: per_second and burst must not be negative"},
		{"RateLimitBurst", access.RateLimit(1, 0), "rate_limit: burst must be at least 1"},
		{"MaxContentLength", access.MaxContentLength(1 << 20), ""},
		{"MaxContentLengthZero", access.MaxContentLength(0), "max_content_length: must be a positive number of bytes"},
		{"MaxContentLengthHuge", access.MaxContentLength(1 << 53), "max_content_length"},
		{"MemberRole", access.MemberRole(access.RoleAdmin), ""},
		{"MemberRoleBad", access.MemberRole("owner"), `role: "owner" is not a role (reader, publisher or admin)`},
		{"Policy", policyError(access.PolicySpec{TLPCeiling: "amber", RequireTLP: true, DefaultTLP: "green", ReadRole: access.RoleAdmin, WriteRole: access.RoleReader}), ""},
		{"PolicyNone", policyError(access.PolicySpec{}), ""},
		{"PolicyCeiling", policyError(access.PolicySpec{TLPCeiling: "pink"}), `tlp_ceiling: "pink" is not a TLP level`},
		// Both levels bad: the ceiling is named, every time.
		{"PolicyBothBad", policyError(access.PolicySpec{TLPCeiling: "pink", RequireTLP: true, DefaultTLP: "blue"}), `tlp_ceiling: "pink"`},
		{"PolicyDefaultAbove", policyError(access.PolicySpec{TLPCeiling: "green", RequireTLP: true, DefaultTLP: "red"}), "default_tlp: red is above the collection's tlp_ceiling green"},
		{"PolicyDefaultWithoutRequire", policyError(access.PolicySpec{DefaultTLP: "green"}), "default_tlp: only meaningful with require_tlp: true"},
		{"PolicyRole", policyError(access.PolicySpec{WriteRole: "owner"}), `write_role: unknown role "owner"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "" {
				if tt.err != nil {
					t.Fatalf("refused: %v", tt.err)
				}
				return
			}
			var fe *access.FieldError
			if !errors.As(tt.err, &fe) || !strings.Contains(tt.err.Error(), tt.want) {
				t.Fatalf("got %v, want a FieldError containing %q", tt.err, tt.want)
			}
			if !strings.HasPrefix(tt.err.Error(), fe.Field+": ") {
				t.Fatalf("%v does not start with its field %q", tt.err, fe.Field)
			}
		})
	}
}

// Ensure that Certificates normalizes fingerprints and names the one at
// fault.
func TestCertificates(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	colons := strings.ToUpper(strings.Repeat("cd:", 31) + "cd")
	got, err := access.Certificates([]string{fp, colons})
	if err != nil || len(got) != 2 || got[0] != fp || got[1] != strings.Repeat("cd", 32) {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := access.Certificates(nil); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no certificates: %#v, %v", got, err)
	}
	if _, err := access.Certificates([]string{fp, "abc"}); err == nil || err.Error() != "certificates[1]: not a hex SHA-256 certificate fingerprint" {
		t.Fatalf("bad fingerprint: %v", err)
	}
	if _, err := access.Certificates([]string{fp, strings.ToUpper(fp)}); err == nil || err.Error() != "certificates[1]: listed twice" {
		t.Fatalf("listed twice: %v", err)
	}
}

// Ensure that OwnDomains normalizes domain names, refuses what is not one
// and bounds the list.
func TestOwnDomains(t *testing.T) {
	got, err := access.OwnDomains([]string{"Elections.Example.GOV.", "sos-state.us"})
	if err != nil || !slices.Equal(got, []string{"elections.example.gov", "sos-state.us"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, tc := range []struct{ in []string }{
		{[]string{"localhost"}},          // one label
		{[]string{"ok.gov", "bad_.gov"}}, // underscore
		{[]string{"-lead.gov"}},          // leading hyphen
		{[]string{"a..gov"}},             // empty label
		{[]string{"http://x.gov"}},       // a URL, not a name
		{[]string{strings.Repeat("a", 64) + ".gov"}},
		{[]string{strings.Repeat(strings.Repeat("a", 60)+".", 5) + "gov"}}, // 308 bytes
	} {
		if _, err := access.OwnDomains(tc.in); err == nil || !strings.Contains(err.Error(), "is not a domain name") {
			t.Errorf("%q: %v", tc.in, err)
		}
	}
	if _, err := access.OwnDomains([]string{"a.gov", "A.gov"}); err == nil || err.Error() != `own_domains[1]: "a.gov" is listed twice` {
		t.Fatalf("listed twice: %v", err)
	}
	many := make([]string, access.MaxOwnDomains+1)
	for i := range many {
		many[i] = fmt.Sprintf("d%d.gov", i)
	}
	if _, err := access.OwnDomains(many); err == nil || err.Error() != "own_domains: at most 100 domains" {
		t.Fatalf("too many: %v", err)
	}
}

func policyError(spec access.PolicySpec) error {
	_, err := spec.Parse()
	return err
}

// Ensure that Parse returns the levels typed, whatever spelling names them.
func TestPolicySpec_Parse(t *testing.T) {
	got, err := access.PolicySpec{TLPCeiling: "TLP:AMBER+STRICT", RequireTLP: true, DefaultTLP: "white", Anonymize: true, ReadRole: access.RoleAdmin}.Parse()
	want := access.Policy{TLPCeiling: stix.TLPAmberStrict, RequireTLP: true, DefaultTLP: stix.TLPClear, Anonymize: true, ReadRole: access.RoleAdmin}
	if err != nil || got != want {
		t.Fatalf("Parse = %+v, %v; want %+v", got, err, want)
	}
}
