package stix

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestFileObjects(t *testing.T) {
	ind := `{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`
	obs := `{"type":"observed-data","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf","objects":{"0":{"type":"file"}}}`
	for _, tc := range []struct {
		name, in string
		want     []string // the objects, compact
		err      string   // a part of the error
	}{
		{"OneObject", "  " + ind + "\n", []string{ind}, ""},
		{"Bundle", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + ind + `,` + obs + `]}`, []string{ind, obs}, ""},
		{"Envelope", `{"more":false,"objects":[` + ind + `]}`, []string{ind}, ""},
		// observed-data's deprecated objects member is a property, not a list.
		{"ObservedData", obs, []string{obs}, ""},
		{"NotJSON", `{"type":`, nil, "not a JSON object"},
		{"List", `[` + ind + `]`, nil, "not a JSON object"},
		{"NoTypeNoObjects", `{"id":"x"}`, nil, "not STIX"},
		{"TypeNotString", `{"type":7}`, nil, "type member"},
		{"EmptyBundle", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[]}`, nil, "empty"},
		{"BundleWithoutObjects", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}`, nil, "empty or missing"},
		// The envelope rules of a request body: a misspelt member is refused.
		{"EnvelopeUnknownMember", `{"objects":[` + ind + `],"Objects":[]}`, nil, "Objects"},
		{"ObjectNotObject", `{"objects":[1]}`, nil, "objects[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FileObjects([]byte(tc.in), EnvelopeLimits{})
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrBadEnvelope) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrBadEnvelope with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d objects, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if string(got[i]) != tc.want[i] {
					t.Errorf("object %d = %s, want %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestPackEnvelopes(t *testing.T) {
	obj := func(n int) json.RawMessage { return json.RawMessage(`{"x":"` + strings.Repeat("a", n) + `"}`) }
	// Each obj(10) is 18 bytes; an envelope of k of them is 14 + 18k + (k-1).
	objs := []json.RawMessage{obj(10), obj(10), obj(10), obj(10), obj(10)}
	for _, tc := range []struct {
		name     string
		objects  []json.RawMessage
		limit    int64
		sizes    []int // objects per envelope
		tooLarge []int
	}{
		{"NoLimit", objs, 0, []int{5}, nil},
		{"AllFit", objs, 14 + 5*18 + 4, []int{5}, nil},
		{"OneByteShort", objs, 14 + 5*18 + 3, []int{4, 1}, nil},
		{"TwoEach", objs, 14 + 2*18 + 1, []int{2, 2, 1}, nil},
		{"ExactlyOne", objs, 14 + 18, []int{1, 1, 1, 1, 1}, nil},
		{"TooLargeSkipped", []json.RawMessage{obj(10), obj(100), obj(10)}, 14 + 2*18 + 1, []int{2}, []int{1}},
		{"NothingFits", []json.RawMessage{obj(100)}, 50, nil, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			envs, big := PackEnvelopes(tc.objects, tc.limit)
			if len(envs) != len(tc.sizes) {
				t.Fatalf("%d envelopes, want %d", len(envs), len(tc.sizes))
			}
			var total int
			for i, env := range envs {
				if tc.limit > 0 && int64(len(env)) > tc.limit {
					t.Errorf("envelope %d is %d bytes, over the limit %d", i, len(env), tc.limit)
				}
				got, err := DecodeEnvelope(env, EnvelopeLimits{})
				if err != nil {
					t.Fatalf("envelope %d does not decode: %v: %s", i, err, env)
				}
				if len(got) != tc.sizes[i] {
					t.Errorf("envelope %d holds %d objects, want %d", i, len(got), tc.sizes[i])
				}
				total += len(got)
			}
			if total+len(big) != len(tc.objects) {
				t.Errorf("%d packed + %d too large != %d objects", total, len(big), len(tc.objects))
			}
			if len(big) != len(tc.tooLarge) || (len(big) > 0 && big[0] != tc.tooLarge[0]) {
				t.Errorf("tooLarge = %v, want %v", big, tc.tooLarge)
			}
		})
	}
}
