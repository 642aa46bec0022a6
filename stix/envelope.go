package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

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

// withDefaults returns lim with each zero (or negative) limit set to its
// default.
func (lim EnvelopeLimits) withDefaults() EnvelopeLimits {
	if lim.MaxObjects <= 0 {
		lim.MaxObjects = defaultMaxObjects
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = defaultMaxDepth
	}
	if lim.MaxStringBytes <= 0 {
		lim.MaxStringBytes = defaultMaxStringBytes
	}
	return lim
}

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
// twice are refused, where INT-07 said to ignore unknown members (issue 9
// decided it): a client that misspells "objects" must not be told its
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
// The body is read in one pass of jsonscan, the package's one JSON
// scanner, that validates it, applies the limits and finds the objects;
// only objects that hold white space are copied.
func DecodeEnvelope(body []byte, lim EnvelopeLimits) ([]json.RawMessage, error) {
	lim = lim.withDefaults()
	var sc jsonscan.Scanner
	sc.MaxDepth = lim.MaxDepth
	sc.Reset(body)
	if sc.Peek() != '{' {
		return nil, fmt.Errorf("%w: the body must be a JSON object with an \"objects\" list", ErrBadEnvelope)
	}
	sc.Next()
	var objs []json.RawMessage
	count := 0
	var seen envelopeMember
	for {
		k := sc.Next()
		if k.Kind != jsonscan.Key {
			break // the end of the envelope, or an error
		}
		if sc.Peek(); sc.Err() != nil {
			break // the ':' is missing
		}
		m, err := checkEnvelopeMember(string(sc.AppendString(nil, k)), seen)
		if err != nil {
			return nil, err
		}
		seen |= m
		if m != memberObjects {
			sc.Skip(sc.Next())
			continue
		}
		if sc.Peek() != '[' {
			if sc.Err() != nil {
				break
			}
			return nil, fmt.Errorf("%w: \"objects\" must be a list", ErrBadEnvelope)
		}
		sc.Next()
		for {
			c := sc.Peek()
			if c == ']' {
				if sc.Next(); sc.Err() == nil {
					break
				}
				// "[{},]": a list element is missing.
			}
			if c != '{' {
				if sc.Err() == nil || c == ']' {
					return nil, fmt.Errorf("%w: objects[%d] is not a JSON object", ErrBadEnvelope, count)
				}
				break
			}
			if count++; count > lim.MaxObjects {
				sc.Skip(sc.Next()) // still checked, to report the whole count
				continue
			}
			obj, err := envelopeObject(&sc, len(objs), lim.MaxStringBytes)
			if err != nil {
				return nil, err
			}
			if obj == nil {
				break
			}
			objs = append(objs, obj)
		}
		if sc.Err() != nil {
			break
		}
	}
	if sc.Err() == nil {
		sc.Next() // only white space may follow
	}
	if e := sc.SyntaxErr(); e != nil {
		return nil, envelopeSyntaxError(e)
	}
	if count > lim.MaxObjects {
		return nil, fmt.Errorf("%w: %d objects in one envelope, at most %d are accepted; split it into several requests", ErrBadEnvelope, count, lim.MaxObjects)
	}
	return objs, nil
}

// envelopeObject reads objects[index], sc being at its '{', and returns it
// compact (aliasing the body unless it held white space between tokens).
// Inside it a string that is not valid UTF-8 is let through for
// Validator.Check to refuse, as it refuses that object alone; a string
// longer than maxStr is an error naming the object, and the property when
// the string is a property's own value. It returns nil and nil after a
// syntax error, which sc holds.
func envelopeObject(sc *jsonscan.Scanner, index, maxStr int) (json.RawMessage, error) {
	begin := sc.Next()
	depth := sc.Depth()
	sc.ClearSpaced()
	sc.AllowInvalidUTF8 = true
	defer func() { sc.AllowInvalidUTF8 = false }()
	var key jsonscan.Token // the property whose own value is next, if Kind is Key
	for {
		t := sc.Next()
		switch t.Kind {
		case jsonscan.None:
			return nil, nil
		case jsonscan.Key, jsonscan.String:
			if n := t.End - t.Start - 2; n > maxStr {
				l := longStr{n: n, isName: t.Kind == jsonscan.Key}
				if key.Kind == jsonscan.Key && t.Kind == jsonscan.String && key.End-key.Start-2 <= maxPropNameInMessage {
					l.prop = string(sc.Content(key))
				}
				return nil, fmt.Errorf("%w: objects[%d]: %s of %d bytes, at most %d are accepted", ErrBadEnvelope, index, l.what(), l.n, maxStr)
			}
		case jsonscan.EndObject:
			if sc.Depth() < depth {
				obj := json.RawMessage(sc.Bytes(jsonscan.Token{Start: begin.Start, End: t.End}))
				if sc.Spaced() {
					var buf bytes.Buffer
					buf.Grow(len(obj))
					json.Compact(&buf, obj) // valid: the scanner just read it
					obj = buf.Bytes()
				}
				return obj, nil
			}
		}
		key = t
	}
}

// envelopeSyntaxError words the scanner's error as DecodeEnvelope reports
// invalid JSON.
func envelopeSyntaxError(e *jsonscan.SyntaxError) error {
	switch e.Code {
	case jsonscan.ErrTooDeep:
		return fmt.Errorf("%w: JSON nested deeper than the %d levels accepted (byte offset %d of the body)", ErrBadEnvelope, e.Max, e.Offset)
	case jsonscan.ErrInvalidUTF8:
		// encoding/json would replace the bytes silently; outside the
		// objects, the envelope itself is not text.
		return fmt.Errorf("%w: not valid JSON: offset %d: a string is not valid UTF-8", ErrBadEnvelope, e.Offset)
	}
	what := e.Phrase()
	if e.Code == jsonscan.ErrTrailing {
		what = "after the envelope"
	}
	return fmt.Errorf("%w: not valid JSON: offset %d: unexpected %s %s", ErrBadEnvelope, e.Offset, e.Found("end of body"), what)
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
