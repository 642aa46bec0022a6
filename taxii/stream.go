package taxii

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// The live stream: GET {api-root}/collections/{id or alias}/stream/ with
// Accept: text/event-stream, an extension beside the TAXII resources that
// answers in Server-Sent Events (the WHATWG HTML "server-sent events"
// format). Its wire format, which clients rely on:
//
//	retry: 5000                      once, first
//
//	event: object                    a version added
//	id: 2024-05-01T12:00:00.000001Z  its date_added: the cursor
//	data: {"date_added":"2024-05-01T12:00:00.000001Z","object":{...}}
//
//	event: delete                    a version deleted
//	id: 2024-05-01T12:00:00.000002Z  the deletion's own cursor
//	data: {"id":"indicator--...","version":"2024-01-01T00:00:00.000Z"}
//
//	event: heartbeat                 every heartbeat interval, and at once
//	id: 2024-05-01T12:00:00.000009Z  when the replay ends past the last id
//	data: {"newest":"2024-05-01T12:00:00.000009Z"}   sent (filtered changes,
//	                                 or the start of a stream without cursor)
//
//	event: heartbeat                 the same, for a collection that never
//	data: {"newest":null}            changed: no cursor yet, no id
//
//	event: gap                       deletions after the resume cursor
//	data: {"after":"2024-05-01T12:00:00.000001Z"}    were pruned (no id)
//
//	: heartbeat                      a comment, before each periodic
//	                                 heartbeat event (for proxies and
//	                                 readers that see no events)
//
// Each event is one "data:" line: the object is its stored bytes, verbatim
// (they hold no line break: objects are stored compacted). Cursors are
// TAXII timestamps (µs, UTC) and are accepted back by Last-Event-ID and
// by ?added_after=. Events come in cursor order, each once per stream.
//
// Where it starts: after Last-Event-ID if sent (what EventSource sends
// when it reconnects), else after ?added_after= if given, else at the
// collection's newest change with no replay. A cursor at or before the
// Unix epoch means the very start: everything the collection holds. From
// a cursor the changes since are replayed from the store, then live ones
// follow, with no gap and no duplicate at the seam.
//
// A gap: when deletions later than the resume cursor have been pruned
// (after the status retention, see store.Store.PruneDeletions), the
// stream says so with one gap event before the replay, then goes on with
// the additions and the deletions still known. A client that keeps state
// (a blocklist) and sees a gap should rebuild it from the very start.
//
// The stream ends (the client reconnects with its last id and loses
// nothing): when the server shuts down; when the caller may no longer
// read the collection (membership removed or lowered, account disabled,
// token revoked or expired, password changed, collection deleted),
// within a directory reload; when the client reads too slowly to keep
// within the subscriber's queue (a dropped slow subscriber); or when a
// write to the client does not finish within the write timeout.

// Defaults of the stream options.
const (
	// DefaultStreamHeartbeat is Options.StreamHeartbeat when zero.
	DefaultStreamHeartbeat = 15 * time.Second
	// DefaultMaxStreamsPerAccount is Options.MaxStreamsPerAccount when zero.
	DefaultMaxStreamsPerAccount = 8
	// DefaultStreamWriteTimeout is Options.StreamWriteTimeout when zero.
	DefaultStreamWriteTimeout = 30 * time.Second
)

// streamRetry is the reconnection delay the stream asks of clients, in ms.
const streamRetry = 5000

// streamReplayPage is the number of changes one replay read holds: their
// objects are in memory until written.
const streamReplayPage = 100

// Bounds of a stream's write buffer. Events are appended until the buffer
// holds streamFlushBytes, then written: a subscriber that is behind (a
// backlog in its queue, a replay) is sent its events in writes of about
// that size, one system call each, and its buffer does not grow to the
// size of the backlog. Buffers come from streamBuffers, streamBufferSize
// each; one that a large object made grow past streamBufferKeep is
// dropped after its write rather than pooled.
const (
	streamFlushBytes = 16 << 10
	streamBufferSize = streamFlushBytes + 4<<10 // a full buffer's last event fits
	streamBufferKeep = 32 << 10
)

