package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const (
	rwOrg   = "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff" // the publisher, to hide
	rwAnon  = "identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061" // the stand-in
	rwOther = "identity--b67d30ff-02ac-498a-92f9-32f845f448ff" // someone else
)

// rwDecode decodes raw keeping numbers as written.
func rwDecode(t testing.TB, raw []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return v
}

// rwKeys returns the top-level keys of the JSON object raw, in order.
func rwKeys(t testing.TB, raw []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// rwRewrite runs rewrite, named name in messages, on in and checks what
// every rewrite promises: no error, in left as it was, and want as the
// output, written compactly. It returns the output.
func rwRewrite(t testing.TB, name string, in []byte, want string, rewrite func([]byte) ([]byte, error)) []byte {
	t.Helper()
	orig := bytes.Clone(in)
	out, err := rewrite(in)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(in, orig) {
		t.Fatalf("input modified")
	}
	if string(out) != want {
		t.Errorf("%s =\n%s\nwant\n%s", name, out, want)
	}
	rwCheckCompact(t, out)
	return out
}

// rwCheckRefused checks the result out, err of the rewrite name against
// what every rewrite promises when it refuses: an error containing want,
// and no output.
func rwCheckRefused(t testing.TB, name string, out []byte, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = %s, want an error", name, out)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if out != nil {
		t.Errorf("output %s with an error", out)
	}
}

// rwCheckCompact fails unless out is valid JSON without insignificant
// whitespace.
func rwCheckCompact(t testing.TB, out []byte) {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("output is not valid JSON: %s", out)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Bytes(), out) {
		t.Errorf("output is not compact: %s", out)
	}
}

// rwCheckRest fails unless in and out hold the same top-level keys in the
// same order and the same values, apart from the property changed (which
// out may have added at its end) and whatever model does to in's values.
func rwCheckRest(t testing.TB, in, out []byte, changed string, model func(any) any) {
	t.Helper()
	without := func(keys []string) []string {
		var r []string
		for _, k := range keys {
			if k != changed {
				r = append(r, k)
			}
		}
		return r
	}
	if got, want := without(rwKeys(t, out)), without(rwKeys(t, in)); !reflect.DeepEqual(got, want) {
		t.Errorf("key order changed:\n got %q\nwant %q", got, want)
	}
	a, _ := rwDecode(t, in).(map[string]any)
	b, _ := rwDecode(t, out).(map[string]any)
	delete(a, changed)
	delete(b, changed)
	var want any = a
	if model != nil {
		want = model(a)
	}
	if !reflect.DeepEqual(any(b), want) {
		t.Errorf("other content changed:\n got %v\nwant %v", b, want)
	}
}

