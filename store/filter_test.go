package store

import (
	"reflect"
	"testing"
	"time"
)

// Ensure that Normalize sorts, de-duplicates and makes UTC, without
// touching the slices it was given.
func TestFilterNormalize(t *testing.T) {
	zone := time.FixedZone("x", -7200)
	t1, t2 := time.Date(2024, 1, 1, 0, 0, 0, 0, zone), time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := []string{"b", "a", "b"}
	f := Filter{AddedAfter: t1, IDs: ids, SpecVersions: []string{"2.1"},
		Versions: VersionSet{At: []time.Time{t1, t2, t1.UTC()}}}
	f.Normalize()
	want := Filter{AddedAfter: t1.UTC(), IDs: []string{"a", "b"}, SpecVersions: []string{"2.1"},
		Versions: VersionSet{At: []time.Time{t2, t1.UTC()}}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got %+v, want %+v", f, want)
	}
	if !reflect.DeepEqual(ids, []string{"b", "a", "b"}) {
		t.Error("Normalize modified its input's slice")
	}
	var zero Filter
	zero.Normalize()
	if zero.IDs != nil || zero.Types != nil || zero.SpecVersions != nil || zero.Versions.At != nil {
		t.Errorf("absent lists became present: %+v", zero)
	}
}

// Ensure that match[id], match[type] and match[spec_version] apply as
// TAXII says, an absent list passing everything.
func TestFilterMatches(t *testing.T) {
	tests := []struct {
		name string
		f    Filter
		id   string
		want bool
	}{
		{"NoFilter", Filter{}, "indicator--1", true},
		{"ID", Filter{IDs: []string{"indicator--1"}}, "indicator--1", true},
		{"OtherID", Filter{IDs: []string{"indicator--2"}}, "indicator--1", false},
		{"EmptyIDs", Filter{IDs: []string{}}, "indicator--1", false},
		{"Type", Filter{Types: []string{"malware", "indicator"}}, "indicator--1", true},
		{"OtherType", Filter{Types: []string{"malware"}}, "indicator--1", false},
		{"TypePrefixOnly", Filter{Types: []string{"ind"}}, "indicator--1", false},
		{"NoSeparator", Filter{Types: []string{"indicator"}}, "indicator", true},
		{"FirstSeparator", Filter{Types: []string{"x-a"}}, "x-a--b--c", true},
		{"Both", Filter{IDs: []string{"malware--1"}, Types: []string{"indicator"}}, "malware--1", false},
	}
	for _, tt := range tests {
		if got := tt.f.MatchesIDType([]byte(tt.id)); got != tt.want {
			t.Errorf("%s: MatchesIDType(%q) = %v, want %v", tt.name, tt.id, got, tt.want)
		}
	}
	if f := (Filter{}); !f.MatchesSpecVersion("2.0") {
		t.Error("no match[spec_version] refused 2.0")
	}
	f := Filter{SpecVersions: []string{"2.1"}}
	if !f.MatchesSpecVersion("2.1") || f.MatchesSpecVersion("2.0") {
		t.Error("match[spec_version]=2.1 misapplied")
	}
}
