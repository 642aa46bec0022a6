package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"
)

// A next token is a JSON Cursor followed by a truncated HMAC-SHA256 with
// the store's secret key, base64url without padding. It holds nothing the
// server must remember, so it survives restarts, works on every node or
// replica and never expires (INT-04). Every backend makes its tokens with
// a TokenCodec, so that a store migrated from one backend to another with
// its key keeps its clients' tokens good.

// The endpoint kinds bound into next tokens (Cursor.Kind), so that one
// endpoint's token is refused by another.
const (
	KindObjects  = "objects"  // Get Objects
	KindManifest = "manifest" // Get Object Manifests
	KindObject   = "object"   // Get an Object
	KindVersions = "versions" // Get Object Versions
)

// Bounds of a token.
const (
	// MaxInlineFilter is the largest filter a token carries itself, in
	// bytes of its JSON; a larger one travels as a fingerprint.
	MaxInlineFilter = 2 << 10
	// MaxTokenLen is the longest token TokenCodec.Decode accepts.
	MaxTokenLen = 16 << 10
	// macSize is the length of the truncated HMAC appended to a token:
	// 128 bits is ample against forgery.
	macSize = 16
)

// Cursor is what a next token carries: where the previous page ended and
// the query it belongs to.
type Cursor struct {
	Kind       string      `json:"k"`           // endpoint: one of the Kind constants
	Collection string      `json:"c"`           // collection id
	Object     string      `json:"o,omitempty"` // object id, on the per-object endpoints
	After      int64       `json:"p"`           // date_added (µs) of the last record served
	Filter     TokenFilter `json:"f"`
}

// TokenFilter is a normalized Filter in the compact form a token carries.
type TokenFilter struct {
	AddedAfter   *int64   `json:"a,omitempty"` // ns since the epoch; nil: none (0 is the epoch)
	IDs          []string `json:"i,omitempty"`
	Types        []string `json:"t,omitempty"`
	SpecVersions []string `json:"s,omitempty"`
	All          bool     `json:"va,omitempty"`
	First        bool     `json:"vf,omitempty"`
	Last         bool     `json:"vl,omitempty"`
	At           []int64  `json:"vt,omitempty"` // ns since the epoch
	// Hash stands for all of the above when they would make the token too
	// long (hundreds of match[id] values): the token then carries only a
	// fingerprint, and later requests must repeat the filters.
	Hash []byte `json:"h,omitempty"`
}

