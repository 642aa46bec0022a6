package stix

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/eitaxii/eitaxii/stix/internal/jsonscan"
)

// checkIJSON reports where raw, one JSON text, is not I-JSON (RFC 7493),
// the profile every stored object must meet because the server stores and
// serves objects as sent, and every reader must see the same values in
// them. Each finding has Path the JSON pointer of the offending member or
// element ("/type", "/external_references/0/url") and one of these rules:
//
//   - "duplicate-key": a key appears more than once in the same object
//     (§2.3). Parsers disagree on which value wins: encoding/json keeps the
//     last, others keep the first or fail. Keys are compared after
//     unescaping, so "a" and "\u0061" are the same key; each duplicated key
//     is reported once per object.
//   - "i-json": a string (value or key) that is not valid UTF-8 or holds an
//     escaped lone surrogate such as "\ud800" (§2.1: strings MUST NOT
//     include code points that are surrogates or noncharacters; the
//     noncharacters are not checked, being valid if odd Unicode); a number
//     whose magnitude exceeds an IEEE 754 double (§2.2), such as 1e999999;
//     the value of a property that STIX 2.1 types integer (integerProperties)
//     outside [-(2**53)+1, (2**53)-1], the range STIX 2.1 §2.10 gives its
//     integer type from RFC 7493, in which every reader holds an integer
//     exactly. The property is known by its name alone, wherever it is (a
//     "size" in a custom dictionary too). Other numbers, custom properties
//     included, are checked for magnitude only: their type is not known,
//     and a large integer there is stored and served as sent. A value too
//     small for a double rounds to 0 in every reader and is accepted.
//
// raw should be valid JSON (Check parses it first); on anything else
// checkIJSON returns what it found before the first syntax error. Strings
// are read by jsonscan, which decides what is invalid UTF-8 and what is a
// lone surrogate for the whole package. Without duplicates or escaped keys
// it allocates only its two small stacks.
func checkIJSON(raw []byte) []Finding {
	d := dupScanner{stack: make([]dupFrame, 0, 8), keys: make([]dupKey, 0, 64)}
	d.scan(raw)
	return d.fs
}

// dupKey is one key seen in an object; b aliases raw unless the key had to
// be unescaped.
type dupKey struct {
	b        []byte
	reported bool
}

type dupFrame struct {
	object bool
	start  int            // this object's keys are keys[start:]
	index  map[string]int // key -> position in keys, once there are many
	cur    []byte         // current key (object) ...
	n      int            // ... or current element index (array)
}

// dupScanner keeps the keys of all open objects in one slice, each object
// owning the tail from its start, so that nesting costs no allocation once
// the slices have grown.
type dupScanner struct {
	stack []dupFrame
	keys  []dupKey
	fs    []Finding
}

// manyKeys is where an object switches from linear search to a map.
const manyKeys = 24

func (d *dupScanner) push(object bool) {
	d.stack = append(d.stack, dupFrame{object: object, start: len(d.keys), n: -1})
}

func (d *dupScanner) pop() {
	if n := len(d.stack); n > 0 {
		d.keys = d.keys[:d.stack[n-1].start]
		d.stack = d.stack[:n-1]
	}
}

// scan reads raw with the package's one scanner, which lets invalid UTF-8
// through (flagged) so that it can be reported here, and stops at the
// first syntax error.
func (d *dupScanner) scan(raw []byte) {
	s := jsonscan.Scanner{AllowInvalidUTF8: true}
	s.Reset(raw)
	for {
		t := s.Next()
		if t.IsValue() && len(d.stack) > 0 && !d.stack[len(d.stack)-1].object {
			d.stack[len(d.stack)-1].n++
		}
		switch t.Kind {
		case jsonscan.None:
			return
		case jsonscan.BeginObject:
			d.push(true)
		case jsonscan.BeginArray:
			d.push(false)
		case jsonscan.EndObject, jsonscan.EndArray:
			d.pop()
		case jsonscan.Key:
			key := s.Content(t)
			if t.Flags&jsonscan.Escaped != 0 {
				key = s.AppendString(nil, t)
			}
			d.key(key)
			d.checkString(t, true)
		case jsonscan.String:
			d.checkString(t, false)
		case jsonscan.Number:
			d.checkNumber(s.Bytes(t))
		}
	}
}

// key records key in the innermost object and reports it the first time
// it repeats.
func (d *dupScanner) key(key []byte) {
	f := &d.stack[len(d.stack)-1]
	f.cur = key
	own := d.keys[f.start:]
	seen := -1
	if f.index != nil {
		if j, ok := f.index[string(key)]; ok {
			seen = j
		}
	} else {
		for j := range own {
			if bytes.Equal(own[j].b, key) {
				seen = j
				break
			}
		}
	}
	if seen >= 0 {
		if !own[seen].reported {
			own[seen].reported = true
			d.fs = append(d.fs, Finding{
				Path: d.path(),
				Rule: "duplicate-key",
				Message: "key " + strconv.Quote(clip(string(key))) + " appears more than once in the same object; " +
					"send each key once (I-JSON, RFC 7493), since readers disagree on which value counts",
			})
		}
		return
	}
	d.keys = append(d.keys, dupKey{b: key})
	n := len(d.keys) - f.start
	switch {
	case f.index != nil:
		f.index[string(key)] = n - 1
	case n > manyKeys:
		f.index = make(map[string]int, 2*n)
		for j, k := range d.keys[f.start:] {
			f.index[string(k.b)] = j
		}
	}
}

