package store

import (
	"slices"
	"time"
)

// Normalize sorts and de-duplicates f's lists and makes its times UTC, so
// that two filters selecting the same versions compare equal and encode
// alike in next tokens. It does not modify the slices f had.
func (f *Filter) Normalize() {
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

// NormalizeDelete is Normalize for the filter of a DeleteObject: without
// match[version] it selects every version of the object (AMB-03), where a
// read would select the latest.
func (f *Filter) NormalizeDelete() {
	f.Normalize()
	if f.Versions.IsZero() {
		f.Versions.All = true
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

// consistentWith reports whether every field f (the request's filter,
// normalized) gives equals the same field of tok (the token's,
// normalized). The fields f leaves out come from the token: clients may
// drop or repeat the original filters on later pages (INT-04).
func (f *Filter) consistentWith(tok *Filter) bool {
	if !f.AddedAfter.IsZero() && !f.AddedAfter.Equal(tok.AddedAfter) {
		return false
	}
	if f.IDs != nil && !slices.Equal(f.IDs, tok.IDs) ||
		f.Types != nil && !slices.Equal(f.Types, tok.Types) ||
		f.SpecVersions != nil && !slices.Equal(f.SpecVersions, tok.SpecVersions) {
		return false
	}
	if !f.Versions.IsZero() {
		a, b := f.Versions, tok.Versions
		if a.All != b.All || a.First != b.First || a.Last != b.Last ||
			!slices.EqualFunc(a.At, b.At, func(x, y time.Time) bool { return x.Equal(y) }) {
			return false
		}
	}
	return true
}
