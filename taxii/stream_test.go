package taxii_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/storetest"
)

// streamWait bounds every wait for an event the test expects: a failure
// deadline, never a measure of speed.
const streamWait = 10 * time.Second

// sseEvent is one dispatched Server-Sent Event, or a comment (Comment set).
type sseEvent struct {
	Event, ID, Data string
	Retry           string
	Comment         string
}

// sseStream is a small real SSE client: it parses the response body as
// the WHATWG event-stream format says (fields up to the first colon, one
// optional space after it, a blank line dispatches) on a goroutine, and
// hands events and comments to the test in order.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent
	done   chan struct{}
	err    error // the body's read error once done; io.EOF for a clean end
	cancel context.CancelFunc
}

func openStream(t testing.TB, srv *httptest.Server, client *http.Client, target string, kv ...string) (*sseStream, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			req.Header.Del(kv[i])
		} else {
			req.Header.Set(kv[i], kv[i+1])
		}
	}
	if client == nil {
		client = srv.Client()
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		return nil, resp
	}
	s := &sseStream{resp: resp, events: make(chan sseEvent, 1024), done: make(chan struct{}), cancel: cancel}
	t.Cleanup(s.close)
	go s.read()
	return s, resp
}

func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
	<-s.done
}

func (s *sseStream) read() {
	defer close(s.done)
	br := bufio.NewReader(s.resp.Body)
	var ev sseEvent
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.err = err
			return
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if len(data) > 0 || ev.ID != "" || ev.Event != "" || ev.Retry != "" {
				ev.Data = strings.Join(data, "\n")
				s.events <- ev
			}
			ev, data = sseEvent{}, nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			s.events <- sseEvent{Comment: strings.TrimPrefix(strings.TrimPrefix(line, ":"), " ")}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.Event = value
		case "id":
			ev.ID = value
		case "data":
			data = append(data, value)
		case "retry":
			ev.Retry = value
		}
	}
}

// next returns the next event whose name is one of names (comments are
// "comment"), skipping others; it fails the test if the stream ends or
// none comes.
func (s *sseStream) next(t testing.TB, names ...string) sseEvent {
	t.Helper()
	deadline := time.After(streamWait)
	for {
		select {
		case ev := <-s.events:
			name := ev.Event
			if ev.Comment != "" {
				name = "comment"
			}
			for _, n := range names {
				if n == name {
					return ev
				}
			}
		case <-s.done:
			// Events read before the end are still queued.
			select {
			case ev := <-s.events:
				s.events <- ev // not efficient, but order is kept: nothing else writes now
				continue
			default:
			}
			t.Fatalf("stream ended (%v) while waiting for %v", s.err, names)
		case <-deadline:
			t.Fatalf("no %v event", names)
		}
	}
}

// waitEnd waits for the server to end the stream and returns the events
// it sent that were not read yet.
func (s *sseStream) waitEnd(t testing.TB, within time.Duration) []sseEvent {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(within):
		t.Fatalf("stream still open after %v", within)
	}
	var rest []sseEvent
	for {
		select {
		case ev := <-s.events:
			rest = append(rest, ev)
		default:
			return rest
		}
	}
}

// objectEvent is the data of an object event.
type objectEvent struct {
	DateAdded string          `json:"date_added"`
	Object    json.RawMessage `json:"object"`
}

func decodeObjectEvent(t testing.TB, ev sseEvent) objectEvent {
	t.Helper()
	var o objectEvent
	d := json.NewDecoder(strings.NewReader(ev.Data))
	d.DisallowUnknownFields()
	if err := d.Decode(&o); err != nil {
		t.Fatalf("object event data %q: %v", ev.Data, err)
	}
	if o.DateAdded != ev.ID || !taxiiTimestamp.MatchString(ev.ID) {
		t.Errorf("object event id %q, date_added %q: want one TAXII timestamp in both", ev.ID, o.DateAdded)
	}
	return o
}

func streamURL(root, coll string) string { return collectionURL(root, coll) + "stream/" }

func newStreamServer(t testing.TB, cfg config) (*testServer, *httptest.Server) {
	t.Helper()
	ts := newTestServerConfig(t, cfg)
	srv := httptest.NewUnstartedServer(ts)
	srv.Config.RegisterOnShutdown(ts.EndStreams)
	srv.Start()
	t.Cleanup(srv.Close) // before the server's Close (cleanups run last first)
	return ts, srv
}

