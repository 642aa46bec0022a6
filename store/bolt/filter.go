package bolt

import (
	"slices"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// normalize sorts and de-duplicates the lists so that two filters that
// select the same versions compare equal and encode identically.
func normalize(f *store.Filter) {
	f.AddedAfter = f.AddedAfter.UTC()
	f.IDs = sortedSet(f.IDs)
	f.Types = sortedSet(f.Types)
	f.SpecVersions = sortedSet(f.SpecVersions)
	if f.Versions.At != nil {
		at := make([]time.Time, len(f.Versions.At))
		for i, t := range f.Versions.At {
			at[i] = t.UTC()
		}
		slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
		f.Versions.At = slices.CompactFunc(at, func(a, b time.Time) bool { return a.Equal(b) })
	}
}

func sortedSet(s []string) []string {
	if s == nil {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// consistentWith reports whether every field given in req (normalized)
// equals the same field of tok (normalized). Fields req leaves out are
// taken from the token: clients may drop or repeat the original filters
// on later pages (INT-04).
func consistentWith(req, tok *store.Filter) bool {
	if !req.AddedAfter.IsZero() && !req.AddedAfter.Equal(tok.AddedAfter) {
		return false
	}
	if req.IDs != nil && !slices.Equal(req.IDs, tok.IDs) {
		return false
	}
	if req.Types != nil && !slices.Equal(req.Types, tok.Types) {
		return false
	}
	if req.SpecVersions != nil && !slices.Equal(req.SpecVersions, tok.SpecVersions) {
		return false
	}
	if !req.Versions.IsZero() {
		a, b := req.Versions, tok.Versions
		if a.All != b.All || a.First != b.First || a.Last != b.Last ||
			!slices.EqualFunc(a.At, b.At, func(x, y time.Time) bool { return x.Equal(y) }) {
			return false
		}
	}
	return true
}

// matchesIDType applies match[id] and match[type] to a STIX id (the
// rule is store.SelectsID's).
func matchesIDType(f *store.Filter, id []byte) bool { return store.SelectsID(f, id) }

func matchesSpecVersion(f *store.Filter, sv string) bool { return f.SelectsSpecVersion(sv) }
