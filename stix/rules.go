package stix

// checkRules applies the STIX 2.1 MUSTs that a JSON schema cannot express.
// PLACEHOLDER until the rules land (issue 3): it checks nothing.
func checkRules(h *Header, obj map[string]any) []Finding { return nil }
