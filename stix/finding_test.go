package stix

import (
	"strings"
	"testing"
)

// Ensure that withArticle picks "a" or "an" by the sound of the first
// letter, for every STIX 2.1 type and the custom x- prefix.
func TestWithArticle(t *testing.T) {
	for word, want := range map[string]string{
		"indicator": "an indicator", "identity": "an identity", "infrastructure": "an infrastructure",
		"intrusion-set": "an intrusion-set", "incident": "an incident", "ipv4-addr": "an ipv4-addr", "ipv6-addr": "an ipv6-addr",
		"attack-pattern": "an attack-pattern", "artifact": "an artifact", "autonomous-system": "an autonomous-system",
		"email-addr": "an email-addr", "email-message": "an email-message", "extension-definition": "an extension-definition",
		"observed-data": "an observed-data", "opinion": "an opinion",
		"x-acme-widget": "an x-acme-widget", "x509-certificate": "an x509-certificate",
		"user-account": "a user-account", "url": "a url", "unix-account-ext": "a unix-account-ext", "unknown-thing": "an unknown-thing",
		"malware": "a malware", "campaign": "a campaign", "note": "a note", "relationship": "a relationship",
		"sighting": "a sighting", "windows-registry-key": "a windows-registry-key", "xenon-report": "a xenon-report",
		"Indicator": "an Indicator", "": "",
	} {
		if got := withArticle(word); got != want {
			t.Errorf("withArticle(%q) = %q, want %q", word, got, want)
		}
	}
}

// Ensure that messages built with withArticle read right (issue 9: "created
// is required on a indicator").
func TestValidator_Check_Articles(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ raw, want string }{
		{`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","modified":"2024-01-01T00:00:00.000Z"}`,
			"/created: created is required on an indicator (required)"},
		{`{"type":"opinion","spec_version":"2.1","id":"opinion--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2024-01-01T00:00:00.000Z"}`,
			"/modified: modified is required on an opinion (required)"},
		{`{"type":"malware","spec_version":"2.1","id":"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","modified":"2024-01-01T00:00:00.000Z"}`,
			"/created: created is required on a malware (required)"},
		{`{"type":"relationship","spec_version":"2.1","id":"relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",` +
			`"relationship_type":"uses","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e"}`,
			"not to an extension-definition (ref-type)"},
		{`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",` +
			`"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '198.51.100.1']","defanged":true}`,
			"not on an indicator (defanged)"},
	} {
		_, fs := v.Check([]byte(tt.raw))
		if strings.HasSuffix(tt.want, "(ref-type)") || strings.HasSuffix(tt.want, "(defanged)") {
			// The schema explains these first; the rule's own words are
			// what is tested.
			obj, err := decodeObject([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			fs = rtCheck(obj)
		}
		found := false
		for _, f := range fs {
			found = found || strings.Contains(f.String(), tt.want)
		}
		if !found {
			t.Errorf("findings:\n%s\nwant one containing %q", findingLines(fs), tt.want)
		}
	}
}
