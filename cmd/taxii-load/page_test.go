package main

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// testPage is an envelope of n generated objects, as a server returns it.
func testPage(t testing.TB, n uint64) []byte {
	g := mustGenerator(t, 1, 0.1)
	b := []byte(`{"more":true,"next":"abc-_=","objects":[`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = g.AppendObject(b, i)
	}
	return append(b, "]}"...)
}

// Ensure that parsePage reads what encoding/json reads.
func TestParsePage(t *testing.T) {
	type entry struct {
		ID        string `json:"id"`
		Modified  string `json:"modified"`
		Created   string `json:"created"`
		Version   string `json:"version"`
		DateAdded string `json:"date_added"`
	}
	type page struct {
		More    bool    `json:"more"`
		Next    string  `json:"next"`
		Objects []entry `json:"objects"`
	}
	for _, test := range []struct{ name, in string }{
		{"Generated", string(testPage(t, 200))},
		{"Empty", `{}`},
		{"MoreFalse", ` { "more" : false , "objects" : [ ] } `},
		{"Manifest", `{"more":true,"next":"x","objects":[{"id":"indicator--1","date_added":"2026-01-01T00:00:00.000001Z","version":"2026-01-01T00:00:00.000Z","media_type":"application/stix+json;version=2.1"}]}`},
		{"Nested", `{"objects":[{"x":{"id":"inner","a":[1,-2.5e+3,true,false,null,{"id":"deeper"}]},"id":"outer","modified":"m"}],"more":false}`},
		{"Escapes", `{"objects":[{"id":"a\"b\\c\u00e9","name":"x\ny","created":"c"}],"next":"n\/x"}`},
		{"EscapedEnds", `{"objects":[{"id":"end\\","modified":"q\\\"\"","created":"\"\""}]}`},
		{"EscapedName", `{"objects":[{"\u0069d":"escaped-name"}]}`},
		{"NullNext", `{"more":false,"next":null,"objects":[{"id":"a","modified":null}]}`},
		{"UnknownTop", `{"title":"t","extra":{"objects":[{"id":"not-these"}]},"objects":[{"id":"these"}]}`},
	} {
		t.Run(test.name, func(t *testing.T) {
			var want page
			if err := json.Unmarshal([]byte(test.in), &want); err != nil {
				t.Fatal(err)
			}
			var got pageResource
			if err := parsePage([]byte(test.in), &got); err != nil {
				t.Fatal(err)
			}
			if got.More != want.More || got.Next != want.Next || len(got.Objects) != len(want.Objects) {
				t.Fatalf("got more=%v next=%q %d objects, want more=%v next=%q %d", got.More, got.Next, len(got.Objects), want.More, want.Next, len(want.Objects))
			}
			for i, w := range want.Objects {
				if g := got.Objects[i]; g != (pageEntry(w)) {
					t.Errorf("object %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// Ensure that malformed pages are refused.
func TestParsePage_Malformed(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{`, `{"objects":[}`, `{"objects":[{"id":"a"},]}`, `{"objects":[{"id":"a"}]`,
		`{"more":tru}`, `{"more":true,}`, `{"more" true}`, `{"objects":[{"id":"a" "x":1}]}`,
		`{"objects":[{"id":"unterminated}]}`, `{"next":"a` + "\x01" + `"}`, `{"objects":[{"id":5}]}`,
		`{} {}`, `{"a":[1 2]}`, `{"objects":"no"}`,
	} {
		var pg pageResource
		if err := parsePage([]byte(in), &pg); !errors.Is(err, errSyntax) {
			t.Errorf("%q: err %v, want a syntax error", in, err)
		}
	}
}

// Ensure that parseStamp agrees with time.Parse, and that keys equate
// versions naming the same instant.
func TestParseStamp(t *testing.T) {
	for _, s := range []string{
		"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.123Z",
		"2026-01-02T03:04:05.123456Z", "2026-01-02T03:04:05.123456789Z", "2024-02-29T23:59:59.999Z",
		"2026-01-02T03:04:05.000+00:00", "2026-01-02T03:04:05-05:00",
	} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := parseStamp(s); !ok || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.Z", "soon"} {
		if _, ok := parseStamp(s); ok {
			t.Errorf("%q: parsed", s)
		}
	}
	if keyOf("x", "2026-01-01T00:00:00.000Z") != keyOf("x", "2026-01-01T00:00:00Z") {
		t.Error("keys of one instant differ")
	}
	if keyOf("x", "2026-01-01T00:00:00.001Z") == keyOf("x", "2026-01-01T00:00:00Z") || keyOf("x", "v") == keyOf("y", "v") {
		t.Error("keys of different versions are equal")
	}
}

func BenchmarkParsePage(b *testing.B) {
	page := testPage(b, 1000)
	var pg pageResource
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parsePage(page, &pg); err != nil {
			b.Fatal(err)
		}
		for i := range pg.Objects {
			_ = keyOf(pg.Objects[i].ID, pg.Objects[i].version(false))
		}
	}
}
