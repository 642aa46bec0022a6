package client_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/eitaxii/eitaxii/client"
)

// readAll reads every event of stream with the given bound, and the error
// that ended it.
func readAll(stream string, max int) ([]client.Event, error) {
	r := client.NewSSEReader(strings.NewReader(stream), max)
	var evs []client.Event
	for {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// Ensure that the reader follows the event-stream rules of the WHATWG
// spec on the cases clients get wrong: line ends, multi-line data, the
// space after the colon, comments, ids that carry over, events without
// data, a last event not ended by a blank line.
func TestSSEReader(t *testing.T) {
	ev := func(typ, id, data string) client.Event { return client.Event{Type: typ, ID: id, Data: []byte(data)} }
	for _, tc := range []struct {
		name   string
		stream string
		want   []client.Event
	}{
		{"LF", "event: object\nid: 1\ndata: {}\n\n", []client.Event{ev("object", "1", "{}")}},
		{"CRLF", "event: object\r\nid: 1\r\ndata: {}\r\n\r\n", []client.Event{ev("object", "1", "{}")}},
		{"CR", "event: object\rid: 1\rdata: {}\r\r", []client.Event{ev("object", "1", "{}")}},
		{"MixedEnds", "data: a\r\ndata: b\rdata: c\n\r\n", []client.Event{ev("message", "", "a\nb\nc")}},
		{"MultiLineData", "data: first\ndata:second\ndata:  third\n\n", []client.Event{ev("message", "", "first\nsecond\n third")}},
		{"EmptyDataCounts", "data\n\ndata:\ndata:\n\n", []client.Event{ev("message", "", ""), ev("message", "", "\n")}},
		{"NoDataNoEvent", "event: heartbeat\nid: 7\n\ndata: x\n\n", []client.Event{ev("message", "7", "x")}},
		{"IDCarriesOver", "id: 5\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", []client.Event{ev("message", "5", "a"), ev("message", "5", "b"), ev("message", "", "c")}},
		{"IDWithNULIgnored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", []client.Event{ev("message", "1", "a"), ev("message", "1", "b")}},
		{"Comments", ": hello\n:\ndata: a\n: inside\n\n", []client.Event{ev("message", "", "a")}},
		{"UnknownFieldIgnored", "foo: bar\ndata: a\nDATA: b\n\n", []client.Event{ev("message", "", "a")}},
		{"ColonInValue", "data: a: b\n\n", []client.Event{ev("message", "", "a: b")}},
		{"BOM", "\xEF\xBB\xBFdata: a\n\n", []client.Event{ev("message", "", "a")}},
		{"BOMOnlyFirst", "data: a\n\n\xEF\xBB\xBFdata: b\n\n", []client.Event{ev("message", "", "a")}},
		{"UnterminatedDiscarded", "data: a\n\ndata: b\n", []client.Event{ev("message", "", "a")}},
		{"UnterminatedLine", "data: a\n\ndata: b", []client.Event{ev("message", "", "a")}},
		{"TypeResets", "event: delete\ndata: a\n\ndata: b\n\n", []client.Event{ev("delete", "", "a"), ev("message", "", "b")}},
		{"Empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(tc.stream, 0)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("err %v, want io.EOF", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events\n got %q\nwant %q", got, tc.want)
			}
			// The same stream one byte at a time: a line end split from
			// its CR, a BOM split across reads.
			r := client.NewSSEReader(iotest.OneByteReader(strings.NewReader(tc.stream)), 0)
			for i := range tc.want {
				ev, err := r.Next()
				if err != nil || !reflect.DeepEqual(ev, tc.want[i]) {
					t.Fatalf("one byte at a time: event %d = %q, %v", i, ev, err)
				}
			}
		})
	}
}

