package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/eitaxii/eitaxii/stix"
)

// validator is compiled once: compiling the schemas is the slow part.
var validator = sync.OnceValues(stix.NewValidator)

func mustValidator(t testing.TB) *stix.Validator {
	t.Helper()
	v, err := validator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustGenerator(t testing.TB, seed uint64, share float64) *Generator {
	t.Helper()
	g, err := NewGenerator(seed, share, []string{"clear", "green", "amber", "amber+strict", "red"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// checkValid fails the test if eitaxii's validator has findings for raw.
func checkValid(t *testing.T, v *stix.Validator, seed, i uint64, raw []byte) {
	t.Helper()
	if _, fs := v.Check(raw); len(fs) > 0 {
		t.Fatalf("seed %d item %d: %s\n%s", seed, i, stix.Summarize(fs, 5), raw)
	}
}

// Ensure that generated objects pass eitaxii's own validator (schemas,
// STIX rules and the pattern parser) for thousands of seeds.
func TestGenerator_Valid(t *testing.T) {
	v := mustValidator(t)
	seeds := uint64(3000)
	if testing.Short() {
		seeds = 300
	}
	// The check is not vacuous: a broken pattern is found.
	bad := bytes.Replace(mustGenerator(t, 1, 0).AppendObject(nil, 0), []byte(`"pattern":"[`), []byte(`"pattern":"[[`), 1)
	if _, fs := v.Check(bad); len(fs) == 0 {
		t.Fatalf("validator accepts a broken pattern: %s", bad)
	}
	var b []byte
	for seed := range seeds {
		g := mustGenerator(t, seed, 0.3)
		// The first items, and one far into the stream (a likely version).
		for _, i := range []uint64{0, 1, 2, 1000 + seed*7919} {
			b = g.AppendObject(b[:0], i)
			checkValid(t, v, seed, i, b)
		}
	}
	// One long stream, so that every kind of pattern and many versions
	// occur.
	g := mustGenerator(t, 42, 0.5)
	for i := range uint64(3000) {
		b = g.AppendObject(b[:0], i)
		checkValid(t, v, 42, i, b)
	}
}

// Ensure that every kind of indicator the generator knows occurs.
func TestGenerator_Kinds(t *testing.T) {
	g := mustGenerator(t, 7, 0)
	want := []string{"ipv4-addr:value =", "ipv4-addr:value ISSUBSET", "ipv6-addr:value", "domain-name:value",
		"url:value", "file:hashes.MD5", "file:hashes.'SHA-256'", "file:name", "email-addr:value",
		"email-message:from_ref.value", "WITHIN 3600 SECONDS"}
	var all strings.Builder
	for i := range uint64(2000) {
		all.Write(g.AppendObject(nil, i))
	}
	for _, w := range want {
		if !strings.Contains(all.String(), w) {
			t.Errorf("no pattern with %q in 2000 objects", w)
		}
	}
	for level, id := range tlpMarkings {
		if !strings.Contains(all.String(), id) {
			t.Errorf("no object marked TLP:%s", level)
		}
	}
}

var uuidV4 = regexp.MustCompile(`^indicator--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
var millis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// Ensure that Item agrees with the rendered object, that ids are UUIDv4
// shaped, times have millisecond precision, every (id, modified) is
// distinct, and an object's versions keep created and increase modified.
func TestGenerator_Versions(t *testing.T) {
	g := mustGenerator(t, 3, 0.3)
	type obj struct {
		ID       string `json:"id"`
		Created  string `json:"created"`
		Modified string `json:"modified"`
	}
	seen := map[string]bool{}
	lastMod := map[string]string{}
	created := map[string]string{}
	versions := 0
	for i := range uint64(5000) {
		var o obj
		if err := json.Unmarshal(g.AppendObject(nil, i), &o); err != nil {
			t.Fatal(err)
		}
		it := g.Item(i)
		if it.ID != o.ID || it.Modified != o.Modified || it.Index != i {
			t.Fatalf("item %d: Item %+v, object %+v", i, it, o)
		}
		if !uuidV4.MatchString(o.ID) {
			t.Fatalf("item %d: id %q is not UUIDv4-shaped", i, o.ID)
		}
		if !millis.MatchString(o.Created) || !millis.MatchString(o.Modified) {
			t.Fatalf("item %d: created %q modified %q not millisecond precision", i, o.Created, o.Modified)
		}
		if seen[o.ID+o.Modified] {
			t.Fatalf("item %d: %s version %s generated twice", i, o.ID, o.Modified)
		}
		seen[o.ID+o.Modified] = true
		if prev, ok := lastMod[o.ID]; ok {
			versions++
			if o.Modified <= prev {
				t.Fatalf("item %d: %s modified %s after %s", i, o.ID, o.Modified, prev)
			}
			if created[o.ID] != o.Created {
				t.Fatalf("item %d: %s created changed from %s to %s", i, o.ID, created[o.ID], o.Created)
			}
		} else if it.Object != i || o.Created != o.Modified {
			t.Fatalf("item %d: first version of %s has origin %d, created %s, modified %s", i, o.ID, it.Object, o.Created, o.Modified)
		}
		lastMod[o.ID], created[o.ID] = o.Modified, o.Created
	}
	if share := float64(versions) / 5000; share < 0.25 || share > 0.35 {
		t.Errorf("%.3f of the items are new versions, want about 0.3", share)
	}
}

// Ensure that a seed always produces the same bytes, and another seed
// other objects.
func TestGenerator_Reproducible(t *testing.T) {
	a, b, c := mustGenerator(t, 9, 0.1), mustGenerator(t, 9, 0.1), mustGenerator(t, 10, 0.1)
	ea, eb, ec := a.AppendEnvelope(nil, 0, 50), b.AppendEnvelope(nil, 0, 50), c.AppendEnvelope(nil, 0, 50)
	if !bytes.Equal(ea, eb) {
		t.Error("same seed, different envelopes")
	}
	if a.Item(0).ID == c.Item(0).ID {
		t.Error("seeds 9 and 10 produce the same first id")
	}
	if bytes.Equal(ea, ec) {
		t.Error("different seeds, same envelope")
	}
	var env struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(ea, &env); err != nil || len(env.Objects) != 50 {
		t.Fatalf("envelope: %v, %d objects", err, len(env.Objects))
	}
}

func TestNewGenerator_Errors(t *testing.T) {
	for _, test := range []struct {
		name  string
		share float64
		tlp   []string
	}{
		{"ShareTooHigh", 0.95, []string{"green"}},
		{"ShareNegative", -0.1, []string{"green"}},
		{"NoTLP", 0.1, nil},
		{"UnknownTLP", 0.1, []string{"white"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			if _, err := NewGenerator(1, test.share, test.tlp); err == nil {
				t.Error("no error")
			}
		})
	}
}

func BenchmarkGenerator_AppendEnvelope(b *testing.B) {
	g := mustGenerator(b, 1, 0.1)
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = g.AppendEnvelope(buf[:0], uint64(i)*1000, uint64(i+1)*1000)
	}
	b.SetBytes(int64(len(buf)))
}
