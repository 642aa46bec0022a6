package stix

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/eitaxii/eitaxii/schemas"
)

// mustSchemas compiles the embedded schemas once per test binary.
func mustSchemas(tb testing.TB) *schemaSet {
	tb.Helper()
	s, err := compileSchemas(schemas.FS)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// checkJSON decodes raw as Check does and runs the schema check alone.
func checkJSON(tb testing.TB, s *schemaSet, raw string) []Finding {
	tb.Helper()
	obj, err := decodeObject([]byte(raw))
	if err != nil {
		tb.Fatalf("bad test JSON: %v", err)
	}
	typ, _ := obj["type"].(string)
	return s.check(typ, obj)
}

var stixTypes = map[string][]string{
	"sdos": {"attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
		"indicator", "infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note",
		"observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability"},
	"sros": {"relationship", "sighting"},
	"observables": {"artifact", "autonomous-system", "directory", "domain-name", "email-addr",
		"email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
		"software", "url", "user-account", "windows-registry-key", "x509-certificate"},
	"meta": {"marking-definition", "language-content", "extension-definition"},
}

func TestCompileSchemas(t *testing.T) {
	s := mustSchemas(t)
	var want []string
	for _, types := range stixTypes {
		want = append(want, types...)
	}
	slices.Sort(want)
	got := slices.Sorted(maps.Keys(s.byType))
	if !slices.Equal(got, want) {
		t.Errorf("compiled types:\n got %v\nwant %v", got, want)
	}
	if len(want) != 42 {
		t.Errorf("want 19 SDOs + 2 SROs + 18 SCOs + 3 meta objects = 42 types, have %d", len(want))
	}
	for dir, types := range stixTypes {
		for _, typ := range types {
			if got := s.byType[typ].Location; got != schemaBase+dir+"/"+typ+".json#" {
				t.Errorf("%s compiled from %s", typ, got)
			}
		}
	}

	t.Run("ErrIDMismatch", func(t *testing.T) {
		fsys := fstest.MapFS{"common/core.json": {Data: []byte(`{"$id": "https://example.com/core.json"}`)}}
		if _, err := compileSchemas(fsys); err == nil || !strings.Contains(err.Error(), "$id") {
			t.Errorf("got %v, want an $id error", err)
		}
	})
	t.Run("ErrNoFetch", func(t *testing.T) {
		fsys := fstest.MapFS{"common/core.json": {Data: []byte(`{"$id": "` + schemaBase + `common/core.json",
			"$schema": "https://json-schema.org/draft/2020-12/schema",
			"$ref": "https://json-schema.org/draft/2020-12/links"}`)}}
		_, err := compileSchemas(fsys)
		if err == nil || !strings.Contains(err.Error(), "refusing to fetch") {
			t.Errorf("got %v, want a refusal to fetch", err)
		}
	})
}

// TestSchemaFiles checks the conventions of the schema files themselves:
// draft 2020-12, relative references only, and a message (description) on
// every node whose failure would otherwise be reported in validator jargon.
func TestSchemaFiles(t *testing.T) {
	err := fs.WalkDir(schemas.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if path := filepath.Ext(p); path != ".json" {
			t.Errorf("%s: only .json files belong in the schema tree", p)
			return nil
		}
		data, err := fs.ReadFile(schemas.FS, p)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema is %v, want draft 2020-12", p, doc["$schema"])
		}
		walkJSON(doc, func(k string, v any) {
			if s, ok := v.(string); ok && k == "$ref" && strings.Contains(s, "://") {
				t.Errorf("%s: $ref %q is absolute; use a relative reference", p, s)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	s := mustSchemas(t)
	// A schema under not or if never reports its own failure.
	silent := map[*jsonschema.Schema]bool{}
	for _, n := range s.nodes {
		silent[n.Not], silent[n.If] = true, true
	}
	for _, loc := range slices.Sorted(maps.Keys(s.nodes)) {
		n := s.nodes[loc]
		if silent[n] {
			continue
		}
		needs := n.Pattern != nil || n.Format != "" || n.Not != nil || len(n.AnyOf) > 0 || len(n.OneOf) > 0 || n.Contains != nil
		if needs && n.Description == "" {
			t.Errorf("%s: has pattern, format, not, anyOf, oneOf or contains but no description to word its failure", loc)
		}
		// STIX 2.1 §2.12: every list MUST have at least one value.
		if slices.Contains(n.Types, "array") && n.MinItems < 1 {
			t.Errorf("%s: a list without minItems 1", loc)
		}
	}
}

func walkJSON(v any, f func(key string, v any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			f(k, e)
			walkJSON(e, f)
		}
	case []any:
		for _, e := range v {
			walkJSON(e, f)
		}
	}
}

// propertyPattern returns the compiled pattern of property prop in the
// schema of typ.
func propertyPattern(t *testing.T, s *schemaSet, typ, prop string) *jsonschema.Schema {
	t.Helper()
	sch := s.byType[typ].Properties[prop]
	for sch != nil && sch.Pattern == nil {
		sch = sch.Ref
	}
	if sch == nil {
		t.Fatalf("%s.%s has no pattern", typ, prop)
	}
	return sch
}

func TestIPv6Pattern(t *testing.T) {
	s := mustSchemas(t)
	re := propertyPattern(t, s, "ipv6-addr", "value").Pattern

	valid := []string{
		"2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:85a3::8a2e:370:7334", "::", "::1", "1::",
		"fe80::1", "2001:db8::", "::ffff:192.0.2.128", "::ffff:0:192.0.2.128", "64:ff9b::192.0.2.33",
		"::192.0.2.128", "1:2:3:4:5:6:192.0.2.128", "1:2:3:4:5::192.0.2.128", "1:2:3:4:5:6:7:8",
		"1::8", "1:2::7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789",
		"2001:db8::/32", "::/0", "2001:db8::1/128", "::ffff:192.0.2.128/96",
	}
	invalid := []string{
		"", ":", ":::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "2001::db8::1", "12345::", "g::1",
		"::ffff:192.0.2.256", "::ffff:192.0.2", "::ffff:192.0.2.128.1", "1:2:3:4:5:6:7:192.0.2.128",
		"192.0.2.128", "2001:db8::/129", "2001:db8::/", "fe80::1%eth0", " ::1", "::1 ", "s::1",
	}
	for _, a := range valid {
		if !re.MatchString(a) {
			t.Errorf("%q is a valid IPv6 address or prefix but does not match", a)
		}
		if !netipOK(a) {
			t.Errorf("test bug: netip rejects %q", a)
		}
	}
	for _, a := range invalid {
		if re.MatchString(a) {
			t.Errorf("%q is not an IPv6 address but matches", a)
		}
	}

	// Every address, in every textual form Go prints or a human writes,
	// must match; the forms come from a spread of groups and zero runs.
	groups := [][8]uint16{
		{0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 1}, {0x2001, 0xdb8, 0, 0, 0, 0, 0, 1},
		{0x2001, 0xdb8, 0, 1, 0, 0, 0, 1}, {0xfe80, 0, 0, 0, 0x1ff, 0xfe23, 0x4567, 0x890a},
		{0, 0, 0, 0, 0, 0xffff, 0xc000, 0x280}, {1, 0, 3, 0, 5, 0, 7, 0}, {0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff},
	}
	for _, g := range groups {
		var b [16]byte
		for i, x := range g {
			b[2*i], b[2*i+1] = byte(x>>8), byte(x)
		}
		a := netip.AddrFrom16(b)
		forms := []string{a.String(), a.StringExpanded(), strings.ToUpper(a.StringExpanded())}
		var long []string
		for _, x := range g {
			long = append(long, fmt.Sprintf("%x", x))
		}
		forms = append(forms, strings.Join(long, ":"))
		v4 := netip.AddrFrom4([4]byte(b[12:]))
		forms = append(forms, strings.Join(long[:6], ":")+":"+v4.String())
		for _, f := range forms {
			if !re.MatchString(f) {
				t.Errorf("%q (%v) does not match", f, a)
			}
			if !re.MatchString(f + "/64") {
				t.Errorf("%q does not match", f+"/64")
			}
		}
	}
}

func netipOK(s string) bool {
	if strings.Contains(s, "/") {
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func TestIPv4Pattern(t *testing.T) {
	s := mustSchemas(t)
	re := propertyPattern(t, s, "ipv4-addr", "value").Pattern
	for _, a := range []string{"0.0.0.0", "198.51.100.3", "255.255.255.255", "10.2.4.5/24", "0.0.0.0/0", "1.2.3.4/32"} {
		if !re.MatchString(a) {
			t.Errorf("%q does not match", a)
		}
	}
	for _, a := range []string{"256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4/33", "1.2.3.4/", "::1", "1.2.3.4 "} {
		if re.MatchString(a) {
			t.Errorf("%q matches", a)
		}
	}
}

// TestPropertyNames checks the custom property name rule (STIX 2.1 §3.1,
// §11.1) on SDOs, SCOs and custom objects alike.
func TestPropertyNames(t *testing.T) {
	s := mustSchemas(t)
	objects := map[string]string{
		"sdo":        `{"type":"identity","spec_version":"2.1","id":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z","name":"ACME"}`,
		"sco":        `{"type":"mutex","id":"mutex--f93fe911-e545-5239-b9b0-597840d0c871","name":"m"}`,
		"custom-sdo": `{"type":"x-acme-thing","spec_version":"2.1","id":"x-acme-thing--f431f809-377b-45e0-aa1c-6a4751cae5ff","created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z"}`,
		"custom-sco": `{"type":"x-acme-device","id":"x-acme-device--f431f809-377b-45e0-aa1c-6a4751cae5ff"}`,
	}
	good := []string{"abc", "x_acme", "x_acme_org_risk_score", "a12", "a__", "x_" + strings.Repeat("a", 248)}
	bad := []string{"ab", "x", "Abc", "aBc", "a-b", "1ab", "_ab", "x-acme", "my_new_property!", "na me", "naïve",
		"x_" + strings.Repeat("a", 249), "abc\n"}
	for kind, base := range objects {
		for _, name := range good {
			raw := strings.TrimSuffix(base, "}") + fmt.Sprintf(",%q:1}", name)
			if fs := checkJSON(t, s, raw); len(fs) > 0 {
				t.Errorf("%s with property %.20q: want no findings, got %v", kind, name, fs)
			}
		}
		for _, name := range bad {
			raw := strings.TrimSuffix(base, "}") + fmt.Sprintf(",%q:1}", name)
			fs := checkJSON(t, s, raw)
			if len(fs) != 1 || fs[0].Path != "/"+name || !strings.Contains(fs[0].Message, "is not a valid property name") {
				t.Errorf("%s with property %.20q: want one property-name finding, got %v", kind, name, fs)
			}
		}
	}
}

// TestCheckMessages pins the wording and paths of findings.
func TestCheckMessages(t *testing.T) {
	s := mustSchemas(t)
	const ind = `"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z"`
	tests := []struct {
		name string
		raw  string
		want []string
	}{{
		name: "OK",
		raw:  `{` + ind + `,"pattern":"[a:b = 1]","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}`,
	}, {
		name: "Missing",
		raw:  `{` + ind + `}`,
		want: []string{
			"/pattern: pattern is required (schema)",
			"/pattern_type: pattern_type is required (schema)",
			"/valid_from: valid_from is required (schema)",
		},
	}, {
		name: "Several",
		raw: `{` + ind + `,"pattern":"[a:b = 1]","pattern_type":7,"valid_from":"yesterday","confidence":101,
			"labels":[],"severity":"high","external_references":[{"source_name":"x"},{"source_name":"y","url":"no url"}]}`,
		want: []string{
			"/confidence: confidence must be <= 100 (schema)",
			"/external_references/0: external_references[0] needs at least one of description, url or external_id besides source_name (schema)",
			"/external_references/1/url: url must be an absolute URL (RFC 3986), such as https://example.com/report.pdf (schema)",
			"/labels: labels must not be an empty list; leave the property out instead (schema)",
			"/pattern_type: pattern_type must be a string, not an integer (schema)",
			"/severity: severity is a reserved property name (STIX 2.1 section 3.8) and must not be used (schema)",
			"/valid_from: valid_from must be a STIX timestamp in UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z (schema)",
		},
	}, {
		name: "EscapedPath",
		raw:  `{"type":"file","id":"file--1b40e321-ae73-5637-bd97-33c35a86b80d","hashes":{"a/b~c d":"x"}}`,
		want: []string{"/hashes/a~1b~0c d: a/b~c d is not a valid hash algorithm name: names must be 3 to 250 characters of a-z, A-Z, 0-9, - and _ (schema)"},
	}, {
		name: "CustomWithCreated",
		raw:  `{"type":"x-thing","spec_version":"2.1","id":"x-thing--f431f809-377b-45e0-aa1c-6a4751cae5ff","created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z","defanged":true}`,
		want: []string{"/defanged: defanged may only be used on cyber-observable objects (SCOs) (schema)"},
	}, {
		name: "CustomWithoutCreated",
		raw:  `{"type":"x-thing","id":"x-thing--f431f809-377b-45e0-aa1c-6a4751cae5ff","defanged":true,"object_marking_refs":["x"]}`,
		want: []string{"/object_marking_refs/0: object_marking_refs[0] must be the identifier of a marking definition (marking-definition--<UUID>) (schema)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // and deterministically so
				var got []string
				for _, f := range checkJSON(t, s, tt.raw) {
					got = append(got, f.String())
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
				}
			}
		})
	}
}

// TestUpstreamBugs pins the cases where the OASIS schemas are known to be
// wrong (see stix-validation.md) and ours must not be.
func TestUpstreamBugs(t *testing.T) {
	s := mustSchemas(t)
	const camp = `"type":"campaign","spec_version":"2.1","id":"campaign--12a111f0-b824-4baf-a224-83b80237a094","created":"2017-02-08T21:31:22.007Z","modified":"2017-02-08T21:31:22.007Z","name":"Bank Attack","description":"x"`
	tests := []struct {
		name  string
		raw   string
		valid bool
	}{
		{"IPv6EmbeddedIPv4", `{"type":"ipv6-addr","id":"ipv6-addr--1e61d36c-a16c-53b7-a80f-2a00161c96b1","value":"::ffff:192.0.2.128"}`, true},
		{"LangOnlyGranularMarking", `{` + camp + `,"granular_markings":[{"selectors":["description"],"lang":"de"}]}`, true},
		{"LangAndMarkingRef", `{` + camp + `,"granular_markings":[{"selectors":["description"],"lang":"de","marking_ref":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"}]}`, false},
		{"PhoneNumberReserved", `{` + camp + `,"phone_number":"+1 555 0100"}`, false},
		{"PhoneNumbersNotReserved", `{` + camp + `,"phone_numbers":["+1 555 0100"]}`, true},
		{"UnanchoredPropertyName", `{` + camp + `,"my_new_property!":1}`, false},
		{"ExternalRefHashKeyPrefix", `{` + camp + `,"external_references":[{"source_name":"a","url":"https://a.example/","hashes":{"MD5x":"zz"}}]}`, true},
		{"ExternalRefMD5Suffix", `{` + camp + `,"external_references":[{"source_name":"a","url":"https://a.example/","hashes":{"MD5":"zz"}}]}`, false},
		{"RegistryKeyContainingHKCU", `{"type":"windows-registry-key","id":"windows-registry-key--2ba37ae7-2745-5082-9dfd-9486dad41016","key":"HKEY_LOCAL_MACHINE\\Software\\HKCU-Tools"}`, true},
		{"CPESuffixJunk", `{"type":"software","id":"software--710b0b41-d4d0-5d6c-a400-fc9254554ffc","name":"w","cpe":"xcpe:2.3:a:m:w:2000:*:*:*:*:*:*:*"}`, false},
		{"MimeTypeSuffixJunk", `{"type":"artifact","id":"artifact--a785c567-cc53-52a1-abeb-026bb7ddf8ba","payload_bin":"AA==","mime_type":"image/png junk"}`, false},
		{"ExtensionDefinitionCreatedBy", `{"type":"extension-definition","spec_version":"2.1","id":"extension-definition--9c59fd79-4215-4ba2-920d-3e4f320e1e62","created":"2014-02-20T09:16:08.989Z","modified":"2014-02-20T09:16:08.989Z","name":"n","schema":"s","version":"1","extension_types":["new-sdo"]}`, false},
		{"DefangedOnSDO", `{` + camp + `,"defanged":false}`, false},
		{"EmptyLabels", `{` + camp + `,"labels":[]}`, false},
		{"GroupingWithoutName", `{"type":"grouping","spec_version":"2.1","id":"grouping--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3","created":"2015-12-21T19:59:11.000Z","modified":"2015-12-21T19:59:11.000Z","context":"unspecified","object_refs":["indicator--26ffb872-1dd9-446e-b6f5-d58527e5b5d2"]}`, true},
		{"CustomSDOWithNote", `{"type":"x-custom","spec_version":"2.1","id":"x-custom--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3","created":"2015-12-21T19:59:11.000Z","modified":"2015-12-21T19:59:11.000Z","x_note":"n"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := checkJSON(t, s, tt.raw)
			if tt.valid && len(fs) > 0 {
				t.Errorf("want valid, got %v", fs)
			}
			if !tt.valid && len(fs) == 0 {
				t.Error("want findings, got none")
			}
		})
	}
}

// TestConcurrentCheck shares one schemaSet between goroutines, as the
// server does; run with -race.
func TestConcurrentCheck(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(typicalIndicator, `"confidence": 80`, `"confidence": 800`, 1)
	done := make(chan error)
	for i := range 8 {
		go func() {
			raw := typicalIndicator
			if i%2 == 1 {
				raw = bad
			}
			for range 50 {
				if _, fs := v.Check([]byte(raw)); (len(fs) == 0) != (i%2 == 0) {
					done <- fmt.Errorf("goroutine %d: unexpected findings %v", i, fs)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// typicalIndicator is what a TAXII feed mostly carries: an indicator with a
// STIX pattern, a creator, a marking and a few optional properties.
const typicalIndicator = `{
  "type": "indicator",
  "spec_version": "2.1",
  "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
  "created": "2016-04-06T20:03:48.000Z",
  "modified": "2016-04-06T20:03:48.000Z",
  "indicator_types": ["malicious-activity"],
  "name": "Poison Ivy Malware",
  "description": "This file is part of Poison Ivy",
  "pattern": "[ file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877' ]",
  "pattern_type": "stix",
  "valid_from": "2016-01-01T00:00:00Z",
  "labels": ["trojan"],
  "confidence": 80,
  "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]
}`

// BenchmarkValidateIndicator measures full validation (header, schema,
// rules, pattern) of a typical indicator.
func BenchmarkValidateIndicator(b *testing.B) {
	v, err := NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	raw := []byte(typicalIndicator)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, fs := v.Check(raw); len(fs) > 0 {
			b.Fatal(fs)
		}
	}
}

// BenchmarkSchemaIndicator measures the schema check alone on the same
// indicator, already decoded.
func BenchmarkSchemaIndicator(b *testing.B) {
	s := mustSchemas(b)
	obj, err := decodeObject([]byte(typicalIndicator))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if fs := s.check("indicator", obj); len(fs) > 0 {
			b.Fatal(fs)
		}
	}
}

// BenchmarkValidateBundle measures decoding a bundle of mixed objects (the
// valid corpus: every SDO, SRO, SCO and meta type) and validating each
// object. It reports the time per object too.
func BenchmarkValidateBundle(b *testing.B) {
	v, err := NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	files, err := filepath.Glob("../testdata/stix/valid/*.json")
	if err != nil || len(files) == 0 {
		b.Fatal("no corpus", err)
	}
	var objs []json.RawMessage
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, raw)
	}
	bundle, err := json.Marshal(map[string]any{
		"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objs,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bundle)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := DecodeEnvelope(bundle, EnvelopeLimits{})
		if err != nil {
			b.Fatal(err)
		}
		for _, raw := range got {
			if _, fs := v.Check(raw); len(fs) > 0 {
				b.Fatal(fs)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(objs)), "ns/object")
}

// TestFastValidAgrees compares fastValid with the full validator on the
// corpus and on systematic mutations of it: whenever fastValid is certain,
// the full validator must agree.
func TestFastValidAgrees(t *testing.T) {
	s := mustSchemas(t)
	load := func(pattern string) []map[string]any {
		var objs []map[string]any
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if obj, err := decodeObject(raw); err == nil {
				objs = append(objs, obj)
			}
		}
		return objs
	}
	replacements := []any{nil, true, "", "x", "2016-01-01T00:00:00Z", json.Number("-1"), json.Number("1.0"),
		json.Number("1e2"), json.Number("100.5"), []any{}, []any{"x"}, map[string]any{},
		"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"}
	var certain, checked int
	compare := func(typ string, obj map[string]any, what string) {
		sch := s.byType[typ]
		if sch == nil {
			sch = s.observable
			if _, ok := obj["created"]; ok {
				sch = s.core
			}
		}
		fast := fastValid(sch, obj)
		full := sch.Validate(obj) == nil
		checked++
		if fast != unsure {
			certain++
		}
		if fast == certainlyValid && !full || fast == certainlyInvalid && full {
			t.Errorf("%s: fastValid says %v, the validator says valid=%v", what, fast, full)
		}
	}
	for _, obj := range load("../testdata/stix/invalid/*.json") {
		typ, _ := obj["type"].(string)
		compare(typ, obj, typ)
	}
	for _, obj := range load("../testdata/stix/valid/*.json") {
		typ, _ := obj["type"].(string)
		// Valid objects must take the fast path, or it buys nothing.
		if sch := s.byType[typ]; sch != nil && fastValid(sch, obj) != certainlyValid {
			t.Errorf("%s %v: fastValid is not certain that it is valid", typ, obj["id"])
		}
		compare(typ, obj, typ)
		// Mutate every property and every property one level down.
		for k, v := range obj {
			mutate(obj, k, v, replacements, func(label string) { compare(typ, obj, typ+"."+k+label) })
			if m, ok := v.(map[string]any); ok {
				for k2, v2 := range m {
					mutate(m, k2, v2, replacements, func(label string) { compare(typ, obj, typ+"."+k+"."+k2+label) })
				}
			}
			if l, ok := v.([]any); ok && len(l) > 0 {
				if m, ok := l[0].(map[string]any); ok {
					for k2, v2 := range m {
						mutate(m, k2, v2, replacements, func(label string) { compare(typ, obj, typ+"."+k+"[0]."+k2+label) })
					}
				}
			}
		}
	}
	t.Logf("%d objects checked, fastValid certain about %d", checked, certain)
	if certain < checked*9/10 {
		t.Errorf("fastValid is unsure too often: certain about %d of %d", certain, checked)
	}
}

// mutate replaces m[k] by each replacement in turn, then deletes it, calling
// check after each change, and finally restores the original value v.
func mutate(m map[string]any, k string, v any, replacements []any, check func(label string)) {
	for i, r := range replacements {
		m[k] = r
		check(fmt.Sprintf(" = replacement %d", i))
	}
	delete(m, k)
	check(" deleted")
	m[k] = v
}

func (r fastResult) String() string {
	return [...]string{"certainly invalid", "certainly valid", "unsure"}[r]
}

// FuzzFastValid looks for objects on which fastValid and the full validator
// disagree. Plain go test runs the seeds (the valid corpus) only.
func FuzzFastValid(f *testing.F) {
	files, _ := filepath.Glob("../testdata/stix/valid/*.json")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	s := mustSchemas(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		obj, err := decodeObject(raw)
		if err != nil {
			return
		}
		typ, _ := obj["type"].(string)
		sch := s.byType[typ]
		if sch == nil {
			sch = s.core
		}
		fast := fastValid(sch, obj)
		full := sch.Validate(obj) == nil
		if fast == certainlyValid && !full || fast == certainlyInvalid && full {
			t.Errorf("fastValid says %v, the validator says valid=%v", fast, full)
		}
	})
}