func TestAddObjectMarking(t *testing.T) {
	const typ = `{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"`
	for _, test := range []struct {
		name    string
		in      string
		marking string
		want    string
	}{
		{"Absent", typ + `,"name":"a"}`, mkAmber2,
			typ + `,"name":"a","object_marking_refs":["` + mkAmber2 + `"]}`},
		{"Append", typ + `,"object_marking_refs":["` + mkStatement + `"],"name":"a"}`, mkAmber2,
			typ + `,"object_marking_refs":["` + mkStatement + `","` + mkAmber2 + `"],"name":"a"}`},
		{"AlreadyPresent", typ + `,"object_marking_refs":["` + mkAmber2 + `","` + mkStatement + `"]}`, mkAmber2,
			typ + `,"object_marking_refs":["` + mkAmber2 + `","` + mkStatement + `"]}`},
		{"AlreadyPresentOtherCase", typ + `,"object_marking_refs":["` + "marking-definition--" + strings.ToUpper(mkAmber2[20:]) + `"]}`, mkAmber2,
			typ + `,"object_marking_refs":["` + "marking-definition--" + strings.ToUpper(mkAmber2[20:]) + `"]}`},
		{"AlreadyPresentEscaped", typ + `,"object_marking_refs":["marking\u002ddefinition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}`, mkAmber2,
			typ + `,"object_marking_refs":["marking\u002ddefinition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}`},
		{"EmptyList", typ + `,"object_marking_refs":[],"name":"a"}`, mkRed2,
			typ + `,"object_marking_refs":["` + mkRed2 + `"],"name":"a"}`},
		{"Null", typ + `,"object_marking_refs":null,"name":"a"}`, mkRed2,
			typ + `,"object_marking_refs":["` + mkRed2 + `"],"name":"a"}`},
		{"EmptyObject", `{}`, mkRed2, `{"object_marking_refs":["` + mkRed2 + `"]}`},
		{"OtherTLPKept", typ + `,"object_marking_refs":["` + mkGreen1 + `"]}`, mkAmber2,
			typ + `,"object_marking_refs":["` + mkGreen1 + `","` + mkAmber2 + `"]}`},
		{"DuplicateKey", typ + `,"object_marking_refs":[],"object_marking_refs":["` + mkStatement + `"]}`, mkRed2,
			typ + `,"object_marking_refs":["` + mkRed2 + `"],"object_marking_refs":["` + mkStatement + `","` + mkRed2 + `"]}`},
		{"GranularUntouched", typ + `,"granular_markings":[{"selectors":["name"],"marking_ref":"` + mkRed2 + `"}],"name":"a"}`, mkGreen2,
			typ + `,"granular_markings":[{"selectors":["name"],"marking_ref":"` + mkRed2 + `"}],"name":"a","object_marking_refs":["` + mkGreen2 + `"]}`},
		{"NestedUntouched", typ + `,"extensions":{"x":{"object_marking_refs":[]}}}`, mkGreen2,
			typ + `,"extensions":{"x":{"object_marking_refs":[]}},"object_marking_refs":["` + mkGreen2 + `"]}`},
		{"TextKept",
			typ + `,"pattern":"[file:size > 10 AND file:name = '<a&b>'] \u003e \"q\" \\ é \u00e9 \ud83d\ude00","confidence":80,` +
				`"x_num":[1.0,1e+2,-0.50,12345678901234567890123,0],"valid_from":"2016-01-01T00:00:00.123456Z","x_t":true,"x_n":null}`,
			mkGreen2,
			typ + `,"pattern":"[file:size > 10 AND file:name = '<a&b>'] \u003e \"q\" \\ é \u00e9 \ud83d\ude00","confidence":80,` +
				`"x_num":[1.0,1e+2,-0.50,12345678901234567890123,0],"valid_from":"2016-01-01T00:00:00.123456Z","x_t":true,"x_n":null,` +
				`"object_marking_refs":["` + mkGreen2 + `"]}`},
		{"Whitespace", "{\n  \"type\" : \"note\",\n  \"object_refs\" : [ \"a\" , \"b\" ],\n  \"object_marking_refs\" : [ \"" + mkStatement + "\" ]\n}\n", mkGreen2,
			`{"type":"note","object_refs":["a","b"],"object_marking_refs":["` + mkStatement + `","` + mkGreen2 + `"]}`},

		// Objects a marking would make invalid are copied unchanged.
		{"Itself", `{"type":"marking-definition","id":"` + mkStatement + `","name":"s"}`, mkStatement,
			`{"type":"marking-definition","id":"` + mkStatement + `","name":"s"}`},
		{"ItselfIDLast", `{"type":"marking-definition","object_marking_refs":[],"id":"` + mkStatement + `"}`, mkStatement,
			`{"type":"marking-definition","object_marking_refs":[],"id":"` + mkStatement + `"}`},
		{"PredefinedTLP", `{"type":"marking-definition","id":"` + mkGreen1 + `","definition_type":"tlp"}`, mkAmber2,
			`{"type":"marking-definition","id":"` + mkGreen1 + `","definition_type":"tlp"}`},
		{"OtherMarkingDefinition", `{"type":"marking-definition","id":"` + mkStatement + `"}`, mkAmber2,
			`{"type":"marking-definition","id":"` + mkStatement + `","object_marking_refs":["` + mkAmber2 + `"]}`},
	} {
		t.Run(test.name, func(t *testing.T) {
			in := []byte(test.in)
			out := rwRewrite(t, "AddObjectMarking", in, test.want, func(in []byte) ([]byte, error) {
				return AddObjectMarking(in, test.marking)
			})
			rwCheckRest(t, in, out, "object_marking_refs", nil)
			if !bytes.Contains(out, []byte(`'<a&b>'`)) && strings.Contains(test.in, `'<a&b>'`) {
				t.Errorf("HTML characters escaped: %s", out)
			}
		})
	}
}

