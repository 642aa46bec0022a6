package stix

import (
	"errors"
	"fmt"

	"github.com/eitaxii/eitaxii/stix/internal/jsonscan"
)

// Collection policies change objects on their way into the store: a
// collection can add a marking to everything published in it, and an
// anonymized collection replaces the publisher's identity with a stand-in.
// The server otherwise stores and serves objects verbatim, so these rewrites
// work on the bytes: they copy every token as sent (key order, number text,
// string escapes, timestamp precision) and touch only the properties they
// are about. The result is compact: whitespace between tokens is dropped.
//
// Both rewrites and ObjectTLP read JSON with jsonScan, which steers the
// package's one scanner (jsonscan), instead of encoding/json: decoding into maps would reorder keys and
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
	s := newJSONScan(raw, true, make([]byte, 0, len(raw)+len(quoted)+len(`,"object_marking_refs":[]`)), nil)
	if s.peek() != '{' {
		return nil, false, errNotObject
	}
	found := false
	s.members(func(key jsonscan.Token) {
		switch {
		case s.keyIs(key, "object_marking_refs"):
			found = true
			switch s.peek() {
			case 'n':
				if !add {
					s.value()
					break
				}
				s.skip()
				s.out = append(s.out, '[')
				s.out = append(s.out, quoted...)
				s.out = append(s.out, ']')
			case '[':
				present := false
				s.elements(func() {
					if s.peek() != '"' {
						s.typeError("object_marking_refs must be a list of identifiers")
						return
					}
					t := s.next()
					s.putValue(s.sc.Bytes(t))
					if asciiEqualFold(s.str(t), markingID) {
						present = true
					}
				})
				if add && !present && s.err == nil {
					s.putValue([]byte(quoted))
				}
				s.putByte(']')
			default:
				s.typeError("object_marking_refs must be a list of identifiers")
			}
		case s.keyIs(key, "id"):
			exempt = false
			if id := s.stringValue(s.value()); id != nil {
				exempt = asciiEqualFold(id, markingID) || tlpIndex(id) >= 0
			}
		default:
			s.value()
		}
	})
	if s.err == nil && add && !found {
		s.putValue([]byte(`"object_marking_refs":[`))
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
	s := newJSONScan(raw, true, make([]byte, 0, len(raw)+len(`,"created_by_ref":`)+len(r.to)), &r)
	if s.peek() != '{' {
		return nil, errNotObject
	}
	var (
		typ, id, ext           []byte
		hasCreated, hasCreator bool
	)
	s.members(func(key jsonscan.Token) {
		switch {
		case s.keyIs(key, "created_by_ref"):
			// Whatever was there goes, so it is neither copied nor
			// searched for traces.
			hasCreator = true
			s.skip()
			s.out = append(s.out, r.to...)
		// Of a duplicated key the last counts, as for encoding/json.
		case s.keyIs(key, "type"):
			typ = s.stringValue(s.value())
		case s.keyIs(key, "id"):
			id = s.stringValue(s.value())
		case s.keyIs(key, "created"):
			hasCreated = true
			s.value()
		case s.keyIs(key, "extensions"):
			ext = s.valueSpan()
		default:
			s.value()
		}
	})
	if s.err == nil && !hasCreator && mayHaveCreator(string(typ), hasCreated, ext, id) {
		s.putValue([]byte(`"created_by_ref":`))
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
	sco := isSCOKind(typ, hasCreated, func() map[string]any {
		if len(extensions) == 0 {
			return nil
		}
		// Only custom objects pay for decoding their extensions.
		v, _ := decodeJSON(extensions)
		ext, _ := v.(map[string]any)
		return ext
	})
	return !sco && tlpIndex(id) < 0
}

// identityReplacer is ReplaceIdentity's hook into jsonScan: it sees every
// string the scanner copies.
type identityReplacer struct {
	from  string
	to    string // quoted
	trace bool   // from seen somewhere it was not replaced
}

// value copies the string token t, replacing it if it is the identity.
func (r *identityReplacer) value(s *jsonScan, t jsonscan.Token) {
	v := s.str(t)
	if asciiEqualFold(v, r.from) {
		s.putValue([]byte(r.to))
		return
	}
	if asciiContainsFold(v, r.from) {
		r.trace = true
	}
	s.putValue(s.sc.Bytes(t))
}

// key notes a trace of the identity in an object key (its value v), which
// is copied as is: renaming keys could merge two of them.
func (r *identityReplacer) key(v []byte) {
	if asciiContainsFold(v, r.from) {
		r.trace = true
	}
}

var errNotObject = errors.New("stix: not a JSON object")

// jsonScan steers jsonscan, the package's one JSON scanner, member by
// member for ObjectTLP and the rewrites, which must not accept what the
// rest of the package refuses: a string that is not valid UTF-8 is an
// error, because what the rewrites return is stored and served as sent
// (RFC 8259 §8.1, I-JSON §2.1). When emit is set it appends every token it
// reads to out, without the white space between tokens, so that copying a
// value costs no more than checking it; callers change what they need.
//
// After the first error every method returns at once, leaving err set, so
// callers check err once at the end.
type jsonScan struct {
	sc   jsonscan.Scanner
	err  error
	emit bool
	out  []byte
	rep  *identityReplacer // sees every string, when set
	last int               // the end of the last token read
}

func newJSONScan(src []byte, emit bool, out []byte, rep *identityReplacer) *jsonScan {
	s := &jsonScan{emit: emit, out: out, rep: rep}
	s.sc.Reset(src)
	return s
}

// syntax records the scanner's error, if it has one.
func (s *jsonScan) syntax() {
	if e := s.sc.SyntaxErr(); e != nil && s.err == nil {
		s.err = errors.New("stix: invalid JSON: " + e.Error())
	}
}

// typeError stops the scan for valid JSON that has the wrong shape.
func (s *jsonScan) typeError(msg string) {
	if s.err == nil {
		s.err = errors.New("stix: " + msg)
	}
}

// peek returns the first byte of the next token, 0 at the end or after an
// error.
func (s *jsonScan) peek() byte {
	if s.err != nil {
		return 0
	}
	c := s.sc.Peek()
	s.syntax()
	return c
}

// next reads a token; after an error its Kind is None.
func (s *jsonScan) next() jsonscan.Token {
	if s.err != nil {
		return jsonscan.Token{}
	}
	t := s.sc.Next()
	if t.Kind == jsonscan.None {
		s.syntax()
	}
	s.last = t.End
	return t
}

// str returns the value of a Key or String token, nil for any other.
func (s *jsonScan) str(t jsonscan.Token) []byte {
	if t.Kind != jsonscan.Key && t.Kind != jsonscan.String {
		return nil
	}
	if t.Flags&jsonscan.Escaped == 0 {
		return s.sc.Content(t)
	}
	return s.sc.AppendString(nil, t)
}

// keyIs reports whether the key token k names name.
func (s *jsonScan) keyIs(k jsonscan.Token, name string) bool {
	return string(s.str(k)) == name
}

// putValue emits b, a value or key as written, after the ',' that
// separates it from what came before in its container.
func (s *jsonScan) putValue(b []byte) {
	if !s.emit {
		return
	}
	if n := len(s.out); n > 0 && s.out[n-1] != '{' && s.out[n-1] != '[' && s.out[n-1] != ':' {
		s.out = append(s.out, ',')
	}
	s.out = append(s.out, b...)
}

func (s *jsonScan) putByte(c byte) {
	if s.emit {
		s.out = append(s.out, c)
	}
}

// end checks that only white space follows the value just read.
func (s *jsonScan) end() {
	s.next()
}

// skip reads one value without emitting it.
func (s *jsonScan) skip() {
	if s.sc.Skip(s.next()) < 0 {
		s.syntax()
	}
}

// value reads (and emits) one value of any kind. It returns the value's
// first token, a String for a string value.
func (s *jsonScan) value() jsonscan.Token {
	t := s.next()
	switch {
	case t.Kind == jsonscan.BeginObject:
		s.membersOf(t, nil)
		s.putByte('}')
	case t.Kind == jsonscan.BeginArray:
		s.elementsOf(t, nil)
		s.putByte(']')
	case t.Kind == jsonscan.None:
	case t.Kind == jsonscan.String && s.rep != nil:
		s.rep.value(s, t)
	default:
		s.putValue(s.sc.Bytes(t))
	}
	return t
}

// valueSpan reads a value like value and returns its text in the input
// (inner white space included), nil after an error.
func (s *jsonScan) valueSpan() []byte {
	t := s.value()
	if s.err != nil {
		return nil
	}
	return s.sc.Bytes(jsonscan.Token{Start: t.Start, End: s.last})
}

// members reads an object, '{' being next, and returns its '{' token. It
// emits the '{', each key and ':', and the ',' between members, but not
// the closing '}', so that a caller can add members at the end. For each
// member it calls member with the key token; member must read the value
// and emit what it wants in its place. A nil member copies every value.
func (s *jsonScan) members(member func(key jsonscan.Token)) jsonscan.Token {
	begin := s.next()
	s.membersOf(begin, member)
	return begin
}

// membersOf is members once the '{' token begin has been read.
func (s *jsonScan) membersOf(begin jsonscan.Token, member func(key jsonscan.Token)) {
	s.putValue(s.sc.Bytes(begin))
	for {
		k := s.next()
		if k.Kind != jsonscan.Key {
			return // '}', or an error
		}
		if s.rep != nil {
			s.rep.key(s.str(k))
		}
		s.putValue(s.sc.Bytes(k))
		s.putByte(':')
		if s.peek(); s.err != nil {
			return // the ':' is missing
		}
		if member != nil {
			member(k)
		} else {
			s.value()
		}
	}
}

// elements reads a list, '[' being next, and returns its '[' token. Like
// members it emits all but the closing ']'. elem, if not nil, must read
// (and emit) each element.
func (s *jsonScan) elements(elem func()) jsonscan.Token {
	begin := s.next()
	s.elementsOf(begin, elem)
	return begin
}

// elementsOf is elements once the '[' token begin has been read.
func (s *jsonScan) elementsOf(begin jsonscan.Token, elem func()) {
	s.putValue(s.sc.Bytes(begin))
	for s.err == nil {
		if s.peek() == ']' {
			s.next() // ']', or the error of a ']' after ','
			break
		}
		if elem != nil {
			elem()
		} else {
			s.value()
		}
	}
}

// stringValue returns the value of t if it is a string value, else nil.
func (s *jsonScan) stringValue(t jsonscan.Token) []byte {
	if t.Kind != jsonscan.String {
		return nil
	}
	return s.str(t)
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
