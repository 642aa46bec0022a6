package stix

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestCheckDuplicateKeys(t *testing.T) {
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
			fs := checkDuplicateKeys([]byte(test.raw))
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
func TestCheckDuplicateKeys_Malformed(t *testing.T) {
	for _, raw := range []string{"", "{", "}", "]]]", `{"a`, `{"a":"b`, `{"a\`, `"`, `{"a":1,"a"`, `{{{"a":1,"a":2`, `[,,"a",]`, `{"\ud800":1,"\ud800":2}`} {
		checkDuplicateKeys([]byte(raw))
	}
}

func BenchmarkCheckDuplicateKeys(b *testing.B) {
	raw := []byte(rtIndicator)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if fs := checkDuplicateKeys(raw); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}
