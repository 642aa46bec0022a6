package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// compactTokens rebuilds the input from its tokens, compact: what
// json.Compact makes of valid input.
func compactTokens(s *Scanner) ([]byte, error) {
	var out []byte
	for {
		t := s.Next()
		if t.Kind == None {
			return out, s.Err()
		}
		if t.IsValue() || t.Kind == Key {
			if n := len(out); n > 0 && out[n-1] != '{' && out[n-1] != '[' && out[n-1] != ':' {
				out = append(out, ',')
			}
		}
		out = append(out, s.Bytes(t)...)
		if t.Kind == Key {
			out = append(out, ':')
		}
	}
}

// refLoneSurrogate is the reference for the LoneSurrogate flag: whether the
// string content, as written, has a \u escape of a surrogate that is not a
// high surrogate followed at once by an escaped low one.
func refLoneSurrogate(text []byte) bool {
	esc := func(i int) (rune, bool) {
		if len(text)-i < 6 || text[i] != '\\' || text[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(text[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i+1 < len(text); i++ {
		if text[i] != '\\' {
			continue
		}
		if text[i+1] != 'u' {
			i++
			continue
		}
		r, ok := esc(i)
		if !ok {
			return false
		}
		i += 5
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true
		case r >= 0xd800 && r <= 0xdbff:
			if lo, ok := esc(i + 1); !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// checkAgainstEncodingJSON holds the scanner to encoding/json on src: the
// same verdict on validity (strictly: with invalid UTF-8 refused unless
// allowed), the same compact text from the tokens, the same value for every
// string, and the flags a reference computes.
func checkAgainstEncodingJSON(t *testing.T, src []byte) {
	t.Helper()
	for _, allow := range []bool{false, true} {
		s := Scanner{AllowInvalidUTF8: allow}
		s.Reset(src)
		got, err := compactTokens(&s)
		want := json.Valid(src) && (allow || utf8.Valid(src))
		if (err == nil) != want {
			t.Fatalf("%q (AllowInvalidUTF8 %v): scanner error %v, encoding/json valid %v", src, allow, err, want)
		}
		if err != nil {
			if off := s.SyntaxErr().Offset; off < 0 || off > len(src) {
				t.Fatalf("%q: error offset %d outside the input", src, off)
			}
			continue
		}
		var c bytes.Buffer
		json.Compact(&c, src)
		if !bytes.Equal(got, c.Bytes()) {
			t.Fatalf("%q: tokens give %q, json.Compact %q", src, got, c.Bytes())
		}
	}
	if !json.Valid(src) {
		return
	}
	s := Scanner{AllowInvalidUTF8: true}
	s.Reset(src)
	for tok := s.Next(); tok.Kind != None; tok = s.Next() {
		if tok.Kind != Key && tok.Kind != String {
			continue
		}
		var want string
		if err := json.Unmarshal(s.Bytes(tok), &want); err != nil {
			t.Fatal(err)
		}
		content := s.Content(tok)
		if got := string(s.AppendString(nil, tok)); got != want {
			t.Fatalf("%q: string %q is %q, encoding/json %q", src, content, got, want)
		}
		if got, want := tok.Flags&Escaped != 0, bytes.IndexByte(content, '\\') >= 0; got != want {
			t.Fatalf("%q: string %q: Escaped %v", src, content, got)
		}
		if got, want := tok.Flags&InvalidUTF8 != 0, !utf8.Valid(content); got != want {
			t.Fatalf("%q: string %q: InvalidUTF8 %v", src, content, got)
		}
		if got, want := tok.Flags&LoneSurrogate != 0, refLoneSurrogate(content); got != want {
			t.Fatalf("%q: string %q: LoneSurrogate %v", src, content, got)
		}
	}
}

var seeds = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e10`, `-12.25E-3`, `true`, `false`, `null`,
	`{"a":1,"a":2}`, `{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00"}`,
	`"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, `"\ud800\ud800\udc00"`, `"\ud800x\udc00"`, `"\ud800\n"`,
	`"a\/b\\c\"d\n\t\r\b\f"`, "\"\xff\xfe\"", "\"ok\xc3\"", "\"\xed\xa0\x80\"", ` {"x" : [ 1 , 2 ] } `,
	`{"pattern":"[file:size > 10 AND file:name = 'a<b>&c']"}`, `"0123456789abcdef\"0123456789abcdef"`,
	"\"é0123456789abcdefé\x7f\"", `{"obj\u0065cts":[{"a":1}]}`,
	`{`, `[1,]`, `{"a" 1}`, `01`, `1.`, `.5`, `-`, `1e`, `"\x"`, "\"\x01\"", `tru`, `{"a":1}x`, `"\u12"`,
	`[1 2]`, `{,}`, ``, `{"a":1,}`, `[}`, `{]`, `{"a":1]`, `"\`, `"abc`, `{"abc`, `{"a\x":1}`, "{\"\xff\":1}", `{"a":"b`, "{}\x00", "\v1", `{"a":-}`,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
}

func TestScanner_AgreesWithEncodingJSON(t *testing.T) {
	for _, s := range seeds {
		checkAgainstEncodingJSON(t, []byte(s))
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkAgainstEncodingJSON(t, src)
	})
}

// Ensure that each error names its offset, byte and place as the envelope
// messages quote them.
func TestScanner_Errors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"a":1}x`, `offset 7: unexpected 'x' after the top-level value`},
		{`{"a" 1}`, `offset 5: unexpected '1' after a property name`},
		{`{"a":1 "b"}`, `offset 7: unexpected '"' after a property value`},
		{`[1 2]`, `offset 3: unexpected '2' after a list element`},
		{`{1}`, `offset 1: unexpected '1' where a property name belongs`},
		{`[1,]`, `offset 3: unexpected ']' where a value belongs`},
		{`[-x]`, `offset 1: unexpected '-' in a number`},
		{`["\x"]`, `offset 3: unexpected 'x' escape in a string`},
		{`["\u12"]`, `offset 3: unexpected 'u' in a \u escape`},
		{"[\"\x01\"]", `offset 2: unexpected '\x01' control character in a string`},
		{`["abc`, `offset 5: unexpected end of input in an unterminated string`},
		{"[\"\xff\"]", `offset 2: a string is not valid UTF-8`},
		{`[[[]]]`, `offset 2: nested too deeply (more than 2 levels)`},
	} {
		s := Scanner{MaxDepth: 2}
		s.Reset([]byte(tt.in))
		for s.Next().Kind != None {
		}
		if err := s.Err(); err == nil || err.Error() != tt.want {
			t.Errorf("%q: %v, want %s", tt.in, err, tt.want)
		}
	}
}

// Ensure that Peek sees the next token's first byte after its separators,
// and that Skip leaves the scanner after the value.
func TestScanner_PeekSkip(t *testing.T) {
	var s Scanner
	s.Reset([]byte(` {"a" : [1, {"b":[]}], "c" : true } `))
	if c := s.Peek(); c != '{' {
		t.Fatalf("Peek = %q", c)
	}
	s.Next()
	if k := s.Next(); k.Kind != Key || string(s.Content(k)) != "a" {
		t.Fatalf("key %v", k)
	}
	if c := s.Peek(); c != '[' {
		t.Fatalf("Peek = %q", c)
	}
	if end := s.Skip(s.Next()); end != 21 {
		t.Fatalf("Skip = %d", end)
	}
	if k := s.Next(); k.Kind != Key || string(s.Content(k)) != "c" {
		t.Fatalf("key %v", k)
	}
	if v := s.Next(); v.Kind != True || s.Depth() != 1 {
		t.Fatalf("value %v depth %d", v, s.Depth())
	}
	if e := s.Next(); e.Kind != EndObject || s.Depth() != 0 {
		t.Fatalf("end %v", e)
	}
	if e := s.Next(); e.Kind != None || s.Err() != nil {
		t.Fatalf("after the end %v, %v", e, s.Err())
	}
}

func BenchmarkScanner(b *testing.B) {
	src := []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Phishing page","description":"Seen in a campaign against county election offices","indicator_types":["malicious-activity"],"pattern":"[domain-name:value = 'pollworker-login.example.net']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","labels":["phishing"],"confidence":80,"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}`)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	var s Scanner
	for b.Loop() {
		s.Reset(src)
		for s.Next().Kind != None {
		}
		if s.Err() != nil {
			b.Fatal(s.Err())
		}
	}
}
