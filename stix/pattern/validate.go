package pattern

import (
	"strconv"
	"strings"
)

// Validate parses s and checks the rules of STIX 2.1 that the grammar
// leaves out. It returns nil for a valid pattern, otherwise the first
// problem in source order: a *SyntaxError from Parse, or a *SemanticError
// for
//
//   - a WITHIN or REPEATS value that is not positive (§9.5.1);
//   - two qualifiers of the same kind applied directly to one observation
//     expression, e.g. "[...] WITHIN 5 SECONDS WITHIN 6 SECONDS" (a
//     qualifier outside parentheses and another inside them are fine);
//   - an object type that is not a STIX type name: 3-250 characters of
//     a-z, 0-9 and '-', starting with a letter, no "--", no trailing '-';
//   - a first-level property name that is neither "id" nor 3-250
//     characters of a-z, 0-9 and '_';
//   - a hash compared with = whose value does not fit its algorithm, for
//     paths ending in hashes.<algorithm>: MD5, SHA-1, SHA-256, SHA-512,
//     SHA3-256, SHA3-512 (hex of the right length), SSDEEP and TLSH.
//     Algorithm names match case-insensitively; others are not checked.
//
// START need not precede STOP, and MATCHES regular expressions are not
// compiled (they are PCRE, which Go's regexp cannot fully check).
func Validate(s string) error {
	p, err := Parse(s)
	if err != nil {
		return err
	}
	return checkObservation(p.Expr)
}

func checkObservation(e ObservationExpr) error {
	switch e := e.(type) {
	case *CompoundObservation:
		for _, o := range e.Operands {
			if err := checkObservation(o); err != nil {
				return err
			}
		}
	case *Observation:
		if err := checkComparison(e.Comparison); err != nil {
			return err
		}
		return checkQualifiers(e.Qualifiers)
	case *ParenObservation:
		if err := checkObservation(e.Expr); err != nil {
			return err
		}
		return checkQualifiers(e.Qualifiers)
	}
	return nil
}

func checkQualifiers(qs []Qualifier) error {
	var seen [StartStopQualifier + 1]bool
	for _, q := range qs {
		if seen[q.Kind] {
			return &SemanticError{Offset: q.Pos, Msg: "duplicate " + q.Kind.String() + " qualifier"}
		}
		seen[q.Kind] = true
		switch {
		case q.Kind == WithinQualifier && !positive(q.Value.Text):
			return &SemanticError{Offset: q.Value.Pos, Msg: "WITHIN seconds must be positive, found " + q.Value.Text}
		case q.Kind == RepeatsQualifier && !positive(q.Value.Text):
			return &SemanticError{Offset: q.Value.Pos, Msg: "REPEATS count must be positive, found " + q.Value.Text}
		}
	}
	return nil
}

// positive reports whether an unsigned number has a non-zero digit.
func positive(num string) bool {
	return strings.ContainsAny(num, "123456789")
}

func checkComparison(c ComparisonExpr) error {
	switch c := c.(type) {
	case *CompoundComparison:
		for _, o := range c.Operands {
			if err := checkComparison(o); err != nil {
				return err
			}
		}
	case *ParenComparison:
		return checkComparison(c.Expr)
	case *Exists:
		return checkPath(&c.Path)
	case *Comparison:
		if err := checkPath(&c.Path); err != nil {
			return err
		}
		if alg, ok := hashAlgorithm(&c.Path); ok && c.Op == OpEqual {
			return checkHash(alg, c.Value)
		}
	}
	return nil
}

func checkPath(p *ObjectPath) error {
	if why := badTypeName(p.Type); why != "" {
		return &SemanticError{Offset: p.Pos, Msg: "invalid object type " + strconv.Quote(excerpt(p.Type)) + ": " + why}
	}
	if !validPropertyName(p.Property) {
		return &SemanticError{Offset: p.PropertyPos, Msg: "invalid property name " + strconv.Quote(excerpt(p.Property)) +
			": must be \"id\" or 3-250 characters of a-z, 0-9 and '_'"}
	}
	return nil
}

