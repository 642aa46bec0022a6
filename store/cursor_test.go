package store

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testCodec = NewTokenCodec(bytes.Repeat([]byte{0x5a}, 32))

// Ensure that Resolve without a token normalizes the request's filter,
// defaults match[version] to the latest and starts after added_after's µs
// floor.
func TestResolveWithoutToken(t *testing.T) {
	aa := time.Date(2024, 5, 1, 12, 0, 0, 1500, time.FixedZone("x", 3600))
	q := &Query{Filter: Filter{AddedAfter: aa, Types: []string{"malware", "indicator", "malware"}}}
	f, after, err := testCodec.Resolve(KindObjects, "c", "", q)
	if err != nil {
		t.Fatal(err)
	}
	want := Filter{AddedAfter: aa.UTC(), Types: []string{"indicator", "malware"}, Versions: VersionSet{Last: true}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("filter %+v, want %+v", f, want)
	}
	if after != aa.UnixMicro() {
		t.Errorf("after %d, want %d", after, aa.UnixMicro())
	}
	if q.Filter.Types[0] != "malware" {
		t.Error("Resolve modified the request's filter")
	}
	if _, after, _ := testCodec.Resolve(KindObjects, "c", "", &Query{}); after != -1 {
		t.Errorf("after %d without added_after, want -1", after)
	}
	if _, after, _ := testCodec.Resolve(KindObjects, "c", "", &Query{Filter: Filter{AddedAfter: time.Unix(-10, 0)}}); after != -1 {
		t.Errorf("after %d for an added_after before the epoch, want -1", after)
	}
}

// Ensure that a token made by Next resolves to its filter and position on
// its own endpoint, whether the request drops or repeats the filters.
func TestNextResolve(t *testing.T) {
	f := Filter{IDs: []string{"indicator--1"}, SpecVersions: []string{"2.1"},
		Versions: VersionSet{First: true, At: []time.Time{time.Unix(5, 0).UTC()}}}
	tok := testCodec.Next(KindObject, "c", "indicator--1", 42, &f)
	for _, req := range []Filter{{}, f, {SpecVersions: []string{"2.1", "2.1"}}} {
		got, after, err := testCodec.Resolve(KindObject, "c", "indicator--1", &Query{Filter: req, Next: tok})
		if err != nil {
			t.Fatalf("request %+v: %v", req, err)
		}
		if after != 42 || !reflect.DeepEqual(got, f) {
			t.Errorf("request %+v: got %+v after %d, want %+v after 42", req, got, after, f)
		}
	}
}

// Ensure that every refusal is a *CursorError matching ErrBadCursor, with
// the words clients see.
func TestResolveRefusals(t *testing.T) {
	f := Filter{Types: []string{"indicator"}}
	tok := testCodec.Next(KindObjects, "c", "", 1, &f)
	other := NewTokenCodec(bytes.Repeat([]byte{0xa5}, 32)).Next(KindObjects, "c", "", 1, &f)
	malformed := testCodec.sign([]byte("{"))
	tests := []struct {
		name, kind, coll, token string
		filter                  Filter
		problem                 string
	}{
		{"TooLong", KindObjects, "c", strings.Repeat("A", MaxTokenLen+1), Filter{}, "too long"},
		{"NotBase64", KindObjects, "c", "!!!", Filter{}, "not a token this server issued"},
		{"Newline", KindObjects, "c", tok + "\n", Filter{}, "not a token this server issued"},
		{"OtherKey", KindObjects, "c", other, Filter{}, "not a token this server issued"},
		{"Malformed", KindObjects, "c", malformed, Filter{}, "malformed"},
		{"OtherEndpoint", KindManifest, "c", tok, Filter{}, "it belongs to another endpoint or collection"},
		{"OtherCollection", KindObjects, "d", tok, Filter{}, "it belongs to another endpoint or collection"},
		{"OtherFilter", KindObjects, "c", tok, Filter{Types: []string{"malware"}}, "the request's filters differ from those the token was issued for"},
		{"OtherVersions", KindObjects, "c", tok, Filter{Versions: VersionSet{All: true}}, "the request's filters differ from those the token was issued for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := testCodec.Resolve(tt.kind, tt.coll, "", &Query{Filter: tt.filter, Next: tt.token})
			var ce *CursorError
			if !errors.As(err, &ce) || !errors.Is(err, ErrBadCursor) {
				t.Fatalf("error %v, want a *CursorError", err)
			}
			if ce.Problem != tt.problem {
				t.Errorf("problem %q, want %q", ce.Problem, tt.problem)
			}
		})
	}
}

// Ensure that a filter too long to travel in the token travels as a
// fingerprint: a request repeating it continues, one dropping or changing
// it is refused.
func TestResolveFingerprint(t *testing.T) {
	var ids []string
	for i := range 300 {
		ids = append(ids, fmt.Sprintf("indicator--%04d", i))
	}
	f := Filter{IDs: ids, Versions: VersionSet{Last: true}}
	tok := testCodec.Next(KindManifest, "c", "", 7, &f)
	if len(tok) > 200 {
		t.Fatalf("token of %d bytes: the filter was not compacted", len(tok))
	}
	// Without match[version]: the default the token was issued with.
	got, after, err := testCodec.Resolve(KindManifest, "c", "", &Query{Filter: Filter{IDs: ids}, Next: tok})
	if err != nil || after != 7 || !reflect.DeepEqual(got, f) {
		t.Fatalf("repeated filter: %+v after %d, %v", got, after, err)
	}
	const problem = "this query's filters are too long to travel in next; repeat all of them with it"
	for _, req := range []Filter{{}, {IDs: ids[1:]}} {
		_, _, err := testCodec.Resolve(KindManifest, "c", "", &Query{Filter: req, Next: tok})
		var ce *CursorError
		if !errors.As(err, &ce) || ce.Problem != problem {
			t.Errorf("request of %d ids: error %v, want %q", len(req.IDs), err, problem)
		}
	}
}

// Ensure that the token form of a filter round-trips, and that Compacted
// keeps short filters whole.
func TestTokenFilter(t *testing.T) {
	f := Filter{AddedAfter: time.Unix(0, 0).UTC(), Types: []string{"indicator"},
		Versions: VersionSet{All: true, At: []time.Time{time.Unix(1, 2).UTC()}}}
	tf := NewTokenFilter(&f)
	if tf.AddedAfter == nil || *tf.AddedAfter != 0 {
		t.Errorf("added_after at the epoch: %v, want 0", tf.AddedAfter)
	}
	if got := tf.Compacted(); got.Hash != nil {
		t.Error("a short filter was compacted")
	}
	back := tf.Filter()
	if !reflect.DeepEqual(back, f) {
		t.Errorf("round trip %+v, want %+v", back, f)
	}
	if g := NewTokenFilter(&Filter{}); g.AddedAfter != nil {
		t.Error("no added_after became one")
	}
}
