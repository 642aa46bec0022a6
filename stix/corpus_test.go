package stix

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCorpus runs every file of ../testdata/stix through Check: each
// valid/*.json must have no findings, and each invalid/*.json must have at
// least one finding whose String() contains the text of its sidecar
// invalid/<name>.want.
func TestCorpus(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}

	eachCorpusFile(t, "valid", func(t *testing.T, _ string, raw []byte) {
		if _, fs := v.Check(raw); len(fs) > 0 {
			t.Errorf("want no findings, got:\n%s", findingLines(fs))
		}
	})
	eachCorpusFile(t, "invalid", func(t *testing.T, file string, raw []byte) {
		wantRaw, err := os.ReadFile(strings.TrimSuffix(file, ".json") + ".want")
		if err != nil {
			t.Fatalf("every invalid file needs a .want sidecar: %v", err)
		}
		want := strings.TrimSpace(string(wantRaw))
		if want == "" {
			t.Fatal("empty .want file")
		}
		_, fs := v.Check(raw)
		for _, f := range fs {
			if strings.Contains(f.String(), want) {
				return
			}
		}
		t.Errorf("want a finding containing %q, got:\n%s", want, findingLines(fs))
	})

	// A .want without its .json is a test that silently never runs.
	wants, _ := filepath.Glob("../testdata/stix/invalid/*.want")
	for _, w := range wants {
		if _, err := os.Stat(strings.TrimSuffix(w, ".want") + ".json"); err != nil {
			t.Errorf("%s has no .json next to it", w)
		}
	}
}

// eachCorpusFile runs check as the subtest kind/<name> on each JSON file
// of ../testdata/stix/<kind>, and fails when there is none.
func eachCorpusFile(t *testing.T, kind string, check func(t *testing.T, file string, raw []byte)) {
	t.Helper()
	files, err := filepath.Glob("../testdata/stix/" + kind + "/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no files in ../testdata/stix/" + kind)
	}
	for _, file := range files {
		t.Run(kind+"/"+filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			check(t, file, raw)
		})
	}
}

func findingLines(fs []Finding) string {
	if len(fs) == 0 {
		return "\t(none)"
	}
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\t")
		b.WriteString(f.String())
		b.WriteString("\n")
	}
	return b.String()
}

// TestCorpusCoversEveryType makes sure the valid corpus holds at least one
// object of every type that has a schema, and custom objects of both kinds.
func TestCorpusCoversEveryType(t *testing.T) {
	s := mustSchemas(t)
	files, _ := filepath.Glob("../testdata/stix/valid/*.json")
	seen := map[string]int{}
	custom := map[bool]int{} // by whether the object has created
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decodeObject(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		typ, _ := obj["type"].(string)
		seen[typ]++
		if s.byType[typ] == nil {
			_, created := obj["created"]
			custom[created]++
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(s.byType)) {
		if seen[typ] == 0 {
			t.Errorf("no valid corpus object of type %s", typ)
		}
	}
	if custom[true] == 0 || custom[false] == 0 {
		t.Errorf("want custom objects with and without created, have %v", custom)
	}
}
