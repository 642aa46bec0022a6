package stix

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// checkDuplicateKeys reports every key that appears more than once in the
// same JSON object of raw, at any depth. I-JSON (RFC 7493 §2.3) forbids
// duplicate keys because parsers disagree on which value wins: encoding/json
// keeps the last, others keep the first or fail, so a stored object could
// say one thing to this server and another to a client.
//
// Keys are compared after unescaping, so "a" and "\u0061" are the same key.
// Each duplicated key is reported once per object, with Rule
// "duplicate-key" and Path the JSON pointer of the key ("/type",
// "/external_references/0/url"). raw should be valid JSON (Check parses it
// first); on anything else checkDuplicateKeys returns what it found so far
// and never panics. Without duplicates or escaped keys it allocates only
// its two small stacks.
func checkDuplicateKeys(raw []byte) []Finding {
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
	object    bool
	expectKey bool
	start     int            // this object's keys are keys[start:]
	index     map[string]int // key -> position in keys, once there are many
	cur       []byte         // current key (object) ...
	n         int            // ... or current element index (array)
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
	d.stack = append(d.stack, dupFrame{object: object, expectKey: object, start: len(d.keys)})
}

func (d *dupScanner) pop() {
	if n := len(d.stack); n > 0 {
		d.keys = d.keys[:d.stack[n-1].start]
		d.stack = d.stack[:n-1]
	}
}

func (d *dupScanner) scan(raw []byte) {
	for i := 0; i < len(raw); {
		switch raw[i] {
		case '{':
			d.push(true)
			i++
		case '[':
			d.push(false)
			i++
		case '}', ']':
			d.pop()
			i++
		case ',':
			if len(d.stack) > 0 {
				f := &d.stack[len(d.stack)-1]
				if f.object {
					f.expectKey = true
				} else {
					f.n++
				}
			}
			i++
		case '"':
			end, escaped := stringEnd(raw, i)
			if len(d.stack) > 0 && d.stack[len(d.stack)-1].expectKey {
				key := raw[i+1 : max(end-1, i+1)]
				if escaped {
					key = unescapeKey(raw[i:end], key)
				}
				d.key(key)
			}
			i = end
		default:
			i++
		}
	}
}

// key records key in the innermost object and reports it the first time
// it repeats.
func (d *dupScanner) key(key []byte) {
	f := &d.stack[len(d.stack)-1]
	f.expectKey = false
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

// stringEnd returns the index just past the string starting with the quote
// at raw[i], and whether it contains escapes; len(raw) if it never ends.
// It jumps from quote to quote with bytes.IndexByte, which is much faster
// than a byte loop on long values such as descriptions and patterns.
func stringEnd(raw []byte, i int) (end int, escaped bool) {
	for j := i + 1; ; {
		k := bytes.IndexByte(raw[j:], '"')
		if k < 0 {
			return len(raw), escaped || bytes.IndexByte(raw[j:], '\\') >= 0
		}
		q := j + k
		if bytes.IndexByte(raw[j:q], '\\') >= 0 {
			escaped = true
		}
		// The quote ends the string unless an odd number of backslashes
		// precedes it.
		bs := 0
		for p := q - 1; p > i && raw[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return q + 1, escaped
		}
		j = q + 1
	}
}

// unescapeKey decodes a quoted key with escapes; on malformed input it
// falls back to the raw characters between the quotes.
func unescapeKey(quoted, inner []byte) []byte {
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return inner
	}
	return []byte(s)
}
