package stix

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// Ensure that the one-pass envelope scanner accepts and refuses what the
// encoding/json version did, on hand-picked bodies and the whole corpus.
func TestDecodeEnvelope_MatchesReference(t *testing.T) {
	bodies := []string{
		`{}`, `{"objects":[]}`, ` { "objects" : [ { "a" : 1 } , {"b":[1, 2]} ] } `,
		`{"type":"bundle","objects":[{"x":"y"}],"objects":[{"z":1}]}`,
		`{"objects":null}`, `{"objects":{}}`, `{"objects":[1]}`, `{"objects":[{}],}`, `[1]`, `{"objects":[{"a":"\u00e9\n"}]}`,
		`{"objects":[{"a":"b"}]} x`, `{"a":0,"oBjeCts":[{ }]}`, `{"Objects":[{}]}`, `{"objects":[{"a":tru}]}`, `{"more":false,"next":"x","objects":[{"id":"a"}]}`,
	}
	files, _ := filepath.Glob("../testdata/stix/valid/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, `{"objects":[`+string(b)+`,`+string(b)+`]}`)
	}
	for _, b := range bodies {
		if err := checkAgainstReference([]byte(b), EnvelopeLimits{MaxObjects: 64}); err != nil {
			t.Errorf("%.120s: %v", b, err)
		}
	}
}

func FuzzDecodeEnvelopeReference(f *testing.F) {
	for _, s := range []string{`{"objects":[{"a":[1,{"b":"c\"d"}]}]}`, ` {"x":1, "objects" : [ {} ] }`, `{"objects":[{"s":"\ud800"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := checkAgainstReference(body, EnvelopeLimits{MaxObjects: 8, MaxDepth: 16, MaxStringBytes: 64}); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
	})
}

func BenchmarkDecodeEnvelope(b *testing.B) {
	raw, err := os.ReadFile("../testdata/stix/valid/indicator-basic.json")
	if err != nil {
		files, _ := filepath.Glob("../testdata/stix/valid/indicator*.json")
		raw, _ = os.ReadFile(files[0])
	}
	body := []byte(`{"objects":[`)
	for i := range 1000 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, raw...)
	}
	body = append(body, "]}"...)
	b.SetBytes(int64(len(body)))
	b.Run("one-pass", func(b *testing.B) {
		for range b.N {
			if _, err := DecodeEnvelope(body, EnvelopeLimits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		for range b.N {
			if _, err := referenceDecodeEnvelope(body, EnvelopeLimits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