// badTypeName says why t is not a valid STIX object type name, or returns
// "" if it is one.
func badTypeName(t string) string {
	if len(t) < 3 || len(t) > 250 {
		return "must be 3-250 characters long"
	}
	if t[0] < 'a' || t[0] > 'z' {
		return "must start with a lowercase letter"
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		switch {
		case 'a' <= c && c <= 'z' || isDigit(c):
		case c == '-':
			if t[i-1] == '-' {
				return "must not contain \"--\""
			}
		default:
			return "must contain only a-z, 0-9 and '-'"
		}
	}
	if t[len(t)-1] == '-' {
		return "must not end with '-'"
	}
	return ""
}

func validPropertyName(s string) bool {
	if s == "id" {
		return true
	}
	if len(s) < 3 || len(s) > 250 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

// hashAlgorithm returns the algorithm key of a path ending in
// hashes.<algorithm>, such as file:hashes.MD5 or
// file:extensions.'windows-pebinary-ext'.sections[*].hashes.'SHA-256'.
func hashAlgorithm(p *ObjectPath) (string, bool) {
	n := len(p.Steps)
	if n == 0 || p.Steps[n-1].Kind != KeyStep {
		return "", false
	}
	if n == 1 {
		return p.Steps[0].Key, p.Property == "hashes"
	}
	prev := p.Steps[n-2]
	return p.Steps[n-1].Key, prev.Kind == KeyStep && prev.Key == "hashes"
}

// hexHashes maps the hash algorithms of the STIX hash-algorithm-ov
// vocabulary that are plain hex digests to their length in hex digits.
var hexHashes = []struct {
	name string
	len  int
}{
	{"MD5", 32}, {"SHA-1", 40}, {"SHA-256", 64}, {"SHA-512", 128}, {"SHA3-256", 64}, {"SHA3-512", 128},
}

// checkHash checks the value compared with a hash of algorithm alg.
func checkHash(alg string, v Literal) error {
	want := ""
	ok := true
	switch {
	case strings.EqualFold(alg, "SSDEEP"):
		alg, want = "SSDEEP", "blocksize:hash:hash"
		ok = v.Kind == StringLiteral && isSSDEEP(v.Text)
	case strings.EqualFold(alg, "TLSH"):
		alg, want = "TLSH", "70 hex digits, optionally after \"T1\""
		ok = v.Kind == StringLiteral && (isHex(v.Text, 70) || strings.HasPrefix(v.Text, "T1") && isHex(v.Text[2:], 70))
	default:
		n := -1
		for _, h := range hexHashes {
			if strings.EqualFold(alg, h.name) {
				alg, n = h.name, h.len
				break
			}
		}
		if n < 0 {
			return nil
		}
		ok = v.Kind == StringLiteral && isHex(v.Text, n)
		if !ok {
			want = strconv.Itoa(n) + " hex digits"
		}
	}
	if ok {
		return nil
	}
	if v.Kind != StringLiteral {
		return &SemanticError{Offset: v.Pos, Msg: alg + " hash must be compared with a string, found " + v.Kind.String()}
	}
	return &SemanticError{Offset: v.Pos, Msg: strconv.Quote(excerpt(v.Text)) + " is not a valid " + alg + " hash: want " + want}
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

// isSSDEEP checks the form blocksize:hash:hash[,anything], where the
// hashes use the base64 alphabet; the optional tail is the file name some
// tools append.
func isSSDEEP(s string) bool {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 || i == len(s) || s[i] != ':' {
		return false
	}
	for part := 0; part < 2; part++ {
		i++ // skip ':'
		start := i
		for i < len(s) && isBase64Char(s[i]) {
			i++
		}
		if i == start {
			return false
		}
		if part == 0 && (i == len(s) || s[i] != ':') {
			return false
		}
	}
	return i == len(s) || s[i] == ','
}
