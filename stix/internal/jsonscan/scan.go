// Package jsonscan is the one JSON tokenizer of package stix. Envelope
// splitting, the I-JSON checks, TLP reading, the rewriters and the decoder
// behind validation all read JSON through it, so that each edge case is
// decided here, once:
//
//   - Syntax is RFC 8259, as strictly as encoding/json checks it: no
//     trailing commas, no leading zeros, no literals but true, false and
//     null, no control characters in strings, only the escapes of §7, four
//     hex digits after \u, only JSON white space (space, tab, CR, LF)
//     between tokens, one value per input.
//   - A string that is not valid UTF-8 is a syntax error (RFC 8259 §8.1)
//     unless AllowInvalidUTF8 is set; either way its token is flagged
//     InvalidUTF8, so that a caller that accepts it (the I-JSON check that
//     reports it, the decoder that replaces it) knows.
//   - An escaped surrogate that is not part of a pair (a high one not
//     followed at once by an escaped low one, or a low one alone) is
//     valid JSON and flagged LoneSurrogate; AppendUnquoted turns it, like
//     every invalid UTF-8 byte, into U+FFFD, as encoding/json does.
//   - Keys are compared after unescaping (AppendUnquoted); duplicate keys
//     are valid JSON and left to the caller, which sees every Key token.
//   - Nesting is limited to MaxDepth open objects and lists (default
//     DefaultMaxDepth, encoding/json's own limit).
//   - Numbers follow the grammar of RFC 8259 §6; their range is the
//     caller's concern (the token gives the number as written).
//
// A Scanner does not allocate, except to track nesting deeper than 64.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// DefaultMaxDepth is the nesting limit when Scanner.MaxDepth is 0:
// encoding/json's.
const DefaultMaxDepth = 10000

// Kind is the kind of a token.
type Kind uint8

const (
	None        Kind = iota // no token: the end of the input, or an error
	BeginObject             // {
	EndObject               // }
	BeginArray              // [
	EndArray                // ]
	Key                     // a property name; the ':' after it is not part of it
	String                  // a string value
	Number
	True
	False
	Null
)

// Flags describe a string token (Key or String).
type Flags uint8

const (
	Escaped       Flags = 1 << iota // holds a backslash escape
	InvalidUTF8                     // holds bytes that are not UTF-8 (only with AllowInvalidUTF8)
	LoneSurrogate                   // escapes a surrogate that is not half of a pair
)

// Token is one token of the input: src[Start:End] is the token as written,
// quotes included for strings; for BeginObject and the like it is the one
// bracket.
type Token struct {
	Kind       Kind
	Flags      Flags
	Start, End int
}

// IsValue reports whether the token begins a value (a scalar, or an object
// or list).
func (t Token) IsValue() bool {
	return t.Kind == BeginObject || t.Kind == BeginArray || t.Kind >= String
}

// Code says what is wrong in a SyntaxError.
type Code uint8

const (
	ErrValue         Code = iota + 1 // a value was expected
	ErrKey                           // a property name was expected
	ErrAfterKey                      // ':' was expected after a property name
	ErrAfterMember                   // ',' or '}' was expected after a property value
	ErrAfterElement                  // ',' or ']' was expected after a list element
	ErrTrailing                      // something follows the top-level value
	ErrNumber                        // a number does not follow the grammar
	ErrEscape                        // an unknown escape in a string
	ErrUnicodeEscape                 // \u not followed by four hex digits
	ErrControl                       // a control character in a string
	ErrUnterminated                  // a string does not end
	ErrInvalidUTF8                   // a string is not valid UTF-8
	ErrTooDeep                       // nesting deeper than MaxDepth
)

var phrases = [...]string{
	ErrValue:         "where a value belongs",
	ErrKey:           "where a property name belongs",
	ErrAfterKey:      "after a property name",
	ErrAfterMember:   "after a property value",
	ErrAfterElement:  "after a list element",
	ErrTrailing:      "after the top-level value",
	ErrNumber:        "in a number",
	ErrEscape:        "escape in a string",
	ErrUnicodeEscape: "in a \\u escape",
	ErrControl:       "control character in a string",
	ErrUnterminated:  "in an unterminated string",
}