// Ensure that retry is taken only when it is all digits, and that a
// retry field takes effect without an event.
func TestSSEReader_Retry(t *testing.T) {
	r := client.NewSSEReader(strings.NewReader("retry: 2500\n\nretry: 1.5\nretry: -1\nretry:\ndata: a\n\n"), 0)
	if _, ok := r.Retry(); ok {
		t.Fatal("retry set before reading")
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if d, ok := r.Retry(); !ok || d != 2500*time.Millisecond {
		t.Fatalf("retry %v %v, want 2.5s", d, ok)
	}
	r = client.NewSSEReader(strings.NewReader("retry: 99999999999999999999999\ndata: a\n\n"), 0)
	r.Next()
	if d, ok := r.Retry(); !ok || d <= 0 {
		t.Fatalf("huge retry: %v %v, want a positive saturated value", d, ok)
	}
}

// Ensure that the bound holds for one long line, for many short data
// lines, and that heartbeat comments between events do not add up.
func TestSSEReader_MaxEvent(t *testing.T) {
	if _, err := readAll("data: "+strings.Repeat("x", 100)+"\n\n", 64); !errors.Is(err, client.ErrEventTooLarge) {
		t.Fatalf("long line: %v, want ErrEventTooLarge", err)
	}
	if _, err := readAll(strings.Repeat("data: x\n", 20)+"\n", 64); !errors.Is(err, client.ErrEventTooLarge) {
		t.Fatalf("many lines: %v, want ErrEventTooLarge", err)
	}
	evs, err := readAll(strings.Repeat(": keep-alive\n", 100)+"data: x\n\n", 64)
	if !errors.Is(err, io.EOF) || len(evs) != 1 {
		t.Fatalf("comments between events: %d events, %v", len(evs), err)
	}
	// An event exactly at the bound is fine: "data: " and 58 bytes.
	if evs, err := readAll("data: "+strings.Repeat("x", 58)+"\n\n", 64); !errors.Is(err, io.EOF) || len(evs) != 1 {
		t.Fatalf("event at the bound: %d events, %v", len(evs), err)
	}
}

// Ensure that a CR ending an event dispatches it without waiting for the
// next byte: a live stream may send nothing after it for a long time.
func TestSSEReader_CRDoesNotWait(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("data: a\r\r"))
	r := client.NewSSEReader(pr, 0)
	done := make(chan error, 1)
	go func() {
		_, err := r.Next()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next waited for the byte after the CR")
	}
}

// FuzzSSE checks that the reader never panics, never returns an event
// beyond its bound, and reads a stream the same in one piece and one byte
// at a time.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"event: object\nid: 1\ndata: {\"date_added\":\"2026-01-01T00:00:00.000000Z\",\"object\":{}}\n\n",
		"data: a\r\ndata: b\r\r\n\n",
		": heartbeat\n\nretry: 3000\n\n",
		"\xEF\xBB\xBFid: \x00\ndata\n\n",
		"data: " + strings.Repeat("y", 200) + "\n\n",
		"\r\r\r\n\n\n:",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 128
		whole := client.NewSSEReader(strings.NewReader(string(b)), max)
		bytewise := client.NewSSEReader(iotest.OneByteReader(strings.NewReader(string(b))), max)
		shared := client.NewSSEReader(strings.NewReader(string(b)), max)
		for {
			e1, err1 := whole.Next()
			e2, err2 := bytewise.Next()
			if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(e1, e2) {
				t.Fatalf("whole %q %v; byte-wise %q %v", e1, err1, e2, err2)
			}
			if e3, err3 := shared.NextShared(); (err1 == nil) != (err3 == nil) || !reflect.DeepEqual(e1, e3) {
				t.Fatalf("whole %q %v; shared %q %v", e1, err1, e3, err3)
			}
			if err1 != nil {
				if !errors.Is(err1, io.EOF) && !errors.Is(err1, client.ErrEventTooLarge) {
					t.Fatalf("unexpected error %v", err1)
				}
				return
			}
			if len(e1.Data)+len(e1.Type)+len(e1.ID) > 3*max {
				t.Fatalf("event of %d bytes past a bound of %d", len(e1.Data), max)
			}
			if e1.Type == "" {
				t.Fatal("event without a type")
			}
		}
	})
}

