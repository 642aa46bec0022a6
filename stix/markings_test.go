package stix

import (
	"errors"
	"strings"
	"testing"
)

// The nine predefined TLP marking-definition ids, as published.
const (
	mkWhite1 = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	mkGreen1 = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	mkAmber1 = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	mkRed1   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
	mkClear2 = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	mkGreen2 = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	mkAmber2 = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	mkStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	mkRed2   = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

	// mkStatement is a marking that is not TLP.
	mkStatement = "marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f"
)

// mkIndicator is a typical indicator as publishers send it, TLP:GREEN.
const mkIndicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",` +
	`"created_by_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","created":"2016-04-06T20:03:48.000Z",` +
	`"modified":"2016-04-06T20:03:48.000Z","indicator_types":["malicious-activity"],"name":"Poison Ivy Malware",` +
	`"description":"This file is part of Poison Ivy","pattern":"[file:size > 1024 AND file:hashes.'SHA-256' = ` +
	`'4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877']","pattern_type":"stix",` +
	`"valid_from":"2016-01-01T00:00:00Z","object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],` +
	`"labels":["x"],"confidence":80,"external_references":[{"source_name":"veris",` +
	`"url":"https://github.com/vz-risk/VCDB/blob/master/data/json/0001AA7F-C601-424A-B2B8-BE6C9F5164E7.json"}]}`

func TestParseTLP(t *testing.T) {
	for _, test := range []struct {
		in   string
		want TLP
	}{
		{"clear", TLPClear},
		{"CLEAR", TLPClear},
		{"TLP:CLEAR", TLPClear},
		{"white", TLPClear},
		{"TLP:WHITE", TLPClear},
		{"tlp:White", TLPClear},
		{"green", TLPGreen},
		{"TLP:GREEN", TLPGreen},
		{"amber", TLPAmber},
		{"Tlp:Amber", TLPAmber},
		{"amber+strict", TLPAmberStrict},
		{"TLP:AMBER+STRICT", TLPAmberStrict},
		{"red", TLPRed},
		{"TLP:RED", TLPRed},
	} {
		t.Run(test.in, func(t *testing.T) {
			got, err := ParseTLP(test.in)
			if err != nil {
				t.Fatalf("ParseTLP(%q): %v", test.in, err)
			}
			if got != test.want {
				t.Errorf("ParseTLP(%q) = %v, want %v", test.in, got, test.want)
			}
		})
	}
	for _, in := range []string{"", "none", "TLP:", "TLP:NONE", "amber strict", "amber-strict", " red", "red ",
		"TLP:TLP:RED", "tlp-red", "TLP red", "yellow", "TLP:AMBER+"} {
		t.Run("Invalid"+in, func(t *testing.T) {
			got, err := ParseTLP(in)
			if !errors.Is(err, ErrUnknownTLP) {
				t.Fatalf("ParseTLP(%q) error = %v, want ErrUnknownTLP", in, err)
			}
			if got != TLPNone {
				t.Errorf("ParseTLP(%q) = %v with an error, want TLPNone", in, got)
			}
		})
	}
}

func TestTLP_String(t *testing.T) {
	for _, test := range []struct {
		level TLP
		want  string
	}{
		{TLPNone, "none"},
		{TLPClear, "TLP:CLEAR"},
		{TLPGreen, "TLP:GREEN"},
		{TLPAmber, "TLP:AMBER"},
		{TLPAmberStrict, "TLP:AMBER+STRICT"},
		{TLPRed, "TLP:RED"},
		{TLPRed + 1, "TLP(6)"},
		{-1, "TLP(-1)"},
	} {
		if got := test.level.String(); got != test.want {
			t.Errorf("TLP(%d).String() = %q, want %q", int(test.level), got, test.want)
		}
		if test.level <= TLPNone || test.level > TLPRed {
			continue
		}
		// Names of levels parse back: configs may quote them.
		if back, err := ParseTLP(test.want); err != nil || back != test.level {
			t.Errorf("ParseTLP(%q) = %v, %v; want %v", test.want, back, err, test.level)
		}
	}
}

