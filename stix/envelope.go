package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
// JSON objects. Other top-level keys (a bundle's type, id and spec_version,
// "more", "next") are ignored (conformance INT-07). An absent "objects" gives
// an empty list (AMB-09). The returned slices are copies, not aliases of
// body. Errors wrap ErrBadEnvelope and say what is wrong: nesting deeper than
// lim.MaxDepth, more than lim.MaxObjects objects, or a string in objects[i]
// longer than lim.MaxStringBytes.
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
	if err := checkDepth(body, lim.MaxDepth); err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: the body must be a JSON object with an \"objects\" list", ErrBadEnvelope)
	}
	var env struct {
		Objects json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %s", ErrBadEnvelope, jsonErrorText(err))
	}
	if env.Objects == nil {
		return nil, nil
	}
	if env.Objects[0] != '[' {
		return nil, fmt.Errorf("%w: \"objects\" must be a list", ErrBadEnvelope)
	}
	var objs []json.RawMessage
	if err := json.Unmarshal(env.Objects, &objs); err != nil {
		return nil, fmt.Errorf("%w: \"objects\": %s", ErrBadEnvelope, jsonErrorText(err))
	}
	if len(objs) > lim.MaxObjects {
		return nil, fmt.Errorf("%w: %d objects in one envelope, at most %d are accepted; split it into several requests", ErrBadEnvelope, len(objs), lim.MaxObjects)
	}
	for i, o := range objs {
		if len(o) == 0 || o[0] != '{' {
			return nil, fmt.Errorf("%w: objects[%d] is not a JSON object", ErrBadEnvelope, i)
		}
		if ls, ok := longString(o, lim.MaxStringBytes); ok {
			return nil, fmt.Errorf("%w: objects[%d]: %s of %d bytes, at most %d are accepted", ErrBadEnvelope, i, ls.what(), ls.n, lim.MaxStringBytes)
		}
	}
	return objs, nil
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

// longString finds the first string in the JSON value b whose encoded form,
// quotes excluded, is longer than max bytes.
func longString(b []byte, max int) (longStr, bool) {
	var name string // the last property name seen
	var prev byte   // the last significant byte outside strings
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '"' {
			switch c {
			case ' ', '\t', '\n', '\r':
			default:
				prev = c
			}
			continue
		}
		start := i + 1
		for i = start; i < len(b) && b[i] != '"'; i++ {
			if b[i] == '\\' {
				i++
			}
		}
		n := min(i, len(b)) - start
		j := i + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
			j++
		}
		isName := j < len(b) && b[j] == ':'
		if n > max {
			l := longStr{n: n, isName: isName}
			if !isName && prev == ':' {
				l.prop = name
			}
			return l, true
		}
		if isName {
			name = ""
			if n <= maxPropNameInMessage {
				name = string(b[start:i])
			}
		}
		prev = '"'
	}
	return longStr{}, false
}

// checkDepth refuses JSON nested deeper than max before any decoder sees it,
// so a hostile body cannot make a recursive decoder do unbounded work.
func checkDepth(b []byte, max int) error {
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("%w: JSON nested deeper than the %d levels accepted (byte offset %d of the body)", ErrBadEnvelope, max, i)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

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