// Ensure that a first byte that only looks like a byte order mark is read
// from where the reader's buffer holds it after the look ahead: here the
// stream starts at the end of a caller's bufio.Reader, and the look ahead
// moves it to the front and fills the rest.
func TestSSEReader_NotABOMAtBufferEnd(t *testing.T) {
	data := strings.Repeat("b", 4090)
	br := bufio.NewReaderSize(strings.NewReader(strings.Repeat("A", 4094)+"\xEF\ndata: "+data+"\n\n"), 4096)
	if _, err := br.Discard(4094); err != nil {
		t.Fatal(err)
	}
	ev, err := client.NewSSEReader(br, 0).Next()
	if err != nil || string(ev.Data) != data {
		t.Fatalf("event of %d bytes starting %.10q, %v; want the %d-byte data", len(ev.Data), ev.Data, err, len(data))
	}
}

// Ensure that NextShared reads eitaxii's events without allocating their
// data or type: a load tool reads a thousand streams on the cores it
// measures the server on. Only the id, new with each event, is a copy.
func TestSSEReader_NextSharedReuses(t *testing.T) {
	const event = "event: object\nid: 2026-01-01T00:00:00.000000Z-1\ndata: {\"date_added\":\"2026-01-01T00:00:00.000000Z\",\"object\":{}}\n\n"
	r := client.NewSSEReader(strings.NewReader(strings.Repeat(event, 300)), 0)
	var ev client.Event
	allocs := testing.AllocsPerRun(200, func() {
		var err error
		if ev, err = r.NextShared(); err != nil {
			t.Fatal(err)
		}
	})
	if ev.Type != client.EventObject || !strings.HasPrefix(string(ev.Data), `{"date_added"`) {
		t.Fatalf("event %q", ev)
	}
	if allocs > 1 {
		t.Errorf("%.1f allocations per event, want at most 1 (the id)", allocs)
	}
}

// Ensure that a heartbeat's cursor is read from its data's newest member as
// the server sends it, and from its id otherwise.
func TestDecodeHeartbeat(t *testing.T) {
	for _, tc := range []struct{ data, id, want string }{
		{`{"newest":"2024-05-01T12:00:00.000009Z"}`, "old", "2024-05-01T12:00:00.000009Z"},
		{`{"newest":null}`, "", ""},
		{`{}`, "old", "old"},
		{``, "old", "old"},
		{"two\nlines", "old", "old"},
		{`{"newest":"2024-05-01T12:00:00.000009Z"`, "old", "old"},
	} {
		if got := client.DecodeHeartbeat(client.Event{Type: "heartbeat", ID: tc.id, Data: []byte(tc.data)}); got != tc.want {
			t.Errorf("DecodeHeartbeat(%q, id %q) = %q, want %q", tc.data, tc.id, got, tc.want)
		}
	}
}

// sseServer answers the stream route with body, after recording the
// request.
func sseServer(t *testing.T, status int, ctype, body string, seen chan<- *http.Request) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			seen <- r.Clone(context.Background())
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(hs.Close)
	return hs
}

