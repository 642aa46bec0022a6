package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/eitaxii/eitaxii/stix/internal/jsonscan"
)

// EnvelopeLimits bound what DecodeEnvelope accepts. Zero values mean the
// defaults below.
type EnvelopeLimits struct {
	MaxObjects int // objects in one envelope; default 100,000
	MaxDepth   int // JSON nesting depth of the whole body; default 64
	// MaxStringBytes bounds any one JSON string in an object, property
	// names included, measured as sent (escapes count as written, so a
	// string is refused only if its encoded form is longer); default 1 MiB.
	MaxStringBytes int
}

const (
	defaultMaxObjects     = 100000
	defaultMaxDepth       = 64
	defaultMaxStringBytes = 1 << 20
)

// ErrBadEnvelope reports a request body that is not a usable TAXII envelope
// (or STIX bundle). Nothing of such a body may be stored; the TAXII layer
// answers 422.
var ErrBadEnvelope = errors.New("unusable envelope")

// DecodeEnvelope splits a TAXII envelope or STIX bundle into its objects.
//
// The body must be a JSON object; "objects", when present, must be a list of
// JSON objects. The other members an envelope or a bundle may have (an
// envelope's "more" and "next", a bundle's "type", "id" and "spec_version")
// are accepted and their values ignored (conformance INT-07). Any other
// member, a mis-cased one such as "Objects" included, and any member given
// twice are refused: a client that misspells "objects" must not be told its
// objects were stored, and readers disagree on which of two "objects" lists
// counts (I-JSON, RFC 7493 §2.3). Member names are compared after
// unescaping. An absent "objects" gives an empty list (AMB-09). Each object
// is returned compact (no insignificant white space), aliasing body where it
// already was. A string in an object that is not valid UTF-8 is left for
// Validator.Check to refuse, as it refuses that object alone. Errors wrap
// ErrBadEnvelope and say what is wrong: invalid JSON (a string outside the
// objects that is not valid UTF-8 included), an unknown or repeated member
// (named), nesting deeper than lim.MaxDepth, more than lim.MaxObjects
// objects, or a string in objects[i] longer than lim.MaxStringBytes.
//
// The body is read in one pass that validates it, applies the limits and
// finds the objects; only objects that hold white space are copied.
func DecodeEnvelope(body []byte, lim EnvelopeLimits) ([]json.RawMessage, error) {
	if lim.MaxObjects <= 0 {
		lim.MaxObjects = defaultMaxObjects
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = defaultMaxDepth
	}
	if lim.MaxStringBytes <= 0 {
		lim.MaxStringBytes = defaultMaxStringBytes
	}
	sc := envScanner{b: body, maxDepth: lim.MaxDepth, maxStr: lim.MaxStringBytes, object: -1}
	sc.space()
	if sc.i >= len(body) || body[sc.i] != '{' {
		return nil, fmt.Errorf("%w: the body must be a JSON object with an \"objects\" list", ErrBadEnvelope)
	}
	var objs []json.RawMessage
	count := 0
	var seen envelopeMember
	sc.members(1, func(key []byte) {
		if sc.err != nil {
			return
		}
		name := string(key)
		if bytes.IndexByte(key, '\\') >= 0 {
			name = string(jsonscan.AppendUnquoted(nil, key))
		}
		m, err := checkEnvelopeMember(name, seen)
		if err != nil {
			sc.err = err
			return
		}
		seen |= m
		if m != memberObjects {
			sc.value(1)
			return
		}
		if sc.i >= len(body) || body[sc.i] != '[' {
			if objs == nil && sc.err == nil {
				sc.err = fmt.Errorf("%w: \"objects\" must be a list", ErrBadEnvelope)
			}
			return
		}
		sc.elements(2, func() {
			if sc.i >= len(body) || body[sc.i] != '{' {
				if sc.err == nil {
					sc.err = fmt.Errorf("%w: objects[%d] is not a JSON object", ErrBadEnvelope, count)
				}
				return
			}
			if count++; count > lim.MaxObjects {
				sc.value(2) // still checked, to report the whole count
				return
			}
			start, ws := sc.i, sc.ws
			sc.object, sc.ws = len(objs), false
			sc.value(2)
			obj := json.RawMessage(body[start:sc.i])
			if sc.ws && sc.err == nil {
				var buf bytes.Buffer
				buf.Grow(len(obj))
				json.Compact(&buf, obj) // valid: the scanner just checked it
				obj = buf.Bytes()
			}
			sc.object, sc.ws = -1, ws
			objs = append(objs, obj)
		})
	})
	if sc.err == nil {
		sc.space()
		if sc.i < len(body) {
			sc.fail("after the envelope")
		}
	}
	if sc.err != nil {
		return nil, sc.err
	}
	if count > lim.MaxObjects {
		return nil, fmt.Errorf("%w: %d objects in one envelope, at most %d are accepted; split it into several requests", ErrBadEnvelope, count, lim.MaxObjects)
	}
	return objs, nil
}