// Ensure that a reader's stream starts at the newest change (no replay),
// says retry once first, then carries each version added as an object
// event with the exact stored bytes and its date_added as id, and each
// deletion as a delete event with its own cursor.
func TestStream_LiveObjectsAndDeletes(t *testing.T) {
	ts, srv := newStreamServer(t, config{})
	ts.addObjects(t, collEO, simpleIndicator(1)) // before the stream: not replayed
	s, _ := openStream(t, srv, nil, streamURL(rootEO, aliasEO), "Authorization", basic(userReader))
	if h := s.resp.Header.Get("Content-Type"); h != "text/event-stream; charset=utf-8" {
		t.Errorf("Content-Type %q", h)
	}
	first := <-s.events
	if first.Retry != "5000" || first.Data != "" {
		t.Errorf("first event %+v, want retry: 5000 alone", first)
	}
	hb := s.next(t, "heartbeat")
	if hb.ID != stamp(added(0)) || hb.Data != `{"newest":"`+stamp(added(0))+`"}` {
		t.Errorf("start heartbeat %+v, want id and newest %s (the stream starts at the newest change)", hb, stamp(added(0)))
	}
	ts.addObjects(t, collEO, simpleIndicator(2), simpleIndicator(3))
	for i, n := range []int{2, 3} {
		ev := s.next(t, "object", "delete")
		o := decodeObjectEvent(t, ev)
		if ev.Event != "object" || ev.ID != stamp(added(1+i)) || string(o.Object) != simpleIndicator(n) {
			t.Errorf("event %d: %s id %s object %s; want object %s %s (REQ-60: the stored bytes)", i, ev.Event, ev.ID, o.Object, stamp(added(1+i)), simpleIndicator(n))
		}
	}
	if w := ts.del(t, userPublisher, objectURL(rootEO, collEO, indicatorID(2))); w.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	ev := s.next(t, "object", "delete")
	if ev.Event != "delete" || ev.ID != stamp(added(3)) || ev.Data != `{"id":"`+indicatorID(2)+`","version":"2024-01-01T00:00:00.000Z"}` {
		t.Errorf("delete event %+v; want id %s", ev, stamp(added(3)))
	}
}

// Ensure the refusals before a stream starts, each a TAXII error resource:
// 406 without Accept: text/event-stream, 404 for a group or collection
// the caller cannot see (REQ-26), 401 without credentials, 400 for a bad
// cursor or query. Nothing is streamed to any of them.
func TestStream_Refusals(t *testing.T) {
	ts := newTestServer(t)
	for _, tc := range []struct {
		name, user, target string
		kv                 []string
		code               int
	}{
		{"NoAccept", userReader, streamURL(rootEO, collEO), []string{"Accept", ""}, http.StatusNotAcceptable},
		{"TAXIIAccept", userReader, streamURL(rootEO, collEO), []string{"Accept", mediaTAXII}, http.StatusNotAcceptable},
		{"QZero", userReader, streamURL(rootEO, collEO), []string{"Accept", "text/event-stream;q=0"}, http.StatusNotAcceptable},
		{"OtherGroupsMember", userVendor, streamURL(rootEO, collEO), nil, http.StatusNotFound},
		{"NoGroup", userNobody, streamURL(rootEO, aliasEO), nil, http.StatusNotFound},
		{"OtherGroupsCollection", userReader, streamURL(rootEO, collVendors), nil, http.StatusNotFound},
		{"UnknownCollection", userReader, streamURL(rootEO, "no-such"), nil, http.StatusNotFound},
		{"UnknownRoot", userReader, streamURL("/no-such/", collEO), nil, http.StatusNotFound},
		{"NoCredentials", userReader, streamURL(rootEO, collEO), []string{"Authorization", ""}, http.StatusUnauthorized},
		{"BadLastEventID", userReader, streamURL(rootEO, collEO), []string{"Last-Event-ID", "yesterday"}, http.StatusBadRequest},
		{"LocalTimeLastEventID", userReader, streamURL(rootEO, collEO), []string{"Last-Event-ID", "2024-05-01T12:00:00+02:00"}, http.StatusBadRequest},
		{"BadAddedAfter", userReader, streamURL(rootEO, collEO) + "?added_after=soon", nil, http.StatusBadRequest},
		{"AddedAfterTwice", userReader, streamURL(rootEO, collEO) + "?added_after=2024-01-01T00:00:00Z&added_after=2024-01-01T00:00:00Z", nil, http.StatusBadRequest},
		{"EmptyMatchValue", userReader, streamURL(rootEO, collEO) + "?match[type]=indicator,", nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv := append([]string{"Accept", "text/event-stream"}, tc.kv...)
			w := ts.get(t, tc.user, tc.target, kv...)
			checkError(t, w, tc.code)
		})
	}
}