// Ensure that Stream sends the documented request (path, Accept,
// Last-Event-ID instead of added_after, filters) and reads the events.
func TestClient_Stream(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		seen := make(chan *http.Request, 1)
		hs := sseServer(t, 200, "text/event-stream; charset=utf-8",
			"retry: 5000\n\n: hb\n\nevent: object\nid: c1\ndata: {\"date_added\":\"2026-01-01T00:00:00.000001Z\",\"object\":{\"id\":\"x\"}}\n\n"+
				"event: delete\nid: c2\ndata: {\"id\":\"x\",\"version\":\"v\"}\n\nevent: heartbeat\nid: c3\ndata: {\"cursor\":\"c3\"}\n\n", seen)
		c, err := client.New(hs.URL, client.Options{Token: "tok"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Stream(context.Background(), "demo", collID, client.StreamOptions{LastEventID: "c0", AddedAfter: "2026-01-01T00:00:00Z",
			Types: []string{"indicator"}, IdleTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		r := <-seen
		if r.URL.Path != "/demo/collections/"+collID+"/stream/" || r.URL.RawQuery != "match%5Btype%5D=indicator" ||
			r.Header.Get("Last-Event-ID") != "c0" || !strings.HasPrefix(r.Header.Get("Accept"), "text/event-stream") ||
			r.Header.Get("Authorization") != "Bearer tok" {
			t.Fatalf("request %s?%s, headers %v", r.URL.Path, r.URL.RawQuery, r.Header)
		}
		ev, err := s.Next()
		if err != nil || ev.Type != client.EventObject || ev.ID != "c1" {
			t.Fatalf("first event %q, %v", ev, err)
		}
		o, err := client.DecodeObject(ev)
		if err != nil || o.DateAdded != "2026-01-01T00:00:00.000001Z" || string(o.Object) != `{"id":"x"}` {
			t.Fatalf("object %+v, %v", o, err)
		}
		ev, _ = s.Next()
		if d, err := client.DecodeDelete(ev); err != nil || d.ID != "x" || d.Version != "v" {
			t.Fatalf("delete %+v, %v", d, err)
		}
		ev, _ = s.Next()
		if ev.Type != client.EventHeartbeat || client.DecodeHeartbeat(ev) != "c3" {
			t.Fatalf("heartbeat %q", ev)
		}
		if _, err := s.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("end: %v, want io.EOF", err)
		}
		if d, ok := s.Retry(); !ok || d != 5*time.Second {
			t.Fatalf("retry %v", d)
		}
	})
	t.Run("AddedAfter", func(t *testing.T) {
		seen := make(chan *http.Request, 1)
		hs := sseServer(t, 200, "text/event-stream", "", seen)
		c, _ := client.New(hs.URL, client.Options{})
		s, err := c.Stream(context.Background(), "demo", collID, client.StreamOptions{AddedAfter: "2026-01-01T00:00:00Z"})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if r := <-seen; r.URL.Query().Get("added_after") != "2026-01-01T00:00:00Z" || r.Header.Get("Last-Event-ID") != "" {
			t.Fatalf("request %s, Last-Event-ID %q", r.URL.RawQuery, r.Header.Get("Last-Event-ID"))
		}
	})
	t.Run("ErrTAXII", func(t *testing.T) {
		hs := sseServer(t, 404, client.MediaTAXII, `{"title":"not found","description":"no such collection","http_status":"404"}`, nil)
		c, _ := client.New(hs.URL, client.Options{})
		_, err := c.Stream(context.Background(), "demo", collID, client.StreamOptions{})
		if client.StatusOf(err) != 404 || err.Error() != "not found: no such collection (HTTP 404)" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("ErrNotEventStream", func(t *testing.T) {
		hs := sseServer(t, 200, "text/html", "<html>", nil)
		c, _ := client.New(hs.URL, client.Options{})
		_, err := c.Stream(context.Background(), "demo", collID, client.StreamOptions{})
		if err == nil || !strings.Contains(err.Error(), `"text/html", not an event stream`) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("ErrStreamIdle", func(t *testing.T) {
		release := make(chan struct{})
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: a\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer hs.Close()
		defer close(release)
		c, _ := client.New(hs.URL, client.Options{})
		s, err := c.Stream(context.Background(), "demo", collID, client.StreamOptions{IdleTimeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if ev, err := s.Next(); err != nil || string(ev.Data) != "a" {
			t.Fatalf("first event %q, %v", ev, err)
		}
		if _, err := s.Next(); !errors.Is(err, client.ErrStreamIdle) {
			t.Fatalf("silent server: %v, want ErrStreamIdle", err)
		}
	})
}

// BenchmarkSSEReader reads object events of the size eitaxii sends (one
// STIX indicator each).
func BenchmarkSSEReader(b *testing.B) {
	event := "event: object\nid: 2026-01-01T00:00:00.000000Z-1\ndata: {\"date_added\":\"2026-01-01T00:00:00.000000Z\",\"object\":{" +
		strings.Repeat(`"x":"indicator",`, 40) + `"id":"indicator--1"}}` + "\n\n"
	stream := strings.Repeat(event, 1000)
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		r := client.NewSSEReader(strings.NewReader(stream), 0)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
