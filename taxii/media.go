package taxii

import (
	"strings"
)

// MediaType is the TAXII 2.1 media type; every response with a body carries
// it (REQ-09).
const MediaType = "application/taxii+json;version=2.1"

// acceptable reports whether an Accept header lets us answer with
// application/taxii+json;version=2.1. Parsing is lenient (REQ-10..14,
// INT-01): a missing header, */*, application/*, application/json and
// application/taxii+json with no version all accept 2.1; ranges with q=0
// are refused ranges. Only a header whose every range is something we
// cannot produce is unacceptable.
func acceptable(header string) bool {
	if strings.TrimSpace(header) == "" {
		return true
	}
	for _, r := range strings.Split(header, ",") {
		typ, params := parseMediaType(r)
		if q, ok := params["q"]; ok && isZeroQ(q) {
			continue
		}
		switch typ {
		case "*/*", "application/*", "application/json":
			return true
		case "application/taxii+json":
			if v, ok := params["version"]; !ok || v == "2.1" {
				return true
			}
		}
	}
	return false
}

// taxiiContentType reports whether a POST Content-Type names a TAXII 2.1
// envelope: application/taxii+json with version 2.1 or no version, any
// other parameters (charset) in any order and case (REQ-15, INT-02).
func taxiiContentType(header string) bool {
	typ, params := parseMediaType(header)
	if typ != "application/taxii+json" {
		return false
	}
	v, ok := params["version"]
	return !ok || v == "2.1"
}

// parseMediaType splits "type/subtype; a=b; c=d" into a lowercase type and
// parameters with lowercase names. Values lose surrounding quotes. It never
// fails: odd input yields a type nothing matches.
func parseMediaType(s string) (string, map[string]string) {
	parts := strings.Split(s, ";")
	typ := strings.ToLower(strings.TrimSpace(parts[0]))
	var params map[string]string
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			continue
		}
		if params == nil {
			params = make(map[string]string, len(parts)-1)
		}
		params[k] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return typ, params
}

func isZeroQ(q string) bool {
	q = strings.TrimRight(strings.TrimSpace(q), "0")
	return q == "0." || q == "0" || q == ""
}