// Ensure that resuming with Last-Event-ID, or with added_after, while a
// publisher writes, gives every version after the cursor exactly once, in
// order: the seam between replay and live loses and repeats nothing.
func TestStream_ResumeWhilePublishing(t *testing.T) {
	ts, srv := newStreamServer(t, config{})
	const total = 40
	for n := 0; n < 5; n++ {
		ts.addObjects(t, collEO, simpleIndicator(n))
	}
	errc := make(chan error, 1)
	go func() {
		for n := 5; n < total; n++ {
			w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), envelope(simpleIndicator(n)))
			if w.Code != http.StatusAccepted {
				errc <- fmt.Errorf("POST: %d %s", w.Code, w.Body)
				return
			}
		}
		errc <- nil
	}()
	// From after the 2nd version: the rest, across reconnections every
	// few events, alternately by Last-Event-ID and added_after.
	var got []string
	cursor := stamp(added(1))
	for round := 0; len(got) < total-2; round++ {
		var s *sseStream
		if round%2 == 0 {
			s, _ = openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader), "Last-Event-ID", cursor)
		} else {
			s, _ = openStream(t, srv, nil, streamURL(rootEO, collEO)+"?added_after="+url.QueryEscape(cursor), "Authorization", basic(userReader))
		}
		for k := 0; k < 3+round%5 && len(got) < total-2; k++ {
			ev := s.next(t, "object")
			decodeObjectEvent(t, ev)
			got = append(got, ev.ID)
			cursor = ev.ID
		}
		s.close()
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	var want []string
	for n := 2; n < total; n++ {
		want = append(want, stamp(added(n)))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("resumed streams gave\n%v\nwant\n%v", got, want)
	}
}

// Ensure that match[type] and match[id] select events as Get Objects
// selects objects, that unknown parameters are ignored (REQ-92), that
// a heartbeat event moves the id past what the filter left out, so a
// client resuming from it is not sent those again, and that heartbeats
// (a comment and an event) come every interval.
func TestStream_FiltersAndHeartbeat(t *testing.T) {
	ts, srv := newStreamServer(t, config{streamHeartbeat: 20 * time.Millisecond})
	s, _ := openStream(t, srv, nil, streamURL(rootEO, collEO)+"?match[type]=indicator&match[id]="+indicatorID(2)+","+indicatorID(3)+"&limit=1&match[color]=red",
		"Authorization", basic(userReader), "Last-Event-ID", "1970-01-01T00:00:00Z")
	ts.addObjects(t, collEO, simpleIndicator(1), marking, simpleIndicator(2), ipv4, simpleIndicator(3), simpleIndicator(4))
	for _, n := range []int{2, 3} {
		ev := s.next(t, "object")
		if o := decodeObjectEvent(t, ev); string(o.Object) != simpleIndicator(n) {
			t.Errorf("filtered stream sent %s, want indicator %d only", o.Object, n)
		}
	}
	s.next(t, "comment")
	hb := s.next(t, "heartbeat", "object")
	if hb.Event != "heartbeat" || hb.ID != stamp(added(5)) {
		t.Fatalf("after the filtered changes: %+v, want a heartbeat with id %s", hb, stamp(added(5)))
	}
	var newest struct{ Newest string }
	if err := json.Unmarshal([]byte(hb.Data), &newest); err != nil || newest.Newest != hb.ID {
		t.Errorf("heartbeat data %q, want {\"newest\":%q}", hb.Data, hb.ID)
	}
	// Every interval a heartbeat again, with the same id while nothing
	// changes.
	if again := s.next(t, "heartbeat"); again.ID != hb.ID {
		t.Errorf("periodic heartbeat id %q, want %q", again.ID, hb.ID)
	}
	// A collection that never changed has no cursor to give.
	empty, _ := openStream(t, srv, nil, streamURL(rootEO, collEO2), "Authorization", basic(userReader))
	if ev := empty.next(t, "heartbeat"); ev.ID != "" || ev.Data != `{"newest":null}` {
		t.Errorf("heartbeat of an empty collection %+v, want no id and newest null", ev)
	}
	// match[spec_version] too: nothing here is 2.0.
	s2, _ := openStream(t, srv, nil, streamURL(rootEO, collEO)+"?match[spec_version]=2.0&added_after=1970-01-01T00:00:00Z", "Authorization", basic(userReader))
	if ev := s2.next(t, "object", "heartbeat"); ev.Event != "heartbeat" || ev.ID != stamp(added(5)) {
		t.Errorf("spec_version 2.0 stream: %+v, want only a heartbeat at %s", ev, stamp(added(5)))
	}
}

