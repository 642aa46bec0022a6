package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// stdDecode is what decodeJSON must agree with.
func stdDecode(b []byte) (any, error) {
	if !json.Valid(b) {
		return nil, errInvalid
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

var errInvalid = errors.New("not one valid JSON value")

func TestDecodeJSON_AgreesWithEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e10`, `-12.25E-3`, `true`, `false`, `null`,
		`{"a":1,"a":2}`, `{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00"}`,
		`"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, `"a\/b\\c\"d\n\t\r\b\f"`,
		"\"\xff\xfe\"", "\"ok\xc3\"", ` {"x" : [ 1 , 2 ] } `,
		`{"pattern":"[file:size > 10 AND file:name = 'a<b>&c']"}`,
	}
	bad := []string{`{`, `[1,]`, `{"a" 1}`, `01`, `1.`, `.5`, `-`, `1e`, `"\x"`, "\"\x01\"", `tru`, `{"a":1}x`, `"\u12"`, `[1 2]`, `{,}`, ``}
	for _, c := range cases {
		want, werr := stdDecode([]byte(c))
		got, gerr := decodeJSON([]byte(c))
		if (werr != nil) != (gerr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, %v; encoding/json %#v, %v", c, got, gerr, want, werr)
		}
	}
	for _, c := range bad {
		if _, err := decodeJSON([]byte(c)); err == nil {
			t.Errorf("%q: accepted", c)
		}
	}
	// Every object of the corpus decodes the same.
	files, _ := filepath.Glob("../testdata/stix/*/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, werr := stdDecode(b)
		got, gerr := decodeJSON(b)
		if (werr != nil) != (gerr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decodeJSON and encoding/json disagree (%v, %v)", f, gerr, werr)
		}
	}
	if len(files) < 100 {
		t.Fatalf("only %d corpus files", len(files))
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"type":"indicator","id":"x","n":[1,2.5,-3e2],"s":"\u00e9\ud83d\ude00\ud800"}`, `[{"a":{"b":[true,false,null]}}]`, "\"\xff\"", `{"a":1,"a":"2"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := stdDecode(b)
		got, gerr := decodeJSON(b)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%q: decodeJSON error %v, encoding/json error %v", b, gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodeJSON %#v, encoding/json %#v", b, got, want)
		}
	})
}

func BenchmarkDecodeJSON(b *testing.B) {
	raw := []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Phishing page","description":"Seen in a campaign against county election offices","indicator_types":["malicious-activity"],"pattern":"[domain-name:value = 'pollworker-login.example.net']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","labels":["phishing"],"confidence":80,"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}`)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := decodeJSON(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := stdDecode(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
