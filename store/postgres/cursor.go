package postgres

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// A next token is a JSON cursor followed by a truncated HMAC-SHA256 with
// the database's key, base64url without padding. It holds nothing the
// server must remember, so it works on every node, survives restarts and
// never expires (INT-04). Its fields are those of the bbolt backend's
// tokens, so that a store migrated with its key keeps its clients' tokens
// good.

// cursor is what a next token carries.
type cursor struct {
	Kind       string      `json:"k"`           // endpoint: objects, manifest, object, versions
	Collection string      `json:"c"`           // collection id
	Object     string      `json:"o,omitempty"` // object id, on the per-object endpoints
	After      int64       `json:"p"`           // date_added (µs) of the last record served
	Filter     tokenFilter `json:"f"`
}

// tokenFilter is a normalized store.Filter in compact form.
type tokenFilter struct {
	AddedAfter   *int64   `json:"a,omitempty"` // ns since the epoch; nil: none
	IDs          []string `json:"i,omitempty"`
	Types        []string `json:"t,omitempty"`
	SpecVersions []string `json:"s,omitempty"`
	All          bool     `json:"va,omitempty"`
	First        bool     `json:"vf,omitempty"`
	Last         bool     `json:"vl,omitempty"`
	At           []int64  `json:"vt,omitempty"` // ns since the epoch
	// Hash stands for all of the above when they are too long to carry
	// (hundreds of match[id] values); the request must then repeat them.
	Hash []byte `json:"h,omitempty"`
}

// Bounds of a token.
const (
	maxInlineFilter = 2 << 10  // bytes of filter JSON carried in the token itself
	macSize         = 16       // bytes of HMAC kept: 128 bits
	maxTokenLen     = 16 << 10 // the longest token decoded
)

// endpoint kinds bound into tokens, so one endpoint's token is refused by
// another.
const (
	kindObjects  = "objects"
	kindManifest = "manifest"
	kindObject   = "object"
	kindVersions = "versions"
)

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

// fingerprint is the first 16 bytes of the SHA-256 of t's JSON.
func (t *tokenFilter) fingerprint() []byte {
	b, _ := json.Marshal(t) // plain struct: cannot fail
	sum := sha256.Sum256(b)
	return sum[:16]
}

// compacted returns t, or only its fingerprint when t is too long.
func (t tokenFilter) compacted() tokenFilter {
	if b, _ := json.Marshal(t); len(b) <= maxInlineFilter {
		return t
	}
	return tokenFilter{Hash: t.fingerprint()}
}

func (db *DB) encodeCursor(c *cursor) string {
	payload, _ := json.Marshal(c) // plain struct: cannot fail
	mac := hmac.New(sha256.New, db.cursorKey)
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(payload)[:len(payload)+macSize])
}

// decodeCursor verifies and decodes a token; every problem is a
// *store.CursorError (store.ErrBadCursor).
func (db *DB) decodeCursor(token string) (*cursor, error) {
	if len(token) > maxTokenLen {
		return nil, &store.CursorError{Problem: "too long"}
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	// The decoder tolerates CR, LF and stray trailing bits: accept only
	// the one spelling encodeCursor produces.
	if err != nil || len(b) <= macSize || base64.RawURLEncoding.EncodeToString(b) != token {
		return nil, &store.CursorError{Problem: "not a token this server issued"}
	}
	payload, sum := b[:len(b)-macSize], b[len(b)-macSize:]
	mac := hmac.New(sha256.New, db.cursorKey)
	mac.Write(payload)
	if !hmac.Equal(sum, mac.Sum(nil)[:macSize]) {
		return nil, &store.CursorError{Problem: "not a token this server issued"}
	}
	var c cursor
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, &store.CursorError{Problem: "malformed"}
	}
	return &c, nil
}

// resolve applies q's next token: it checks that the token belongs to this
// endpoint, collection and object and that the filters q repeats agree
// with the token's (the token's then apply; INT-04, REQ-98). It returns
// the effective filter, with match[version] defaulting to the latest
// version (REQ-62), and the date_added (µs) to continue after, or -1 to
// start at the beginning.
func (db *DB) resolve(kind, collID, objectID string, q *store.Query) (store.Filter, int64, error) {
	f := q.Filter
	normalize(&f)
	after := int64(-1)
	if !f.AddedAfter.IsZero() {
		// date_added > X  <=>  date_added > floor_µs(X): date_added has
		// µs precision. No date_added precedes the epoch.
		after = max(f.AddedAfter.UnixMicro(), -1)
	}
	if q.Next == "" {
		latestByDefault(&f)
		return f, after, nil
	}
	c, err := db.decodeCursor(q.Next)
	if err != nil {
		return store.Filter{}, 0, err
	}
	if c.Kind != kind || c.Collection != collID || c.Object != objectID {
		return store.Filter{}, 0, &store.CursorError{Problem: "it belongs to another endpoint or collection"}
	}
	if c.Filter.Hash != nil {
		issued := f
		latestByDefault(&issued)
		req := toTokenFilter(&issued)
		if !hmac.Equal(req.fingerprint(), c.Filter.Hash) {
			return store.Filter{}, 0, &store.CursorError{Problem: "this query's filters are too long to travel in next; repeat all of them with it"}
		}
		return issued, c.After, nil
	}
	tok := c.Filter.filter()
	if !consistentWith(&f, &tok) {
		return store.Filter{}, 0, &store.CursorError{Problem: "the request's filters differ from those the token was issued for"}
	}
	latestByDefault(&tok)
	return tok, c.After, nil
}

// latestByDefault makes f select the latest version when it names none.
func latestByDefault(f *store.Filter) {
	if f.Versions.IsZero() {
		f.Versions.Last = true
	}
}

// normalize sorts and de-duplicates f's lists, so that filters selecting
// the same versions compare equal and encode alike.
func normalize(f *store.Filter) {
	f.AddedAfter = f.AddedAfter.UTC()
	f.IDs = sortedSet(f.IDs)
	f.Types = sortedSet(f.Types)
	f.SpecVersions = sortedSet(f.SpecVersions)
	if f.Versions.At != nil {
		at := make([]time.Time, len(f.Versions.At))
		for i, t := range f.Versions.At {
			at[i] = t.UTC()
		}
		slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
		f.Versions.At = slices.CompactFunc(at, func(a, b time.Time) bool { return a.Equal(b) })
	}
}

func sortedSet(s []string) []string {
	if s == nil {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// consistentWith reports whether every field req gives equals tok's; the
// fields req leaves out come from the token (clients may drop or repeat
// the filters on later pages, INT-04).
func consistentWith(req, tok *store.Filter) bool {
	if !req.AddedAfter.IsZero() && !req.AddedAfter.Equal(tok.AddedAfter) {
		return false
	}
	if req.IDs != nil && !slices.Equal(req.IDs, tok.IDs) ||
		req.Types != nil && !slices.Equal(req.Types, tok.Types) ||
		req.SpecVersions != nil && !slices.Equal(req.SpecVersions, tok.SpecVersions) {
		return false
	}
	if !req.Versions.IsZero() {
		a, b := req.Versions, tok.Versions
		if a.All != b.All || a.First != b.First || a.Last != b.Last ||
			!slices.EqualFunc(a.At, b.At, func(x, y time.Time) bool { return x.Equal(y) }) {
			return false
		}
	}
	return true
}