// Ensure that a stream ends within a second of the change that withdraws
// its caller's read access: membership removed, tokens revoked, account
// disabled, collection deleted (the directory reload that follows each
// admin change re-checks every open stream).
func TestStream_AccessWithdrawn(t *testing.T) {
	for _, tc := range []struct {
		name           string
		auth           string
		method, target string
		body           string
		by             string
	}{
		{"MembershipRemoved", basic(userReader), http.MethodDelete, "/admin/v1/groups/election-officials/members/" + userReader, "", userAdmin},
		{"TokensRevoked", "Bearer " + token(userReader), http.MethodDelete, "/admin/v1/accounts/" + userReader + "/tokens", "", userReader},
		{"CollectionDeleted", basic(userReader), http.MethodDelete, "/admin/v1/groups/election-officials/collections/" + collEO, "", userAdmin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, srv := newStreamServer(t, config{})
			s, _ := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", tc.auth)
			s.next(t, "") // retry
			w := do(t, ts, tc.method, tc.target, tc.body, "Authorization", basic(tc.by), "Content-Type", "application/json")
			if w.Code/100 != 2 {
				t.Fatalf("%s %s: %d %s", tc.method, tc.target, w.Code, w.Body)
			}
			// The reload ran before the admin answer: the stream's end is
			// already under way.
			for _, ev := range s.waitEnd(t, time.Second) {
				if ev.Event == "object" {
					t.Errorf("event after access was withdrawn: %+v", ev)
				}
			}
			// And it cannot come back.
			if _, resp := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", tc.auth); resp.StatusCode == http.StatusOK {
				t.Errorf("reconnect: 200, want a refusal")
			}
		})
	}
}

// Ensure that a stream opened with a token that expires ends at the first
// heartbeat after the expiry, since an expiry changes nothing in the
// directory and only the heartbeat's re-check can see it, and that a
// stream of the same account opened with its password goes on.
func TestStream_TokenExpiresWhileOpen(t *testing.T) {
	clock := storetest.NewClock(reqTime)
	ts, srv := newStreamServer(t, config{streamHeartbeat: 20 * time.Millisecond, clock: clock})
	w := do(t, ts, http.MethodPost, "/admin/v1/accounts/"+userReader+"/tokens", `{"name":"short","expires_in":"1h"}`,
		"Authorization", basic(userReader), "Content-Type", "application/json")
	var tok client.NewToken
	if err := json.Unmarshal(w.Body.Bytes(), &tok); w.Code != http.StatusCreated || err != nil || tok.Token == "" {
		t.Fatalf("create token: %d %s (%v)", w.Code, w.Body, err)
	}
	byToken, _ := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", "Bearer "+tok.Token)
	byPassword, _ := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader))
	byToken.next(t, "heartbeat")
	clock.Advance(time.Hour)
	for _, ev := range byToken.waitEnd(t, time.Second) {
		if ev.Event == "object" {
			t.Errorf("event after the token expired: %+v", ev)
		}
	}
	ts.addObjects(t, collEO, simpleIndicator(1))
	if o := decodeObjectEvent(t, byPassword.next(t, "object")); string(o.Object) != simpleIndicator(1) {
		t.Errorf("password stream sent %s, want indicator 1", o.Object)
	}
	byPassword.next(t, "heartbeat")
}

