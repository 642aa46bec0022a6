package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A pollers' page of 1000 indicators is close to a megabyte; decoding it
// with encoding/json costs about 9 µs per object, which on a small machine
// shared with the server would measure the load tool, not the server. So
// pages are read by a small scanner that keeps only the fields the checks
// need and skips the rest. It checks the JSON structure as it goes
// (brackets, commas, colons, strings, literals) and fails on anything
// malformed; numbers are only checked to consist of number characters.

// pageEntry is what the checks need of one listed object or manifest entry.
type pageEntry struct {
	ID        string
	Modified  string
	Created   string
	Version   string // manifest
	DateAdded string // manifest
}

// version is the entry's version: a manifest entry's version, an
// object's modified, else its created.
func (e *pageEntry) version(manifest bool) string {
	switch {
	case manifest:
		return e.Version
	case e.Modified != "":
		return e.Modified
	}
	return e.Created
}

// pageResource is a page of the objects or the manifest endpoint (an
// envelope or a manifest resource).
type pageResource struct {
	More    bool
	Next    string
	Objects []pageEntry
}

var errSyntax = errors.New("malformed JSON")

// parsePage reads a page, reusing pg.Objects' storage.
func parsePage(b []byte, pg *pageResource) error {
	s := scanner{b: b}
	*pg = pageResource{Objects: pg.Objects[:0]}
	err := s.object(func(name []byte) error {
		switch string(name) {
		case "more":
			v, err := s.literal()
			if err != nil {
				return err
			}
			pg.More = v == "true"
		case "next":
			v, err := s.stringOrNull()
			if err != nil {
				return err
			}
			pg.Next = v
		case "objects":
			return s.array(func() error {
				var e pageEntry
				err := s.object(func(name []byte) error {
					var dst *string
					switch string(name) {
					case "id":
						dst = &e.ID
					case "modified":
						dst = &e.Modified
					case "created":
						dst = &e.Created
					case "version":
						dst = &e.Version
					case "date_added":
						dst = &e.DateAdded
					default:
						return s.skip()
					}
					v, err := s.stringOrNull()
					*dst = v
					return err
				})
				pg.Objects = append(pg.Objects, e)
				return err
			})
		default:
			return s.skip()
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.space()
	if s.i != len(s.b) {
		return fmt.Errorf("%w: data after the top-level value at byte %d", errSyntax, s.i)
	}
	return nil
}

// scanner reads JSON from b.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", errSyntax, what, s.i)
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (s *scanner) peek() byte {
	s.space()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// object reads an object, calling member for each member name with the
// scanner at the value, which member must consume.
func (s *scanner) object(member func(name []byte) error) error {
	return s.sequence('{', '}', "an object", func() error {
		if s.peek() != '"' {
			return s.fail("expected a member name")
		}
		name, raw, err := s.rawString()
		if err != nil {
			return err
		}
		if raw {
			// An escaped name: compare it unescaped.
			var n string
			if err := json.Unmarshal(name, &n); err != nil {
				return s.fail("bad member name")
			}
			name = []byte(n)
		}
		if s.peek() != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		return member(name)
	})
}

// array reads an array, calling elem with the scanner at each element.
func (s *scanner) array(elem func() error) error {
	return s.sequence('[', ']', "an array", elem)
}

// sequence reads what (an object or an array): open, then items separated
// by commas, each read by item, then end.
func (s *scanner) sequence(open, end byte, what string, item func() error) error {
	if s.peek() != open {
		return s.fail("expected " + what)
	}
	s.i++
	if s.peek() == end {
		s.i++
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case end:
			s.i++
			return nil
		default:
			return s.fail("expected ',' or '" + string(end) + "'")
		}
	}
}

// rawString reads a string token. Without escapes it returns the contents
// and false; with escapes, the whole token including quotes, and true.
func (s *scanner) rawString() ([]byte, bool, error) {
	start := s.i
	s.i++ // the opening quote
	escaped := false
	for {
		// Jump to the next quote, then look back for escapes in between.
		q := bytes.IndexByte(s.b[s.i:], '"')
		if q < 0 {
			s.i = len(s.b)
			return nil, false, s.fail("unterminated string")
		}
		seg := s.b[s.i : s.i+q]
		for _, c := range seg {
			if c < 0x20 {
				return nil, false, s.fail("control character in a string")
			}
		}
		if bytes.IndexByte(seg, '\\') >= 0 {
			escaped = true
			// The quote ends the string unless an odd run of backslashes
			// precedes it.
			n := 0
			for k := len(seg) - 1; k >= 0 && seg[k] == '\\'; k-- {
				n++
			}
			if n%2 == 1 {
				s.i += q + 1
				continue
			}
		}
		s.i += q + 1
		if escaped {
			return s.b[start:s.i], true, nil
		}
		return s.b[start+1 : s.i-1], false, nil
	}
}

// stringOrNull reads a string ("" for null).
func (s *scanner) stringOrNull() (string, error) {
	switch s.peek() {
	case '"':
		b, raw, err := s.rawString()
		if err != nil {
			return "", err
		}
		if !raw {
			return string(b), nil
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return "", s.fail("bad string escape")
		}
		return v, nil
	case 'n':
		_, err := s.literal()
		return "", err
	}
	return "", s.fail("expected a string")
}

// literal reads true, false or null.
func (s *scanner) literal() (string, error) {
	s.space()
	for _, lit := range []string{"true", "false", "null"} {
		if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
			s.i += len(lit)
			return lit, nil
		}
	}
	return "", s.fail("expected true, false or null")
}

// skip reads and discards any value.
func (s *scanner) skip() error {
	switch c := s.peek(); {
	case c == '{':
		return s.object(func([]byte) error { return s.skip() })
	case c == '[':
		return s.array(s.skip)
	case c == '"':
		_, _, err := s.rawString()
		return err
	case c == '-' || c >= '0' && c <= '9':
		for s.i < len(s.b) && isNumberByte(s.b[s.i]) {
			s.i++
		}
		return nil
	default:
		_, err := s.literal()
		return err
	}
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// key identifies an object version: the first 16 bytes of SHA-256 over the
// id and the version, with a timestamp version taken as its instant, so
// that "…00.000Z" from an object and "…00Z" from a manifest compare equal.
// Collisions are out of reach at any run's size.
type key [16]byte

func keyOf(id, version string) key {
	var buf [128]byte
	b := append(buf[:0], id...)
	if t, ok := parseStamp(version); ok {
		b = append(b, 0)
		b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
		b = binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
	} else {
		b = append(b, 1)
		b = append(b, version...)
	}
	sum := sha256.Sum256(b)
	var k key
	copy(k[:], sum[:])
	return k
}

// parseStamp parses a STIX/TAXII timestamp, YYYY-MM-DDTHH:MM:SS[.fraction]Z,
// quickly in that form and through time.Parse in any other RFC 3339 form.
func parseStamp(s string) (time.Time, bool) {
	num := func(lo, hi int) int {
		n := 0
		for k := lo; k < hi; k++ {
			c := s[k]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	if len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[len(s)-1] == 'Z' {
		y, mo, d, h, mi, sec := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
		ns, ok := 0, true
		switch {
		case len(s) == 20:
		case s[19] == '.' && len(s) > 21 && len(s) <= 30:
			f := num(20, len(s)-1)
			ns = f
			for k := len(s) - 1 - 20; k < 9; k++ {
				ns *= 10
			}
			ok = f >= 0
		default:
			ok = false
		}
		if ok && y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && sec >= 0 && sec < 60 {
			t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
			if t.Day() == d { // not Feb 30
				return t, true
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