// streamBuffers holds the write buffers of the streams that have nothing
// to write. A stream takes one to append events and gives it back with
// each write, so buffers exist for the streams writing at that moment, not
// for every open stream: a thousand idle streams hold none, and a burst to
// all of them reuses a few buffers rather than growing a thousand. (A
// buffer per stream, released when it caught up, was regrown by every
// burst: a node fanning out to 1000 streams reached a heap of 240 MB and
// collected three times as often.)
var streamBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, streamBufferSize)
	return &b
}}

// streamFilters are the stream's query parameters: added_after and the
// match fields of Get Objects except match[version] (a stream sends every
// version as it is added). Others are ignored, as the TAXII endpoints
// ignore what they do not support (REQ-92).
var streamFilters = filterSet{id: true, typ: true, specVersion: true, addedAfter: true}

var (
	errStreamNotAcceptable = errorf(http.StatusNotAcceptable, "Not Acceptable",
		"the stream answers with text/event-stream; send Accept: text/event-stream")
	errShuttingDown = errors.New("the server is shutting down")
	errAccessLost   = errors.New("access to the collection was withdrawn")
	errClientGone   = errors.New("the client closed the stream")
)

// acceptsEventStream reports whether an Accept header names
// text/event-stream with a non-zero q. Only that type: a client of the
// stream asks for it explicitly, and one that does not would get neither
// the TAXII media type it expects nor an error it understands.
func acceptsEventStream(header string) bool {
	for _, r := range strings.Split(header, ",") {
		typ, params := parseMediaType(r)
		if q, ok := params["q"]; ok && isZeroQ(q) {
			continue
		}
		if typ == "text/event-stream" {
			return true
		}
	}
	return false
}

// isStreamRoute reports whether a gin route is the stream's, whose Accept
// the stream checks itself.
func isStreamRoute(fullPath string) bool {
	return strings.HasSuffix(strings.TrimSuffix(fullPath, "/"), "/collections/:coll/stream")
}

// openStream is one open stream, as the directory re-check sees it.
type openStream struct {
	account      string
	via          string // as principal.via
	tokenID      string
	passwordHash string
	certKey      [sha256.Size]byte
	group, coll  string
	cancel       context.CancelCauseFunc
}

// streams is the registry of open streams. A stream leaves it when its
// handler is done, its audit row recorded.
type streams struct {
	mu    sync.Mutex
	open  map[*openStream]struct{}
	empty *sync.Cond // on mu: signalled when open becomes empty
}

func (r *streams) add(st *openStream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open == nil {
		r.open = map[*openStream]struct{}{}
	}
	r.open[st] = struct{}{}
}

func (r *streams) remove(st *openStream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.open, st)
	if len(r.open) == 0 && r.empty != nil {
		r.empty.Broadcast()
	}
}

// wait returns once no stream is open. The HTTP server's Shutdown does
// not wait for streams, whose connections are hijacked: Close waits here,
// after ending them, so that their audit rows are recorded before the
// audit log closes.
func (r *streams) wait() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.empty == nil {
		r.empty = sync.NewCond(&r.mu)
	}
	for len(r.open) > 0 {
		r.empty.Wait()
	}
}

// checkStreams ends the open streams whose caller may no longer read their
// collection in dir. reload calls it after installing each snapshot.
func (s *Server) checkStreams(dir *directory) {
	now := s.now()
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	for st := range s.streams.open {
		if !streamAllowed(dir, st, now) {
			st.cancel(errAccessLost)
		}
	}
}