// Ensure that an account may hold MaxStreamsPerAccount streams and no
// more (429 with Retry-After, a TAXII error), and gets its slot back when
// one closes; other accounts are not affected.
func TestStream_PerAccountLimit(t *testing.T) {
	_, srv := newStreamServer(t, config{maxStreams: 2})
	a, _ := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader))
	openStream(t, srv, nil, streamURL(rootEO, collEO2), "Authorization", basic(userReader))
	_, resp := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	checkErrorResource(t, resp.StatusCode, resp.Header, body)
	openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userPublisher))
	a.next(t, "")
	a.close()
	waitSlotFreed(t, srv, nil, userReader)
}

// waitSlotFreed opens user's stream on collEO until the server answers
// it, within streamWait: a stream's slot is freed when its handler
// returns, shortly after its client went away.
func waitSlotFreed(t *testing.T, srv *httptest.Server, client *http.Client, user string) {
	t.Helper()
	deadline := time.Now().Add(streamWait)
	for {
		s, resp := openStream(t, srv, client, streamURL(rootEO, collEO), "Authorization", basic(user))
		if s != nil {
			s.close()
			return
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the closed stream's slot was not given back")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tinySendBuffers is a listener whose connections have tiny socket send
// buffers, so that a client that does not read blocks the server's writes
// after a few kilobytes instead of megabytes.
type tinySendBuffers struct{ net.Listener }

func (l tinySendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// Ensure that a client that stops reading is dropped once its queue
// overflows, rather than buffered without end, and that resuming from its
// last event id then gives it everything else, once, in order.
func TestStream_SlowClientDroppedResumes(t *testing.T) {
	ts := newTestServerConfig(t, config{streamQueue: 2, metricsAllow: true})
	srv := httptest.NewUnstartedServer(ts)
	srv.Listener = tinySendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(4096)
			}
			return c, err
		},
		ReadBufferSize: 1024,
	}}
	// A stream whose client reads nothing yet.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+streamURL(rootEO, collEO), nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", basic(userReader))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	big := strings.Repeat("x", 8000)
	obj := func(n int) string {
		return indicator(indicatorID(n), "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z", "[domain-name:value = '"+big+fmt.Sprint(n)+".example']")
	}
	sent := 0
	for ; !dropped(t, ts); sent++ {
		if sent == 500 {
			t.Fatal("500 objects sent and the client that reads nothing was not dropped")
		}
		ts.addObjects(t, collEO, obj(sent))
	}
	// Now read what reached the client, then resume from its last id.
	s := &sseStream{resp: resp, events: make(chan sseEvent, 1024), done: make(chan struct{}), cancel: func() {}}
	go s.read()
	var got []string
	for _, ev := range s.waitEnd(t, streamWait) {
		if ev.Event == "object" {
			got = append(got, ev.ID)
		}
	}
	if len(got) >= sent {
		t.Fatalf("the dropped client got all %d objects", sent)
	}
	resume := "1970-01-01T00:00:00Z"
	if len(got) > 0 {
		resume = got[len(got)-1]
	}
	s2, _ := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader), "Last-Event-ID", resume)
	for len(got) < sent {
		got = append(got, s2.next(t, "object").ID)
	}
	var want []string
	for n := 0; n < sent; n++ {
		want = append(want, stamp(added(n)))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("before and after the drop the client got\n%v\nwant\n%v", got, want)
	}
}

func dropped(t testing.TB, ts *testServer) bool {
	t.Helper()
	w := ts.get(t, "", "/metrics", "Authorization", "")
	if w.Code != http.StatusOK {
		t.Fatalf("metrics: %d", w.Code)
	}
	return strings.Contains(w.Body.String(), "\neitaxii_streams_dropped_slow_total 1\n")
}

// Ensure that the server's graceful shutdown ends open streams: Shutdown
// returns without waiting for its deadline, and the client sees the
// stream end cleanly (the body ends, no reset).
func TestStream_GracefulShutdown(t *testing.T) {
	_, srv := newStreamServer(t, config{})
	s, _ := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader))
	s.next(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v (an open stream held it)", err)
	}
	s.waitEnd(t, streamWait)
	if !errors.Is(s.err, io.EOF) {
		t.Errorf("stream ended with %v, want a clean end (EOF)", s.err)
	}
}