func TestAddObjectMarking_Errors(t *testing.T) {
	obj := `{"type":"indicator"}`
	for _, test := range []struct {
		name, in, marking, want string
	}{
		{"NotAnID", obj, "tlp-green", "invalid STIX identifier"},
		{"NotAMarking", obj, rwOrg, "not a marking-definition id"},
		{"BadUUID", obj, "marking-definition--nope", "invalid STIX identifier"},
		{"NotJSON", `{"type":`, mkGreen2, "invalid JSON"},
		{"List", `[]`, mkGreen2, "not a JSON object"},
		{"Trailing", obj + `]`, mkGreen2, "invalid JSON"},
		{"RefsString", `{"object_marking_refs":"` + mkRed2 + `"}`, mkGreen2, "must be a list"},
		{"RefsNumber", `{"object_marking_refs":["` + mkRed2 + `",2]}`, mkGreen2, "must be a list"},
	} {
		t.Run(test.name, func(t *testing.T) {
			out, err := AddObjectMarking([]byte(test.in), test.marking)
			rwCheckRefused(t, "AddObjectMarking", out, err, test.want)
		})
	}
}

// rwReplaceModel is what ReplaceIdentity must do to decoded values: every
// string equal to from (ASCII case folded) becomes to; keys stay.
func rwReplaceModel(v any, from, to string) any {
	switch v := v.(type) {
	case string:
		if asciiEqualFold([]byte(v), from) {
			return to
		}
		return v
	case []any:
		r := make([]any, len(v))
		for i, e := range v {
			r[i] = rwReplaceModel(e, from, to)
		}
		return r
	case map[string]any:
		r := make(map[string]any, len(v))
		for k, e := range v {
			r[k] = rwReplaceModel(e, from, to)
		}
		return r
	}
	return v
}

