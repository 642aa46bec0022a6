package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	eitaxii "github.com/eitaxii/eitaxii/client"
)

// The stream scenario: --subscribers live streams (eitaxii's SSE
// extension, GET {collection}/stream/) on the collection, then a
// publisher posting --objects objects one at a time. Every subscriber must
// receive every version the run published exactly once, in publishing
// order; the report gives the publish-to-receive latency (POST answered
// to event read) and, with --server-pid, the server's resident memory
// before the subscribers connected and with all of them idle. With
// --resume each subscriber disconnects after a random number of events
// and resumes with Last-Event-ID, again and again, and the same check
// applies across its connections.

// streamEvent is one object event as a subscriber read it.
type streamEvent struct {
	item uint64
	at   time.Time
}

// streamSub is one subscriber's record.
type streamSub struct {
	events   []streamEvent
	lastID   string
	connects int
	err      error
}

// runStream runs the stream scenario.
func (r *runner) runStream(ctx context.Context) {
	n, objects := r.cfg.subscribers, uint64(r.cfg.objects)
	if objects == 0 {
		objects = 200
	}
	tr := &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: -1,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, TLSClientConfig: r.c.hc.Transport.(*http.Transport).TLSClientConfig}
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer tr.CloseIdleConnections()
	streamURLs, err := r.streamURLs()
	if err != nil {
		r.problem("connect", "%v", err)
		return
	}
	if len(r.cfg.subscribe) > 0 {
		r.measures["subscriber_nodes"] = float64(len(streamURLs))
	}

	rssBefore := r.serverRSS()
	ph := r.startPhase("connect")
	subs := make([]*streamSub, n)
	conns := make([]*sseConn, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // connect at most this many at once
	var failed atomic.Int64
	for i := range subs {
		subs[i] = &streamSub{events: make([]streamEvent, 0, min(objects, 1024))}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			c, err := openSSE(ctx, hc, streamURLs[i%len(streamURLs)], r.c.auth, "")
			if err != nil {
				failed.Add(1)
				ph.fail("connect")
				r.errs.add("connect", err.Error())
				return
			}
			ph.record("connect", time.Since(start), 0)
			subs[i].connects++
			conns[i] = c
		}()
	}
	wg.Wait()
	ph.finish()
	if failed.Load() > 0 {
		r.problem("connect", "%d of %d subscribers could not connect (is max_streams_per_account high enough, or -1?)", failed.Load(), n)
		for _, c := range conns {
			if c != nil {
				c.close()
			}
		}
		return
	}
	// Idle: every subscriber connected, nothing published.
	if r.cfg.idle > 0 {
		select {
		case <-time.After(r.cfg.idle):
		case <-ctx.Done():
		}
	}
	if rssIdle := r.serverRSS(); rssBefore > 0 && rssIdle > 0 {
		r.measures["server_rss_before_mib"] = float64(rssBefore) / 1024
		r.measures["server_rss_idle_mib"] = float64(rssIdle) / 1024
		r.measures["server_rss_per_1000_subscribers_mib"] = float64(rssIdle-rssBefore) / 1024 * 1000 / float64(n)
	}

	// Receive.
	first := r.next // the run's items start here
	var received sync.WaitGroup
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, c := range conns {
		received.Add(1)
		go func() {
			defer received.Done()
			r.receive(rctx, hc, streamURLs[i%len(streamURLs)], subs[i], c, first, objects, uint64(i))
		}()
	}

	// Publish one at a time.
	cpuBefore := r.streamCPU()
	selfBefore, _ := serverCPU(os.Getpid())
	pub := r.startPhase("publish")
	answered := make([]time.Time, objects)
	sent := make([]time.Time, objects)
	var p publisher
	start := time.Now()
	for k := uint64(0); k < objects && ctx.Err() == nil; k++ {
		if d := time.Until(start.Add(time.Duration(k) * r.cfg.pubInterval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		sent[k] = time.Now()
		r.postEnvelope(ctx, pub, &p, first+k, first+k+1)
		answered[k] = time.Now()
	}
	r.next = first + objects
	pub.finish()

	// Wait for every subscriber to have everything, or the timeout.
	done := make(chan struct{})
	go func() { received.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(r.cfg.timeout):
		r.note("some subscribers had not received everything %v after the last POST", r.cfg.timeout)
		cancel()
		<-done
	case <-ctx.Done():
		cancel()
		<-done
	}
	if self, err := serverCPU(os.Getpid()); err == nil {
		r.measures["tool_cpu_seconds"] = self - selfBefore // the subscribers' side, on the same cores
	}
	if cpu := r.streamCPU(); cpuBefore > 0 && cpu > cpuBefore {
		// CPU seconds hardly depend on what else the machine runs, unlike
		// latency: the server's cost of one event to one subscriber (the
		// POSTs included).
		r.measures["server_cpu_seconds"] = cpu - cpuBefore
		r.measures["server_cpu_us_per_event"] = (cpu - cpuBefore) * 1e6 / float64(objects*uint64(n))
	}
	r.checkStream(subs, len(streamURLs), objects, sent, answered)
}

// streamURLs is the collection's stream on each --subscribe-url node (on
// --url's without one): subscriber i uses element i modulo its length,
// for its first connection and its resumptions. A node is given as an
// origin; the collection's path is --url's, as nodes of one deployment
// serve the same API roots.
func (r *runner) streamURLs() ([]string, error) {
	coll, err := url.Parse(r.t.collection + "stream/")
	if err != nil {
		return nil, err
	}
	if len(r.cfg.subscribe) == 0 {
		return []string{coll.String()}, nil
	}
	urls := make([]string, len(r.cfg.subscribe))
	for i, o := range r.cfg.subscribe {
		origin, err := url.Parse(o)
		if err != nil {
			return nil, err
		}
		u := *coll
		u.Scheme, u.Host = origin.Scheme, origin.Host
		urls[i] = u.String()
	}
	return urls, nil
}

// streamCPU is the server's CPU seconds so far (--server-pid), until the
// subscribers have read everything; 0 without --server-pid.
func (r *runner) streamCPU() float64 {
	if r.cfg.serverPID == 0 {
		return 0
	}
	cpu, err := serverCPU(r.cfg.serverPID)
	if err != nil {
		r.note("server CPU: %v", err)
		return 0
	}
	return cpu
}

// receive reads one subscriber's stream until it has every object of the
// run or ctx ends; with --resume it disconnects after a random number of
// events and resumes from its last id.
func (r *runner) receive(ctx context.Context, hc *http.Client, streamURL string, s *streamSub, c *sseConn, first, objects, seed uint64) {
	rnd := rng{s: r.cfg.seed ^ (seed+1)*0x9e3779b97f4a7c15}
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	budget := -1
	if r.cfg.resume {
		budget = 1 + rnd.intn(int(max(objects/4, 1)))
	}
	for uint64(len(s.events)) < objects {
		if c == nil {
			var err error
			if c, err = openSSE(ctx, hc, streamURL, r.c.auth, s.lastID); err != nil {
				if ctx.Err() == nil {
					s.err = err
				}
				return
			}
			s.connects++
			budget = 1 + rnd.intn(int(max(objects/4, 1)))
		}
		ev, err := c.sse.NextShared()
		if err != nil {
			if ctx.Err() == nil {
				s.err = fmt.Errorf("stream ended after %d events: %v", len(s.events), err)
			}
			return
		}
		s.lastID = ev.ID
		if ev.Type != eitaxii.EventObject {
			continue
		}
		item, ok := r.itemOf(ev.Data)
		if !ok {
			s.err = fmt.Errorf("object event the run did not publish: %.200s", ev.Data)
			return
		}
		s.events = append(s.events, streamEvent{item: item - first, at: time.Now()})
		if budget > 0 {
			if budget--; budget == 0 {
				c.close()
				c = nil
			}
		}
	}
}

// itemOf finds the generated item an object event carries, by its
// modified time (the generator's base + index ms).
func (r *runner) itemOf(data []byte) (uint64, bool) {
	const key = `"modified":"`
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := data[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	if err != nil || t.Before(r.gen.base) {
		return 0, false
	}
	return uint64(t.Sub(r.gen.base) / time.Millisecond), true
}

// checkStream checks that each subscriber got items 0..objects-1 of the
// run once each, in order, and reports the latencies: from the POST's
// answer (an event read before it counts 0) and from the POST's sending.
// With nodes > 1 (subscriber i on node i modulo nodes) it also reports
// the latency from the POST's answer by node, node_1 being the first
// --subscribe-url: with the publisher on one node, a node's figures are
// its subscribers' alone, as across nodes on a shared database.
func (r *runner) checkStream(subs []*streamSub, nodes int, objects uint64, sent, answered []time.Time) {
	var lat, fromSend []time.Duration
	byNode := make([][]time.Duration, nodes)
	early := 0
	connects := 0
	for i, s := range subs {
		connects += s.connects
		if s.err != nil {
			r.problem("stream", "subscriber %d: %v", i, s.err)
		}
		for k, ev := range s.events {
			if ev.item != uint64(k) {
				r.problem("order", "subscriber %d: event %d is item %d, want %d (lost, repeated or reordered)", i, k, ev.item, k)
				break
			}
			if !r.cfg.resume && !answered[k].IsZero() {
				d := ev.at.Sub(answered[k])
				if d < 0 {
					early++ // read before the POST's answer was
					d = 0
				}
				lat = append(lat, d)
				byNode[i%nodes] = append(byNode[i%nodes], d)
				fromSend = append(fromSend, ev.at.Sub(sent[k]))
			}
		}
		if uint64(len(s.events)) < objects && s.err == nil {
			r.problem("missing", "subscriber %d received %d of %d versions", i, len(s.events), objects)
		}
	}
	r.measures["subscribers"] = float64(len(subs))
	r.measures["versions_published"] = float64(objects)
	r.measures["connections"] = float64(connects)
	if len(lat) > 0 {
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		r.measures["latency_p50_ms"] = ms(percentile(lat, 50))
		r.measures["latency_p99_ms"] = ms(percentile(lat, 99))
		r.measures["latency_max_ms"] = ms(lat[len(lat)-1])
		r.measures["events_before_post_answer"] = float64(early)
		sort.Slice(fromSend, func(a, b int) bool { return fromSend[a] < fromSend[b] })
		r.measures["latency_from_send_p50_ms"] = ms(percentile(fromSend, 50))
		r.measures["latency_from_send_p99_ms"] = ms(percentile(fromSend, 99))
	}
	for k, l := range byNode {
		if nodes < 2 || len(l) == 0 {
			continue
		}
		sort.Slice(l, func(a, b int) bool { return l[a] < l[b] })
		node := "_node_" + strconv.Itoa(k+1)
		r.measures["latency_p50_ms"+node] = ms(percentile(l, 50))
		r.measures["latency_p99_ms"+node] = ms(percentile(l, 99))
	}
	r.expectN = int(objects)
}

// serverRSS reads the server's resident memory in KiB from
// /proc/<--server-pid>/status (VmRSS); 0 without --server-pid.
func (r *runner) serverRSS() int64 {
	if r.cfg.serverPID == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(r.cfg.serverPID) + "/status")
	if err != nil {
		r.note("server RSS: %v", err)
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

// sseConn reads Server-Sent Events from one stream response.
type sseConn struct {
	resp *http.Response
	sse  *eitaxii.SSEReader
	stop context.CancelFunc
}

// sseReadBuffer is the read buffer of one subscriber. The subscribers
// share the server's cores: a subscriber behind by many events reads them
// in one system call of up to this size rather than one per 4 KiB, so that
// the tool takes less of the CPU it measures the server on.
const sseReadBuffer = 64 << 10

// maxEvent bounds one event of the stream: a server that never ends one
// cannot make the tool buffer without end.
const maxEvent = 16 << 20

// openSSE opens a stream, resuming after lastID if it is not empty.
func openSSE(ctx context.Context, hc *http.Client, u, auth, lastID string) (*sseConn, error) {
	cctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", userAgent)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("stream: HTTP %d", resp.StatusCode)
	}
	return &sseConn{resp: resp, sse: eitaxii.NewSSEReader(bufio.NewReaderSize(resp.Body, sseReadBuffer), maxEvent), stop: cancel}, nil
}

func (c *sseConn) close() {
	c.stop()
	c.resp.Body.Close()
}
