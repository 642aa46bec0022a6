package taxii

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eitaxii/eitaxii/store"
)

// filterSet names the URL parameters an endpoint supports (REQ-93).
type filterSet struct {
	id, typ, version, specVersion, paging bool
	// addedAfter: added_after without limit and next (paging has all
	// three).
	addedAfter bool
}

var (
	objectsFilters  = filterSet{id: true, typ: true, version: true, specVersion: true, paging: true}
	objectFilters   = filterSet{version: true, specVersion: true, paging: true}
	versionsFilters = filterSet{specVersion: true, paging: true}
	deleteFilters   = filterSet{version: true, specVersion: true}
)

// maxQueryValues bounds the comma-separated values of one match field.
const maxQueryValues = 1000

func badQuery(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "Bad Request", fmt.Sprintf(format, args...))
}

// parseQuery reads the URL query of a TAXII request into a store.Query
// (REQ-22, REQ-87..94). Parameters an endpoint does not support, and unknown
// match[...] fields, are ignored (REQ-78, REQ-92). A parameter given twice
// is a 400, as is any malformed value. maxPage clamps limit and is the
// default page size.
func parseQuery(rawQuery string, fs filterSet, maxPage int) (store.Query, error) {
	q := store.Query{Limit: maxPage}
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return q, badQuery("the query string is malformed: %v", err)
	}
	for key, vals := range values {
		if len(vals) > 1 && (key == "added_after" || key == "limit" || key == "next" || strings.HasPrefix(key, "match[")) {
			return q, badQuery("%s is given %d times; give it once (comma-separate several values)", key, len(vals))
		}
	}
	f := &q.Filter
	if fs.paging || fs.addedAfter {
		if v, ok := values["added_after"]; ok {
			t, err := parseQueryTime(v[0])
			if err != nil {
				return q, badQuery("added_after: %v", err)
			}
			f.AddedAfter = t
		}
	}
	if fs.paging {
		if v, ok := values["limit"]; ok {
			n, err := strconv.Atoi(v[0])
			if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v[0], "-") {
				// A positive integer beyond int is still a valid limit
				// (REQ-94): clamp it like any other large one.
				n, err = maxPage, nil
			}
			if err != nil || n <= 0 {
				return q, badQuery("limit: %q is not a positive integer", v[0])
			}
			q.Limit = min(n, maxPage)
		}
		if v, ok := values["next"]; ok {
			q.Next = v[0] // empty means none (INT-10)
		}
	}
	if fs.id {
		if f.IDs, err = matchList(values, "id"); err != nil {
			return q, err
		}
	}
	if fs.typ {
		if f.Types, err = matchList(values, "type"); err != nil {
			return q, err
		}
	}
	if fs.specVersion {
		if f.SpecVersions, err = matchList(values, "spec_version"); err != nil {
			return q, err
		}
	}
	if fs.version {
		vals, err := matchList(values, "version")
		if err != nil {
			return q, err
		}
		if f.Versions, err = parseVersions(vals); err != nil {
			return q, err
		}
	}
	return q, nil
}

// matchList returns the comma-separated values of match[field], nil when
// the parameter is absent.
func matchList(values url.Values, field string) ([]string, error) {
	key := "match[" + field + "]"
	v, ok := values[key]
	if !ok {
		return nil, nil
	}
	if !utf8.ValidString(v[0]) {
		// A next token could not carry it back unchanged (JSON replaces
		// invalid UTF-8), and no stored id, type or version contains it.
		return nil, badQuery("%s: not valid UTF-8", key)
	}
	list := strings.Split(v[0], ",")
	if len(list) > maxQueryValues {
		return nil, badQuery("%s: at most %d values", key, maxQueryValues)
	}
	for _, s := range list {
		if s == "" {
			return nil, badQuery("%s: empty value (values are comma-separated, without spaces)", key)
		}
	}
	return list, nil
}

// parseVersions reads match[version] (REQ-90): first, last, all or
// timestamps; all cannot be combined, and no value may repeat.
func parseVersions(vals []string) (store.VersionSet, error) {
	var vs store.VersionSet
	seen := map[string]bool{}
	for _, v := range vals {
		if seen[v] {
			return vs, badQuery("match[version]: %q is given twice", v)
		}
		seen[v] = true
		switch v {
		case "all":
			vs.All = true
		case "first":
			vs.First = true
		case "last":
			vs.Last = true
		default:
			t, err := parseQueryTime(v)
			if err != nil {
				return vs, badQuery("match[version]: %q is not first, last, all or a timestamp", v)
			}
			vs.At = append(vs.At, t)
		}
	}
	if vs.All && len(vals) > 1 {
		return vs, badQuery("match[version]: all cannot be combined with other values")
	}
	return vs, nil
}

// parseQueryTime parses a timestamp in a query (INT-09): RFC 3339 with 0 to 9
// fractional digits and Z or +00:00. An unencoded "+" arrives as a space, so
// " 00:00" is read as "+00:00".
func parseQueryTime(s string) (time.Time, error) {
	if strings.HasSuffix(s, " 00:00") {
		s = s[:len(s)-6] + "+00:00"
	}
	if !strings.HasSuffix(s, "Z") && !strings.HasSuffix(s, "+00:00") && !strings.HasSuffix(s, "-00:00") {
		return time.Time{}, fmt.Errorf("%q is not a UTC timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	// time.Parse takes any number of fractional digits; more than
	// nanoseconds would be silently cut, so they are refused.
	if _, frac, hasFrac := strings.Cut(s, "."); err != nil || hasFrac && fracDigits(frac) > 9 {
		return time.Time{}, fmt.Errorf("%q is not a UTC timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)", s)
	}
	return t.UTC(), nil
}

// fracDigits counts the digits at the start of frac.
func fracDigits(frac string) int {
	n := 0
	for n < len(frac) && frac[n] >= '0' && frac[n] <= '9' {
		n++
	}
	return n
}

// formatTime renders a TAXII timestamp: UTC with exactly six fractional
// digits (REQ-27).
func formatTime(t time.Time) string { return t.UTC().Format(store.TimestampLayout) }
