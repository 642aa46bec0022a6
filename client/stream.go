package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// The live stream (issue 12) is eitaxii's extension beside the TAXII
// resources: GET {root}/collections/{id}/stream/ answered as Server-Sent
// Events. This file holds a strict, bounded reader of the event-stream
// format (WHATWG HTML, "Server-sent events", §9.2.6 "Interpreting an
// event stream") and the call that opens a stream.

// MediaEventStream is the media type of a Server-Sent Events stream.
const MediaEventStream = "text/event-stream"

// DefaultMaxEvent bounds one event (its lines, data and fields together)
// when zero is given: an event carries one stored STIX object, which the
// server bounds far below this.
const DefaultMaxEvent = 16 << 20

// ErrEventTooLarge is returned by SSEReader.Next and NextShared when one
// event, or one line, is longer than the reader's bound. The stream
// cannot be resumed at a known position after it: close it and reconnect.
var ErrEventTooLarge = errors.New("client: server-sent event larger than the limit")

// Event is one dispatched server-sent event.
type Event struct {
	// Type is the "event" field; "message" when the event named none.
	Type string
	// ID is the last event ID at dispatch: the newest "id" field seen in
	// the stream so far (it carries over to later events without one, as
	// the spec says), "" if none.
	ID string
	// Data is the "data" fields joined by "\n". The caller may keep it,
	// unless it came from NextShared.
	Data []byte
}

// SSEReader reads events from an event stream. Lines end in CRLF, LF or
// CR; a leading byte order mark is skipped; a line starting with ':' is a
// comment; a line without ':' is a field with an empty value; one space
// after the colon is dropped; unknown fields are ignored; an "id" value
// holding NUL is ignored; "retry" is taken only when it is all ASCII
// digits. An SSEReader is not safe for concurrent use.
type SSEReader struct {
	r       *bufio.Reader
	max     int
	started bool // past the optional byte order mark
	skipLF  bool // the last line ended in CR: an LF right after it is part of that line end

	lastID   string
	retry    time.Duration
	retrySet bool

	line  []byte
	data  []byte
	typ   string
	size  int // bytes of the pending event read so far
	dataN int // data fields in the pending event
}

// NewSSEReader returns a reader of the event stream r in which no event
// (nor line) may exceed maxEvent bytes; maxEvent <= 0 means
// DefaultMaxEvent. It reads r through a 4 KiB buffer, or through r itself
// when r is a *bufio.Reader at least that large.
func NewSSEReader(r io.Reader, maxEvent int) *SSEReader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	return &SSEReader{r: bufio.NewReaderSize(r, 4096), max: maxEvent}
}

// Retry returns the reconnection time the stream asked for in its latest
// valid "retry" field, and whether it sent one.
func (s *SSEReader) Retry() (time.Duration, bool) { return s.retry, s.retrySet }

// Buffered returns how many bytes were read from the stream but not yet
// consumed: 0 means the next Next will wait for the server. A caller that
// saves its position after each event can save it only when this is 0,
// once per burst.
func (s *SSEReader) Buffered() int { return s.r.Buffered() }

// Next returns the next event. At the end of the stream it returns io.EOF
// and discards an event that was not ended by a blank line, as the spec
// says. It returns ErrEventTooLarge for an event beyond the bound, and
// the underlying reader's error otherwise; after any error the reader is
// done.
func (s *SSEReader) Next() (Event, error) { return s.next(false) }

// NextShared is Next, except that the event's Data is valid only until
// the reader's next call: the reader keeps one buffer for it rather than
// allocating one per event, for a program that reads many streams at once.
func (s *SSEReader) NextShared() (Event, error) { return s.next(true) }

func (s *SSEReader) next(shared bool) (Event, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			ev, ok := s.dispatch(shared)
			if ok {
				return ev, nil
			}
			continue
		}
		s.field(line)
	}
}

// readLine returns the next line without its end. The slice is valid
// until the next call: it is the read buffer's own bytes when the whole
// line is in it, and otherwise a copy that gathers the line across reads.
func (s *SSEReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		buf, err := s.buffered()
		if err != nil {
			if errors.Is(err, io.EOF) {
				// A last line without a line end is incomplete: the spec
				// discards it with the pending event.
				return nil, io.EOF
			}
			return nil, err
		}
		if s.skipLF {
			s.skipLF = false
			if buf[0] == '\n' {
				s.r.Discard(1)
				continue
			}
		}
		if !s.started {
			s.started = true
			// A UTF-8 byte order mark may open the stream; it is no part
			// of the first line.
			if buf[0] == 0xEF {
				if bom, err := s.r.Peek(3); err == nil && bom[1] == 0xBB && bom[2] == 0xBF {
					s.r.Discard(3)
				}
				continue // Peek may have moved what buf points at
			}
		}
		n := bytes.IndexByte(buf, '\n')
		if n < 0 {
			n = len(buf)
		}
		cr := bytes.IndexByte(buf[:n], '\r')
		if cr >= 0 {
			// Never look for an LF after a CR here: on a live stream it
			// may not have arrived, and waiting for it would hold back
			// the event.
			n = cr
			s.skipLF = true
		}
		if s.size += n; s.size > s.max {
			return nil, ErrEventTooLarge
		}
		if n < len(buf) && len(s.line) == 0 {
			// The whole line is in the buffer: no copy. Discard leaves
			// the bytes in place until the next read.
			s.r.Discard(n + 1)
			return buf[:n], nil
		}
		s.line = append(s.line, buf[:n]...)
		if n < len(buf) {
			s.r.Discard(n + 1)
			return s.line, nil
		}
		s.r.Discard(n)
	}
}

