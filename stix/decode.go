package stix

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeJSON parses b, which must hold exactly one JSON value (with
// optional surrounding white space), into the representation
// encoding/json gives with UseNumber: map[string]any, []any, string,
// json.Number, bool and nil. Invalid UTF-8 and lone surrogates in strings
// become U+FFFD, and a repeated key keeps its last value, as encoding/json
// does; a fuzz test holds the two to the same results.
//
// It exists because validation decodes every object once, and this is
// several times faster than encoding/json's reflection-driven decoder on
// STIX objects.
func decodeJSON(b []byte) (any, error) {
	d := decoder{b: b}
	d.space()
	v := d.value(0)
	if d.err == nil {
		d.space()
		if d.i < len(d.b) {
			d.fail("after the value")
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return v, nil
}

// maxDecodeDepth is encoding/json's own nesting limit.
const maxDecodeDepth = 10000

// decoder is a recursive-descent JSON parser over a byte slice. The first
// error stops it; later calls return zero values.
type decoder struct {
	b   []byte
	i   int
	err error
}

// syntaxError is a JSON syntax error at a byte offset.
type syntaxError struct {
	Offset int
	msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("offset %d: invalid JSON %s", e.Offset, e.msg)
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		if d.i < len(d.b) {
			msg = fmt.Sprintf("%s: unexpected %q", msg, d.b[d.i])
		} else {
			msg += ": unexpected end"
		}
		d.err = &syntaxError{Offset: d.i, msg: msg}
	}
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) any {
	if d.err != nil {
		return nil
	}
	if depth > maxDecodeDepth {
		d.fail("nested too deeply")
		return nil
	}
	if d.i >= len(d.b) {
		d.fail("value")
		return nil
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return d.literal("true", true)
	case c == 'f':
		return d.literal("false", false)
	case c == 'n':
		return d.literal("null", nil)
	}
	d.fail("value")
	return nil
}

func (d *decoder) literal(word string, v any) any {
	if len(d.b)-d.i >= len(word) && string(d.b[d.i:d.i+len(word)]) == word {
		d.i += len(word)
		return v
	}
	d.fail("literal")
	return nil
}

func (d *decoder) object(depth int) any {
	d.i++ // '{'
	m := map[string]any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return m
	}
	for d.err == nil {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			d.fail("object key")
			return nil
		}
		k := d.str()
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			d.fail("after object key")
			return nil
		}
		d.i++
		d.space()
		m[k] = d.value(depth + 1)
		d.space()
		if d.i >= len(d.b) {
			d.fail("after object value")
			return nil
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m
		default:
			d.fail("after object value")
		}
	}
	return nil
}

func (d *decoder) array(depth int) any {
	d.i++ // '['
	a := []any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return a
	}
	for d.err == nil {
		d.space()
		a = append(a, d.value(depth+1))
		d.space()
		if d.i >= len(d.b) {
			d.fail("after array element")
			return nil
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a
		default:
			d.fail("after array element")
		}
	}
	return nil
}

func (d *decoder) number() any {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case digits() == 0:
		d.fail("number")
		return nil
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			d.fail("number fraction")
			return nil
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			d.fail("number exponent")
			return nil
		}
	}
	return json.Number(d.b[start:d.i])
}

// str parses a string at d.i (which is '"').
func (d *decoder) str() string {
	d.i++
	start := d.i
	// Fast path: no escapes, all ASCII or valid UTF-8.
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if utf8.Valid(s) {
				return string(s)
			}
			return string([]rune(string(s))) // invalid bytes become U+FFFD
		case c == '\\':
			return d.slowStr(start)
		case c < 0x20:
			d.fail("control character in string")
			return ""
		}
		d.i++
	}
	d.fail("string")
	return ""
}

// slowStr finishes a string that has escapes, from its first byte at start.
func (d *decoder) slowStr(start int) string {
	out := make([]byte, 0, d.i-start+16)
	out = append(out, d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if utf8.Valid(out) {
				return string(out)
			}
			return string([]rune(string(out)))
		case c < 0x20:
			d.fail("control character in string")
			return ""
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		// An escape.
		if d.i+1 >= len(d.b) {
			break
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return ""
			}
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; anything else is a lone surrogate.
				r2 := rune(-1)
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					var ok2 bool
					if r2, ok2 = d.hex4(); !ok2 {
						return ""
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						continue
					}
					d.i = save // the second escape stands on its own
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			d.i--
			d.fail("escape in string")
			return ""
		}
	}
	d.fail("string")
	return ""
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		d.fail("\\u escape")
		return 0, false
	}
	n, err := strconv.ParseUint(string(d.b[d.i:d.i+4]), 16, 16)
	if err != nil {
		d.fail("\\u escape")
		return 0, false
	}
	d.i += 4
	return rune(n), true
}