// streamAllowed re-asks, of a new directory, the questions the stream's
// request was answered by: the same credential still authenticates the
// same account (not disabled; the token neither revoked nor expired; the
// password or certificate unchanged), and the account may still read the
// collection (access.CanRead on its role in the group).
func streamAllowed(dir *directory, st *openStream, now time.Time) bool {
	acct := dir.accounts[st.account]
	if acct == nil || acct.Disabled {
		return false
	}
	switch st.via {
	case "token":
		tok := dir.tokenIDs[st.tokenID]
		if tok == nil || tok.account != acct || tok.Revoked || (!tok.Expires.IsZero() && !now.Before(tok.Expires)) {
			return false
		}
	case "password":
		if acct.PasswordHash != st.passwordHash {
			return false
		}
	case "certificate":
		if dir.certs[st.certKey] != acct {
			return false
		}
	}
	g := dir.groups[st.group]
	if g == nil {
		return false
	}
	role, member := acct.groups[st.group]
	coll := g.byID[st.coll]
	return member && coll != nil && access.CanRead(coll.Policy.ReadRole, role)
}

// EndStreams ends every open stream and refuses new ones (503), so that an
// http.Server's Shutdown, which waits for handlers to return, does not
// wait for streams: register it with http.Server.RegisterOnShutdown.
// Close calls it too. Calling it more than once is harmless.
func (s *Server) EndStreams() {
	s.endStreams()
	s.hub.Close()
}

// streamStart returns the cursor the stream resumes after and whether one
// was given (Last-Event-ID, else added_after), or a 400 for one that is
// not a TAXII timestamp.
func streamStart(c *gin.Context, q store.Query) (time.Time, bool, error) {
	if id, ok := c.Request.Header["Last-Event-Id"]; ok && strings.TrimSpace(id[0]) != "" {
		t, err := parseQueryTime(strings.TrimSpace(id[0]))
		if err != nil {
			return time.Time{}, false, badQuery("Last-Event-ID: %v", err)
		}
		return startOf(t), true, nil
	}
	values, _ := url.ParseQuery(c.Request.URL.RawQuery) // parseQuery has checked it
	if _, ok := values["added_after"]; ok {
		return startOf(q.Filter.AddedAfter), true, nil
	}
	return time.Time{}, false, nil
}

// startOf maps a cursor at or before the Unix epoch to the zero cursor,
// the position before every change: no change is that old, and from the
// zero cursor the store reports no gap.
func startOf(t time.Time) time.Time {
	if !t.After(time.Unix(0, 0)) {
		return time.Time{}
	}
	return t
}

