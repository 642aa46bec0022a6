package bolt

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// cursor is what a next token carries: where the previous page ended and the
// query it belongs to. Tokens are stateless (nothing is kept server-side),
// so they survive restarts, work across replicas and never expire (INT-04).
type cursor struct {
	Kind       string      `json:"k"`           // endpoint: objects, manifest, object, versions
	Collection string      `json:"c"`           // collection id
	Object     string      `json:"o,omitempty"` // object id, on per-object endpoints
	After      int64       `json:"p"`           // date_added (µs) of the last item served
	Filter     tokenFilter `json:"f"`
}

// tokenFilter is Filter in a compact JSON form.
type tokenFilter struct {
	AddedAfter   *int64   `json:"a,omitempty"` // ns since epoch; nil = none (0 is the epoch)
	IDs          []string `json:"i,omitempty"`
	Types        []string `json:"t,omitempty"`
	SpecVersions []string `json:"s,omitempty"`
	All          bool     `json:"va,omitempty"`
	First        bool     `json:"vf,omitempty"`
	Last         bool     `json:"vl,omitempty"`
	At           []int64  `json:"vt,omitempty"` // ns since epoch
	// Hash replaces all of the above when they would make the token too
	// long (hundreds of match[id] values): the token then carries only a
	// fingerprint, and later requests must repeat the filters.
	Hash []byte `json:"h,omitempty"`
}

// maxInlineFilter is the largest filter a token carries itself, in bytes
// of its JSON; larger ones are carried as a fingerprint.
const maxInlineFilter = 2 << 10

// fingerprint returns the SHA-256 (truncated to 16 bytes) of a filter's
// token form.
func (t *tokenFilter) fingerprint() []byte {
	b, _ := json.Marshal(t) // plain struct: cannot fail
	sum := sha256.Sum256(b)
	return sum[:16]
}

// compacted returns t, or its fingerprint alone if t is too long to carry.
func (t tokenFilter) compacted() tokenFilter {
	if b, _ := json.Marshal(t); len(b) <= maxInlineFilter {
		return t
	}
	return tokenFilter{Hash: t.fingerprint()}
}

func toTokenFilter(f *store.Filter) tokenFilter {
	t := tokenFilter{IDs: f.IDs, Types: f.Types, SpecVersions: f.SpecVersions,
		All: f.Versions.All, First: f.Versions.First, Last: f.Versions.Last}
	if !f.AddedAfter.IsZero() {
		ns := f.AddedAfter.UnixNano()
		t.AddedAfter = &ns
	}
	for _, at := range f.Versions.At {
		t.At = append(t.At, at.UnixNano())
	}
	return t
}

func (t *tokenFilter) filter() store.Filter {
	f := store.Filter{IDs: t.IDs, Types: t.Types, SpecVersions: t.SpecVersions,
		Versions: store.VersionSet{All: t.All, First: t.First, Last: t.Last}}
	if t.AddedAfter != nil {
		f.AddedAfter = time.Unix(0, *t.AddedAfter).UTC()
	}
	for _, at := range t.At {
		f.Versions.At = append(f.Versions.At, time.Unix(0, at).UTC())
	}
	return f
}

// macSize is the length of the truncated HMAC-SHA256 appended to a token;
// 128 bits is ample against forgery.
const macSize = 16

// encodeCursor returns the URL-safe token for c.
func (db *DB) encodeCursor(c *cursor) string {
	payload, _ := json.Marshal(c) // plain struct: cannot fail
	mac := hmac.New(sha256.New, db.cursorKey)
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(payload)[:len(payload)+macSize])
}

// maxTokenLen bounds the token we are willing to decode.
const maxTokenLen = 16 << 10

// decodeCursor verifies and decodes a token. Any problem is ErrBadCursor.
func (db *DB) decodeCursor(token string) (*cursor, error) {
	if len(token) > maxTokenLen {
		return nil, &store.CursorError{Problem: "too long"}
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	// The decoder skips CR and LF and ignores a last character's unused
	// bits: only the one spelling encodeCursor makes is a token.
	if err != nil || len(b) <= macSize || base64.RawURLEncoding.EncodeToString(b) != token {
		return nil, &store.CursorError{Problem: "not a token this server issued"}
	}
	payload, got := b[:len(b)-macSize], b[len(b)-macSize:]
	mac := hmac.New(sha256.New, db.cursorKey)
	mac.Write(payload)
	if !hmac.Equal(got, mac.Sum(nil)[:macSize]) {
		return nil, &store.CursorError{Problem: "not a token this server issued"}
	}
	var c cursor
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, &store.CursorError{Problem: "malformed"}
	}
	return &c, nil
}