// SyntaxError is the first error a Scanner met.
type SyntaxError struct {
	Code   Code
	Offset int // byte offset in the input: the unexpected byte; for ErrInvalidUTF8 the string's first byte after the quote; for ErrTooDeep the bracket
	Byte   int // the byte at Offset, -1 at the end of the input
	Max    int // for ErrTooDeep, the limit
}

// Phrase says where the unexpected byte is, as in "where a value belongs";
// "" for ErrInvalidUTF8 and ErrTooDeep, which Error words whole.
func (e *SyntaxError) Phrase() string {
	if int(e.Code) < len(phrases) {
		return phrases[e.Code]
	}
	return ""
}

// Found names the unexpected byte as Go quotes it ('x'), or end for the
// end of the input.
func (e *SyntaxError) Found(end string) string {
	if e.Byte < 0 {
		return end
	}
	return strconv.QuoteRune(rune(e.Byte))
}

// Error returns text like "offset 7: unexpected '}' where a value belongs".
func (e *SyntaxError) Error() string {
	at := "offset " + strconv.Itoa(e.Offset) + ": "
	switch e.Code {
	case ErrInvalidUTF8:
		return at + "a string is not valid UTF-8"
	case ErrTooDeep:
		return at + "nested too deeply (more than " + strconv.Itoa(e.Max) + " levels)"
	}
	return at + "unexpected " + e.Found("end of input") + " " + e.Phrase()
}

// state is what the scanner reads next.
type state uint8

const (
	stValue        state = iota // a value
	stValueOrClose              // after '[': a value or ']'
	stKeyOrClose                // after '{': a key or '}'
	stKey                       // after ',' in an object
	stColon                     // after a key
	stAfter                     // after a value in a container: ',' or the closing bracket
	stClose                     // positioned at a closing bracket (after stAfter)
	stDone                      // after the top-level value
)

// Scanner reads the tokens of one JSON text. The zero Scanner reads an
// empty input; Reset gives it one. Set MaxDepth and AllowInvalidUTF8
// before the tokens they govern; they may change between tokens.
type Scanner struct {
	// MaxDepth bounds the objects and lists open at once; 0 means
	// DefaultMaxDepth.
	MaxDepth int
	// AllowInvalidUTF8 makes a string that is not valid UTF-8 a token
	// flagged InvalidUTF8 instead of an error.
	AllowInvalidUTF8 bool

	src    []byte
	pos    int
	state  state
	ready  bool // pos is at the next token's first byte; state has been advanced
	depth  int
	inline uint64   // bit d: level d (0-based) is an object, for d < 64
	deep   []uint64 // the same for levels from 64 up
	spaced bool
	err    *SyntaxError
}

// Reset makes s read src from its start, keeping MaxDepth and
// AllowInvalidUTF8.
func (s *Scanner) Reset(src []byte) {
	*s = Scanner{MaxDepth: s.MaxDepth, AllowInvalidUTF8: s.AllowInvalidUTF8, src: src, deep: s.deep[:0]}
}

// Err returns the first syntax error (a *SyntaxError), nil if none.
func (s *Scanner) Err() error {
	if s.err == nil {
		return nil
	}
	return s.err
}

// SyntaxErr returns the first syntax error, nil if none.
func (s *Scanner) SyntaxErr() *SyntaxError { return s.err }

// Depth returns the number of objects and lists open.
func (s *Scanner) Depth() int { return s.depth }

// Spaced reports whether white space was skipped since the last
// ClearSpaced (or Reset).
func (s *Scanner) Spaced() bool { return s.spaced }

// ClearSpaced resets what Spaced reports.
func (s *Scanner) ClearSpaced() { s.spaced = false }

// Bytes returns the token as written.
func (s *Scanner) Bytes(t Token) []byte { return s.src[t.Start:t.End] }

// Content returns a Key or String token as written between its quotes.
func (s *Scanner) Content(t Token) []byte { return s.src[t.Start+1 : t.End-1] }

// AppendString appends the value of a Key or String token to dst: its
// content unescaped, invalid UTF-8 and lone surrogates as U+FFFD. Without
// escapes or invalid bytes it appends the content as is.
func (s *Scanner) AppendString(dst []byte, t Token) []byte {
	if t.Flags&(Escaped|InvalidUTF8) == 0 {
		return append(dst, s.Content(t)...)
	}
	return AppendUnquoted(dst, s.Content(t))
}

