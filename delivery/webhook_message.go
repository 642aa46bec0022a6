package delivery

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Messages and their signatures, as Standard Webhooks
// (https://www.standardwebhooks.com) defines them: each message carries
//
//	webhook-id:        a message id, the same for every retry of the message
//	webhook-timestamp: the attempt's time, integer Unix seconds
//	webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">
//
// with one space-separated signature per secret in use (two while a
// rotation's grace period runs). A receiver recomputes the HMAC with its
// secret, compares in constant time, and refuses timestamps far from its
// clock; it deduplicates by webhook-id.

// SecretPrefix starts the text form of a webhook secret: "whsec_" and the
// base64 of the key, as Standard Webhooks writes secrets.
const SecretPrefix = "whsec_"

// NewSecret returns a new random 32-byte key with its text form.
func NewSecret() (key []byte, text string, err error) {
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, "", err
	}
	return key, FormatSecret(key), nil
}

// FormatSecret is the text form of key.
func FormatSecret(key []byte) string { return SecretPrefix + base64.StdEncoding.EncodeToString(key) }

// ParseSecret returns the key of a secret in text form.
func ParseSecret(text string) ([]byte, error) {
	b64, ok := strings.CutPrefix(text, SecretPrefix)
	if !ok {
		return nil, errors.New("a webhook secret starts with " + SecretPrefix)
	}
	return base64.StdEncoding.DecodeString(b64)
}

// Sign returns the webhook-signature header value for a message: one
// "v1,<signature>" per key, space-separated.
func Sign(keys [][]byte, msgID string, ts time.Time, body []byte) string {
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(signature(k, msgID, ts.Unix(), body)))
	}
	return strings.Join(parts, " ")
}

func signature(key []byte, msgID string, unix int64, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(unix, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// activeKeys are the keys of w that sign at now, newest first.
func activeKeys(w *store.Webhook, now time.Time) [][]byte {
	var keys [][]byte
	for _, s := range w.Secrets {
		if s.Expires.IsZero() || now.Before(s.Expires) {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

// messageID names the message of subscription sub that carries the
// changes after cursor up to last: retries rebuild the same range, hence
// the same id, and a different range gets a different one.
func messageID(sub string, cursor, last time.Time) string {
	h := sha256.New()
	h.Write([]byte(sub))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(cursor.UnixMicro())))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(last.UnixMicro())))
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// CursorLayout is how a message writes cursors: RFC 3339 in UTC with
// microseconds, as TAXII writes date_added.
const CursorLayout = "2006-01-02T15:04:05.000000Z"

// MessageType is the type of every message.
const MessageType = "eitaxii.collection.changes"

// Message is the JSON body of a delivery, in Standard Webhooks' payload
// shape (type, timestamp, data). Receivers decode it with this type.
type Message struct {
	Type string `json:"type"`
	// Timestamp is the cursor of the message's last change.
	Timestamp string      `json:"timestamp"`
	Data      MessageData `json:"data"`
}

// MessageData is what a message reports.
type MessageData struct {
	Webhook    string `json:"webhook"`
	Group      string `json:"group"`
	Collection string `json:"collection"`
	// After is the cursor the message continues from ("" for the start
	// of the collection); Last the cursor of its last change: the next
	// message continues after Last.
	After string `json:"after,omitempty"`
	Last  string `json:"last"`
	// Count is the number of changes the message stands for.
	Count int `json:"count"`
	// Changes are the changes themselves, when the subscription includes
	// objects; a notice leaves them out: the receiver reads the range
	// over TAXII (added_after=After).
	Changes []MessageChange `json:"changes,omitempty"`
}

// MessageChange is one change of a message.
type MessageChange struct {
	// Cursor is the change's position; for an object, its date_added.
	Cursor string `json:"cursor"`
	// Kind is "object" (Object holds the stored bytes) or "delete" (ID
	// and Version name the version deleted).
	Kind    string          `json:"kind"`
	Object  json.RawMessage `json:"object,omitempty"`
	ID      string          `json:"id,omitempty"`
	Version string          `json:"version,omitempty"`
}

// formatCursor writes a cursor ("" for zero).
func formatCursor(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(CursorLayout)
}

// encodeMessage builds the body of the message of w carrying changes
// after cursor up to last.
func encodeMessage(w *store.Webhook, cursor, last time.Time, changes []store.Change) []byte {
	m := Message{Type: MessageType, Timestamp: formatCursor(last), Data: MessageData{
		Webhook: w.ID, Group: w.Group, Collection: w.Collection,
		After: formatCursor(cursor), Last: formatCursor(last), Count: len(changes),
	}}
	if w.IncludeObjects {
		m.Data.Changes = make([]MessageChange, len(changes))
		for i, ch := range changes {
			mc := MessageChange{Cursor: formatCursor(ch.Cursor)}
			if ch.Deleted {
				mc.Kind, mc.ID, mc.Version = "delete", ch.Record.ID, ch.Record.Version
			} else {
				mc.Kind, mc.Object = "object", json.RawMessage(ch.Record.Raw)
			}
			m.Data.Changes[i] = mc
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&m); err != nil {
		// Stored objects are valid JSON and the rest are strings: a bug.
		panic(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
