package stix

import "github.com/eitaxii/eitaxii/stix/pattern"

// validatePattern checks a STIX pattern (pattern_type "stix"): grammar and
// the semantic rules of STIX 2.1 §9. Its errors read "offset N: ...".
func validatePattern(s string) error { return pattern.Validate(s) }