func (s *Scanner) isObject(level int) bool {
	if level < 64 {
		return s.inline>>level&1 != 0
	}
	level -= 64
	return s.deep[level/64]>>(level%64)&1 != 0
}

func (s *Scanner) push(object bool, at int) bool {
	max := s.MaxDepth
	if max <= 0 {
		max = DefaultMaxDepth
	}
	if s.depth >= max {
		s.err = &SyntaxError{Code: ErrTooDeep, Offset: at, Byte: int(s.src[at]), Max: max}
		return false
	}
	d := s.depth
	if d < 64 {
		if object {
			s.inline |= 1 << d
		} else {
			s.inline &^= 1 << d
		}
	} else {
		d -= 64
		for len(s.deep) <= d/64 {
			s.deep = append(s.deep, 0)
		}
		if object {
			s.deep[d/64] |= 1 << (d % 64)
		} else {
			s.deep[d/64] &^= 1 << (d % 64)
		}
	}
	s.depth++
	return true
}

func (s *Scanner) fail(code Code, at int) {
	b := -1
	if at < len(s.src) {
		b = int(s.src[at])
	}
	s.err = &SyntaxError{Code: code, Offset: at, Byte: b}
}

func (s *Scanner) space() {
	i := s.pos
	for i < len(s.src) {
		switch s.src[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	if i != s.pos {
		s.spaced = true
		s.pos = i
	}
}

// advance consumes the separators before the next token and leaves pos at
// its first byte.
func (s *Scanner) advance() {
	s.ready = true
	s.space()
	switch s.state {
	case stColon:
		if s.pos >= len(s.src) || s.src[s.pos] != ':' {
			s.fail(ErrAfterKey, s.pos)
			return
		}
		s.pos++
		s.space()
		s.state = stValue
	case stAfter:
		obj := s.isObject(s.depth - 1)
		if s.pos < len(s.src) {
			switch c := s.src[s.pos]; {
			case c == ',':
				s.pos++
				s.space()
				if obj {
					s.state = stKey
				} else {
					s.state = stValue
				}
				return
			case c == '}' && obj, c == ']' && !obj:
				s.state = stClose
				return
			}
		}
		if obj {
			s.fail(ErrAfterMember, s.pos)
		} else {
			s.fail(ErrAfterElement, s.pos)
		}
	case stDone:
		if s.pos < len(s.src) {
			s.fail(ErrTrailing, s.pos)
		}
	}
}

// Peek returns the first byte of the next token without reading it, 0 at
// the end of the input or after an error (check Err). It consumes the
// separators before the token, so their errors show here.
func (s *Scanner) Peek() byte {
	if s.err != nil {
		return 0
	}
	if !s.ready {
		s.advance()
		if s.err != nil {
			return 0
		}
	}
	if s.pos >= len(s.src) {
		return 0
	}
	return s.src[s.pos]
}

// Next reads the next token. At the end of the input, and from the first
// error on, it returns a token of kind None; Err tells the two apart.
func (s *Scanner) Next() Token {
	if s.err != nil {
		return Token{}
	}
	if !s.ready {
		s.advance()
		if s.err != nil {
			return Token{}
		}
	}
	s.ready = false
	i := s.pos
	if i >= len(s.src) {
		switch s.state {
		case stDone:
		case stKey, stKeyOrClose:
			s.fail(ErrKey, i)
		default:
			s.fail(ErrValue, i)
		}
		return Token{}
	}
	c := s.src[i]
	switch s.state {
	case stDone:
		return Token{} // advance has failed already, or the input ended
	case stClose:
		return s.close(i, c)
	case stKeyOrClose:
		if c == '}' {
			return s.close(i, c)
		}
		fallthrough
	case stKey:
		if c != '"' {
			s.fail(ErrKey, i)
			return Token{}
		}
		t := s.str(i)
		if s.err != nil {
			return Token{}
		}
		t.Kind = Key
		s.state = stColon
		return t
	case stValueOrClose:
		if c == ']' {
			return s.close(i, c)
		}
	}
	return s.value(i, c)
}

// open reads the '{' (object) or '[' at src[i].
func (s *Scanner) open(i int, object bool) Token {
	if !s.push(object, i) {
		return Token{}
	}
	s.pos = i + 1
	if object {
		s.state = stKeyOrClose
		return Token{Kind: BeginObject, Start: i, End: i + 1}
	}
	s.state = stValueOrClose
	return Token{Kind: BeginArray, Start: i, End: i + 1}
}

// close reads the '}' or ']' c at src[i], which the state allows.
func (s *Scanner) close(i int, c byte) Token {
	s.pos = i + 1
	s.depth--
	s.after()
	if c == '}' {
		return Token{Kind: EndObject, Start: i, End: i + 1}
	}
	return Token{Kind: EndArray, Start: i, End: i + 1}
}

// after sets the state that follows a complete value.
func (s *Scanner) after() {
	if s.depth == 0 {
		s.state = stDone
	} else {
		s.state = stAfter
	}
}

func (s *Scanner) value(i int, c byte) Token {
	var t Token
	switch {
	case c == '"':
		t = s.str(i)
		t.Kind = String
	case c == '{' || c == '[':
		return s.open(i, c == '{')
	case c == '-' || c >= '0' && c <= '9':
		t = s.number(i)
	case c == 't':
		t = s.literal(i, "true", True)
	case c == 'f':
		t = s.literal(i, "false", False)
	case c == 'n':
		t = s.literal(i, "null", Null)
	default:
		s.fail(ErrValue, i)
	}
	if s.err != nil {
		return Token{}
	}
	s.after()
	return t
}

func (s *Scanner) literal(i int, word string, k Kind) Token {
	if len(s.src)-i < len(word) || string(s.src[i:i+len(word)]) != word {
		s.fail(ErrValue, i)
		return Token{}
	}
	s.pos = i + len(word)
	return Token{Kind: k, Start: i, End: s.pos}
}

// number reads a number at src[i]; an error is reported at i.
func (s *Scanner) number(i int) Token {
	src, j := s.src, i
	if src[j] == '-' {
		j++
	}
	switch {
	case j < len(src) && src[j] == '0':
		j++
	case j < len(src) && src[j] >= '1' && src[j] <= '9':
		j = digits(src, j)
	default:
		s.fail(ErrNumber, i)
		return Token{}
	}
	if j < len(src) && src[j] == '.' {
		if k := digits(src, j+1); k > j+1 {
			j = k
		} else {
			s.fail(ErrNumber, i)
			return Token{}
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		j++
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if k := digits(src, j); k > j {
			j = k
		} else {
			s.fail(ErrNumber, i)
			return Token{}
		}
	}
	s.pos = j
	return Token{Kind: Number, Start: i, End: j}
}

// digits returns the offset past the decimal digits from src[j].
func digits(src []byte, j int) int {
	for j < len(src) && src[j] >= '0' && src[j] <= '9' {
		j++
	}
	return j
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special reports, for the eight bytes of x, whether any is '"', '\\', a
// control character or (with hi = msb) not ASCII. It may report a byte
// after a special one wrongly, never miss one.
func special(x, hi uint64) bool {
	q := x ^ (lsb * '"')
	b := x ^ (lsb * '\\')
	return ((x-lsb*0x20)&^x|(q-lsb)&^q|(b-lsb)&^b)&msb|x&hi != 0
}

// plain reports, for the eight bytes of x, whether none is a backslash, a
// control character or not ASCII.
func plain(x uint64) bool {
	b := x ^ (lsb * '\\')
	return ((x-lsb*0x20)&^x|(b-lsb)&^b|x)&msb == 0
}

// str reads a string whose quote is at src[i]. The caller sets the kind.
func (s *Scanner) str(i int) Token {
	// Most strings are plain ASCII without escapes: find the closing quote
	// with IndexByte and check what it encloses a word at a time.
	src := s.src
	if q := bytes.IndexByte(src[i+1:], '"'); q >= 0 {
		end := i + 1 + q
		j := i + 1
		for j+8 <= end && plain(binary.LittleEndian.Uint64(src[j:])) {
			j += 8
		}
		for j < end && src[j] >= 0x20 && src[j] != '\\' && src[j] < 0x80 {
			j++
		}
		if j == end {
			s.pos = end + 1
			return Token{Start: i, End: end + 1}
		}
		return s.strSlow(i, j)
	}
	return s.strSlow(i, i+1)
}

// strSlow reads a string whose quote is at src[i] byte by byte from j,
// all bytes before j being plain ASCII.
func (s *Scanner) strSlow(i, j int) Token {
	src := s.src
	var flags Flags
	nonASCII := false
	hiEnd := -1 // just past an escaped high surrogate waiting for its low half
	hi := uint64(msb)
	for {
		for j+8 <= len(src) && !special(binary.LittleEndian.Uint64(src[j:]), hi) {
			j += 8
		}
		if j >= len(src) {
			s.fail(ErrUnterminated, len(src))
			return Token{}
		}
		c := src[j]
		switch {
		case c == '"':
			if hiEnd >= 0 {
				flags |= LoneSurrogate
			}
			if nonASCII && !utf8.Valid(src[i+1:j]) {
				if !s.AllowInvalidUTF8 {
					s.fail(ErrInvalidUTF8, i+1)
					return Token{}
				}
				flags |= InvalidUTF8
			}
			s.pos = j + 1
			return Token{Flags: flags, Start: i, End: j + 1}
		case c == '\\':
			flags |= Escaped
			if j+1 >= len(src) {
				s.fail(ErrUnterminated, len(src))
				return Token{}
			}
			switch src[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				if hiEnd >= 0 {
					flags |= LoneSurrogate
					hiEnd = -1
				}
				j += 2
			case 'u':
				r, ok := hex4(src, j+2)
				if !ok {
					s.fail(ErrUnicodeEscape, j+1)
					return Token{}
				}
				if hiEnd >= 0 {
					if hiEnd == j && r >= 0xdc00 && r <= 0xdfff {
						hiEnd = -1
						j += 6
						continue
					}
					flags |= LoneSurrogate
					hiEnd = -1
				}
				switch {
				case r >= 0xd800 && r <= 0xdbff:
					hiEnd = j + 6
				case r >= 0xdc00 && r <= 0xdfff:
					flags |= LoneSurrogate
				}
				j += 6
			default:
				s.fail(ErrEscape, j+1)
				return Token{}
			}
		case c < 0x20:
			s.fail(ErrControl, j)
			return Token{}
		case c >= 0x80:
			nonASCII = true
			hi = 0 // from here on only the byte loop's other cases matter
			j++
		default:
			j++
		}
	}
}

// hex4 decodes the four hex digits at src[i:].
func hex4(src []byte, i int) (rune, bool) {
	if len(src)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range src[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Skip reads the rest of the value that t, just returned by Next, begins
// (nothing more for a scalar) and returns the offset just past it, -1
// after an error.
func (s *Scanner) Skip(t Token) int {
	if t.Kind != BeginObject && t.Kind != BeginArray {
		if t.Kind == None || t.Kind == Key {
			return -1
		}
		return t.End
	}
	for d := s.depth; ; {
		u := s.Next()
		switch u.Kind {
		case None:
			return -1
		case EndObject, EndArray:
			if s.depth < d {
				return u.End
			}
		}
	}
}

// AppendUnquoted appends to dst the value of a JSON string given as
// written between its quotes, which must be valid JSON string content
// (as a Scanner returns it): escapes decoded, a surrogate pair as its
// character, and each lone surrogate and each byte that is not UTF-8 as
// U+FFFD, which is what encoding/json makes of them.
func AppendUnquoted(dst, content []byte) []byte {
	for i := 0; i < len(content); {
		c := content[i]
		switch {
		case c == '\\' && i+1 < len(content):
			e := content[i+1]
			i += 2
			switch e {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, _ := hex4(content, i)
				i += 4
				if r >= 0xd800 && r <= 0xdfff {
					if r <= 0xdbff && i+1 < len(content) && content[i] == '\\' && content[i+1] == 'u' {
						if lo, ok := hex4(content, i+2); ok && lo >= 0xdc00 && lo <= 0xdfff {
							r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
							i += 6
							dst = utf8.AppendRune(dst, r)
							continue
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
			default: // '"', '\\', '/'
				dst = append(dst, e)
			}
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRune(content[i:])
			dst = utf8.AppendRune(dst, r) // RuneError, one byte consumed, for a byte that is not UTF-8
			i += n
		}
	}
	return dst
}