// handleStream serves GET {api-root}/collections/{id}/stream/ (see the
// top of this file). Before the stream starts it answers, as TAXII errors:
// 406 without Accept: text/event-stream, 404 for a hidden API root or
// collection, 403 for a member who may not read it (as Get Objects), 400
// for a malformed query or cursor, 429 with Retry-After when the account
// has MaxStreamsPerAccount streams open, 503 while the server shuts down.
func (s *Server) handleStream(c *gin.Context) error {
	if !acceptsEventStream(c.GetHeader("Accept")) {
		return errStreamNotAcceptable
	}
	g, coll, err := s.readable(c)
	if err != nil {
		return err
	}
	q, err := parseQuery(c.Request.URL.RawQuery, streamFilters, s.opts.MaxPageSize)
	if err != nil {
		return err
	}
	from, resume, err := streamStart(c, q)
	if err != nil {
		return err
	}
	p := caller(c)
	if limit := s.opts.MaxStreamsPerAccount; limit > 0 {
		if !s.streamSlots.acquire(p.Name, limit) {
			s.metrics.streamsRefused.Inc()
			c.Header("Retry-After", strconv.Itoa(readRetryAfter))
			return errorf(http.StatusTooManyRequests, "Too Many Requests",
				"this account already has "+strconv.Itoa(limit)+" streams open; close one, or retry after the number of seconds in Retry-After")
		}
		defer s.streamSlots.release(p.Name)
	}

	ctx, cancel := context.WithCancelCause(c.Request.Context())
	defer cancel(nil)
	stopOnShutdown := context.AfterFunc(s.streamsCtx, func() { cancel(errShuttingDown) })
	defer stopOnShutdown()
	st := &openStream{account: p.Name, via: p.via, tokenID: p.tokenID, passwordHash: p.PasswordHash,
		group: g.Name, coll: coll.ID, cancel: cancel}
	if tls := c.Request.TLS; tls != nil && len(tls.PeerCertificates) > 0 {
		st.certKey = sha256.Sum256(tls.PeerCertificates[0].Raw)
	}
	s.streams.add(st)
	defer s.streams.remove(st)
	// A reload between authentication and here checked the registry
	// without this stream: check it against the snapshot installed now.
	if !streamAllowed(s.dir.Load(), st, s.now()) {
		return errNotFound
	}
	if s.streamsCtx.Err() != nil {
		return errStreamsEnded
	}
	sub, err := s.hub.Subscribe(ctx, coll.ID)
	if err != nil {
		return err
	}
	defer func() { sub.Close() }() // sub is replaced on a resubscription
	if !resume {
		// Subscribed first: what is committed after this read is queued.
		page, err := s.store.ReadChanges(ctx, coll.ID, time.Time{}, 1)
		if err != nil {
			return err
		}
		from = page.Newest
	}

	sw, err := s.startEventStream(c, func() { cancel(errClientGone) })
	if err != nil {
		return err
	}
	// Also on a panic: net/http closes no hijacked connection.
	defer sw.finish()
	s.metrics.streamsOpen.Inc()
	defer s.metrics.streamsOpen.Dec()
	s.metrics.lastPoll.WithLabelValues(p.Name).Set(float64(s.now().Unix()))
	// A write blocked on a client that reads nothing would hold the
	// stream until the write timeout: its end (shutdown, access
	// withdrawn) cuts the write short.
	stopUnblock := context.AfterFunc(ctx, sw.unblock)
	run := &streamRun{s: s, w: sw, filter: &q.Filter, pos: from, coll: coll.ID, st: st}
	if resume {
		run.lastID = from // the client holds it
	}
	err = run.serve(ctx, &sub)
	stopUnblock()
	sw.finish()
	s.auditStream(c, g, coll, run)
	switch {
	case errors.Is(err, delivery.ErrSlow):
		s.metrics.streamsDropped.Inc()
	case err != nil && !errors.Is(err, context.Canceled) && context.Cause(ctx) == nil && c.Request.Context().Err() == nil:
		s.log.WarnContext(c.Request.Context(), "stream ended", "account", p.Name, "collection", coll.ID, "err", err)
	}
	return nil // the response has started: nothing more to answer
}

// errStreamsEnded answers a stream asked for while the server shuts down.
var errStreamsEnded = errorf(http.StatusServiceUnavailable, "Service Unavailable", "the server is shutting down; reconnect later")

// auditStream records what a stream sent, as a read of the collection.
func (s *Server) auditStream(c *gin.Context, g *group, coll *store.Collection, run *streamRun) {
	pr := caller(c)
	s.metrics.served.WithLabelValues(coll.ID).Add(float64(run.objects))
	ev := store.AuditEvent{Action: "read", Detail: "stream", Account: pr.Name, Organization: pr.Organization,
		Group: g.Name, Collection: coll.ID, Count: run.objects, RemoteAddr: c.ClientIP()}
	if run.objects > 0 {
		ev.DateAddedFirst = formatTime(run.first)
		ev.DateAddedLast = formatTime(run.last)
	}
	c.Set(ctxObjects, run.objects)
	s.audit.record(ev)
}

// startEventStream writes the stream's headers and its retry field. The
// server's read and write timeouts bound a whole response: a stream lifts
// them, and bounds each write by StreamWriteTimeout instead. gone is
// called when the client closes a hijacked connection (see hijack); on an
// error the stream is finished.
func (s *Server) startEventStream(c *gin.Context, gone func()) (*sseWriter, error) {
	rc := http.NewResponseController(c.Writer)
	// ErrNotSupported (a ResponseWriter without a connection, as in
	// handler tests) leaves nothing to lift.
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return nil, err
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
	// HTTP/1.1 without chunking: the stream is the rest of the connection
	// (net/http then closes it after the response, as the SSE spec
	// suggests). A chunked write costs a chunk header, and a write larger
	// than the connection's buffer two more system calls; a stream ends
	// with its connection anyway. HTTP/2 drops the header.
	h.Set("Transfer-Encoding", "identity")
	c.Status(http.StatusOK)
	sw := &sseWriter{w: c.Writer, rc: rc, timeout: s.opts.StreamWriteTimeout}
	sw.take()
	if err := sw.hijack(c, gone); err != nil {
		return nil, err
	}
	sw.buf = append(sw.buf, "retry: "...)
	sw.buf = strconv.AppendInt(sw.buf, streamRetry, 10)
	sw.buf = append(sw.buf, "\n\n"...)
	if err := sw.flush(); err != nil {
		sw.finish()
		return nil, err
	}
	return sw, nil
}