func TestReplaceIdentity(t *testing.T) {
	const (
		sdo  = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z"`
		anon = `"created_by_ref":"` + rwAnon + `"`
	)
	for _, test := range []struct {
		name string
		in   string
		want string
	}{
		{"CreatedBy", sdo + `,"created_by_ref":"` + rwOrg + `","name":"a"}`,
			sdo + `,` + anon + `,"name":"a"}`},
		{"CreatedByAbsent", sdo + `,"name":"a"}`,
			sdo + `,"name":"a",` + anon + `}`},
		{"CreatedByOther", sdo + `,"created_by_ref":"` + rwOther + `","name":"a"}`,
			sdo + `,` + anon + `,"name":"a"}`},
		{"CreatedByNull", sdo + `,"created_by_ref":null}`,
			sdo + `,` + anon + `}`},
		{"CreatedByUpperCase", sdo + `,"created_by_ref":"` + strings.ToUpper(rwOrg) + `"}`,
			sdo + `,` + anon + `}`},
		{"Sighting",
			`{"type":"sighting","id":"sighting--ee20065d-2555-424f-ad9e-0f8fd2f4af84","created":"2016-04-06T20:08:31.000Z",` +
				`"created_by_ref":"` + rwOrg + `","sighting_of_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","count":3,` +
				`"where_sighted_refs":["` + rwOther + `","` + rwOrg + `"]}`,
			`{"type":"sighting","id":"sighting--ee20065d-2555-424f-ad9e-0f8fd2f4af84","created":"2016-04-06T20:08:31.000Z",` +
				anon + `,"sighting_of_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","count":3,` +
				`"where_sighted_refs":["` + rwOther + `","` + rwAnon + `"]}`},
		{"ObservedData",
			`{"type":"observed-data","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf","created":"2016-04-06T19:58:16.000Z",` +
				`"number_observed":50,"object_refs":["ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8","` + rwOrg + `"]}`,
			`{"type":"observed-data","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf","created":"2016-04-06T19:58:16.000Z",` +
				`"number_observed":50,"object_refs":["ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8","` + rwAnon + `"],` + anon + `}`},
		{"Note",
			`{"type":"note","id":"note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0062","created":"2016-05-12T08:17:27.000Z",` +
				`"content":"seen at the county office","object_refs":["` + rwOrg + `","report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3"],` +
				`"created_by_ref":"` + rwOrg + `"}`,
			`{"type":"note","id":"note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0062","created":"2016-05-12T08:17:27.000Z",` +
				`"content":"seen at the county office","object_refs":["` + rwAnon + `","report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3"],` +
				anon + `}`},
		{"Relationship",
			`{"type":"relationship","id":"relationship--57b56a43-b8b0-4cba-9deb-34e3e1faed9e","created":"2016-04-06T20:06:37.000Z",` +
				`"relationship_type":"located-at","source_ref":"` + rwOrg + `","target_ref":"location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64"}`,
			`{"type":"relationship","id":"relationship--57b56a43-b8b0-4cba-9deb-34e3e1faed9e","created":"2016-04-06T20:06:37.000Z",` +
				`"relationship_type":"located-at","source_ref":"` + rwAnon + `","target_ref":"location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",` +
				anon + `}`},
		{"Nested", sdo + `,"extensions":{"x-ext":{"analyst_ref":"` + rwOrg + `","deep":[[{"by":["` + rwOrg + `"]}]]}},` +
			`"external_references":[{"source_name":"` + rwOrg + `"}]}`,
			sdo + `,"extensions":{"x-ext":{"analyst_ref":"` + rwAnon + `","deep":[[{"by":["` + rwAnon + `"]}]]}},` +
				`"external_references":[{"source_name":"` + rwAnon + `"}],` + anon + `}`},
		{"Escaped", sdo + `,"x_refs":["identity\u002d-f431f809-377b-45e0-aa1c-6a4751cae5ff"]}`,
			sdo + `,"x_refs":["` + rwAnon + `"],` + anon + `}`},
		{"TextKept",
			sdo + `,"pattern":"[file:size > 10 AND file:name = '<a&b>'] \u003e \"q\" \\ é","confidence":80,` +
				`"x_num":[1.0,1e+2,-0.50,12345678901234567890123],"modified":"2016-04-06T20:03:48.123456Z"}`,
			sdo + `,"pattern":"[file:size > 10 AND file:name = '<a&b>'] \u003e \"q\" \\ é","confidence":80,` +
				`"x_num":[1.0,1e+2,-0.50,12345678901234567890123],"modified":"2016-04-06T20:03:48.123456Z",` + anon + `}`},
		{"Whitespace", "{ \"type\" : \"indicator\" ,\n \"created\" : \"2016-04-06T20:03:48.000Z\" ,\n \"created_by_ref\" : \"" + rwOrg + "\" }",
			`{"type":"indicator","created":"2016-04-06T20:03:48.000Z",` + anon + `}`},
		{"DuplicateCreatedBy", sdo + `,"created_by_ref":"` + rwOrg + `","created_by_ref":"` + rwOther + `"}`,
			sdo + `,` + anon + `,` + anon + `}`},

		// created_by_ref is not added where STIX has no such property.
		{"SCO", `{"type":"file","spec_version":"2.1","id":"file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5","name":"a.dll"}`,
			`{"type":"file","spec_version":"2.1","id":"file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5","name":"a.dll"}`},
		{"SCORefs", `{"type":"email-message","id":"email-message--cf9b4b7f-14c8-5955-8065-020e0316b559","is_multipart":false,` +
			`"x_seen_by_refs":["` + rwOrg + `"]}`,
			`{"type":"email-message","id":"email-message--cf9b4b7f-14c8-5955-8065-020e0316b559","is_multipart":false,` +
				`"x_seen_by_refs":["` + rwAnon + `"]}`},
		{"SCOCreatedByPresent", `{"type":"file","id":"file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5","created_by_ref":"` + rwOrg + `"}`,
			`{"type":"file","id":"file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5",` + anon + `}`},
		{"CustomSCO", `{"type":"x-device","id":"x-device--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5"}`,
			`{"type":"x-device","id":"x-device--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5"}`},
		{"CustomSDO", `{"type":"x-device","id":"x-device--6ce09d9c-0ad3-4ebf-900c-e3cb288955b5","created":"2016-04-06T20:03:48.000Z"}`,
			`{"type":"x-device","id":"x-device--6ce09d9c-0ad3-4ebf-900c-e3cb288955b5","created":"2016-04-06T20:03:48.000Z",` + anon + `}`},
		// The kind the extensions declare decides before created does
		// (STIX 2.1 §7.3), as in Check.
		{"DeclaredSCO", `{"type":"x-device","id":"x-device--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5","created":"2016-04-06T20:03:48.000Z",` +
			`"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"new-sco"}}}`,
			`{"type":"x-device","id":"x-device--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5","created":"2016-04-06T20:03:48.000Z",` +
				`"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"new-sco"}}}`},
		{"DeclaredSDO", `{"type":"x-device","id":"x-device--6ce09d9c-0ad3-4ebf-900c-e3cb288955b5",` +
			`"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"new-sdo"}}}`,
			`{"type":"x-device","id":"x-device--6ce09d9c-0ad3-4ebf-900c-e3cb288955b5",` +
				`"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"new-sdo"}},` + anon + `}`},
		{"PredefinedTLP", `{"type":"marking-definition","spec_version":"2.1","id":"` + mkGreen1 + `","created":"2017-01-20T00:00:00.000Z",` +
			`"definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}`,
			`{"type":"marking-definition","spec_version":"2.1","id":"` + mkGreen1 + `","created":"2017-01-20T00:00:00.000Z",` +
				`"definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}`},
		{"OtherMarkingDefinition", `{"type":"marking-definition","id":"` + mkStatement + `","created":"2017-01-20T00:00:00.000Z"}`,
			`{"type":"marking-definition","id":"` + mkStatement + `","created":"2017-01-20T00:00:00.000Z",` + anon + `}`},
	} {
		t.Run(test.name, func(t *testing.T) {
			in := []byte(test.in)
			out := rwRewrite(t, "ReplaceIdentity", in, test.want, func(in []byte) ([]byte, error) {
				return ReplaceIdentity(in, rwOrg, rwAnon)
			})
			rwCheckRest(t, in, out, "created_by_ref", func(v any) any { return rwReplaceModel(v, rwOrg, rwAnon) })
			if asciiContainsFold(out, rwOrg) {
				t.Errorf("%s still in the output", rwOrg)
			}
		})
	}
}

