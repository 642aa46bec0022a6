package store_test

import (
	"testing"

	"github.com/eitaxii/eitaxii/store"
)

// Ensure the match rules (REQ-88): values of one field are OR'ed, fields
// AND'ed, a type is the part of the id before "--", and an absent field
// keeps everything; the same on a string and on bytes.
func TestFilter_Selects(t *testing.T) {
	const id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	for _, tc := range []struct {
		name string
		f    store.Filter
		sv   string
		want bool
	}{
		{"NoFilter", store.Filter{}, "2.1", true},
		{"Type", store.Filter{Types: []string{"malware", "indicator"}}, "2.1", true},
		{"OtherType", store.Filter{Types: []string{"malware"}}, "2.1", false},
		{"TypePrefixOnly", store.Filter{Types: []string{"indic"}}, "2.1", false},
		{"ID", store.Filter{IDs: []string{id}}, "2.1", true},
		{"OtherID", store.Filter{IDs: []string{"indicator--00000000-0000-4000-8000-000000000000"}}, "2.1", false},
		{"IDAndOtherType", store.Filter{IDs: []string{id}, Types: []string{"malware"}}, "2.1", false},
		{"SpecVersion", store.Filter{SpecVersions: []string{"2.0", "2.1"}}, "2.1", true},
		{"OtherSpecVersion", store.Filter{SpecVersions: []string{"2.0"}}, "2.1", false},
		// An empty list (given, with no value) keeps nothing.
		{"EmptyIDs", store.Filter{IDs: []string{}}, "2.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := store.SelectsID(&tc.f, id) && tc.f.SelectsSpecVersion(tc.sv)
			if gotBytes := store.SelectsID(&tc.f, []byte(id)) && tc.f.SelectsSpecVersion(tc.sv); got != tc.want || gotBytes != tc.want {
				t.Errorf("selects %v (bytes %v), want %v", got, gotBytes, tc.want)
			}
		})
	}
	// An id without "--" is its own type.
	if !store.SelectsID(&store.Filter{Types: []string{"odd"}}, "odd") {
		t.Error(`"odd" is not of type "odd"`)
	}
	// The type ends at the first "--".
	if !store.SelectsID(&store.Filter{Types: []string{"x-a"}}, "x-a--b--c") {
		t.Error(`"x-a--b--c" is not of type "x-a"`)
	}
}