// hijack takes an HTTP/1.1 connection over from net/http, so that each
// flush is one write to the connection: through the ResponseWriter an
// event was copied twice more (the response's and the connection's
// buffers) and took five layers of calls and a lock, about a tenth of a
// node's CPU with a thousand streams. The status line and the headers set
// so far go first in buf. net/http no longer watches a hijacked
// connection, so hijack reads it until the client closes it (a read of
// the end through net/http's reader also ends the request's context) and
// then calls gone; finish closes it. HTTP/2, and a ResponseWriter without a
// connection (handler tests), keep the ResponseWriter.
func (sw *sseWriter) hijack(c *gin.Context, gone func()) error {
	if c.Request.ProtoMajor != 1 {
		return nil
	}
	u, ok := c.Writer.(interface{ Unwrap() http.ResponseWriter })
	if !ok {
		return nil
	}
	if _, ok := u.Unwrap().(http.Hijacker); !ok {
		return nil
	}
	conn, brw, err := c.Writer.Hijack()
	if err != nil {
		return err
	}
	sw.conn = conn
	h := c.Writer.Header()
	// The body ends with the connection, as the identity encoding said.
	h.Del("Transfer-Encoding")
	h.Set("Connection", "close")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	h.Write(&head) // a bytes.Buffer does not fail
	head.WriteString("\r\n")
	sw.buf = append(sw.buf, head.Bytes()...)
	go func() {
		// A stream's client sends nothing more: a read returns when it
		// closes the connection, or when finish does.
		io.Copy(io.Discard, brw.Reader)
		gone()
	}()
	return nil
}

// sseWriter writes events into a buffer and flushes it to the client,
// each flush bounded by its own write deadline: to the hijacked
// connection, or else through the ResponseWriter.
type sseWriter struct {
	conn    net.Conn // hijacked; nil: w
	w       gin.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	// buf is what is appended and not yet written; bufp, while the
	// writer holds one, the streamBuffers entry it came from. Every
	// append goes to a buffer from take; flush gives it back.
	buf  []byte
	bufp *[]byte

	mu          sync.Mutex // orders unblock, finish and the deadlines of flush
	cut         bool       // unblock ran: no more writes
	finished    bool
	deadlineSet time.Time // when flush last moved the write deadline
}

// errStreamCut fails the writes after unblock.
var errStreamCut = errors.New("stream cut short")

// unblock makes a write in progress, and the next one if none is, fail
// at once, until finish. Safe to call from another goroutine.
func (sw *sseWriter) unblock() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !sw.finished {
		sw.cut = true
		sw.setWriteDeadline(time.Now())
	}
}

func (sw *sseWriter) setWriteDeadline(t time.Time) error {
	if sw.conn != nil {
		return sw.conn.SetWriteDeadline(t)
	}
	return sw.rc.SetWriteDeadline(t)
}

// finish ends the stream. A hijacked connection is closed, after a FIN
// (CloseWrite) so that the client reads everything sent before its end.
// Otherwise the end of the response, which the HTTP server writes once
// the handler returns, gets a deadline of its own, which unblock no longer
// moves: a stream the server ends still ends cleanly for its client.
// Calls after the first do nothing.
func (sw *sseWriter) finish() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.finished {
		return
	}
	sw.finished = true
	if sw.conn != nil {
		// Over TLS the FIN follows an alert, a write: bounded too.
		sw.conn.SetWriteDeadline(time.Now().Add(streamFinalWrite))
		if cw, ok := sw.conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		sw.conn.Close()
		return
	}
	sw.rc.SetWriteDeadline(time.Now().Add(streamFinalWrite))
}