// Ensure that the levels are ordered by restrictiveness, which ObjectTLP
// and policies rely on.
func TestTLP_Order(t *testing.T) {
	levels := []TLP{TLPNone, TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed}
	for i := 1; i < len(levels); i++ {
		if levels[i-1] >= levels[i] {
			t.Errorf("%v >= %v", levels[i-1], levels[i])
		}
	}
}

func TestTLPMarkingID(t *testing.T) {
	for _, test := range []struct {
		level TLP
		want  string
	}{
		{TLPNone, ""},
		{TLPClear, mkClear2},
		{TLPGreen, mkGreen2},
		{TLPAmber, mkAmber2},
		{TLPAmberStrict, mkStrict},
		{TLPRed, mkRed2},
		{TLPRed + 1, ""},
		{-1, ""},
	} {
		t.Run(test.level.String(), func(t *testing.T) {
			got := TLPMarkingID(test.level)
			if got != test.want {
				t.Fatalf("TLPMarkingID(%v) = %q, want %q", test.level, got, test.want)
			}
			if got == "" {
				return
			}
			if back, ok := TLPOfMarking(got); !ok || back != test.level {
				t.Errorf("TLPOfMarking(%q) = %v, %v; want %v, true", got, back, ok, test.level)
			}
		})
	}
}

func TestTLPOfMarking(t *testing.T) {
	for _, test := range []struct {
		name string
		id   string
		want TLP
		ok   bool
	}{
		{"White1", mkWhite1, TLPClear, true},
		{"Green1", mkGreen1, TLPGreen, true},
		{"Amber1", mkAmber1, TLPAmber, true},
		{"Red1", mkRed1, TLPRed, true},
		{"Clear2", mkClear2, TLPClear, true},
		{"Green2", mkGreen2, TLPGreen, true},
		{"Amber2", mkAmber2, TLPAmber, true},
		{"AmberStrict2", mkStrict, TLPAmberStrict, true},
		{"Red2", mkRed2, TLPRed, true},
		{"UpperUUID", "marking-definition--E828B379-4E03-4974-9AC4-E53A884C97C1", TLPRed, true},
		{"Statement", mkStatement, TLPNone, false},
		{"Empty", "", TLPNone, false},
		{"Name", "TLP:RED", TLPNone, false},
		{"OtherType", "identity--e828b379-4e03-4974-9ac4-e53a884c97c1", TLPNone, false},
		{"Truncated", mkRed2[:len(mkRed2)-1], TLPNone, false},
		{"Longer", mkRed2 + "0", TLPNone, false},
		{"Spaces", " " + mkRed2, TLPNone, false},
	} {
		t.Run(test.name, func(t *testing.T) {
			got, ok := TLPOfMarking(test.id)
			if got != test.want || ok != test.ok {
				t.Errorf("TLPOfMarking(%q) = %v, %v; want %v, %v", test.id, got, ok, test.want, test.ok)
			}
		})
	}
}

