package store

import "slices"

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

func containsText[T ~string | ~[]byte](list []string, b T) bool {
	for _, s := range list {
		if s == string(b) {
			return true
		}
	}
	return false
}