// envelopeMember is one of the top-level members DecodeEnvelope accepts, as
// a bit so that a set of them is a mask.
type envelopeMember uint8

const (
	memberObjects envelopeMember = 1 << iota
	memberMore
	memberNext
	memberType
	memberID
	memberSpecVersion
)

var envelopeMembers = map[string]envelopeMember{
	"objects": memberObjects, "more": memberMore, "next": memberNext,
	"type": memberType, "id": memberID, "spec_version": memberSpecVersion,
}

// checkEnvelopeMember returns the member called name (unescaped), or an
// error wrapping ErrBadEnvelope when name is not an envelope or bundle
// member or is in seen already.
func checkEnvelopeMember(name string, seen envelopeMember) (envelopeMember, error) {
	m, ok := envelopeMembers[name]
	quoted := strconv.Quote(clip(name))
	switch {
	case !ok:
		hint := "a TAXII envelope has objects, more and next; a STIX bundle type, id, spec_version and objects"
		for known := range envelopeMembers {
			if strings.EqualFold(known, name) {
				// Member names are case-sensitive (RFC 8259 §4).
				hint = "member names are case-sensitive: write " + strconv.Quote(known)
			}
		}
		return 0, fmt.Errorf("%w: unknown top-level member %s (%s)", ErrBadEnvelope, quoted, hint)
	case seen&m != 0:
		return 0, fmt.Errorf("%w: the top-level member %s appears more than once; send it once (I-JSON, RFC 7493 §2.3), since readers disagree on which one counts", ErrBadEnvelope, quoted)
	}
	return m, nil
}

// envScanner validates JSON in one pass while applying the envelope's
// limits. The first error stops it.
type envScanner struct {
	b        []byte
	i        int
	maxDepth int
	maxStr   int
	err      error
	ws       bool   // white space seen outside strings (the object needs compacting)
	object   int    // index of the object being read, -1 outside objects
	prop     string // the last property name read
	atValue  bool   // the next value is prop's own (not inside a list)
	// keyStart and keyEnd delimit the last property name read, quotes
	// included.
	keyStart, keyEnd int
}

func (s *envScanner) fail(what string) {
	if s.err != nil {
		return
	}
	found := "end of body"
	if s.i < len(s.b) {
		found = fmt.Sprintf("%q", s.b[s.i])
	}
	s.err = fmt.Errorf("%w: not valid JSON: offset %d: unexpected %s %s", ErrBadEnvelope, s.i, found, what)
}

func (s *envScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
			s.ws = true
		default:
			return
		}
	}
}

// value skips one value held by a container at the given depth (the
// body's object is depth 1).
func (s *envScanner) value(depth int) {
	if s.err != nil {
		return
	}
	if s.i >= len(s.b) {
		s.fail("where a value belongs")
		return
	}
	direct := s.atValue
	s.atValue = false
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		if depth+1 > s.maxDepth {
			s.err = fmt.Errorf("%w: JSON nested deeper than the %d levels accepted (byte offset %d of the body)", ErrBadEnvelope, s.maxDepth, s.i)
			return
		}
		if c == '{' {
			s.members(depth+1, func([]byte) { s.value(depth + 1) })
		} else {
			s.elements(depth+1, func() { s.value(depth + 1) })
		}
	case c == '"':
		s.str(false, direct)
	case c == '-' || c >= '0' && c <= '9':
		d := decoder{b: s.b, i: s.i}
		d.number()
		if d.err != nil {
			s.fail("in a number")
			return
		}
		s.i = d.i
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				s.i += len(lit)
				return
			}
		}
		s.fail("where a value belongs")
	}
}