// streamFinalWrite bounds the write of a stream's end.
const streamFinalWrite = time.Second

// take gives the writer a buffer to append to, if it holds none.
func (sw *sseWriter) take() {
	if sw.bufp == nil {
		sw.bufp = streamBuffers.Get().(*[]byte)
		sw.buf = (*sw.bufp)[:0]
	}
}

// release gives the writer's buffer back to streamBuffers: the one it
// took, unless appends made it grow past streamBufferKeep.
func (sw *sseWriter) release() {
	if sw.bufp != nil {
		if cap(sw.buf) <= streamBufferKeep {
			*sw.bufp = sw.buf[:0]
		}
		streamBuffers.Put(sw.bufp)
	}
	sw.buf, sw.bufp = nil, nil
}

// flush writes the buffer and gives it back (see release): after a
// failed write, only the writer's hold on it.
func (sw *sseWriter) flush() error {
	defer sw.release()
	if len(sw.buf) == 0 {
		return nil
	}
	sw.mu.Lock()
	if sw.cut {
		sw.mu.Unlock()
		return errStreamCut
	}
	// Moving the deadline costs a timer update per write, per client: it
	// is moved only once a quarter of the timeout has passed, so every
	// write still has at least three quarters of it.
	var err error
	if now := time.Now(); now.Sub(sw.deadlineSet) >= sw.timeout/4 {
		sw.deadlineSet = now
		err = sw.setWriteDeadline(now.Add(sw.timeout))
	}
	sw.mu.Unlock()
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	// Every writer below is done with buf when Write succeeds (net.Conn,
	// tls.Conn and HTTP/2 copy or send it), so it can go back at once. A
	// failed one may not be: HTTP/2 can stop waiting for a frame of it
	// that is still queued. That buffer is not pooled; the stream ends.
	if sw.conn != nil {
		_, err = sw.conn.Write(sw.buf)
	} else if _, err = sw.w.Write(sw.buf); err == nil {
		sw.w.Flush()
	}
	if err != nil {
		sw.bufp = nil
	}
	return err
}

// full reports whether the buffer holds enough to be written now.
func (sw *sseWriter) full() bool { return len(sw.buf) >= streamFlushBytes }

// event appends one event; data must hold no line break.
func (sw *sseWriter) event(name, id string, data ...[]byte) {
	sw.take()
	sw.buf = append(sw.buf, "event: "...)
	sw.buf = append(sw.buf, name...)
	if id != "" {
		sw.buf = append(sw.buf, "\nid: "...)
		sw.buf = append(sw.buf, id...)
	}
	sw.buf = append(sw.buf, "\ndata: "...)
	for _, d := range data {
		sw.buf = append(sw.buf, d...)
	}
	sw.buf = append(sw.buf, "\n\n"...)
}

// streamRun is the state of one stream.
type streamRun struct {
	s      *Server
	w      *sseWriter
	filter *store.Filter
	coll   string
	st     *openStream
	// pos is the cursor of the last change handled, sent or filtered
	// out; lastID is the last id sent (or the client's resume cursor).
	pos, lastID time.Time
	gapSent     bool
	inLive      atomic.Bool // in live, past the replay
	// wake tells live to look at everything but its queue: the end of
	// the stream's context or of its subscription, and beatDue, set by
	// beat, the heartbeat's timer. live waits on two channels instead of
	// four, one of them a ticker's; the wait is paid by every stream for
	// every version, and with 1000 streams the smaller select took about
	// 8 % off the node's CPU per event (docs/performance.md).
	wake    chan struct{}
	beatDue atomic.Bool
	beat    *time.Timer
	// What was sent, for the audit row.
	objects     int
	first, last time.Time
}

