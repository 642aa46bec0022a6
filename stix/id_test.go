package stix

import (
	"errors"
	"strings"
	"testing"
)

// Ensure that SplitID accepts exactly the identifiers of STIX 2.1 §2.9 in
// their lower-case form with an RFC 9562 UUID (variant bits 10, version 1
// to 8), and that each refusal says what is wrong.
func TestSplitID(t *testing.T) {
	for _, tt := range []struct {
		id, want string // want "" means valid
	}{
		{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", ""},
		{"indicator--8e2e2d2b-17d4-1cbf-938f-98ee46b3cd3f", ""}, // version 1
		{"indicator--8e2e2d2b-17d4-5cbf-b38f-98ee46b3cd3f", ""}, // version 5, variant b
		{"indicator--8e2e2d2b-17d4-7cbf-a38f-98ee46b3cd3f", ""}, // version 7
		{"indicator--8e2e2d2b-17d4-8cbf-938f-98ee46b3cd3f", ""}, // version 8
		{"x-acme-widget--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", ""},
		{"indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f", "has version 0, which does not exist: RFC 9562 defines versions 1 to 8"},
		{"indicator--8e2e2d2b-17d4-9cbf-938f-98ee46b3cd3f", "has version 9, which does not exist"},
		{"indicator--8e2e2d2b-17d4-fcbf-938f-98ee46b3cd3f", "has version f, which does not exist"},
		{"indicator--00000000-0000-0000-0000-000000000000", "does not have the RFC 9562 variant"}, // the nil UUID
		{"indicator--ffffffff-ffff-ffff-ffff-ffffffffffff", "does not have the RFC 9562 variant"}, // the max UUID
		{"indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f", "does not have the RFC 9562 variant: its 17th hexadecimal digit must be 8, 9, a or b"},
		{"indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F", "the UUID part must be lower case: write indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
		{"identity--F431f809-377b-45e0-aa1c-6a4751cae5ff", "the UUID part must be lower case: write identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"},
		{"Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", `the type part "Indicator" is not a STIX type name`},
		{"indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f", "the UUID part \"8e2e2d2b17d44cbf938f98ee46b3cd3f\" is malformed"},
		{"indicator--{8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f}", "is malformed"},
		{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3g", "is malformed"},
		{"indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", `there is no "--"`},
	} {
		typ, u, err := SplitID(tt.id)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("SplitID(%q): %v", tt.id, err)
		case tt.want == "" && (typ+"--"+u.String() != tt.id):
			t.Errorf("SplitID(%q) = %q, %v", tt.id, typ, u)
		case tt.want != "" && !errors.Is(err, ErrInvalidID):
			t.Errorf("SplitID(%q): err = %v, want ErrInvalidID", tt.id, err)
		case tt.want != "" && !strings.Contains(err.Error(), tt.want):
			t.Errorf("SplitID(%q): %q, want it to contain %q", tt.id, err, tt.want)
		}
	}
}

// Ensure that Check reports a bad id or a typed reference holding a
// malformed UUID by what is wrong with it: the UUID, not the type the
// reference names (issue 9).
func TestValidator_Check_IDMessages(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	const good = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	obj := func(id, extra string) []byte {
		return []byte(`{"type":"indicator","spec_version":"2.1","id":"` + id + `","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",` +
			`"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '198.51.100.1']"` + extra + `}`)
	}
	for _, tt := range []struct {
		name, id, extra, want string
	}{
		{"UpperID", strings.ToUpper(good[:11]) + strings.ToUpper(good[11:]), "", "/id: id "},
		{"UpperUUID", "indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F", "", `/id: id "indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F": the UUID part must be lower case: write indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f (id)`},
		{"Version0", "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f", "", "has version 0, which does not exist"},
		{"VersionF", "indicator--8e2e2d2b-17d4-fcbf-938f-98ee46b3cd3f", "", "has version f, which does not exist"},
		{"CreatorShort", good, `,"created_by_ref":"identity--1234"`, `/created_by_ref: created_by_ref: "identity--1234" is not a STIX identifier: the UUID part "1234" is malformed`},
		{"CreatorUpper", good, `,"created_by_ref":"identity--F431F809-377B-45E0-AA1C-6A4751CAE5FF"`, `/created_by_ref: created_by_ref: "identity--F431F809-377B-45E0-AA1C-6A4751CAE5FF" is not a STIX identifier: the UUID part must be lower case`},
		{"MarkingShort", good, `,"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41d"]`, `/object_marking_refs/0: object_marking_refs: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41d" is not a STIX identifier: the UUID part`},
		{"SightingVersion", good, `,"x_seen_ref":"sighting--8e2e2d2b-17d4-9cbf-938f-98ee46b3cd3f"`, "has version 9, which does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, fs := v.Check(obj(tt.id, tt.extra))
			for _, f := range fs {
				if strings.Contains(f.Message, "must be the identifier of") {
					t.Errorf("a message blames the type: %v", f)
				}
			}
			for _, f := range fs {
				if strings.Contains(f.String(), tt.want) {
					return
				}
			}
			t.Errorf("findings:\n%s\nwant one containing %q", findingLines(fs), tt.want)
		})
	}
}
