package stix

import (
	"encoding/json"

	"github.com/eitaxii/eitaxii/stix/internal/jsonscan"
)

// decodeJSON parses b, which must hold exactly one JSON value (with
// optional surrounding white space), into the representation
// encoding/json gives with UseNumber: map[string]any, []any, string,
// json.Number, bool and nil. Invalid UTF-8 and lone surrogates in strings
// become U+FFFD, and a repeated key keeps its last value, as encoding/json
// does; a fuzz test holds the two to the same results. The tokens come from
// jsonscan, the package's one JSON scanner, and a syntax error is its
// *jsonscan.SyntaxError.
//
// It exists because validation decodes every object once, and this is
// several times faster than encoding/json's reflection-driven decoder on
// STIX objects.
func decodeJSON(b []byte) (any, error) {
	var d decoder
	d.s.AllowInvalidUTF8 = true // replaced by U+FFFD; checkIJSON reports it
	d.s.Reset(b)
	v := d.value(d.s.Next())
	if d.s.Err() == nil {
		d.s.Next() // only white space may follow
	}
	if err := d.s.Err(); err != nil {
		return nil, err
	}
	return v, nil
}

// decoder builds the tree of one JSON text from its tokens. After an error
// it returns nil values, and the scanner holds the error.
type decoder struct {
	s jsonscan.Scanner
}

// value returns the value that t, just read, begins.
func (d *decoder) value(t jsonscan.Token) any {
	switch t.Kind {
	case jsonscan.BeginObject:
		m := map[string]any{}
		for {
			k := d.s.Next()
			if k.Kind != jsonscan.Key {
				if k.Kind == jsonscan.EndObject {
					return m
				}
				return nil
			}
			key := d.str(k)
			m[key] = d.value(d.s.Next())
		}
	case jsonscan.BeginArray:
		a := []any{}
		for {
			e := d.s.Next()
			switch e.Kind {
			case jsonscan.EndArray:
				return a
			case jsonscan.None:
				return nil
			}
			a = append(a, d.value(e))
		}
	case jsonscan.String:
		return d.str(t)
	case jsonscan.Number:
		return json.Number(d.s.Bytes(t))
	case jsonscan.True:
		return true
	case jsonscan.False:
		return false
	}
	return nil // null, or an error
}

func (d *decoder) str(t jsonscan.Token) string {
	if t.Flags&(jsonscan.Escaped|jsonscan.InvalidUTF8) == 0 {
		return string(d.s.Content(t))
	}
	return string(d.s.AppendString(nil, t))
}