// members reads an object at s.i ('{'), calling member with each key (raw,
// as written) positioned at its value, which member must consume.
func (s *envScanner) members(depth int, member func(key []byte)) {
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return
	}
	for s.err == nil {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			s.fail("where a property name belongs")
			return
		}
		s.keyStart = s.i
		key := s.str(true, false)
		s.keyEnd = s.i
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			s.fail("after a property name")
			return
		}
		s.i++
		s.space()
		s.atValue = true
		member(key)
		s.atValue = false
		s.space()
		if s.err != nil {
			return
		}
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return
		}
		s.fail("after a property value")
	}
}

// elements reads an array at s.i ('['), calling elem positioned at each
// element, which elem must consume.
func (s *envScanner) elements(depth int, elem func()) {
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return
	}
	for s.err == nil {
		s.space()
		elem()
		s.space()
		if s.err != nil {
			return
		}
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return
		}
		s.fail("after a list element")
	}
}

// str reads a string at s.i and returns its raw content (escapes as
// written). Strings inside objects longer than maxStr are refused, naming
// the object, and the property when the string is a property's own value.
func (s *envScanner) str(isName, propValue bool) []byte {
	start := s.i + 1
	for s.i = start; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if len(raw) > s.maxStr && s.object >= 0 && s.err == nil {
				l := longStr{n: len(raw), isName: isName}
				if propValue {
					l.prop = s.prop
				}
				s.err = fmt.Errorf("%w: objects[%d]: %s of %d bytes, at most %d are accepted", ErrBadEnvelope, s.object, l.what(), l.n, s.maxStr)
			}
			if isName {
				s.prop = ""
				if len(raw) <= maxPropNameInMessage {
					s.prop = string(raw)
				}
			}
			if s.object < 0 && !utf8.Valid(raw) && s.err == nil {
				// encoding/json would replace the bytes silently. Inside
				// an object, Validator.Check refuses that one object
				// (naming the property) and the others still go through;
				// outside, the envelope itself is not text.
				s.err = fmt.Errorf("%w: not valid JSON: offset %d: a string is not valid UTF-8", ErrBadEnvelope, start)
			}
			return raw
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				s.fail("in an unterminated string")
				return nil
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s.b)-s.i < 5 || !isHex4(s.b[s.i+1:s.i+5]) {
					s.fail("in a \\u escape")
					return nil
				}
				s.i += 4
			default:
				s.fail("escape in a string")
				return nil
			}
		case c < 0x20:
			s.fail("control character in a string")
			return nil
		}
	}
	s.fail("in an unterminated string")
	return nil
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// longStr describes a JSON string found too long by longString.
type longStr struct {
	n      int    // encoded length, quotes excluded
	prop   string // the property it is the value of, if any
	isName bool   // it is itself a property name
}

func (l longStr) what() string {
	switch {
	case l.isName:
		return "a property name"
	case l.prop != "":
		return fmt.Sprintf("the value of %q is a JSON string", l.prop)
	}
	return "a JSON string"
}

// maxPropNameInMessage bounds a property name quoted in an error.
const maxPropNameInMessage = 64

// jsonErrorText turns encoding/json errors into a message with a byte offset.
func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("offset %d: %s", syn.Offset, syn.Error())
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("offset %d: %s must not be a JSON %s", typ.Offset, fieldOrValue(typ.Field), typ.Value)
	}
	return err.Error()
}

func fieldOrValue(f string) string {
	if f == "" {
		return "the value"
	}
	return "\"" + f + "\""
}