func TestObjectTLP(t *testing.T) {
	// obj builds an indicator with the given extra members.
	obj := func(members string) string {
		s := `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",` +
			`"created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"a"`
		if members != "" {
			s += "," + members
		}
		return s + "}"
	}
	refs := func(ids ...string) string {
		return `"object_marking_refs":["` + strings.Join(ids, `","`) + `"]`
	}
	granular := func(ids ...string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, `{"selectors":["name"],"marking_ref":"`+id+`"}`)
		}
		return `"granular_markings":[` + strings.Join(parts, ",") + `]`
	}
	tlpDef := func(id, extra string) string {
		return `{"type":"marking-definition","spec_version":"2.1","id":"` + id + `","created":"2017-01-20T00:00:00.000Z",` +
			`"definition_type":"tlp","name":"TLP:RED","definition":{"tlp":"red"}` + extra + `}`
	}
	for _, test := range []struct {
		name string
		raw  string
		want TLP
	}{
		{"NoMarkings", obj(""), TLPNone},
		{"EmptyLists", obj(`"object_marking_refs":[],"granular_markings":[]`), TLPNone},
		{"NullLists", obj(`"object_marking_refs":null,"granular_markings":null`), TLPNone},
		{"NonTLPOnly", obj(refs(mkStatement)), TLPNone},
		{"NonTLPGranularOnly", obj(granular(mkStatement)), TLPNone},
		{"LangOnly", obj(`"granular_markings":[{"selectors":["name"],"lang":"en"}]`), TLPNone},

		{"ObjectWhite1", obj(refs(mkWhite1)), TLPClear},
		{"ObjectGreen1", obj(refs(mkGreen1)), TLPGreen},
		{"ObjectAmber1", obj(refs(mkAmber1)), TLPAmber},
		{"ObjectRed1", obj(refs(mkRed1)), TLPRed},
		{"ObjectClear2", obj(refs(mkClear2)), TLPClear},
		{"ObjectGreen2", obj(refs(mkGreen2)), TLPGreen},
		{"ObjectAmber2", obj(refs(mkAmber2)), TLPAmber},
		{"ObjectStrict2", obj(refs(mkStrict)), TLPAmberStrict},
		{"ObjectRed2", obj(refs(mkRed2)), TLPRed},
		{"ObjectWithStatement", obj(refs(mkStatement, mkAmber2)), TLPAmber},

		{"GranularGreen1", obj(granular(mkGreen1)), TLPGreen},
		{"GranularStrict", obj(granular(mkStrict)), TLPAmberStrict},
		{"GranularAnySelector", obj(`"granular_markings":[{"selectors":["external_references.[0].url"],"marking_ref":"` + mkRed2 + `"}]`), TLPRed},
		{"GranularMarkingRefFirst", obj(`"granular_markings":[{"marking_ref":"` + mkAmber1 + `","selectors":["name"]}]`), TLPAmber},
		{"GranularNullElement", obj(`"granular_markings":[null,{"selectors":["name"],"marking_ref":"` + mkGreen2 + `"}]`), TLPGreen},
		{"GranularRaisesObject", obj(refs(mkGreen2) + "," + granular(mkRed1)), TLPRed},
		{"ObjectRaisesGranular", obj(refs(mkRed1) + "," + granular(mkGreen2)), TLPRed},

		{"WhiteAndClear", obj(refs(mkWhite1, mkClear2)), TLPClear},
		{"Green2Red1", obj(refs(mkGreen2, mkRed1)), TLPRed},
		{"Red1Green2", obj(refs(mkRed1, mkGreen2)), TLPRed},
		{"Amber1Strict2", obj(refs(mkAmber1, mkStrict)), TLPAmberStrict},
		{"White1Amber2", obj(refs(mkWhite1) + "," + granular(mkAmber2)), TLPAmber},
		{"AllNine", obj(refs(mkWhite1, mkGreen1, mkAmber1, mkRed1, mkClear2, mkGreen2, mkAmber2, mkStrict, mkRed2)), TLPRed},

		{"UpperCaseUUID", obj(`"object_marking_refs":["marking-definition--5E57C739-391A-4EB3-B6BE-7D15CA92D5ED"]`), TLPRed},
		{"EscapedID", obj(`"object_marking_refs":["marking-definition\u002d-5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]`), TLPRed},
		{"EscapedKey", obj(`"object_marking_r\u0065fs":["` + mkAmber2 + `"]`), TLPAmber},
		{"DuplicateKeyCannotHide", obj(refs(mkRed2) + `,"object_marking_refs":[]`), TLPRed},
		{"NestedIgnored", obj(`"extensions":{"x":{"object_marking_refs":["` + mkRed2 + `"]}}`), TLPNone},
		{"ValueNotKey", obj(`"note":"object_marking_refs","x_refs":["` + mkRed2 + `"]`), TLPNone},
		{"Whitespace", " {\n\t\"object_marking_refs\" : [ \"" + mkAmber1 + "\" ] \r\n} ", TLPAmber},

		// The TLP definitions themselves are not marked by their own id.
		{"TLPDefinition", tlpDef(mkRed1, ""), TLPNone},
		{"TLPDefinitionSelfRef", tlpDef(mkRed1, `,"object_marking_refs":["`+mkRed1+`"]`), TLPNone},
		{"TLPDefinitionSelfRefIDLast", `{"object_marking_refs":["` + mkRed1 + `"],"id":"` + mkRed1 + `"}`, TLPNone},
		{"TLPDefinitionSelfGranular", tlpDef(mkRed1, `,"granular_markings":[{"selectors":["name"],"marking_ref":"`+mkRed1+`"}]`), TLPNone},
		{"TLPDefinitionOtherRef", tlpDef(mkRed1, `,"object_marking_refs":["`+mkRed1+`","`+mkGreen2+`"]`), TLPGreen},
		{"StatementWithTLP", `{"type":"marking-definition","id":"` + mkStatement + `","object_marking_refs":["` + mkAmber2 + `"]}`, TLPAmber},
	} {
		t.Run(test.name, func(t *testing.T) {
			got, err := ObjectTLP([]byte(test.raw))
			if err != nil {
				t.Fatalf("ObjectTLP: %v", err)
			}
			if got != test.want {
				t.Errorf("ObjectTLP = %v, want %v", got, test.want)
			}
		})
	}
}