// NewTokenFilter returns f in token form.
func NewTokenFilter(f *Filter) TokenFilter {
	t := TokenFilter{IDs: f.IDs, Types: f.Types, SpecVersions: f.SpecVersions,
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

// Filter returns the Filter t stands for (meaningless when t is only a
// Hash).
func (t *TokenFilter) Filter() Filter {
	f := Filter{IDs: t.IDs, Types: t.Types, SpecVersions: t.SpecVersions,
		Versions: VersionSet{All: t.All, First: t.First, Last: t.Last}}
	if t.AddedAfter != nil {
		f.AddedAfter = time.Unix(0, *t.AddedAfter).UTC()
	}
	for _, at := range t.At {
		f.Versions.At = append(f.Versions.At, time.Unix(0, at).UTC())
	}
	return f
}

// Fingerprint returns the SHA-256, truncated to 16 bytes, of t's JSON.
func (t *TokenFilter) Fingerprint() []byte {
	b, _ := json.Marshal(t) // plain struct: cannot fail
	sum := sha256.Sum256(b)
	return sum[:16]
}

// Compacted returns t, or only its fingerprint when t's JSON is longer
// than MaxInlineFilter.
func (t TokenFilter) Compacted() TokenFilter {
	if b, _ := json.Marshal(t); len(b) <= MaxInlineFilter {
		return t
	}
	return TokenFilter{Hash: t.Fingerprint()}
}

// TokenCodec signs, verifies, encodes and decodes next tokens with a
// backend's secret key. It is a small value, cheap to make per call.
type TokenCodec struct {
	key []byte
}

// NewTokenCodec returns the codec for tokens signed with key, the store's
// secret (persisted, so that tokens outlive the process). The codec keeps
// key: the caller must not modify it afterwards.
func NewTokenCodec(key []byte) TokenCodec { return TokenCodec{key: key} }

// Encode returns the URL-safe token for c.
func (k TokenCodec) Encode(c *Cursor) string {
	payload, _ := json.Marshal(c) // plain struct: cannot fail
	return k.sign(payload)
}

// sign returns the token of payload: payload and its MAC in base64url.
func (k TokenCodec) sign(payload []byte) string {
	mac := hmac.New(sha256.New, k.key)
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(payload)[:len(payload)+macSize])
}

// Decode verifies and decodes a token. Every problem is a *CursorError
// (ErrBadCursor).
func (k TokenCodec) Decode(token string) (*Cursor, error) {
	if len(token) > MaxTokenLen {
		return nil, &CursorError{Problem: "too long"}
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	// The decoder skips CR and LF and ignores a last character's unused
	// bits: only the one spelling Encode makes is a token.
	if err != nil || len(b) <= macSize || base64.RawURLEncoding.EncodeToString(b) != token {
		return nil, &CursorError{Problem: "not a token this server issued"}
	}
	payload, sum := b[:len(b)-macSize], b[len(b)-macSize:]
	mac := hmac.New(sha256.New, k.key)
	mac.Write(payload)
	if !hmac.Equal(sum, mac.Sum(nil)[:macSize]) {
		return nil, &CursorError{Problem: "not a token this server issued"}
	}
	var c Cursor
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, &CursorError{Problem: "malformed"}
	}
	return &c, nil
}

// Next returns the token of the page that follows one of endpoint kind
// (of collection collID, and of object objectID on the per-object
// endpoints) whose last record was added at after (µs), selected by f,
// the effective filter Resolve returned.
func (k TokenCodec) Next(kind, collID, objectID string, after int64, f *Filter) string {
	return k.Encode(&Cursor{Kind: kind, Collection: collID, Object: objectID, After: after,
		Filter: NewTokenFilter(f).Compacted()})
}

// Resolve applies q's next token for endpoint kind: it checks that the
// token was issued for this endpoint, collection and object, and that the
// filters q repeats agree with the token's (the token's win; INT-04,
// REQ-98). It returns the effective filter, normalized (see
// Filter.Normalize), whose match[version] is the latest version when none
// is given (REQ-62), and the date_added (µs) to continue after, or -1
// when the page starts at the beginning. Errors are *CursorError.
func (k TokenCodec) Resolve(kind, collID, objectID string, q *Query) (Filter, int64, error) {
	f := q.Filter
	f.Normalize()
	after := int64(-1)
	if !f.AddedAfter.IsZero() {
		// date_added > X  <=>  date_added > floor_µs(X): date_added has
		// µs precision (UnixMicro floors, so a sub-µs remainder is still
		// "after"). No date_added precedes the epoch, and a backend may
		// keep date_added unsigned: a bound before it is -1.
		after = max(f.AddedAfter.UnixMicro(), -1)
	}
	if q.Next == "" {
		latestByDefault(&f)
		return f, after, nil
	}
	c, err := k.Decode(q.Next)
	if err != nil {
		return Filter{}, 0, err
	}
	if c.Kind != kind || c.Collection != collID || c.Object != objectID {
		return Filter{}, 0, &CursorError{Problem: "it belongs to another endpoint or collection"}
	}
	if c.Filter.Hash != nil {
		// The filters were too long to carry: the request must repeat
		// them exactly.
		issued := f
		latestByDefault(&issued) // the default the token was issued with
		req := NewTokenFilter(&issued)
		if !hmac.Equal(req.Fingerprint(), c.Filter.Hash) {
			return Filter{}, 0, &CursorError{Problem: "this query's filters are too long to travel in next; repeat all of them with it"}
		}
		return issued, c.After, nil
	}
	tok := c.Filter.Filter()
	if !f.consistentWith(&tok) {
		return Filter{}, 0, &CursorError{Problem: "the request's filters differ from those the token was issued for"}
	}
	latestByDefault(&tok)
	return tok, c.After, nil
}

// latestByDefault makes f select the latest version when it names none.
func latestByDefault(f *Filter) {
	if f.Versions.IsZero() {
		f.Versions.Last = true
	}
}