// serve replays from the store, then sends live changes, until ctx is
// done or the subscription ends. *sub is replaced when the stream has to
// subscribe again (a gap, or a queue that overflowed during the replay):
// the store holds what the queue dropped.
func (r *streamRun) serve(ctx context.Context, sub **delivery.Subscription) error {
	r.wake = make(chan struct{}, 1)
	stopWake := context.AfterFunc(ctx, r.signal)
	defer stopWake()
	r.beat = time.AfterFunc(r.s.opts.StreamHeartbeat, func() {
		r.beatDue.Store(true)
		r.signal()
	})
	defer r.beat.Stop()
	for {
		cur := *sub
		// Dropped while live, the client is too slow: cut short the
		// write it may be blocked in. Dropped during the replay, it is
		// not: the replay was long, and goes on from the store.
		r.inLive.Store(false)
		stop := context.AfterFunc(cur.Context(), func() {
			if r.inLive.Load() && errors.Is(cur.Err(), delivery.ErrSlow) {
				r.w.unblock()
			}
			r.signal()
		})
		err := r.replay(ctx)
		if err == nil {
			if err = cur.Err(); err == nil {
				r.inLive.Store(true)
				if err = r.advance(false); err == nil {
					err = r.live(ctx, cur)
				}
			}
		}
		stop()
		if err != nil && r.inLive.Load() && errors.Is(cur.Err(), delivery.ErrSlow) {
			err = delivery.ErrSlow // the write failed because of the drop
		}
		slowWhileLive := errors.Is(err, delivery.ErrSlow) && r.inLive.Load()
		if slowWhileLive || !errors.Is(err, delivery.ErrSlow) && !errors.Is(err, delivery.ErrGap) {
			return err
		}
		// A gap, or a queue that overflowed during the replay: the store
		// holds what the queue dropped.
		cur.Close()
		next, err := r.s.hub.Subscribe(ctx, r.coll)
		if err != nil {
			return err
		}
		*sub = next
	}
}

