package stix

import (
	"errors"
	"strings"
	"testing"
)

// Ensure that DecodeEnvelope refuses a string longer than MaxStringBytes
// wherever it is in an object, names the object and, where it can, the
// property, and accepts a string of exactly the limit.
func TestDecodeEnvelope_MaxStringBytes(t *testing.T) {
	const max = 100
	long := strings.Repeat("a", max+1)
	exact := strings.Repeat("a", max)
	obj := `{"type":"note","id":"note--5d0092c5-5f74-4287-9642-33f4c354e56d"}`
	for _, tt := range []struct {
		name, body, want string
	}{
		{"Value", `{"objects":[` + obj + `,{"type":"note","content":"` + long + `"}]}`, `objects[1]: the value of "content" is a JSON string of 101 bytes, at most 100 are accepted`},
		{"Nested", `{"objects":[{"type":"x","a":{"b" : "` + long + `"}}]}`, `objects[0]: the value of "b" is a JSON string of 101 bytes`},
		{"ListElement", `{"objects":[{"type":"x","labels":["a","` + long + `"]}]}`, `objects[0]: a JSON string of 101 bytes`},
		{"PropertyName", `{"objects":[{"type":"x","` + long + `":1}]}`, `objects[0]: a property name of 101 bytes`},
		{"Escapes", `{"objects":[{"type":"x","c":"` + strings.Repeat(`\"`, max/2) + `a"}]}`, `objects[0]: the value of "c" is a JSON string of 101 bytes`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEnvelope([]byte(tt.body), EnvelopeLimits{MaxStringBytes: max})
			if !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("err = %v, want ErrBadEnvelope", err)
			} else if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("Exact", func(t *testing.T) {
		body := `{"objects":[{"type":"x","` + exact + `":"` + exact + `","l":["` + exact + `"]}],"next":"` + long + `"}`
		if objs, err := DecodeEnvelope([]byte(body), EnvelopeLimits{MaxStringBytes: max}); err != nil {
			t.Fatal(err)
		} else if len(objs) != 1 {
			t.Fatalf("%d objects, want 1", len(objs))
		}
	})
	t.Run("Default", func(t *testing.T) {
		body := `{"objects":[{"type":"x","c":"` + strings.Repeat("a", defaultMaxStringBytes) + `"}]}`
		if _, err := DecodeEnvelope([]byte(body), EnvelopeLimits{}); err != nil {
			t.Fatalf("a string of exactly 1 MiB: %v", err)
		}
		body = `{"objects":[{"type":"x","c":"` + strings.Repeat("a", defaultMaxStringBytes+1) + `"}]}`
		if _, err := DecodeEnvelope([]byte(body), EnvelopeLimits{}); err == nil || !strings.Contains(err.Error(), "at most 1048576") {
			t.Fatalf("a string of 1 MiB + 1: err = %v", err)
		}
	})
}

// Ensure that the depth and object-count refusals say what the limit is.
func TestDecodeEnvelope_LimitMessages(t *testing.T) {
	deep := `{"objects":[{"type":"x","d":` + strings.Repeat("[", 10) + strings.Repeat("]", 10) + `}]}`
	if _, err := DecodeEnvelope([]byte(deep), EnvelopeLimits{MaxDepth: 8}); err == nil || !strings.Contains(err.Error(), "JSON nested deeper than the 8 levels accepted (byte offset 33 of the body)") {
		t.Errorf("depth: err = %v", err)
	}
	many := `{"objects":[{},{},{}]}`
	if _, err := DecodeEnvelope([]byte(many), EnvelopeLimits{MaxObjects: 2}); err == nil || !strings.Contains(err.Error(), "3 objects in one envelope, at most 2 are accepted") {
		t.Errorf("objects: err = %v", err)
	}
}

// Ensure that a body ending inside a string right after a backslash is
// reported at the end of the body, not one byte past it.
func TestDecodeEnvelope_UnterminatedEscape(t *testing.T) {
	_, err := DecodeEnvelope([]byte(`{"objects":[{"a":"b\`), EnvelopeLimits{})
	if want := `offset 20: unexpected end of body in an unterminated string`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
}
