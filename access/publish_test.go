package access_test

import (
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/stix"
)

const (
	pubOrgID   = "identity--0b9c2f4e-6d1a-4c3b-8e5f-7a9b1c2d3e4f" // the publisher's organization
	otherOrgID = "identity--1c0d3e5f-7e2b-4d4c-9f6a-8b0c2d3e4f5a" // another organization
	groupID    = "identity--2d1e4f6a-8f3c-4e5d-8a7b-9c1d3e4f5a6b" // the group
)

var reserved = map[string]string{pubOrgID: pubOrgID, otherOrgID: otherOrgID, groupID: groupID}

func indicator(extra string) []byte {
	return []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--3e2f5a7b-9a4d-4f6e-9b8c-0d2e4f5a6b7c",` +
		`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.7']",` +
		`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"` + extra + `}`)
}

func marked(level stix.TLP) string {
	return `,"object_marking_refs":["` + stix.TLPMarkingID(level) + `"]`
}

// Ensure that Apply enforces the TLP ceiling, the required marking and its
// default, anonymization and the reserved identity ids, returning the
// bytes to store or the finding's rule.
func TestPublish_Apply(t *testing.T) {
	for _, tt := range []struct {
		name                string
		ceiling, defaultTLP stix.TLP
		require, anonymize  bool
		from                string
		typ, id             string
		raw                 []byte
		wantRule            string // "" when accepted
		wantIn              string // accepted bytes contain it
		wantCreatedBy       string
	}{
		{name: "NoPolicy", raw: indicator(""), wantIn: `"pattern_type":"stix"`},
		{name: "UnderCeiling", ceiling: stix.TLPAmber, raw: indicator(marked(stix.TLPGreen))},
		{name: "AtCeiling", ceiling: stix.TLPAmber, raw: indicator(marked(stix.TLPAmber))},
		{name: "AboveCeiling", ceiling: stix.TLPAmber, raw: indicator(marked(stix.TLPRed)), wantRule: "tlp-ceiling"},
		{name: "UnmarkedUnderCeiling", ceiling: stix.TLPAmber, raw: indicator("")},
		{name: "RequiredMissing", require: true, raw: indicator(""), wantRule: "tlp-required"},
		{name: "RequiredPresent", require: true, raw: indicator(marked(stix.TLPClear))},
		{name: "RequiredMarkingDefinition", require: true, typ: "marking-definition", raw: indicator("")},
		{name: "RequiredDefault", require: true, defaultTLP: stix.TLPGreen, raw: indicator(""), wantIn: stix.TLPMarkingID(stix.TLPGreen)},
		{name: "Anonymize", anonymize: true, from: pubOrgID, raw: indicator(`,"created_by_ref":"` + pubOrgID + `"`),
			wantIn: `"created_by_ref":"` + groupID + `"`, wantCreatedBy: groupID},
		{name: "ReservedOtherOrg", from: pubOrgID, id: otherOrgID, raw: indicator(""), wantRule: "reserved-identity"},
		{name: "ReservedGroup", from: pubOrgID, id: groupID, raw: indicator(""), wantRule: "reserved-identity"},
		{name: "ReservedUpperCase", from: pubOrgID, id: strings.ToUpper(otherOrgID), raw: indicator(""), wantRule: "reserved-identity"},
		{name: "OwnIdentity", from: pubOrgID, id: pubOrgID, raw: indicator("")},
		{name: "OwnIdentityAnonymized", anonymize: true, from: pubOrgID, id: pubOrgID, raw: indicator(""), wantRule: "anonymize"},
		// An account whose organization is gone publishes as the group,
		// which owns no identity a member may publish.
		{name: "NoOrganization", id: groupID, raw: indicator(""), wantRule: "reserved-identity"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := access.NewPublish(access.Policy{TLPCeiling: tt.ceiling, DefaultTLP: tt.defaultTLP, RequireTLP: tt.require, Anonymize: tt.anonymize}, tt.from, groupID, reserved)
			h := stix.Header{Type: tt.typ, ID: tt.id}
			if h.Type == "" {
				h.Type = "indicator"
			}
			if h.ID == "" {
				h.ID = "indicator--3e2f5a7b-9a4d-4f6e-9b8c-0d2e4f5a6b7c"
			}
			orig := string(tt.raw)
			got, findings := p.Apply(&h, tt.raw)
			if string(tt.raw) != orig {
				t.Fatal("Apply changed its input")
			}
			switch {
			case tt.wantRule != "":
				if got != nil || len(findings) != 1 || findings[0].Rule != tt.wantRule {
					t.Fatalf("got %s, findings %+v; want rule %s", got, findings, tt.wantRule)
				}
			case len(findings) > 0:
				t.Fatalf("refused: %+v", findings)
			case !strings.Contains(string(got), tt.wantIn):
				t.Fatalf("stored %s, want it to contain %s", got, tt.wantIn)
			case h.CreatedByRef != tt.wantCreatedBy:
				t.Fatalf("created_by_ref %q, want %q", h.CreatedByRef, tt.wantCreatedBy)
			}
		})
	}
}

// Ensure that NewPublish makes a publisher without an organization publish
// as the group.
func TestNewPublish(t *testing.T) {
	pol := access.Policy{TLPCeiling: stix.TLPAmberStrict, DefaultTLP: stix.TLPGreen, RequireTLP: true, Anonymize: true}
	p := access.NewPublish(pol, "", groupID, nil)
	if p.Policy != pol || p.From != groupID || p.To != groupID {
		t.Fatalf("%+v", p)
	}
}
