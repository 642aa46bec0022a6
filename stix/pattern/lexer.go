package pattern

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF     tokKind = iota
	tIllegal         // a character no token starts with, or a malformed literal (see token.err)

	tIdent       // [A-Za-z_][A-Za-z0-9_]*, not a keyword
	tIdentHyphen // like tIdent but containing '-': usable only as an object type

	tInt
	tFloat
	tString
	tBinary
	tHex
	tTimestamp
	tTrue
	tFalse

	tLBrack
	tRBrack
	tLParen
	tRParen
	tColon
	tDot
	tComma
	tStar
	tCompare // =, ==, !=, <>, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET (see token.op)

	tAnd
	tOr
	tNot
	tFollowedBy
	tExists
	tStart
	tStop
	tWithin
	tSeconds
	tRepeats
	tTimes
	tLast // reserved by the grammar, used by no rule
)

// token is one lexical token. val holds the token's value without syntax:
// the decoded string, the body of a b'...', h'...' or t'...' literal, a number without
// a leading '+', or an identifier.
type token struct {
	kind tokKind
	op   CompareOp // for tCompare
	pos  int       // offset of the first byte
	end  int       // offset just past the last byte
	val  string
	err  *SyntaxError // for tIllegal when the lexer knows better than the parser
}

// keywords maps the grammar's reserved words, which are case-sensitive.
var keywords = map[string]token{
	"AND":        {kind: tAnd},
	"OR":         {kind: tOr},
	"NOT":        {kind: tNot},
	"FOLLOWEDBY": {kind: tFollowedBy},
	"EXISTS":     {kind: tExists},
	"START":      {kind: tStart},
	"STOP":       {kind: tStop},
	"WITHIN":     {kind: tWithin},
	"SECONDS":    {kind: tSeconds},
	"REPEATS":    {kind: tRepeats},
	"TIMES":      {kind: tTimes},
	"LAST":       {kind: tLast},
	"true":       {kind: tTrue},
	"false":      {kind: tFalse},
	"IN":         {kind: tCompare, op: OpIn},
	"LIKE":       {kind: tCompare, op: OpLike},
	"MATCHES":    {kind: tCompare, op: OpMatches},
	"ISSUBSET":   {kind: tCompare, op: OpIsSubset},
	"ISSUPERSET": {kind: tCompare, op: OpIsSuperset},
}

