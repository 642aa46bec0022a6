package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Collection policies change objects on their way into the store: a
// collection can add a marking to everything published in it, and an
// anonymized collection replaces the publisher's identity with a stand-in.
// The server otherwise stores and serves objects verbatim, so these rewrites
// work on the bytes: they copy every token as sent (key order, number text,
// string escapes, timestamp precision) and touch only the properties they
// are about. The result is compact: whitespace between tokens is dropped.
//
// Both rewrites and ObjectTLP use jsonScan, a small validating scanner,
// instead of encoding/json: decoding into maps would reorder keys and
// re-encoding would rewrite numbers and escapes, and even ObjectTLP's two
// properties cost about four times as much through json.Unmarshal.

// ErrIdentityRemains is returned by ReplaceIdentity when the identity it was
// asked to remove still appears in the object, inside a longer string (a
// description naming it, say) or as a dictionary key, where replacing it
// would change content it has no business changing.
var ErrIdentityRemains = errors.New("the replaced identity still appears in the object")

// AddObjectMarking returns a compact copy of the JSON object raw with
// markingID added at the end of its object_marking_refs, creating the
// property (as the object's last) if it is absent or null. Nothing else
// changes: if the marking is already there (compared without regard to the
// case of the UUID), the copy is identical in content to raw. A duplicated
// object_marking_refs key gets the marking in each occurrence.
//
// Two kinds of object are copied unchanged, because the marking would make
// them invalid: the marking definition markingID itself (a marking must not
// mark itself, STIX 2.1 §7.2.2) and the nine predefined TLP marking
// definitions, which must be stored exactly as published.
//
// It returns an error if markingID is not a marking-definition id, raw is
// not a single JSON object, or its object_marking_refs is not a list of
// strings.
func AddObjectMarking(raw []byte, markingID string) ([]byte, error) {
	if typ, _, err := SplitID(markingID); err != nil {
		return nil, fmt.Errorf("stix: adding a marking: %w", err)
	} else if typ != "marking-definition" {
		return nil, fmt.Errorf("stix: adding a marking: %q is not a marking-definition id", markingID)
	}
	out, exempt, err := addObjectMarking(raw, markingID, true)
	if err == nil && exempt {
		// Which object this is shows only once its id has been read,
		// possibly after object_marking_refs; copying it again without
		// the marking is simpler than undoing the change.
		out, _, err = addObjectMarking(raw, markingID, false)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// addObjectMarking is AddObjectMarking's single pass. With add false it only
// copies raw. exempt reports that raw is an object AddObjectMarking must not
// mark.
func addObjectMarking(raw []byte, markingID string, add bool) (out []byte, exempt bool, err error) {
	// markingID passed SplitID, so it is ASCII letters, digits and hyphens
	// and needs no escaping.
	quoted := `"` + markingID + `"`
	s := jsonScan{src: raw, emit: true, out: make([]byte, 0, len(raw)+len(quoted)+len(`,"object_marking_refs":[]`))}
	if s.peek() != '{' {
		return nil, false, errNotObject
	}
	found := false
	s.members(1, func(key []byte, esc bool) {
		switch {
		case keyIs(key, esc, "object_marking_refs"):
			found = true
			switch s.peek() {
			case 'n':
				if !add {
					s.literal("null")
					break
				}
				s.emit = false
				s.literal("null")
				s.emit = true
				s.out = append(s.out, '[')
				s.out = append(s.out, quoted...)
				s.out = append(s.out, ']')
			case '[':
				present := false
				s.elements(2, func() {
					if s.peek() != '"' {
						s.typeError("object_marking_refs must be a list of identifiers")
						return
					}
					text, e := s.str()
					s.put(text)
					if asciiEqualFold(unquoteJSON(text, e), markingID) {
						present = true
					}
				})
				if add && !present && s.err == nil {
					if s.out[len(s.out)-1] != '[' {
						s.out = append(s.out, ',')
					}
					s.out = append(s.out, quoted...)
				}
				s.putByte(']')
			default:
				s.typeError("object_marking_refs must be a list of identifiers")
			}
		case keyIs(key, esc, "id"):
			exempt = false
			if v := s.valueSpan(1); len(v) > 0 && v[0] == '"' {
				id := stringContent(v)
				exempt = asciiEqualFold(id, markingID) || tlpIndex(id) >= 0
			}
		default:
			s.value(1)
		}
	})
	if s.err == nil && add && !found {
		if s.out[len(s.out)-1] != '{' {
			s.out = append(s.out, ',')
		}
		s.out = append(s.out, `"object_marking_refs":[`...)
		s.out = append(s.out, quoted...)
		s.out = append(s.out, ']')
	}
	s.putByte('}')
	s.end()
	if s.err != nil {
		return nil, false, s.err
	}
	return s.out, exempt, nil
}

// ReplaceIdentity returns a compact copy of the JSON object raw for
// anonymized publishing: every string value equal to the identity id from,
// at any depth (created_by_ref, where_sighted_refs, object_refs, refs inside
// extensions, …), becomes to, and the object's created_by_ref is set to to.
// Ids are compared without regard to the case of the UUID. Nothing else
// changes.
//
// created_by_ref is added, as the object's last property, only where STIX
// defines it: not on cyber-observables (§6.1 has no created_by_ref, and
// strict consumers such as python-stix2 reject the property there) and not
// on the predefined TLP marking definitions, which must stay exactly as
// published. Where it is present it is always replaced.
//
// If from still appears after the rewrite, as part of a longer string or in
// a dictionary key, ReplaceIdentity returns the rewritten object together
// with an error wrapping ErrIdentityRemains: the caller publishing
// anonymously should refuse the object, since only the publisher can say
// what to write instead.
//
// It returns nil and an error if from or to is not an identity id or raw is
// not a single JSON object.
func ReplaceIdentity(raw []byte, from, to string) ([]byte, error) {
	for _, id := range []string{from, to} {
		if typ, _, err := SplitID(id); err != nil {
			return nil, fmt.Errorf("stix: replacing an identity: %w", err)
		} else if typ != "identity" {
			return nil, fmt.Errorf("stix: replacing an identity: %q is not an identity id", id)
		}
	}
	// to passed SplitID, so it needs no escaping.
	r := identityReplacer{from: from, to: `"` + to + `"`}
	s := jsonScan{src: raw, emit: true, rep: &r,
		out: make([]byte, 0, len(raw)+len(`,"created_by_ref":`)+len(r.to))}
	if s.peek() != '{' {
		return nil, errNotObject
	}
	var (
		typ, id, ext           []byte
		hasCreated, hasCreator bool
	)
	s.members(1, func(key []byte, esc bool) {
		switch {
		case keyIs(key, esc, "created_by_ref"):
			// Whatever was there goes, so it is neither copied nor
			// searched for traces.
			hasCreator = true
			s.emit, s.rep = false, nil
			s.value(1)
			s.emit, s.rep = true, &r
			s.out = append(s.out, r.to...)
		// Of a duplicated key the last counts, as for encoding/json.
		case keyIs(key, esc, "type"):
			typ = nil
			if v := s.valueSpan(1); len(v) > 0 && v[0] == '"' {
				typ = stringContent(v)
			}
		case keyIs(key, esc, "id"):
			id = nil
			if v := s.valueSpan(1); len(v) > 0 && v[0] == '"' {
				id = stringContent(v)
			}
		case keyIs(key, esc, "created"):
			hasCreated = true
			s.value(1)
		case keyIs(key, esc, "extensions"):
			ext = s.valueSpan(1)
		default:
			s.value(1)
		}
	})
	if s.err == nil && !hasCreator && mayHaveCreator(string(typ), hasCreated, ext, id) {
		if s.out[len(s.out)-1] != '{' {
			s.out = append(s.out, ',')
		}
		s.out = append(s.out, `"created_by_ref":`...)
		s.out = append(s.out, r.to...)
	}
	s.putByte('}')
	s.end()
	if s.err != nil {
		return nil, s.err
	}
	if r.trace {
		return s.out, fmt.Errorf("stix: replacing %s: %w", from, ErrIdentityRemains)
	}
	return s.out, nil
}

// mayHaveCreator reports whether an object of type typ with id id may carry
// created_by_ref: not an SCO, told apart as Validator.Check does
// (isSCOObject), given whether it has created and its extensions value
// (nil when absent), and not a predefined TLP marking.
func mayHaveCreator(typ string, hasCreated bool, extensions, id []byte) bool {
	sco := IsSCO(typ)
	if !sco && !isKnownNonSCO(typ) && typ != "bundle" {
		var declared string
		if len(extensions) > 0 {
			// Only custom objects pay for decoding their extensions.
			v, _ := decodeJSON(extensions)
			ext, _ := v.(map[string]any)
			declared = declaredKind(ext)
		}
		sco = customIsSCO(hasCreated, declared)
	}
	return !sco && tlpIndex(id) < 0
}

// identityReplacer is ReplaceIdentity's hook into jsonScan: it sees every
// string the scanner copies.
type identityReplacer struct {
	from  string
	to    string // quoted
	trace bool   // from seen somewhere it was not replaced
}

// value copies the string value text (quotes included), replacing it if it
// is the identity.
func (r *identityReplacer) value(s *jsonScan, text []byte, esc bool) {
	v := unquoteJSON(text, esc)
	if asciiEqualFold(v, r.from) {
		s.out = append(s.out, r.to...)
		return
	}
	if asciiContainsFold(v, r.from) {
		r.trace = true
	}
	s.put(text)
}

// key notes a trace of the identity in an object key, which is copied as is:
// renaming keys could merge two of them.
func (r *identityReplacer) key(text []byte, esc bool) {
	if asciiContainsFold(unquoteJSON(text, esc), r.from) {
		r.trace = true
	}
}

var errNotObject = errors.New("stix: not a JSON object")

// maxScanDepth bounds nesting as encoding/json does, so that the scanner's
// recursion cannot be driven arbitrarily deep.
const maxScanDepth = 10000

// jsonScan reads one JSON text from src and checks its syntax as strictly as
// encoding/json does, and more: a string that is not valid UTF-8, which
// encoding/json lets through, is an error, because what the rewrites return
// is stored and served as sent (RFC 8259 §8.1, I-JSON §2.1). When
// emit is set it appends every token it reads to out, without the
// whitespace between tokens, so that copying a value costs no more than
// checking it; callers steer it member by member to change what they need.
//
// After the first error every method returns at once, leaving err set and
// i at the end of src, so callers check err once at the end.
type jsonScan struct {
	src  []byte
	i    int
	err  error
	emit bool
	out  []byte
	rep  *identityReplacer // sees every string, when set
}

func (s *jsonScan) fail(msg string) {
	if s.err == nil {
		s.err = fmt.Errorf("stix: invalid JSON at offset %d: %s", s.i, msg)
	}
	s.i = len(s.src)
}

// typeError stops the scan for valid JSON that has the wrong shape.
func (s *jsonScan) typeError(msg string) {
	if s.err == nil {
		s.err = errors.New("stix: " + msg)
	}
	s.i = len(s.src)
}

func (s *jsonScan) put(b []byte) {
	if s.emit {
		s.out = append(s.out, b...)
	}
}

func (s *jsonScan) putByte(c byte) {
	if s.emit {
		s.out = append(s.out, c)
	}
}

// peek skips whitespace and returns the next byte, 0 at the end.
func (s *jsonScan) peek() byte {
	for s.i < len(s.src) {
		switch c := s.src[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// end checks that only whitespace follows the value just read.
func (s *jsonScan) end() {
	// Not peek() != 0: a NUL byte after the value is data too.
	if s.peek(); s.i != len(s.src) {
		s.fail("data after the top-level value")
	}
}

// value reads (and emits) one value of any kind; depth is the nesting of
// the container it is in.
func (s *jsonScan) value(depth int) {
	switch c := s.peek(); {
	case c == '"':
		text, esc := s.str()
		switch {
		case s.err != nil:
		case s.rep != nil:
			s.rep.value(s, text, esc)
		default:
			s.put(text)
		}
	case c == '{':
		s.members(depth+1, nil)
		s.putByte('}')
	case c == '[':
		s.elements(depth+1, nil)
		s.putByte(']')
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		s.number()
	case c == 0:
		s.fail("unexpected end of input")
	default:
		s.fail("unexpected " + strconv.QuoteRune(rune(c)))
	}
}

// valueSpan reads a value like value and returns its text in src (inner
// whitespace included), nil after an error.
func (s *jsonScan) valueSpan(depth int) []byte {
	s.peek()
	start := s.i
	s.value(depth)
	if s.err != nil {
		return nil
	}
	return s.src[start:s.i]
}

// members reads an object, src[i] being its '{'. It emits the '{', each key
// and ':', and the ',' between members, but not the closing '}', so that a
// caller can add members at the end. For each member it calls member with
// the key's text (quotes included) and whether it holds escapes; member
// must read the value and emit what it wants in its place. A nil member
// copies every value.
func (s *jsonScan) members(depth int, member func(key []byte, esc bool)) {
	if depth > maxScanDepth {
		s.fail("nested too deeply")
		return
	}
	s.i++
	s.putByte('{')
	if s.peek() == '}' {
		s.i++
		return
	}
	for s.err == nil {
		if s.peek() != '"' {
			s.fail("expected an object key")
			return
		}
		key, esc := s.str()
		if s.err != nil {
			return
		}
		if s.rep != nil {
			s.rep.key(key, esc)
		}
		s.put(key)
		if s.peek() != ':' {
			s.fail("expected ':' after an object key")
			return
		}
		s.i++
		s.putByte(':')
		if member != nil {
			member(key, esc)
		} else {
			s.value(depth)
		}
		switch s.peek() {
		case ',':
			s.i++
			s.putByte(',')
		case '}':
			s.i++
			return
		default:
			s.fail("expected ',' or '}' after an object member")
			return
		}
	}
}

// elements reads a list, src[i] being its '['. Like members it emits all
// but the closing ']'. elem, if not nil, must read (and emit) each element.
func (s *jsonScan) elements(depth int, elem func()) {
	if depth > maxScanDepth {
		s.fail("nested too deeply")
		return
	}
	s.i++
	s.putByte('[')
	if s.peek() == ']' {
		s.i++
		return
	}
	for s.err == nil {
		if elem != nil {
			elem()
		} else {
			s.value(depth)
		}
		switch s.peek() {
		case ',':
			s.i++
			s.putByte(',')
		case ']':
			s.i++
			return
		default:
			s.fail("expected ',' or ']' after a list element")
			return
		}
	}
}

// str reads a string, src[i] being its opening quote, and returns its text
// with the quotes and whether it holds escapes. It does not emit: the
// caller decides what goes out in its place.
func (s *jsonScan) str() (text []byte, escaped bool) {
	start := s.i
	for j := start + 1; j < len(s.src); {
		switch c := s.src[j]; {
		case c == '"':
			if !utf8.Valid(s.src[start+1 : j]) {
				s.i = start
				s.fail("a string is not valid UTF-8")
				return nil, false
			}
			s.i = j + 1
			return s.src[start:s.i], escaped
		case c == '\\':
			escaped = true
			if j+1 >= len(s.src) {
				s.i = j
				s.fail("unterminated string")
				return nil, false
			}
			switch s.src[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(s.src) || !hex4(s.src[j+2:j+6]) {
					s.i = j
					s.fail(`invalid \u escape`)
					return nil, false
				}
				j += 6
			default:
				s.i = j
				s.fail("invalid escape in string")
				return nil, false
			}
		case c < 0x20:
			s.i = j
			s.fail("control character in string")
			return nil, false
		default:
			j++
		}
	}
	s.fail("unterminated string")
	return nil, false
}

func hex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number reads (and emits) a number, checking the JSON number grammar.
func (s *jsonScan) number() {
	src, j := s.src, s.i
	digits := func() int {
		n := 0
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
			n++
		}
		return n
	}
	if src[j] == '-' {
		j++
	}
	switch {
	case j < len(src) && src[j] == '0':
		j++
	case digits() == 0:
		s.i = j
		s.fail("invalid number")
		return
	}
	if j < len(src) && src[j] == '.' {
		j++
		if digits() == 0 {
			s.i = j
			s.fail("invalid number")
			return
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		j++
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if digits() == 0 {
			s.i = j
			s.fail("invalid number")
			return
		}
	}
	s.put(src[s.i:j])
	s.i = j
}

// literal reads (and emits) true, false or null.
func (s *jsonScan) literal(word string) {
	if len(s.src)-s.i < len(word) || string(s.src[s.i:s.i+len(word)]) != word {
		s.fail("invalid literal")
		return
	}
	s.i += len(word)
	if s.emit {
		s.out = append(s.out, word...)
	}
}

// keyIs reports whether the key text (quotes included) names name.
func keyIs(key []byte, esc bool, name string) bool {
	if !esc {
		return string(key[1:len(key)-1]) == name
	}
	return string(unquoteJSON(key, true)) == name
}

// unquoteJSON returns the content of the JSON string text (quotes included),
// which jsonScan has checked. Without escapes it aliases text.
func unquoteJSON(text []byte, esc bool) []byte {
	if len(text) < 2 {
		return nil // what str returns after an error
	}
	if !esc {
		return text[1 : len(text)-1]
	}
	var v string
	if err := json.Unmarshal(text, &v); err != nil {
		// Unreachable for text jsonScan accepted; fall back to the raw
		// content rather than lose the string.
		return text[1 : len(text)-1]
	}
	return []byte(v)
}

// stringContent returns the content of a string value read by valueSpan.
func stringContent(v []byte) []byte {
	return unquoteJSON(v, bytes.IndexByte(v, '\\') >= 0)
}

// asciiEqualFold reports whether b and s are equal under ASCII case
// folding. STIX ids are ASCII; Unicode folding would let other characters
// ("ſ", "K") stand in for id letters.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if asciiLower(b[i]) != asciiLower(s[i]) {
			return false
		}
	}
	return true
}

// asciiContainsFold reports whether b contains s under ASCII case folding.
func asciiContainsFold(b []byte, s string) bool {
	if len(s) == 0 {
		return true
	}
	first := asciiLower(s[0])
	for i := 0; i+len(s) <= len(b); i++ {
		if asciiLower(b[i]) == first && asciiEqualFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func asciiLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