// Ensure that the Server's Close, after the HTTP server's Shutdown (which
// does not wait for hijacked streams), waits for the streams it ends, so
// that each one's audit row, written as its handler returns, is kept.
func TestStream_CloseKeepsAuditRows(t *testing.T) {
	ts, srv := newStreamServer(t, config{maxStreams: -1})
	ts.addObjects(t, collEO, simpleIndicator(0))
	streams := make([]*sseStream, 20)
	for i := range streams {
		streams[i], _ = openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader))
		streams[i].next(t, "heartbeat")
	}
	ts.addObjects(t, collEO, simpleIndicator(1))
	for _, s := range streams {
		s.next(t, "object")
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	closeServer(t, ts)
	evs, err := ts.db.FindAudit(context.Background(), store.AuditQuery{Action: "read", Account: userReader})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, ev := range evs {
		if ev.Detail == "stream" && ev.Count == 1 {
			rows++
		}
	}
	if rows != len(streams) {
		t.Errorf("%d stream audit rows with the object sent, want %d (one per stream)", rows, len(streams))
	}
}

// Ensure that a member who may see a collection but not read it (a
// submissions collection: write_role reader, read_role admin) gets from
// the stream what Get Objects gives (403), and that raising read_role while
// a reader's stream is open ends it within a second.
func TestStream_ReadRoleRaised(t *testing.T) {
	ts, srv := newStreamServer(t, config{})
	s, _ := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader))
	s.next(t, "")
	w := do(t, ts, http.MethodPatch, "/admin/v1/groups/election-officials/collections/"+collEO,
		`{"policy":{"read_role":"admin","write_role":"reader"}}`, "Authorization", basic(userAdmin), "Content-Type", "application/json")
	if w.Code != http.StatusOK {
		t.Fatalf("PATCH policy: %d %s", w.Code, w.Body)
	}
	s.waitEnd(t, time.Second)
	objects := ts.get(t, userReader, objectsURL(rootEO, collEO))
	stream := ts.get(t, userReader, streamURL(rootEO, collEO), "Accept", "text/event-stream")
	checkError(t, objects, http.StatusForbidden)
	checkError(t, stream, objects.Code)
}

