package store

import (
	"slices"
	"time"
)

// The rules of match[id], match[type] and match[spec_version] (TAXII §3.4,
// REQ-88), in one place: the backends apply them to what they read, and
// delivery to the changes it hands out, so a live stream selects exactly
// what a Get Objects with the same filters would.

// SelectsID reports whether f's match[id] and match[type] keep a STIX id:
// its type is the part before "--" (the whole id when there is none).
// Generic so that a backend can test the bytes it reads without copying
// them into a string.
func SelectsID[T ~string | ~[]byte](f *Filter, id T) bool {
	if f.IDs != nil && !containsText(f.IDs, id) {
		return false
	}
	if f.Types != nil {
		typ := id
		for i := 0; i+1 < len(id); i++ {
			if id[i] == '-' && id[i+1] == '-' {
				typ = id[:i]
				break
			}
		}
		if !containsText(f.Types, typ) {
			return false
		}
	}
	return true
}

// SelectsSpecVersion reports whether f's match[spec_version] keeps a
// version whose spec_version is sv.
func (f *Filter) SelectsSpecVersion(sv string) bool {
	return f.SpecVersions == nil || slices.Contains(f.SpecVersions, sv)
}

// SelectVersions returns the versions of one object that f selects, in
// their order, which must be version order: those whose spec_version f
// keeps, and of those, unless match[version] is all, the first, the last
// and the versions at the times f names, as f asks. specVersion reads a
// version's spec_version; isAt reports whether a version is the one at t.
// It does not modify vs.
func SelectVersions[V any](vs []V, f *Filter, specVersion func(*V) string, isAt func(v *V, t time.Time) bool) []V {
	if f.SpecVersions != nil {
		vs = slices.DeleteFunc(slices.Clone(vs), func(v V) bool { return !f.SelectsSpecVersion(specVersion(&v)) })
	}
	if f.Versions.All || len(vs) == 0 {
		return vs
	}
	var out []V
	for i := range vs {
		keep := i == 0 && f.Versions.First || i == len(vs)-1 && f.Versions.Last
		for _, t := range f.Versions.At {
			keep = keep || isAt(&vs[i], t)
		}
		if keep {
			out = append(out, vs[i])
		}
	}
	return out
}

func containsText[T ~string | ~[]byte](list []string, b T) bool {
	for _, s := range list {
		if s == string(b) {
			return true
		}
	}
	return false
}