// buffered returns the bytes read from the stream and not yet consumed,
// reading it first (a wait for the server) when there are none.
func (s *SSEReader) buffered() ([]byte, error) {
	if s.r.Buffered() == 0 {
		if _, err := s.r.Peek(1); err != nil {
			return nil, err
		}
	}
	return s.r.Peek(s.r.Buffered())
}

// field processes one non-blank line.
func (s *SSEReader) field(line []byte) {
	if line[0] == ':' {
		// A comment between events is a keep-alive; it does not count
		// against the next event's size.
		if s.dataN == 0 && s.typ == "" {
			s.size = 0
		}
		return
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		s.typ = eventType(value)
	case "data":
		if s.dataN > 0 {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, value...)
		s.dataN++
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			s.lastID = string(value)
		}
	case "retry":
		if ms, ok := digits(value); ok {
			s.retry, s.retrySet = time.Duration(ms)*time.Millisecond, true
		}
	}
}

// eventType returns an "event" field's value, without a copy for
// eitaxii's own types: there is one per event.
func eventType(v []byte) string {
	for _, t := range [...]string{EventObject, EventDelete, EventHeartbeat} {
		if string(v) == t {
			return t
		}
	}
	return string(v)
}

// digits parses a non-empty string of ASCII digits, saturating far above
// any sensible reconnection time instead of overflowing.
func digits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < 1<<31 {
			n = n*10 + int64(c-'0')
		}
	}
	return n, true
}

// dispatch ends the pending event at a blank line. An event without data
// fields is not dispatched (the spec's "data buffer is empty" rule, where
// "data:" with nothing after it still counts as data). With shared the
// reader keeps the data's buffer for the next event.
func (s *SSEReader) dispatch(shared bool) (Event, bool) {
	ev := Event{Type: s.typ, ID: s.lastID, Data: s.data}
	ok := s.dataN > 0
	if shared {
		s.data = s.data[:0]
	} else {
		s.data = nil
	}
	s.typ, s.dataN, s.size = "", 0, 0
	if !ok {
		return Event{}, false
	}
	if ev.Type == "" {
		ev.Type = "message"
	}
	if ev.Data == nil {
		ev.Data = []byte{}
	}
	return ev, true
}

// StreamOptions selects where a stream starts and what it carries.
type StreamOptions struct {
	// LastEventID resumes after the event with this id (sent as the
	// Last-Event-ID header); AddedAfter, a TAXII timestamp, starts after
	// that date_added instead when LastEventID is empty. With neither the
	// server starts at its newest object.
	LastEventID string
	AddedAfter  string
	// Types, IDs and SpecVersions filter as TAXII's match[type],
	// match[id] and match[spec_version].
	Types, IDs, SpecVersions []string
	// MaxEvent bounds one event; 0 means DefaultMaxEvent.
	MaxEvent int
	// IdleTimeout ends the stream with ErrStreamIdle when nothing at all
	// (not even a heartbeat comment) arrives for this long; 0 means no
	// limit. The server sends a heartbeat every 15 s, so a few times that
	// tells a dead connection from a quiet collection.
	IdleTimeout time.Duration
}

// NotEventStreamError is returned by Stream when the server answers 2xx
// with something other than an event stream: the URL is not a stream
// (a server without eitaxii's extension, a proxy's page).
type NotEventStreamError struct {
	Path        string
	ContentType string
}

func (e *NotEventStreamError) Error() string {
	return fmt.Sprintf("GET %s: the answer is %q, not an event stream", e.Path, e.ContentType)
}

// ErrStreamIdle is returned by Stream.Next when nothing arrived for the
// StreamOptions.IdleTimeout.
var ErrStreamIdle = errors.New("client: the stream sent nothing within its idle timeout")

// Stream is an open live stream. Next and Close may be called from
// different goroutines; Next itself is not safe for concurrent use.
type Stream struct {
	ctx    context.Context
	body   io.ReadCloser
	sse    *SSEReader
	cancel context.CancelCauseFunc
	timer  *time.Timer
}

