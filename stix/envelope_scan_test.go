package stix

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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
		`{"objects":[],"objects":[]}`, `{"more":false,"more":true,"objects":[]}`, `{"obj\u0065cts":[{"a":1}]}`, `{"x":1}`,
		`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","spec_version":"2.0","objects":[{}]}`,
		`{"\u006fbjects":[{}],"objects":[{}]}`, `{"objects":[{}],"x_custom":true}`,
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
	for _, s := range []string{`{"objects":[{"a":[1,{"b":"c\"d"}]}]}`, ` {"x":1, "objects" : [ {} ] }`, `{"objects":[{"s":"\ud800"}]}`, `{"objects":[{}],"obj\u0065cts":[]}`, `{"more":true,"Next":"x"}`} {
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

// Ensure that DecodeEnvelope refuses top-level members an envelope or bundle
// does not have, mis-cased ones included, and repeated members, naming the
// member; and that it accepts every member it knows (conformance INT-07:
// a STIX bundle is accepted as an envelope, REQ-59: the envelope members).
func TestDecodeEnvelope_Members(t *testing.T) {
	for _, tt := range []struct {
		name, body, want string
	}{
		{"MixedCase", `{"oBjeCts":[{}]}`, `unknown top-level member "oBjeCts" (member names are case-sensitive: write "objects")`},
		{"Capitalized", `{"objects":[],"Objects":[{}]}`, `unknown top-level member "Objects" (member names are case-sensitive: write "objects")`},
		{"UpperMore", `{"MORE":false,"objects":[]}`, `unknown top-level member "MORE" (member names are case-sensitive: write "more")`},
		{"Unknown", `{"objects":[{}],"x_note":"hi"}`, `unknown top-level member "x_note" (a TAXII envelope has objects, more and next; a STIX bundle type, id, spec_version and objects)`},
		{"UnknownEscaped", `{"\u0078":1}`, `unknown top-level member "x"`},
		{"DuplicateObjects", `{"type":"bundle","objects":[{"x":"y"}],"objects":[{"z":1}]}`, `the top-level member "objects" appears more than once`},
		{"DuplicateEscaped", `{"objects":[],"obj\u0065cts":[{}]}`, `the top-level member "objects" appears more than once`},
		{"DuplicateMore", `{"more":false,"objects":[],"more":true}`, `the top-level member "more" appears more than once`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := DecodeEnvelope([]byte(tt.body), EnvelopeLimits{})
			if !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("got %d objects, err = %v; want ErrBadEnvelope", len(objs), err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.want)
			}
			if _, rerr := referenceDecodeEnvelope([]byte(tt.body), EnvelopeLimits{}); rerr == nil {
				t.Errorf("the reference decoder accepts it")
			}
		})
	}
	t.Run("Known", func(t *testing.T) {
		body := `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","spec_version":"2.1","more":false,"next":"abc","objects":[{"a":1}]}`
		objs, err := DecodeEnvelope([]byte(body), EnvelopeLimits{})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 || string(objs[0]) != `{"a":1}` {
			t.Fatalf("objects %q, want one {\"a\":1}", objs)
		}
	})
}

// Ensure that a string that is not valid UTF-8 inside an object leaves the
// envelope usable, so that Check refuses that object alone (I-JSON, issue
// 9), while one outside the objects makes the envelope unusable.
func TestDecodeEnvelope_InvalidUTF8(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	good := `{"type":"mutex","id":"mutex--eba44954-d4e4-5d3b-814c-2b17dd8de300","name":"__CLEANSWEEP__"}`
	bad := `{"type":"mutex","id":"mutex--eba44954-d4e4-5d3b-814c-2b17dd8de301","name":"` + "\xed\xa0\x80" + `"}`
	objs, err := DecodeEnvelope([]byte(`{"objects":[`+good+`,`+bad+`]}`), EnvelopeLimits{})
	if err != nil || len(objs) != 2 {
		t.Fatalf("got %d objects, err %v; want both objects", len(objs), err)
	}
	if _, fs := v.Check(objs[0]); len(fs) != 0 {
		t.Errorf("the good object: %v", fs)
	}
	h, fs := v.Check(objs[1])
	if len(fs) == 0 || fs[0].String() != "/name: the value is not valid UTF-8 (a surrogate encoded as UTF-8 is not valid either); send text as UTF-8 (I-JSON, RFC 7493 §2.1) (i-json)" {
		t.Errorf("the bad object: %v", fs)
	}
	if h.ID != "mutex--eba44954-d4e4-5d3b-814c-2b17dd8de301" {
		t.Errorf("header id %q, want the object's", h.ID)
	}
	if _, err := DecodeEnvelope([]byte(`{"next":"`+"\xff"+`","objects":[`+good+`]}`), EnvelopeLimits{}); !errors.Is(err, ErrBadEnvelope) || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("invalid UTF-8 outside the objects: err = %v, want ErrBadEnvelope", err)
	}
}