// lexer splits a pattern into tokens on demand. It never looks back and
// never rescans, so lexing is linear in the input.
type lexer struct {
	src string
	pos int
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isHexDigit(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isBase64Char(c byte) bool {
	return isIdentChar(c) && c != '_' || c == '+' || c == '/'
}

// punctuation holds the tokens that are one byte and nothing else.
var punctuation = map[byte]tokKind{
	'[': tLBrack,
	']': tRBrack,
	'(': tLParen,
	')': tRParen,
	':': tColon,
	',': tComma,
	'*': tStar,
}

// next returns the next token, skipping whitespace and comments.
func (l *lexer) next() token {
	if t, ok := l.skip(); !ok {
		return t
	}
	src, start := l.src, l.pos
	if start >= len(src) {
		return token{kind: tEOF, pos: start, end: start}
	}
	c := src[start]
	simple := func(k tokKind, op CompareOp, n int) token {
		l.pos = start + n
		return token{kind: k, op: op, pos: start, end: l.pos, val: src[start:l.pos]}
	}
	var next byte
	if start+1 < len(src) {
		next = src[start+1]
	}
	if k, ok := punctuation[c]; ok {
		return simple(k, 0, 1)
	}
	switch {
	case c == '=':
		if next == '=' {
			return simple(tCompare, OpEqual, 2)
		}
		return simple(tCompare, OpEqual, 1)
	case c == '!':
		if next == '=' {
			return simple(tCompare, OpNotEqual, 2)
		}
	case c == '<':
		switch next {
		case '=':
			return simple(tCompare, OpLessEqual, 2)
		case '>':
			return simple(tCompare, OpNotEqual, 2)
		}
		return simple(tCompare, OpLess, 1)
	case c == '>':
		if next == '=' {
			return simple(tCompare, OpGreaterEqual, 2)
		}
		return simple(tCompare, OpGreater, 1)
	case c == '\'':
		return l.str()
	case c == '.' && !isDigit(next):
		return simple(tDot, 0, 1)
	case isDigit(c) || c == '.' || c == '+' || c == '-':
		if t, ok := l.number(); ok {
			return t
		}
	case (c == 'b' || c == 'h' || c == 't') && next == '\'':
		// An identifier directly followed by a string is never valid, so a
		// b, h or t before a quote always starts a typed literal.
		return l.typed(c)
	case isIdentStart(c):
		return l.ident()
	}
	r, n := utf8.DecodeRuneInString(src[start:])
	l.pos = start + n
	return token{kind: tIllegal, pos: start, end: l.pos, val: strconv.QuoteRune(r)}
}

// skip advances past whitespace and comments. It reports false, with an
// error token, for a block comment that is never closed.
func (l *lexer) skip() (token, bool) {
	src := l.src
	for l.pos < len(src) {
		c := src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			l.pos++
		case c == '/' && l.pos+1 < len(src) && src[l.pos+1] == '*':
			end := strings.Index(src[l.pos+2:], "*/")
			if end < 0 {
				start := l.pos
				l.pos = len(src)
				return token{kind: tIllegal, pos: start, end: l.pos, err: &SyntaxError{
					Offset: len(src), Expected: "'*/' closing the comment", Found: "end of pattern"}}, false
			}
			l.pos += 2 + end + 2
		case c == '/' && l.pos+1 < len(src) && src[l.pos+1] == '/':
			end := strings.IndexAny(src[l.pos:], "\r\n")
			if end < 0 {
				l.pos = len(src)
			} else {
				l.pos += end
			}
		case c >= utf8.RuneSelf:
			// The grammar's WS rule lists exactly the runes unicode.IsSpace
			// accepts (Unicode White_Space minus a few format controls).
			r, n := utf8.DecodeRuneInString(src[l.pos:])
			if !unicode.IsSpace(r) {
				return token{}, true
			}
			l.pos += n
		default:
			return token{}, true
		}
	}
	return token{}, true
}

// ident lexes an identifier or keyword.
func (l *lexer) ident() token {
	src, start := l.src, l.pos
	i := start + 1
	hyphen := false
	for i < len(src) && (isIdentChar(src[i]) || src[i] == '-') {
		hyphen = hyphen || src[i] == '-'
		i++
	}
	l.pos = i
	t := token{kind: tIdent, pos: start, end: i, val: src[start:i]}
	if hyphen {
		t.kind = tIdentHyphen
	} else if kw, ok := keywords[t.val]; ok {
		t.kind, t.op = kw.kind, kw.op
	}
	return t
}

// number lexes IntPos, IntNeg, FloatPos or FloatNeg. It reports false when
// a sign or dot is not followed by a number, leaving the caller to report
// the character as illegal.
func (l *lexer) number() (token, bool) {
	src, start := l.src, l.pos
	i := start
	if src[i] == '+' || src[i] == '-' {
		i++
	}
	digits := i
	for i < len(src) && isDigit(src[i]) {
		i++
	}
	intEnd := i
	if i+1 < len(src) && src[i] == '.' && isDigit(src[i+1]) {
		i += 2
		for i < len(src) && isDigit(src[i]) {
			i++
		}
		l.pos = i
		return token{kind: tFloat, pos: start, end: i, val: trimPlus(src[start:i])}, true
	}
	if intEnd == digits {
		return token{}, false
	}
	l.pos = intEnd
	t := token{kind: tInt, pos: start, end: intEnd, val: trimPlus(src[start:intEnd])}
	if src[digits] == '0' && intEnd-digits > 1 {
		// The grammar would split "007" into three integers, which no rule
		// accepts; saying why is kinder.
		t.kind = tIllegal
		t.err = &SyntaxError{Offset: start, Expected: "integer without leading zeros", Found: excerpt(src[start:intEnd])}
	}
	return t, true
}

func trimPlus(s string) string {
	if s[0] == '+' {
		return s[1:]
	}
	return s
}

// str lexes a StringLiteral. Only \' and \\ are escapes; any other
// backslash is an error, as in the grammar.
func (l *lexer) str() token {
	src, start := l.src, l.pos
	i := start + 1
	var b *strings.Builder // only allocated when the literal has escapes
	from := i
	for {
		j := strings.IndexAny(src[i:], `'\`)
		if j < 0 {
			return l.fail(start, len(src), "closing quote", "end of pattern")
		}
		i += j
		if src[i] == '\'' {
			break
		}
		if i+1 >= len(src) {
			return l.fail(start, len(src), `\' or \\ after backslash`, "end of pattern")
		}
		if e := src[i+1]; e != '\'' && e != '\\' {
			r, _ := utf8.DecodeRuneInString(src[i+1:])
			return l.fail(start, i, `\' or \\ after backslash`, strconv.QuoteRune(r))
		}
		if b == nil {
			b = new(strings.Builder)
			b.Grow(len(src) - start)
		}
		b.WriteString(src[from:i])
		b.WriteByte(src[i+1])
		i += 2
		from = i
	}
	val := src[from:i]
	if b != nil {
		b.WriteString(val)
		val = b.String()
	}
	l.pos = i + 1
	return token{kind: tString, pos: start, end: l.pos, val: val}
}

// typed lexes b'...', h'...' or t'...' and checks the body.
func (l *lexer) typed(prefix byte) token {
	src, start := l.src, l.pos
	body := start + 2
	j := strings.IndexByte(src[body:], '\'')
	if j < 0 {
		return l.fail(start, len(src), "closing quote", "end of pattern")
	}
	end := body + j
	val := src[body:end]
	var err *SyntaxError
	kind := tBinary
	switch prefix {
	case 'b':
		err = checkBase64(val, body)
	case 'h':
		kind = tHex
		err = checkHex(val, body)
	case 't':
		kind = tTimestamp
		err = checkTimestamp(val, body)
	}
	l.pos = end + 1
	if err != nil {
		return token{kind: tIllegal, pos: start, end: l.pos, err: err}
	}
	return token{kind: kind, pos: start, end: l.pos, val: val}
}

// fail ends lexing with an error token: after a malformed literal there is
// no reliable place to resume.
func (l *lexer) fail(start, off int, expected, found string) token {
	l.pos = len(l.src)
	return token{kind: tIllegal, pos: start, end: l.pos,
		err: &SyntaxError{Offset: off, Expected: expected, Found: found}}
}

// foundAt describes the character at s[i] of a literal body for an error
// message; the body ends where the closing quote is.
func foundAt(s string, i int) string {
	if i >= len(s) {
		return "closing quote"
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return strconv.QuoteRune(r)
}

// checkBase64 checks the body of a b'...' literal: standard base64 with
// padding, at least one 4-character group (the grammar requires one).
// off is the body's offset in the pattern.
func checkBase64(s string, off int) *SyntaxError {
	pad := 0
	for pad < 2 && pad < len(s) && s[len(s)-1-pad] == '=' {
		pad++
	}
	for i := 0; i < len(s)-pad; i++ {
		if !isBase64Char(s[i]) {
			return &SyntaxError{Offset: off + i, Expected: "base64 character", Found: foundAt(s, i)}
		}
	}
	if len(s) == 0 || len(s)%4 != 0 {
		return &SyntaxError{Offset: off + len(s), Expected: "base64 padded to a multiple of 4 characters",
			Found: strconv.Itoa(len(s)) + " characters"}
	}
	return nil
}

// checkHex checks the body of an h'...' literal: pairs of hex digits.
func checkHex(s string, off int) *SyntaxError {
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return &SyntaxError{Offset: off + i, Expected: "hex digit", Found: foundAt(s, i)}
		}
	}
	if len(s)%2 != 0 {
		return &SyntaxError{Offset: off + len(s), Expected: "an even number of hex digits",
			Found: strconv.Itoa(len(s)) + " digits"}
	}
	return nil
}

