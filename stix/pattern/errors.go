package pattern

import "strconv"

// SyntaxError reports input that does not match the STIX pattern grammar,
// including malformed literals (bad escapes, base64, hex or timestamps).
type SyntaxError struct {
	Offset   int    // byte offset into the pattern where the problem starts
	Expected string // what the grammar allows here, e.g. "']'"
	Found    string // what is there instead, e.g. "end of pattern"
}

// Error returns text like "offset 17: expected ']', found end of pattern".
func (e *SyntaxError) Error() string {
	return "offset " + strconv.Itoa(e.Offset) + ": expected " + e.Expected + ", found " + e.Found
}

// SemanticError reports a grammatically valid pattern that breaks a rule of
// the STIX 2.1 specification, such as "REPEATS 0 TIMES".
type SemanticError struct {
	Offset int    // byte offset into the pattern of the offending element
	Msg    string // what is wrong, e.g. "duplicate WITHIN qualifier"
}

// Error returns text like "offset 24: duplicate WITHIN qualifier".
func (e *SemanticError) Error() string {
	return "offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// maxFound bounds how much of the input an error message repeats, so that a
// huge string literal does not end up verbatim in a TAXII error response.
const maxFound = 40

// excerpt returns s quoted as the input shows it, shortened to about
// maxFound bytes without splitting a UTF-8 sequence.
func excerpt(s string) string {
	if len(s) <= maxFound {
		return s
	}
	n := maxFound - 3
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}