func TestObjectTLP_Errors(t *testing.T) {
	for _, test := range []struct {
		name string
		raw  string
		want string // in the error text
	}{
		{"Empty", ``, "not a JSON object"},
		{"List", `[{"object_marking_refs":[]}]`, "not a JSON object"},
		{"String", `"x"`, "not a JSON object"},
		{"Truncated", `{"object_marking_refs":["` + mkRed2 + `"`, "invalid JSON"},
		{"TrailingData", `{"a":1} x`, "invalid JSON"},
		{"TwoObjects", `{"a":1}{"b":2}`, "invalid JSON"},
		{"TrailingComma", `{"a":1,}`, "invalid JSON"},
		{"BadNumber", `{"a":01}`, "invalid JSON"},
		{"BadEscape", `{"a":"\x"}`, "invalid JSON"},
		{"ControlChar", "{\"a\":\"\n\"}", "invalid JSON"},
		{"RefsString", `{"object_marking_refs":"` + mkRed2 + `"}`, "object_marking_refs must be a list"},
		{"RefsNumberElement", `{"object_marking_refs":[1]}`, "object_marking_refs must be a list"},
		{"RefsObjectElement", `{"object_marking_refs":[{"id":"` + mkRed2 + `"}]}`, "object_marking_refs must be a list"},
		{"GranularObject", `{"granular_markings":{"marking_ref":"` + mkRed2 + `"}}`, "granular_markings must be a list"},
		{"GranularStringElement", `{"granular_markings":["` + mkRed2 + `"]}`, "granular_markings must be a list"},
		{"MarkingRefList", `{"granular_markings":[{"marking_ref":["` + mkRed2 + `"]}]}`, "marking_ref must be an identifier"},
	} {
		t.Run(test.name, func(t *testing.T) {
			got, err := ObjectTLP([]byte(test.raw))
			if err == nil {
				t.Fatalf("ObjectTLP = %v, want an error", got)
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("ObjectTLP error = %q, want it to contain %q", err, test.want)
			}
			if got != TLPNone {
				t.Errorf("ObjectTLP = %v with an error, want TLPNone", got)
			}
		})
	}
}

func BenchmarkObjectTLP(b *testing.B) {
	raw := []byte(mkIndicator)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if l, err := ObjectTLP(raw); err != nil || l != TLPGreen {
			b.Fatal(l, err)
		}
	}
}

// Ensure that a TLP level is stored by its lower-case name, TLPNone as no
// name, and that every spelling ParseTLP takes reads back.
func TestTLP_Text(t *testing.T) {
	for level, name := range map[TLP]string{TLPNone: "", TLPClear: "clear", TLPGreen: "green",
		TLPAmber: "amber", TLPAmberStrict: "amber+strict", TLPRed: "red"} {
		b, err := level.MarshalText()
		if err != nil || string(b) != name {
			t.Errorf("%v.MarshalText() = %q, %v; want %q", level, b, err, name)
		}
		var back TLP
		if err := back.UnmarshalText(b); err != nil || back != level {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, level)
		}
	}
	var l TLP
	if err := l.UnmarshalText([]byte("TLP:WHITE")); err != nil || l != TLPClear {
		t.Errorf("UnmarshalText(TLP:WHITE) = %v, %v", l, err)
	}
	if err := l.UnmarshalText([]byte("purple")); !errors.Is(err, ErrUnknownTLP) {
		t.Errorf("UnmarshalText(purple) error = %v, want ErrUnknownTLP", err)
	}
	if _, err := TLP(42).MarshalText(); err == nil {
		t.Error("MarshalText of a value that is not a level succeeded")
	}
}