// checkTimestamp checks the body of a t'...' literal:
// YYYY-MM-DDThh:mm:ss[.fraction]Z with every field in range for the
// calendar (day 31 of April is refused, February 29 only in leap years).
// Second 60 is allowed for leap seconds.
func checkTimestamp(s string, off int) *SyntaxError {
	ts := tsScanner{s: s, off: off}
	year := ts.field(4, 0, 9999, "four-digit year")
	ts.sep('-')
	month := ts.field(2, 1, 12, "month 01-12")
	ts.sep('-')
	dayAt := ts.i
	if day := ts.field(2, 1, 31, "day 01-31"); ts.err == nil && day > daysIn(year, month) {
		// Built only on failure: valid timestamps must not allocate.
		return &SyntaxError{Offset: off + dayAt, Expected: "day 01-" + strconv.Itoa(daysIn(year, month)) + " for " + s[:7],
			Found: "'" + s[dayAt:dayAt+2] + "'"}
	}
	ts.sep('T')
	ts.field(2, 0, 23, "hour 00-23")
	ts.sep(':')
	ts.field(2, 0, 59, "minute 00-59")
	ts.sep(':')
	ts.field(2, 0, 60, "second 00-60")
	if ts.err == nil && ts.i < len(s) && s[ts.i] == '.' {
		ts.i++
		if ts.i >= len(s) || !isDigit(s[ts.i]) {
			return &SyntaxError{Offset: off + ts.i, Expected: "digit after '.'", Found: foundAt(s, ts.i)}
		}
		for ts.i < len(s) && isDigit(s[ts.i]) {
			ts.i++
		}
	}
	ts.sep('Z')
	if ts.err == nil && ts.i < len(s) {
		return &SyntaxError{Offset: off + ts.i, Expected: "closing quote after 'Z'", Found: foundAt(s, ts.i)}
	}
	return ts.err
}

