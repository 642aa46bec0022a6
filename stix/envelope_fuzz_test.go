package stix

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeEnvelope feeds arbitrary bodies through DecodeEnvelope and every
// object it yields through Check, checkRules (even when Check would stop at
// the header) and checkIJSON. None of them may panic, whatever the
// input.
func FuzzDecodeEnvelope(f *testing.F) {
	seeds := []string{
		`{}`,
		`{"objects":[]}`,
		`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + rtIndicator + `,` + rtObservedObjects + `]}`,
		`{"objects":[` + rtTLP1Green + `,` + rtTLP2Strict + `,` + rtLanguage + `,` + rtExtDef + `]}`,
		`{"objects":[` + rtFile + `,` + rtProcess + `,` + rtNetwork + `,` + rtEmailMessage + `]}`,
		`{"objects":[{"type":"indicator","type":"malware","a":{"b":1,"b":2}}]}`,
		`{"objects":[{"type":"x-custom","id":"x-custom--5d0092c5-5f74-4287-9642-33f4c354e56d","granular_markings":[{"selectors":["a.[0].b","[1]",".",""]}]}]}`,
		`{"objects":[{"type":"observed-data","objects":{"0":{"type":"file","parent_directory_ref":"0"}}}]}`,
		`[1,2]`,
		`{"objects":[[]]}`,
		`{"objects":[{"a":` + "\xff" + `}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// The rule corpus gives the fuzzer objects that reach every rule.
	files, _ := filepath.Glob("../testdata/stix/invalid/rule-*.json")
	for _, file := range files {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add([]byte(`{"objects":[` + string(raw) + `]}`))
		}
	}
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		objs, err := DecodeEnvelope(body, EnvelopeLimits{MaxObjects: 64})
		if err != nil {
			return
		}
		for _, raw := range objs {
			h, _ := v.Check(raw)
			checkIJSON(raw)
			if obj, err := decodeObject(raw); err == nil {
				checkRules(&h, obj)
			}
		}
	})
}