// Ensure that resuming from before deletions that were pruned says so
// with a gap event (no id) before the replay, then replays what is still
// known, and that a stream from the very start reports no gap.
func TestStream_Gap(t *testing.T) {
	ts, srv := newStreamServer(t, config{})
	ts.addObjects(t, collEO, simpleIndicator(0), simpleIndicator(1))
	if w := ts.del(t, userPublisher, objectURL(rootEO, collEO, indicatorID(0))); w.Code != http.StatusOK {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := ts.db.PruneDeletions(context.Background(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s, _ := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader), "Last-Event-ID", stamp(added(0)))
	gap := s.next(t, "gap", "object", "delete", "heartbeat")
	if gap.Event != "gap" || gap.ID != "" || gap.Data != `{"after":"`+stamp(added(0))+`"}` {
		t.Fatalf("first event %+v, want a gap after %s without an id", gap, stamp(added(0)))
	}
	if ev := s.next(t, "object", "delete", "heartbeat"); ev.Event != "object" || ev.ID != stamp(added(1)) {
		t.Errorf("after the gap: %+v, want object %s", ev, stamp(added(1)))
	}
	if ev := s.next(t, "object", "delete", "heartbeat"); ev.Event != "heartbeat" || ev.ID != stamp(added(2)) {
		t.Errorf("then: %+v, want a heartbeat at the pruned deletion's cursor %s", ev, stamp(added(2)))
	}
	all, _ := openStream(t, srv, nil, streamURL(rootEO, collEO)+"?added_after=1970-01-01T00:00:00Z", "Authorization", basic(userReader))
	if ev := all.next(t, "gap", "object"); ev.Event != "object" || ev.ID != stamp(added(1)) {
		t.Errorf("from the start: %+v, want object %s and no gap", ev, stamp(added(1)))
	}
}

// Ensure that a stream over HTTP/1.1 is sent without chunked encoding, as
// the rest of the connection (Connection: close), and still carries its
// events.
func TestStream_NotChunked(t *testing.T) {
	ts, srv := newStreamServer(t, config{})
	ts.addObjects(t, collEO, simpleIndicator(0)) // so that the stream starts with a heartbeat
	s, _ := openStream(t, srv, nil, streamURL(rootEO, collEO), "Authorization", basic(userReader))
	if te := s.resp.TransferEncoding; len(te) != 0 {
		t.Errorf("Transfer-Encoding %q, want none (identity)", te)
	}
	if !s.resp.Close {
		t.Error("the response does not close its connection: without chunking, its end is the connection's")
	}
	s.next(t, "heartbeat")
	ts.addObjects(t, collEO, simpleIndicator(1))
	if o := decodeObjectEvent(t, s.next(t, "object")); string(o.Object) != simpleIndicator(1) {
		t.Errorf("object %s, want %s", o.Object, simpleIndicator(1))
	}
}

// Ensure that a stream over HTTP/1.1, which the server writes to the
// connection itself (hijacked), still answers with a well-formed head: a
// 200 status line, the stream's headers, a Date, no chunking and the
// connection's close as the body's end; then the retry field. (That the
// server sees the client's close on such a connection is
// TestStream_PerAccountLimit's freed slot.)
func TestStream_HijackedHead(t *testing.T) {
	_, srv := newStreamServer(t, config{})
	target := srv.URL + streamURL(rootEO, collEO)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	u, _ := url.Parse(target)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nAuthorization: %s\r\n\r\n", u.RequestURI(), u.Host, basic(userReader))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the stream's head does not parse: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/1.1" {
		t.Fatalf("status %q %s, want HTTP/1.1 200", resp.Status, resp.Proto)
	}
	want := map[string]string{"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
		t.Errorf("Date %q: %v", resp.Header.Get("Date"), err)
	}
	// resp.Close is Connection: close (ReadResponse takes the header out).
	if len(resp.TransferEncoding) != 0 || resp.ContentLength != -1 || !resp.Close {
		t.Errorf("Transfer-Encoding %q, Content-Length %d, close %v: want neither, the body ending with the connection", resp.TransferEncoding, resp.ContentLength, resp.Close)
	}
	first, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || first != "retry: 5000\n" {
		t.Errorf("first line %q (%v), want the retry field", first, err)
	}
}

// Ensure that a stream over TLS works on both protocols: HTTP/1.1, whose
// connection (a *tls.Conn) the stream writes to itself, and HTTP/2, which
// keeps the ResponseWriter; on each the events arrive and the server sees
// the client go (its slot is given back).
func TestStream_TLS(t *testing.T) {
	ts := newTestServerConfig(t, config{maxStreams: 1})
	srv := httptest.NewUnstartedServer(ts)
	srv.EnableHTTP2 = true
	srv.Config.RegisterOnShutdown(ts.EndStreams)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h1 := srv.Client().Transport.(*http.Transport).Clone()
	h1.ForceAttemptHTTP2 = false
	h1.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	h1.TLSClientConfig.NextProtos = []string{"http/1.1"}
	for i, tc := range []struct {
		proto  string
		client *http.Client
	}{{"HTTP/1.1", &http.Client{Transport: h1}}, {"HTTP/2.0", srv.Client()}} {
		t.Run(tc.proto, func(t *testing.T) {
			s, resp := openStream(t, srv, tc.client, streamURL(rootEO, collEO), "Authorization", basic(userReader))
			if s == nil {
				t.Fatalf("stream: %d", resp.StatusCode)
			}
			if resp.Proto != tc.proto {
				t.Fatalf("protocol %s, want %s", resp.Proto, tc.proto)
			}
			if first := <-s.events; first.Retry != "5000" {
				t.Errorf("first event %+v, want retry: 5000", first)
			}
			ts.addObjects(t, collEO, simpleIndicator(i))
			if o := decodeObjectEvent(t, s.next(t, "object")); string(o.Object) != simpleIndicator(i) {
				t.Errorf("object %s, want %s", o.Object, simpleIndicator(i))
			}
			s.close()
			// One stream per account: the next opens once the server has
			// seen this one go.
			waitSlotFreed(t, srv, tc.client, userReader)
		})
	}
}