// tsScanner walks a timestamp body, keeping the first error so the checks
// in checkTimestamp read as a straight sequence.
type tsScanner struct {
	s   string
	off int
	i   int
	err *SyntaxError
}

// field reads n digits and checks lo <= value <= hi.
func (t *tsScanner) field(n, lo, hi int, what string) int {
	if t.err != nil {
		return 0
	}
	v := 0
	for k := 0; k < n; k++ {
		if t.i+k >= len(t.s) || !isDigit(t.s[t.i+k]) {
			t.err = &SyntaxError{Offset: t.off + t.i + k, Expected: what, Found: foundAt(t.s, t.i+k)}
			return 0
		}
		v = v*10 + int(t.s[t.i+k]-'0')
	}
	if v < lo || v > hi {
		t.err = &SyntaxError{Offset: t.off + t.i, Expected: what, Found: "'" + t.s[t.i:t.i+n] + "'"}
		return 0
	}
	t.i += n
	return v
}

// sep reads the separator c.
func (t *tsScanner) sep(c byte) {
	if t.err != nil {
		return
	}
	if t.i >= len(t.s) || t.s[t.i] != c {
		t.err = &SyntaxError{Offset: t.off + t.i, Expected: "'" + string(c) + "'", Found: foundAt(t.s, t.i)}
		return
	}
	t.i++
}

// daysIn returns the number of days of month (1-12) in the proleptic
// Gregorian year.
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
