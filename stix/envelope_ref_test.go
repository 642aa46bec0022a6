package stix

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// referenceDecodeEnvelope is the straightforward encoding/json version of
// DecodeEnvelope, kept to test the one-pass scanner against. It splits a TAXII envelope or STIX bundle into its objects.
//
// The body must be a JSON object; "objects", when present, must be a list of
// JSON objects. The other members of an envelope or bundle ("more", "next",
// "type", "id", "spec_version") are ignored (conformance INT-07); any other
// member and any repeated member are refused. An absent "objects" gives an
// empty list (AMB-09). The returned slices are copies, not aliases of body.
// Errors wrap ErrBadEnvelope and say what is wrong: an unknown or repeated
// member, nesting deeper than lim.MaxDepth, more than lim.MaxObjects
// objects, or a string in objects[i] longer than lim.MaxStringBytes.
func referenceDecodeEnvelope(body []byte, lim EnvelopeLimits) ([]json.RawMessage, error) {
	lim = lim.withDefaults()
	if err := checkDepth(body, lim.MaxDepth); err != nil {
		return nil, err
	}
	// JSON white space only: bytes.TrimSpace would also drop "\v" and
	// other Unicode spaces, which make a body invalid JSON.
	trimmed := bytes.Trim(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: the body must be a JSON object with an \"objects\" list", ErrBadEnvelope)
	}
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case, but TAXII member names are exact ("oBjeCts" is not
	// "objects").
	var members map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &members); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %s", ErrBadEnvelope, jsonErrorText(err))
	}
	// The map has kept one value per name; the names as sent, repeats
	// included, come from the token stream.
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.Token() // '{'
	var seen envelopeMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: not valid JSON: %s", ErrBadEnvelope, jsonErrorText(err))
		}
		m, err := checkEnvelopeMember(tok.(string), seen)
		if err != nil {
			return nil, err
		}
		seen |= m
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("%w: not valid JSON: %s", ErrBadEnvelope, jsonErrorText(err))
		}
	}
	objects := members["objects"]
	if objects == nil {
		return nil, nil
	}
	if objects[0] != '[' {
		return nil, fmt.Errorf("%w: \"objects\" must be a list", ErrBadEnvelope)
	}
	var objs []json.RawMessage
	if err := json.Unmarshal(objects, &objs); err != nil {
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

// checkAgainstReference holds DecodeEnvelope to referenceDecodeEnvelope:
// both accept or both refuse, and accepted objects are the same JSON
// (DecodeEnvelope compacts them). The one deliberate difference: invalid
// UTF-8 outside the objects, which encoding/json lets through, is refused
// (inside them it is Check's to refuse, object by object). The reference calls
// the same checkEnvelopeMember, so the two agree on which members are
// known by construction; what is tested is that both find the same names.
func checkAgainstReference(body []byte, lim EnvelopeLimits) error {
	got, gerr := DecodeEnvelope(body, lim)
	want, werr := referenceDecodeEnvelope(body, lim)
	if gerr != nil && werr == nil {
		if !utf8Valid(body) {
			return nil
		}
		return fmt.Errorf("refused %v, the reference accepted", gerr)
	}
	if gerr == nil && werr != nil {
		return fmt.Errorf("accepted, the reference refused: %v", werr)
	}
	if gerr != nil {
		return nil
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d objects, the reference %d", len(got), len(want))
	}
	for i := range got {
		var compact bytes.Buffer
		if err := json.Compact(&compact, want[i]); err != nil {
			return err
		}
		if !bytes.Equal(got[i], compact.Bytes()) {
			return fmt.Errorf("objects[%d] = %s, the reference %s", i, got[i], compact.Bytes())
		}
	}
	return nil
}

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