// Stream opens the live stream of collection id in root (an API root as
// discovery lists it, or a bare name): GET {root}/collections/{id}/stream/
// with Accept: text/event-stream. The HTTP client's Timeout would cut the
// stream short, so it is not applied (as for Backup); IdleTimeout tells a
// dead connection from a quiet one instead. A refusal is an *Error (404
// for a collection the caller may not see); an answer that is not an
// event stream is a *NotEventStreamError. The stream ends when
// ctx is done or Close is called.
func (c *Client) Stream(ctx context.Context, root, id string, o StreamOptions) (*Stream, error) {
	u, err := c.resolve(c.collectionPath(root, id) + "stream/")
	if err != nil {
		return nil, err
	}
	q := (&Filter{AddedAfter: o.AddedAfter, Types: o.Types, IDs: o.IDs, SpecVersions: o.SpecVersions}).values()
	if o.LastEventID != "" {
		// The event id is the exact position; added_after would only
		// blur which one the server used.
		q.Del("added_after")
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	hc := *c.hc
	hc.Timeout = 0
	ctx, cancel := context.WithCancelCause(ctx)
	s := &Stream{ctx: ctx, cancel: cancel}
	if o.IdleTimeout > 0 {
		// Armed before the request: a server that accepts the connection
		// and never answers is as dead as one that stops mid-stream.
		s.timer = time.AfterFunc(o.IdleTimeout, func() { cancel(ErrStreamIdle) })
	}
	fail := func(err error) (*Stream, error) {
		s.stop()
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(err)
	}
	c.setHeaders(req, MediaEventStream+", "+MediaJSON)
	req.Header.Set("Cache-Control", "no-cache")
	if o.LastEventID != "" {
		req.Header.Set("Last-Event-ID", o.LastEventID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fail(stalled(ctx, err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		return fail(ErrorFromResponse(resp.StatusCode, data))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != MediaEventStream {
		resp.Body.Close()
		return fail(&NotEventStreamError{Path: u.Path, ContentType: resp.Header.Get("Content-Type")})
	}
	s.body = resp.Body
	var r io.Reader = resp.Body
	if s.timer != nil {
		s.timer.Reset(o.IdleTimeout)
		r = &idleReader{r: resp.Body, timer: s.timer, idle: o.IdleTimeout}
	}
	s.sse = NewSSEReader(r, o.MaxEvent)
	return s, nil
}

func (s *Stream) stop() {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.cancel(nil)
}

// Next returns the next event; see SSEReader.Next. It returns
// ErrStreamIdle after the idle timeout, io.EOF when the server ended the
// stream, and the context's or transport's error otherwise.
func (s *Stream) Next() (Event, error) {
	ev, err := s.sse.Next()
	if err != nil {
		return Event{}, stalled(s.ctx, err)
	}
	return ev, nil
}

// Buffered is SSEReader.Buffered.
func (s *Stream) Buffered() int { return s.sse.Buffered() }

// Retry returns the reconnection time the server asked for, if it did.
func (s *Stream) Retry() (time.Duration, bool) { return s.sse.Retry() }

// Close ends the stream and releases its connection. It always returns nil.
func (s *Stream) Close() error {
	s.stop()
	s.body.Close()
	return nil
}

// Stream event types eitaxii sends.
const (
	EventObject    = "object"
	EventDelete    = "delete"
	EventHeartbeat = "heartbeat"
)

// StreamObject is the data of an "object" event: the object's date_added
// and its stored bytes.
type StreamObject struct {
	DateAdded string          `json:"date_added"`
	Object    json.RawMessage `json:"object"`
}

// StreamDelete is the data of a "delete" event: the version deleted.
type StreamDelete struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// StreamHeartbeat is the data of a "heartbeat" event: the collection's
// newest cursor (null while the collection never changed), so that a
// subscriber whose filter matches nothing still advances its resume point.
type StreamHeartbeat struct {
	Newest *string `json:"newest"`
}

// DecodeObject decodes an "object" event's data. It reports an error when
// the data is not JSON, lacks date_added or carries no object.
func DecodeObject(ev Event) (*StreamObject, error) {
	var o StreamObject
	if err := json.Unmarshal(ev.Data, &o); err != nil {
		return nil, fmt.Errorf("object event %s: %w", ev.ID, err)
	}
	if o.DateAdded == "" || len(o.Object) == 0 || strings.TrimSpace(string(o.Object)) == "null" {
		return nil, fmt.Errorf("object event %s: date_added or object missing", ev.ID)
	}
	return &o, nil
}

// DecodeDelete decodes a "delete" event's data. It reports an error when
// the data is not JSON or names no id.
func DecodeDelete(ev Event) (*StreamDelete, error) {
	var d StreamDelete
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return nil, fmt.Errorf("delete event %s: %w", ev.ID, err)
	}
	if d.ID == "" {
		return nil, fmt.Errorf("delete event %s: id missing", ev.ID)
	}
	return &d, nil
}

// DecodeHeartbeat returns the cursor a "heartbeat" event carries: its
// data's "newest" member, or else its event id. "" means the heartbeat
// carries no cursor (the collection never changed).
func DecodeHeartbeat(ev Event) string {
	var h StreamHeartbeat
	if json.Unmarshal(ev.Data, &h) == nil && h.Newest != nil {
		return *h.Newest
	}
	return ev.ID
}