// path renders the JSON pointer of the innermost object's current key.
func (d *dupScanner) path() string {
	var b strings.Builder
	for _, f := range d.stack {
		b.WriteByte('/')
		if f.object {
			b.WriteString(escapePointer(string(f.cur)))
		} else {
			b.WriteString(strconv.Itoa(f.n))
		}
	}
	return b.String()
}

// checkString reports a string, given as written between its quotes, that
// is not valid UTF-8 or escapes a lone surrogate. A key's finding names the
// key itself.
func (d *dupScanner) checkString(t jsonscan.Token, isKey bool) {
	what := "the value"
	if isKey {
		what = "the property name"
	}
	switch {
	case t.Flags&jsonscan.InvalidUTF8 != 0:
		d.fs = append(d.fs, Finding{Path: d.path(), Rule: "i-json",
			Message: what + " is not valid UTF-8 (a surrogate encoded as UTF-8 is not valid either); " +
				"send text as UTF-8 (I-JSON, RFC 7493 §2.1)"})
	case t.Flags&jsonscan.LoneSurrogate != 0:
		d.fs = append(d.fs, Finding{Path: d.path(), Rule: "i-json",
			Message: what + " holds a lone surrogate escape (\\ud800-\\udfff not part of a pair), which is no character; " +
				"escape a character outside the BMP as a surrogate pair (I-JSON, RFC 7493 §2.1)"})
	}
}

// maxExactInteger is 2**53-1, the largest integer every I-JSON reader holds
// exactly (RFC 7493 §2.2, STIX 2.1 §2.10).
const maxExactInteger = 1<<53 - 1

// checkNumber reports a number that is out of the range of a double or,
// as the value of an integer property, out of the range of exact integers.
func (d *dupScanner) checkNumber(num []byte) {
	if prop := d.property(); integerProperties[prop] {
		if !exactInteger(num) {
			d.fs = append(d.fs, Finding{Path: d.path(), Rule: "i-json",
				Message: prop + " " + clip(string(num)) + " is outside -(2**53)+1 to (2**53)-1, the range of a STIX integer, " +
					"in which every reader holds it exactly (STIX 2.1 §2.10, I-JSON, RFC 7493 §2.2)"})
		}
		return
	}
	if _, err := strconv.ParseFloat(string(num), 64); errors.Is(err, strconv.ErrRange) {
		d.fs = append(d.fs, Finding{Path: d.path(), Rule: "i-json",
			Message: "the number " + clip(string(num)) + " is too large for an IEEE 754 double (I-JSON, RFC 7493 §2.2)"})
	}
}

// exactInteger reports whether num, a JSON number, lies in
// [-(2**53)+1, (2**53)-1]. It need not be written as an integer (1e3 is
// one); whether it is whole is the schema's concern.
func exactInteger(num []byte) bool {
	digits := bytes.TrimPrefix(num, []byte("-"))
	if bytes.IndexAny(digits, ".eE") < 0 {
		// Sixteen digits hold every exact integer; longer ones are refused
		// without parsing, however long.
		n, err := strconv.ParseUint(string(digits), 10, 64)
		return len(digits) <= 16 && err == nil && n <= maxExactInteger
	}
	f, err := strconv.ParseFloat(string(digits), 64)
	return err == nil && f <= maxExactInteger
}

// property returns the name of the property whose value, or element of
// whose list value, the scanner is at; "" outside any object.
func (d *dupScanner) property() string {
	for i := len(d.stack) - 1; i >= 0; i-- {
		if d.stack[i].object {
			return string(d.stack[i].cur)
		}
	}
	return ""
}

// integerProperties are the properties that STIX 2.1 types integer, in
// the objects and predefined extensions of the embedded schemas (a test
// holds the two together).
var integerProperties = map[string]bool{
	"address_of_entry_point": true, "base_of_code": true, "base_of_data": true, "bits_per_pixel": true,
	"confidence": true, "count": true, "dst_byte_count": true, "dst_packets": true, "dst_port": true,
	"file_alignment": true, "gid": true, "image_base": true, "image_height": true, "image_width": true,
	"major_image_version": true, "major_linker_version": true, "major_os_version": true, "major_subsystem_version": true,
	"message_body_length": true, "minor_image_version": true, "minor_linker_version": true, "minor_os_version": true,
	"minor_subsystem_version": true, "number": true, "number_observed": true, "number_of_rva_and_sizes": true,
	"number_of_sections": true, "number_of_subkeys": true, "number_of_symbols": true, "pid": true,
	"section_alignment": true, "size": true, "size_of_code": true, "size_of_headers": true,
	"size_of_heap_commit": true, "size_of_heap_reserve": true, "size_of_image": true, "size_of_initialized_data": true,
	"size_of_optional_header": true, "size_of_stack_commit": true, "size_of_stack_reserve": true,
	"size_of_uninitialized_data": true, "socket_descriptor": true, "socket_handle": true, "src_byte_count": true,
	"src_packets": true, "src_port": true, "subject_public_key_exponent": true,
}