// Ensure that the identity left where ReplaceIdentity must not replace it
// is reported, and the rewrite is still returned.
func TestReplaceIdentity_Remains(t *testing.T) {
	const sdo = `{"type":"note","id":"note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0062","created":"2016-05-12T08:17:27.000Z"`
	for _, test := range []struct {
		name string
		in   string
		want string
	}{
		{"InText", sdo + `,"content":"filed by ` + rwOrg + `","object_refs":["` + rwOrg + `"]}`,
			sdo + `,"content":"filed by ` + rwOrg + `","object_refs":["` + rwAnon + `"],"created_by_ref":"` + rwAnon + `"}`},
		{"InTextOtherCase", sdo + `,"content":"` + strings.ToUpper(rwOrg) + `!"}`,
			sdo + `,"content":"` + strings.ToUpper(rwOrg) + `!","created_by_ref":"` + rwAnon + `"}`},
		{"InTextEscaped", sdo + `,"content":"\u0069dentity--f431f809-377b-45e0-aa1c-6a4751cae5ff."}`,
			sdo + `,"content":"\u0069dentity--f431f809-377b-45e0-aa1c-6a4751cae5ff.","created_by_ref":"` + rwAnon + `"}`},
		{"InKey", sdo + `,"x_scores":{"` + rwOrg + `":3}}`,
			sdo + `,"x_scores":{"` + rwOrg + `":3},"created_by_ref":"` + rwAnon + `"}`},
		{"InURL", sdo + `,"external_references":[{"source_name":"x","url":"https://example.org/` + rwOrg + `"}]}`,
			sdo + `,"external_references":[{"source_name":"x","url":"https://example.org/` + rwOrg + `"}],"created_by_ref":"` + rwAnon + `"}`},
	} {
		t.Run(test.name, func(t *testing.T) {
			out, err := ReplaceIdentity([]byte(test.in), rwOrg, rwAnon)
			if !errors.Is(err, ErrIdentityRemains) {
				t.Fatalf("ReplaceIdentity error = %v, want ErrIdentityRemains", err)
			}
			if string(out) != test.want {
				t.Errorf("ReplaceIdentity =\n%s\nwant\n%s", out, test.want)
			}
			rwCheckCompact(t, out)
		})
	}
	// A trace only in the created_by_ref being replaced is no trace.
	in := `{"type":"note","created":"2016-05-12T08:17:27.000Z","created_by_ref":"x ` + rwOrg + `"}`
	if _, err := ReplaceIdentity([]byte(in), rwOrg, rwAnon); err != nil {
		t.Errorf("ReplaceIdentity(%s): %v", in, err)
	}
}

