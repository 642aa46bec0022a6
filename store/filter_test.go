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
