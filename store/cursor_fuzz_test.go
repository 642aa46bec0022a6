package store

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeCursor checks TokenCodec against hostile next tokens:
//   - an arbitrary string never panics the decoder, and decodes only if it
//     is exactly what Encode makes of the decoded cursor (so no
//     variant spelling of a token, and nothing forged, is accepted);
//   - a cursor built from the fuzzer's fields round-trips through
//     Encode and Decode (unless its token is longer than the
//     decoder accepts);
//   - a token made with another key, and a token with one character
//     changed, are refused.
func FuzzDecodeCursor(f *testing.F) {
	codec := NewTokenCodec(bytes.Repeat([]byte{0x5a}, 32))
	other := NewTokenCodec(bytes.Repeat([]byte{0xa5}, 32))
	aa := int64(1714564800000000000)
	seeds := []*Cursor{
		{Kind: "objects", Collection: "91a7b528-80eb-42ed-a74d-c6fbd5a26116", After: 1714564800000001},
		{Kind: "object", Collection: "c", Object: "indicator--5d0092c5-5f74-4287-9642-33f4c354e56d", After: -1,
			Filter: TokenFilter{AddedAfter: &aa, SpecVersions: []string{"2.1"}, First: true, At: []int64{0, -5}}},
		{Kind: "manifest", Collection: "c", Filter: TokenFilter{IDs: []string{"a", "b"}, Types: []string{"indicator"}, All: true, Last: true}},
	}
	for _, c := range seeds {
		tok := codec.Encode(c)
		f.Add(tok, c.Kind, c.Collection, c.Object, c.After, "", int64(0), uint8(0), uint16(0))
		f.Add(tok[:len(tok)-1], "versions", "c", "o", int64(7), "x,y", int64(1), uint8(0xff), uint16(len(tok)-1))
		f.Add(other.Encode(c), "objects", "", "", int64(0), ",", int64(-1), uint8(3), uint16(1))
		f.Add(tok+"\n", "", "", "", int64(0), "", int64(0), uint8(0), uint16(0))
	}
	for _, s := range []string{"", "=", "!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "e30", strings.Repeat("A", MaxTokenLen+1)} {
		f.Add(s, "objects", "c", "", int64(0), "", int64(0), uint8(0), uint16(0))
	}

	f.Fuzz(func(t *testing.T, token, kind, coll, obj string, after int64, list string, ns int64, flags uint8, pos uint16) {
		// Arbitrary input.
		if c, err := codec.Decode(token); err == nil {
			if again := codec.Encode(c); again != token {
				t.Fatalf("decoded %q, which is not the token %q its cursor encodes to", token, again)
			}
		} else if !errors.Is(err, ErrBadCursor) {
			t.Fatalf("error %v does not wrap ErrBadCursor", err)
		}

		// A cursor built from the fuzzer's fields.
		var ids []string
		if list != "" {
			ids = strings.Split(list, ",")
		}
		c := &Cursor{Kind: kind, Collection: coll, Object: obj, After: after, Filter: TokenFilter{
			IDs: ids, All: flags&1 != 0, First: flags&2 != 0, Last: flags&4 != 0}}
		if flags&8 != 0 {
			c.Filter.AddedAfter = &ns
		}
		if flags&16 != 0 {
			c.Filter.Types = ids
		}
		if flags&32 != 0 {
			c.Filter.At = []int64{ns, after}
		}
		tok := codec.Encode(c)
		got, err := codec.Decode(tok)
		switch {
		case len(tok) > MaxTokenLen:
			if err == nil {
				t.Fatalf("a token of %d bytes decoded; the limit is %d", len(tok), MaxTokenLen)
			}
		case err != nil:
			t.Fatalf("own token refused: %v", err)
		case validUTF8(c) && !reflect.DeepEqual(got, c):
			// encoding/json replaces invalid UTF-8, so only valid strings
			// come back as they went in.
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
		}
		if _, err := other.Decode(tok); err == nil {
			t.Fatal("a token made with another key was accepted")
		}

		// One character changed: refused.
		if len(tok) > 0 {
			i := int(pos) % len(tok)
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			repl := alphabet[int(flags)%len(alphabet)]
			if repl == tok[i] {
				repl = alphabet[(int(flags)+1)%len(alphabet)]
			}
			mutated := tok[:i] + string(repl) + tok[i+1:]
			if _, err := codec.Decode(mutated); err == nil {
				t.Fatalf("token with character %d changed to %q was accepted", i, repl)
			}
		}
	})
}

func validUTF8(c *Cursor) bool {
	for _, s := range []string{c.Kind, c.Collection, c.Object} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	for _, l := range [][]string{c.Filter.IDs, c.Filter.Types, c.Filter.SpecVersions} {
		for _, s := range l {
			if !utf8.ValidString(s) {
				return false
			}
		}
	}
	return true
}