func TestReplaceIdentity_Errors(t *testing.T) {
	obj := `{"type":"indicator"}`
	for _, test := range []struct {
		name, in, from, to, want string
	}{
		{"FromEmpty", obj, "", rwAnon, "invalid STIX identifier"},
		{"ToEmpty", obj, rwOrg, "", "invalid STIX identifier"},
		{"FromNotIdentity", obj, mkRed2, rwAnon, "not an identity id"},
		{"ToNotIdentity", obj, rwOrg, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "not an identity id"},
		{"ToEscapes", obj, rwOrg, `identity--"x"`, "invalid STIX identifier"},
		{"NotJSON", `{"a":tru}`, rwOrg, rwAnon, "invalid JSON"},
		{"Number", `1`, rwOrg, rwAnon, "not a JSON object"},
		{"Null", `null`, rwOrg, rwAnon, "not a JSON object"},
		{"Trailing", obj + `{}`, rwOrg, rwAnon, "invalid JSON"},
		{"Unterminated", `{"created_by_ref":"` + rwOrg, rwOrg, rwAnon, "invalid JSON"},
		{"TooDeep", `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, rwOrg, rwAnon, "nested too deeply"},
	} {
		t.Run(test.name, func(t *testing.T) {
			out, err := ReplaceIdentity([]byte(test.in), test.from, test.to)
			rwCheckRefused(t, "ReplaceIdentity", out, err, test.want)
		})
	}
}

// rwIsObject reports whether raw is one valid JSON object, as the rewrites
// define their input.
func rwIsObject(raw []byte) bool {
	return json.Valid(raw) && utf8.Valid(raw) && bytes.TrimLeft(raw, " \t\r\n")[0] == '{'
}

// Ensure that neither rewrite lets a string that is not valid UTF-8 through
// (issue 9: the envelope scanner refused such strings, the rewriter copied
// them), wherever it is: a value copied as is, a key, a value the rewrite
// drops, a raw UTF-8 encoded surrogate.
func TestRewrite_InvalidUTF8(t *testing.T) {
	for _, in := range []string{
		`{"type":"note","content":"a` + "\xff" + `b"}`,
		`{"type":"note","x_` + "\xc3" + `":1}`,
		`{"type":"note","created_by_ref":"` + rwOrg + "\xed\xa0\x80" + `"}`,
		`{"type":"note","labels":["` + "\xed\xa0\x80" + `"]}`,
	} {
		if out, err := ReplaceIdentity([]byte(in), rwOrg, rwAnon); err == nil || out != nil {
			t.Errorf("ReplaceIdentity(%q) = %q, %v; want an error", in, out, err)
		} else if !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("ReplaceIdentity(%q): %v, want it to say the string is not valid UTF-8", in, err)
		}
		if out, err := AddObjectMarking([]byte(in), mkAmber2); err == nil || out != nil {
			t.Errorf("AddObjectMarking(%q) = %q, %v; want an error", in, out, err)
		}
	}
}

// rwFuzzSeeds are the fuzz corpus seeds shared by the fuzz tests.
var rwFuzzSeeds = []string{
	mkIndicator,
	`{}`,
	`{"created_by_ref":"` + rwOrg + `","where_sighted_refs":["` + rwOrg + `",1,null,true,{"a":["` + rwOrg + `"]}]}`,
	`{"type":"file","id":"file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5"}`,
	`{"type":"note","content":"` + rwOrg + ` wrote this","x":{"` + rwOrg + `":1}}`,
	`{"a":"\u0069dentity--f431f809-377b-45e0-aa1c-6a4751cae5ff","b":"\ud800","c":"é\"\\\/\b\f\n\r\t"}`,
	`{"object_marking_refs":["` + mkRed1 + `"],"granular_markings":[{"selectors":["a"],"marking_ref":"` + mkStrict + `"}],"id":"` + mkRed1 + `"}`,
	`{"object_marking_refs":null,"id":7,"id":"x"}`,
	" {\n\"a\" : [ 1 , -2.5e-3 , 0 ] } ",
	`{"a":1,}`, `{"a":01}`, `[1]`, `"x"`, ``, `{"a"`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a":1}x`, "{\"a\":\"\xff\"}",
	"{}\x00", `{"object_marking_refs":["`, `{"granular_markings":[{"marking_ref":"`,
}

func FuzzReplaceIdentity(f *testing.F) {
	for _, s := range rwFuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := ReplaceIdentity(in, rwOrg, rwAnon)
		if !rwIsObject(in) {
			if err == nil || errors.Is(err, ErrIdentityRemains) || out != nil {
				t.Fatalf("ReplaceIdentity(%q) = %q, %v; want nil and an error", in, out, err)
			}
			return
		}
		if err != nil && !errors.Is(err, ErrIdentityRemains) {
			t.Fatalf("ReplaceIdentity(%q): %v", in, err)
		}
		rwCheckCompact(t, out)
		rwCheckRest(t, in, out, "created_by_ref", func(v any) any { return rwReplaceModel(v, rwOrg, rwAnon) })
		if err == nil && asciiContainsFold(out, rwOrg) && !bytes.Contains(in, []byte(`\`)) {
			// Escaped text can hide a trace from bytes.Contains but not
			// from ReplaceIdentity, so only unescaped input is checked.
			t.Fatalf("ReplaceIdentity(%q) = %q: identity left without ErrIdentityRemains", in, out)
		}
	})
}

func FuzzAddObjectMarking(f *testing.F) {
	for _, s := range rwFuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		level, tlpErr := ObjectTLP(in)
		out, err := AddObjectMarking(in, mkAmber2)
		if !rwIsObject(in) {
			if err == nil || out != nil {
				t.Fatalf("AddObjectMarking(%q) = %q, %v; want nil and an error", in, out, err)
			}
			if tlpErr == nil {
				t.Fatalf("ObjectTLP(%q) = %v, want an error", in, level)
			}
			return
		}
		if err != nil {
			// Only a wrongly shaped object_marking_refs is refused.
			if !strings.Contains(err.Error(), "object_marking_refs must be a list") {
				t.Fatalf("AddObjectMarking(%q): %v", in, err)
			}
			return
		}
		rwCheckCompact(t, out)
		rwCheckRest(t, in, out, "object_marking_refs", nil)
		if tlpErr != nil {
			return
		}
		// Adding AMBER cannot lower the level, and raises anything below
		// it, unless the object is exempt (then it is unchanged).
		after, err := ObjectTLP(out)
		if err != nil {
			t.Fatalf("ObjectTLP(%q) after adding a marking: %v", out, err)
		}
		if after < level || after < TLPAmber && after != level {
			t.Fatalf("ObjectTLP: %v before adding %v, %v after", level, TLPAmber, after)
		}
	})
}

func BenchmarkAddObjectMarking(b *testing.B) {
	raw := []byte(mkIndicator)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AddObjectMarking(raw, mkAmber2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReplaceIdentity(b *testing.B) {
	raw := []byte(mkIndicator)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReplaceIdentity(raw, rwOrg, rwAnon); err != nil {
			b.Fatal(err)
		}
	}
}
