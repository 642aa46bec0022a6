package stix

import (
	"fmt"
	"io/fs"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/schemas"
)

func TestCheckIJSON_DuplicateKeys(t *testing.T) {
	many := func(n int, dup bool) string {
		var b strings.Builder
		b.WriteString(`{"x":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
		}
		if dup {
			b.WriteString(`,"k7":1`)
		}
		b.WriteString(`}}`)
		return b.String()
	}
	for _, test := range []struct {
		name string
		raw  string
		want []string // paths, in order
	}{
		{"None", `{"type":"indicator","labels":["a","a"],"x":{"type":"y"}}`, nil},
		{"Top", `{"type":"indicator","name":"a","type":"malware"}`, []string{"/type"}},
		{"ReportedOnce", `{"a1":1,"a1":2,"a1":3}`, []string{"/a1"}},
		{"Nested", `{"external_references":[{"source_name":"a"},{"url":"u","url":"v"}]}`, []string{"/external_references/1/url"}},
		{"SiblingsAreFine", `{"a":{"k":1},"b":{"k":1}}`, nil},
		{"AfterNested", `{"a":{"k":{"z":1}},"k":2,"a":3}`, []string{"/a"}},
		{"Escaped", `{"type":"x","\u0074ype":"y"}`, []string{"/type"}},
		{"EscapedQuote", `{"a\"b":1,"a\u0022b":2}`, []string{"/a\"b"}},
		{"BackslashKey", `{"a\\":1,"b":"\\","a\\":2}`, []string{`/a\`}},
		{"KeyLikeValue", `{"a":"b","c":"b","d":["a","a"]}`, nil},
		{"StringWithBraces", `{"a":"{\"a\":1,\"a\":2}","b":1}`, nil},
		{"PointerEscape", `{"x":{"a/b~c":1,"a/b~c":2}}`, []string{"/x/a~1b~0c"}},
		{"ListOfLists", `[[{"a":1}],[{"b":1,"b":2}]]`, []string{"/1/0/b"}},
		{"Two", `{"a":1,"b":{"c":1,"c":2},"a":2}`, []string{"/b/c", "/a"}},
		{"ManyKeys", many(100, false), nil},
		{"ManyKeysDup", many(100, true), []string{"/x/k7"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			fs := checkIJSON([]byte(test.raw))
			var got []string
			for _, f := range fs {
				if f.Rule != "duplicate-key" || f.Message == "" {
					t.Fatalf("bad finding %#v", f)
				}
				got = append(got, f.Path)
			}
			if !reflect.DeepEqual(got, test.want) {
				t.Fatalf("paths=%q, want %q", got, test.want)
			}
		})
	}
}

// Ensure that malformed input neither panics nor loops.
func TestCheckIJSON_Malformed(t *testing.T) {
	for _, raw := range []string{"", "{", "}", "]]]", `{"a`, `{"a":"b`, `{"a\`, `"`, `{"a":1,"a"`, `{{{"a":1,"a":2`, `[,,"a",]`, `{"\ud800":1,"\ud800":2}`} {
		checkIJSON([]byte(raw))
	}
}

func BenchmarkCheckIJSON(b *testing.B) {
	raw := []byte(rtIndicator)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if fs := checkIJSON(raw); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}

// Ensure that strings that are not I-JSON text (RFC 7493 §2.1: invalid
// UTF-8, surrogates, escaped or UTF-8 encoded) and numbers readers cannot
// hold (§2.2, STIX 2.1 §2.10 for integers) are found, each at the JSON
// pointer of its property, and that their valid neighbours are not.
func TestCheckIJSON_Values(t *testing.T) {
	million := strings.Repeat("9", 1_000_000)
	for _, tt := range []struct {
		name, raw string
		want      []string // paths, in order
		msg       string   // in the first finding
	}{
		{"Valid", `{"a":"é\ud83d\ude00\\ud800","b":[0,-0,1.5,-2e-3,1e308,9007199254740991,-9007199254740991,1e-999999],"c":"\\"}`, nil, ""},
		{"LoneHigh", `{"name":"x\ud800y"}`, []string{"/name"}, "lone surrogate escape"},
		{"LoneLow", `{"name":"\udc00"}`, []string{"/name"}, "lone surrogate escape"},
		{"HighAtEnd", `{"a":{"b":["ok","\uD800"]}}`, []string{"/a/b/1"}, "lone surrogate escape"},
		{"HighHigh", `{"a":"\ud800\ud800\udc00"}`, []string{"/a"}, "lone surrogate"},
		{"ReversedPair", `{"a":"\udc00\ud800"}`, []string{"/a"}, "lone surrogate"},
		{"EscapedBackslashU", `{"a":"\\\ud800"}`, []string{"/a"}, "lone surrogate"},
		{"Key", `{"x_\ud800":1}`, []string{"/x_\ufffd"}, "the property name holds a lone surrogate"},
		{"RawSurrogate", "{\"description\":\"\xed\xa0\x80\"}", []string{"/description"}, "not valid UTF-8"},
		{"RawInvalid", "{\"labels\":[\"a\",\"\xff\"]}", []string{"/labels/1"}, "not valid UTF-8"},
		{"HugeExponent", `{"x_score":1e999999}`, []string{"/x_score"}, "the number 1e999999 is too large for an IEEE 754 double"},
		{"HugeNegative", `{"a":[-1.8e308]}`, []string{"/a/0"}, "too large for an IEEE 754 double"},
		{"LongMantissa", `{"a":1` + strings.Repeat("0", 400) + `.5}`, []string{"/a"}, "too large for an IEEE 754 double"},
		{"TwoPow53", `{"number_observed":9007199254740992}`, []string{"/number_observed"}, "number_observed 9007199254740992 is outside -(2**53)+1 to (2**53)-1"},
		{"NegTwoPow53", `{"count":-9007199254740992}`, []string{"/count"}, "count -9007199254740992 is outside -(2**53)+1 to (2**53)-1"},
		{"IntegerExponent", `{"extensions":{"windows-pebinary-ext":{"sections":[{"size":1e16}]}}}`, []string{"/extensions/windows-pebinary-ext/sections/0/size"}, "size 1e16 is outside"},
		{"IntegerList", `{"x":{"src_port":[1,9007199254740993]}}`, []string{"/x/src_port/1"}, "src_port 9007199254740993 is outside"},
		{"IntegerMillionDigits", `{"size":` + million + `}`, []string{"/size"}, "size " + strings.Repeat("9", 80) + "... is outside"},
		{"CustomMillionDigits", `{"x_n":` + million + `}`, []string{"/x_n"}, "the number " + strings.Repeat("9", 80) + "... is too large for an IEEE 754 double"},
		{"CustomLargeInteger", `{"x_n":12345678901234567890,"a":{"b":-18446744073709551616}}`, nil, ""},
		{"IntegerLimits", `{"pid":9007199254740991,"number":-9007199254740991,"size":1.5e3}`, nil, ""},
		{"Several", `{"a":"\ud800","b":1e400,"confidence":99999999999999999}`, []string{"/a", "/b", "/confidence"}, "lone surrogate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := checkIJSON([]byte(tt.raw))
			var got []string
			for _, f := range fs {
				if f.Rule != "i-json" {
					t.Errorf("rule %q, want i-json: %v", f.Rule, f)
				}
				got = append(got, f.Path)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("paths %q, want %q; findings %v", got, tt.want, fs)
			}
			if len(fs) > 0 && !strings.Contains(fs[0].Message, tt.msg) {
				t.Errorf("message %q, want it to contain %q", fs[0].Message, tt.msg)
			}
			if len(fs) > 0 && len(fs[0].Message) > 400 {
				t.Errorf("message of %d bytes: the value must be clipped", len(fs[0].Message))
			}
		})
	}
}

// Ensure that Check refuses an object that is not I-JSON with the property
// named, and still names the object (its id and version) for the status.
func TestValidator_Check_IJSON(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	const id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	base := `{"type":"indicator","spec_version":"2.1","id":"` + id + `","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",` +
		`"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '198.51.100.1']"`
	for _, tt := range []struct{ extra, want string }{
		{`"name":"\ud800"`, "/name: the value holds a lone surrogate escape"},
		{`"x_score":1e999999`, "/x_score: the number 1e999999 is too large"},
		{`"x_count":1` + strings.Repeat("0", 400), "/x_count: the number 1000"},
		{`"confidence":123456789012345678901234567890`, "/confidence: confidence 123456789012345678901234567890 is outside -(2**53)+1 to (2**53)-1"},
	} {
		h, fs := v.Check([]byte(base + "," + tt.extra + "}"))
		if len(fs) == 0 || !strings.Contains(fs[0].String(), tt.want) {
			t.Errorf("%s: findings %v, want one containing %q", tt.extra, fs, tt.want)
		}
		if h.ID != id || h.Modified != "2024-01-01T00:00:00.000Z" {
			t.Errorf("%s: header %+v, want the object's id and modified", tt.extra, h)
		}
	}
}

// Ensure that integerProperties names exactly the properties the embedded
// schemas type integer (or list of integer), so that the I-JSON integer
// rule follows the schemas.
func TestIntegerProperties_MatchSchemas(t *testing.T) {
	found := map[string]bool{}
	var walk func(v any, prop string)
	walk = func(v any, prop string) {
		switch v := v.(type) {
		case map[string]any:
			if prop != "" && v["type"] == "integer" {
				found[prop] = true
			}
			for k, x := range v {
				switch k {
				case "properties":
					if ps, ok := x.(map[string]any); ok {
						for name, ps := range ps {
							walk(ps, name)
						}
					}
				case "allOf", "anyOf", "oneOf", "items", "then", "else", "not":
					walk(x, prop)
				default:
					walk(x, "")
				}
			}
		case []any:
			for _, x := range v {
				walk(x, prop)
			}
		}
	}
	err := fs.WalkDir(schemas.FS, ".", func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := fs.ReadFile(schemas.FS, path)
		if err != nil {
			return err
		}
		v, err := decodeJSON(b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		walk(v, "")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Fatal("no integer property in the schemas")
	}
	for p := range found {
		if !integerProperties[p] {
			t.Errorf("the schemas type %s integer; add it to integerProperties", p)
		}
	}
	for p := range integerProperties {
		if !found[p] {
			t.Errorf("integerProperties has %s, which no schema types integer", p)
		}
	}
}