// replay sends the store's changes after pos, up to the end of the feed.
func (r *streamRun) replay(ctx context.Context) error {
	for {
		page, err := r.s.store.ReadChanges(ctx, r.coll, r.pos, streamReplayPage)
		if err != nil {
			return err
		}
		if page.Gap && !r.gapSent {
			r.gapSent = true
			r.w.event("gap", "", []byte(`{"after":"`+formatTime(r.pos)+`"}`))
			r.s.metrics.eventsGap.Inc()
		}
		for i := range page.Changes {
			r.send(&page.Changes[i], page.Newest)
			if r.w.full() {
				if err := r.w.flush(); err != nil {
					return err
				}
			}
		}
		if !page.More && page.Newest.After(r.pos) {
			// Everything up to Newest was in this read.
			r.pos = page.Newest
		}
		if err := r.w.flush(); err != nil {
			return err
		}
		if !page.More {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// signal wakes live (see streamRun.wake); a wake already pending
// covers this one.
func (r *streamRun) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// live sends the subscription's changes later than pos, and a heartbeat
// when one is due, until ctx is done (its cause), the caller's access is
// gone (errAccessLost: a token that expired meanwhile; withdrawals through
// the directory end ctx at once), or the subscription ends (its error).
func (r *streamRun) live(ctx context.Context, sub *delivery.Subscription) error {
	queue := sub.C()
	if r.beatDue.Load() {
		// The beat came due while the last subscription ended, and that
		// end may have taken its one wake: without this, no heartbeat
		// (nor token re-check) would come again, the timer being reset
		// only after one.
		r.signal()
	}
	for {
		select {
		case c := <-queue:
			r.send(c, sub.Newest())
			// Write what the queue holds now in as few writes as the
			// buffer's bound allows.
			for n := len(queue); n > 0; n-- {
				if r.w.full() {
					if err := r.w.flush(); err != nil {
						return err
					}
				}
				r.send(<-queue, sub.Newest())
			}
			if err := r.w.flush(); err != nil {
				return err
			}
		case <-r.wake:
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if err := sub.Err(); err != nil {
				return err
			}
			if r.beatDue.Swap(false) {
				if !streamAllowed(r.s.dir.Load(), r.st, r.s.now()) {
					return errAccessLost
				}
				if err := r.heartbeat(sub); err != nil {
					return err
				}
				r.beat.Reset(r.s.opts.StreamHeartbeat)
			}
		}
	}
}

// advance sends a heartbeat event when the stream's position is past the
// last id the client was sent, or always if force is set, and flushes.
func (r *streamRun) advance(force bool) error {
	switch {
	case r.pos.After(r.lastID) || force && !r.pos.IsZero():
		r.lastID = r.pos
		id := formatTime(r.pos)
		r.w.event("heartbeat", id, []byte(`{"newest":"`+id+`"}`))
		r.s.metrics.eventsHeartbeat.Inc()
	case force:
		// A collection that never changed has no cursor to give.
		r.w.event("heartbeat", "", []byte(`{"newest":null}`))
		r.s.metrics.eventsHeartbeat.Inc()
	}
	return r.w.flush()
}

// heartbeat moves pos to what the subscription has queued if the queue
// is empty (Queued read first: a change queued before it is then in the
// queue or already handled), and writes the comment heartbeat and a
// heartbeat event.
func (r *streamRun) heartbeat(sub *delivery.Subscription) error {
	if q := sub.Queued(); len(sub.C()) == 0 && q.After(r.pos) {
		r.pos = q
	}
	r.w.take()
	r.w.buf = append(r.w.buf, ": heartbeat\n\n"...)
	r.s.metrics.lastPoll.WithLabelValues(r.st.account).Set(float64(r.s.now().Unix()))
	return r.advance(true)
}

// send appends the event of change c if the filters keep it and it is
// later than pos; pos moves to it either way.
func (r *streamRun) send(c *store.Change, newest time.Time) {
	if !c.Cursor.After(r.pos) {
		return // replayed already: the seam between store and queue
	}
	r.pos = c.Cursor
	// Deletions carry no spec_version: match[spec_version] does not
	// apply to them (a client filtering on it may see the deletion of a
	// version it was not sent, which it can ignore).
	if !store.SelectsID(r.filter, c.Record.ID) || (!c.Deleted && !r.filter.SelectsSpecVersion(c.Record.SpecVersion)) {
		return
	}
	r.lastID = c.Cursor
	if newest.After(c.Cursor) {
		r.s.metrics.streamLag.Observe(newest.Sub(c.Cursor).Seconds())
	} else {
		r.s.metrics.streamLag.Observe(0)
	}
	if c.Deleted {
		data, _ := json.Marshal(struct {
			ID      string `json:"id"`
			Version string `json:"version"`
		}{c.Record.ID, c.Record.Version}) // strings always encode
		r.w.event("delete", formatTime(c.Cursor), data)
		r.s.metrics.eventsDelete.Inc()
		return
	}
	raw := c.Record.Raw
	if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		// Stored bytes hold no line break (objects are stored compacted);
		// should one ever, only its whitespace may change, or the event
		// would break.
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil {
			raw = b.Bytes()
		}
	}
	// Appended in place: this runs once per version per client.
	r.w.take()
	b := append(r.w.buf, "event: object\nid: "...)
	from := len(b)
	b = appendCursor(b, c.Cursor)
	to := len(b)
	b = append(b, "\ndata: {\"date_added\":\""...)
	b = append(b, b[from:to]...)
	b = append(b, "\",\"object\":"...)
	b = append(b, raw...)
	r.w.buf = append(b, "}\n\n"...)
	r.s.metrics.eventsObject.Inc()
	if r.objects == 0 {
		r.first = c.Cursor
	}
	r.objects++
	r.last = c.Cursor
}

// appendCursor appends t as t.UTC().AppendFormat(b, store.TimestampLayout)
// does, digit by digit: the stream formats each event's cursor once per
// subscriber, and AppendFormat was about 6 % of a node's CPU serving 1000
// subscribers. Years outside 0 to 9999 take AppendFormat.
func appendCursor(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, store.TimestampLayout)
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1000, 6)
	return append(b, 'Z')
}

// appendDigits appends the n lowest decimal digits of v (v >= 0), with
// leading zeros.
func appendDigits(b []byte, v, n int) []byte {
	b = append(b, "000000"[:n]...)
	for i := len(b) - 1; n > 0; i, n = i-1, n-1 {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}
