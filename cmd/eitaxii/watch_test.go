package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The server side of the stream is being written beside this command (issue
// 12 item 1) and is not in this tree, so these tests put a scripted stream
// in front of a real eitaxii server: discovery and collections are the
// server's, the stream/ route speaks the documented event format. Once the
// server has the route, an end-to-end test against it belongs next to
// these (TestWatch_EndToEnd): start startPollServer, run watch with
// --since-file, publish, wait for the values in --out, stop the server and
// start it again on the same data dir, publish more, and check that every
// object arrives exactly once and the Last-Event-ID sent is the state's.

// streamScript answers the n-th stream request (from 0) after recording
// its Last-Event-ID and query.
type streamScript struct {
	mu    sync.Mutex
	conns []http.Header // Last-Event-ID etc. of each request
	query []url.Values
	steps []func(w http.ResponseWriter)
}

func (s *streamScript) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.conns)
	s.conns = append(s.conns, r.Header.Clone())
	s.query = append(s.query, r.URL.Query())
	s.mu.Unlock()
	if n >= len(s.steps) {
		http.Error(w, "script ended", http.StatusGone)
		return
	}
	s.steps[n](w)
}

func (s *streamScript) lastEventIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, h := range s.conns {
		ids = append(ids, h.Get("Last-Event-ID"))
	}
	return ids
}

// sse writes an event-stream answer.
func sse(body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, body)
	}
}

func objectEvent(id, dateAdded, obj string) string {
	return fmt.Sprintf("event: object\nid: %s\ndata: {\"date_added\":%q,\"object\":%s}\n\n", id, dateAdded, obj)
}

// startStreamProxy serves script on every .../stream/ path and passes
// everything else to the real server at base.
func startStreamProxy(t *testing.T, base string, script *streamScript) string {
	t.Helper()
	target, _ := url.Parse(base)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host }}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/stream/") {
			if r.Header.Get("Accept") == "" || !strings.HasPrefix(r.Header.Get("Accept"), "text/event-stream") {
				http.Error(w, "not an SSE request", http.StatusNotAcceptable)
				return
			}
			script.ServeHTTP(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// watchRun runs `eitaxii watch args...` with a sleeper that records each
// delay and stops the command (cancels its context) at the stopAt-th
// sleep, and jitter fixed at 0.5.
func watchRun(t *testing.T, stopAt int, args ...string) (code int, delays []time.Duration, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string {
			return map[string]string{"EITAXII_USER": "county", "EITAXII_PASSWORD": countyPassword}[k]
		},
		jitter: func() float64 { return 0.5 },
		sleep: func(ctx context.Context, d time.Duration) error {
			delays = append(delays, d)
			if len(delays) == stopAt {
				cancel()
				return ctx.Err()
			}
			return nil
		},
	}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"watch"}, args...), e) }()
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("watch did not stop; stderr so far: %s", errb.String())
	}
	return code, delays, errb.String()
}

// Ensure that watch writes each object as it arrives, reconnects when the
// server drops the stream or refuses for a while, resumes from the last
// event id it wrote, honours retry:, backs off with jitter, and that a
// second run resumes from the state file.
func TestWatch_Reconnect(t *testing.T) {
	base := startPollServer(t)
	objs := sampleObjects()
	script := &streamScript{steps: []func(http.ResponseWriter){
		// The server sends two objects, asks for 2 s between reconnects,
		// and goes away.
		sse("retry: 2000\n\n" + objectEvent("c1", "2026-03-01T00:00:00.000001Z", objs[0]) + objectEvent("c2", "2026-03-01T00:00:00.000002Z", objs[1])),
		// Restarting.
		func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"title":"unavailable","description":"restarting","http_status":"503"}`)
		},
		// Back: a heartbeat comment, one object with a value seen before,
		// a deletion, a heartbeat event with the newest cursor.
		sse(": hb\n\n" + objectEvent("c3", "2026-03-01T00:00:00.000003Z", objs[4]) +
			"event: delete\nid: c4\ndata: {\"id\":\"indicator--00000000-0000-4000-8000-000000000001\",\"version\":\"2026-01-02T00:00:00.000Z\"}\n\n" +
			"event: heartbeat\nid: c5\ndata: {\"cursor\":\"c5\"}\n\n"),
		// The second run: nothing new.
		sse(": hb\n\n"),
	}}
	server := startStreamProxy(t, base, script)
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "blocklist.txt")
	args := []string{"--server", server, "--collection", "iocs", "--since-file", state, "--out", out, "--format", "values", "--type", "indicator"}

	code, delays, stderr := watchRun(t, 3, args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	// retry: 2000 is the first delay; jitter 0.5 takes three quarters of
	// it. The 503 doubles it; the events after it start over.
	if want := []time.Duration{1500 * time.Millisecond, 3 * time.Second, 1500 * time.Millisecond}; fmt.Sprint(delays) != fmt.Sprint(want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
	if got := script.lastEventIDs(); fmt.Sprint(got) != "[ c2 c2]" {
		t.Fatalf("Last-Event-ID per connection %q", got)
	}
	if q := script.query[0]; q.Get("match[type]") != "indicator" || q.Has("added_after") {
		t.Fatalf("first request's query %v", q)
	}
	data, _ := os.ReadFile(out)
	if want := "198.51.100.7\npollworker-login.example.net\nhttps://pollworker-login.example.net/login\n203.0.113.0/24\n"; string(data) != want {
		t.Fatalf("output %q, want %q", data, want)
	}
	if !strings.Contains(stderr, "unavailable: restarting (HTTP 503); reconnecting in 3s") ||
		!strings.Contains(stderr, "deleted indicator--00000000-0000-4000-8000-000000000001 version 2026-01-02T00:00:00.000Z") {
		t.Fatalf("stderr %s", stderr)
	}
	var st pollState
	raw, _ := os.ReadFile(state)
	if err := json.Unmarshal(raw, &st); err != nil || st.LastEventID != "c5" || st.DateAddedLast != "2026-03-01T00:00:00.000003Z" || st.Collection != iocsID {
		t.Fatalf("state %s (%v)", raw, err)
	}

	// A second run resumes after c5; a poll from the same state would
	// start after the last date_added.
	if code, _, stderr := watchRun(t, 1, args...); code != 0 {
		t.Fatalf("second run: exit %d, %s", code, stderr)
	}
	if got := script.lastEventIDs(); len(got) != 4 || got[3] != "c5" {
		t.Fatalf("second run's Last-Event-ID %q", got)
	}
}

// Ensure that a state written by poll starts the stream after its
// date_added, and that a refusal that waiting cannot cure (404) ends
// watch with status 1 and the server's message, without backing off.
func TestWatch_FromPollStateAndRefusal(t *testing.T) {
	base := startPollServer(t)
	publish(t, base, iocsID, sampleObjects()[0])
	script := &streamScript{steps: []func(http.ResponseWriter){
		func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"title":"not found","description":"no such collection","http_status":"404"}`)
		},
	}}
	server := startStreamProxy(t, base, script)
	state := filepath.Join(t.TempDir(), "state")
	newPollCLI(t).ok("poll", "--server", server, "--collection", "iocs", "--since-file", state)
	var st pollState
	raw, _ := os.ReadFile(state)
	json.Unmarshal(raw, &st)

	code, delays, stderr := watchRun(t, 1, "--server", server, "--collection", "iocs", "--since-file", state)
	if code != 1 || len(delays) != 0 || !strings.Contains(stderr, "not found: no such collection (HTTP 404)") {
		t.Fatalf("exit %d, delays %v, stderr %s", code, delays, stderr)
	}
	if q := script.query[0]; q.Get("added_after") != st.DateAddedLast || st.DateAddedLast == "" || script.lastEventIDs()[0] != "" {
		t.Fatalf("query %v, state %s", q, raw)
	}
	if code, _, stderr := watchRun(t, 1, "--server", server, "--collection", "iocs", "--format", "stix"); code != 2 || !strings.Contains(stderr, "cannot be kept open") {
		t.Fatalf("stix: exit %d, %s", code, stderr)
	}
}

// Ensure that the delays double up to the cap and stay within their
// jitter band.
func TestBackoff(t *testing.T) {
	for _, j := range []float64{0, 0.5} {
		b := backoff{base: time.Second, max: 60 * time.Second, jitter: func() float64 { return j }}
		var got []time.Duration
		for range 10 {
			got = append(got, b.next())
		}
		want := "[500ms 1s 2s 4s 8s 16s 30s 30s 30s 30s]"
		if j > 0 {
			want = "[750ms 1.5s 3s 6s 12s 24s 45s 45s 45s 45s]"
		}
		if fmt.Sprint(got) != want {
			t.Errorf("jitter %v: %v, want %v", j, got, want)
		}
	}
	b := backoff{base: time.Second, max: 10 * time.Second, jitter: func() float64 { return 0 }}
	b.setBase(0)
	if d := b.next(); d != minRetryDelay/2 {
		t.Errorf("retry: 0 gives %v, want %v", d, minRetryDelay/2)
	}
	b.reset()
	b.setBase(time.Hour)
	if d := b.next(); d != 5*time.Second {
		t.Errorf("retry: 1h gives %v, want the cap's half", d)
	}
}

// Ensure that watch writes its state only after the output it covers: a
// run cut off in between leaves no state, and the next run repeats the
// events from the start instead of losing them.
func TestWatch_CrashBeforeState(t *testing.T) {
	base := startPollServer(t)
	objs := sampleObjects()
	burst := objectEvent("c1", "2026-03-01T00:00:00.000001Z", objs[0]) + objectEvent("c2", "2026-03-01T00:00:00.000002Z", objs[1])
	script := &streamScript{steps: []func(http.ResponseWriter){sse(burst), sse(burst)}}
	server := startStreamProxy(t, base, script)
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	args := []string{"watch", "--server", server, "--collection", "iocs", "--since-file", state, "--out", out}

	var errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb,
		getenv: func(k string) string {
			return map[string]string{"EITAXII_USER": "county", "EITAXII_PASSWORD": countyPassword}[k]
		},
		afterOutput: func() error { return fmt.Errorf("killed") },
		sleep:       func(context.Context, time.Duration) error { return nil },
	}
	if code := run(context.Background(), args, e); code != 1 || !strings.Contains(errb.String(), "killed") {
		t.Fatalf("exit %d, %s", code, errb.String())
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("state written before its output was: %v", err)
	}
	data, _ := os.ReadFile(out)
	if got := ids(t, string(data)); len(got) != 2 {
		t.Fatalf("output before the crash: %v", got)
	}
	if code, _, stderr := watchRun(t, 1, args[1:]...); code != 0 {
		t.Fatalf("rerun: exit %d, %s", code, stderr)
	}
	if got := script.lastEventIDs(); fmt.Sprint(got) != "[ ]" {
		t.Fatalf("rerun resumed from %q; want from the start", got)
	}
	data, _ = os.ReadFile(out)
	if got := ids(t, string(data)); len(got) != 4 || got[2] != got[0] || got[3] != got[1] {
		t.Fatalf("output %v; want the two events once more", got)
	}
}

// Ensure that watch follows eitaxii's real live stream end to end: it
// takes over from poll's state, writes what is published while it runs,
// and a second run resumes from the last event id it recorded, so every
// value arrives once, in order.
func TestWatch_EndToEnd(t *testing.T) {
	base := startPollServer(t)
	dir := t.TempDir()
	state, out := filepath.Join(dir, "feed.state"), filepath.Join(dir, "values.txt")
	cli := newPollCLI(t)
	publish(t, base, iocsID, indicator(1, "[ipv4-addr:value = '198.51.100.1']", ""))
	cli.ok("poll", "--server", base, "--collection", "iocs", "--format", "values", "--since-file", state, "--out", out, "--append")

	watchUntil := func(want string, during func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		var errb syncBuffer
		e := &env{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &errb, getenv: func(k string) string { return cli.env[k] }}
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"watch", "--server", base, "--collection", "iocs", "--format", "values", "--since-file", state, "--out", out}, e)
		}()
		during()
		deadline := time.Now().Add(20 * time.Second)
		for {
			b, _ := os.ReadFile(out)
			if strings.Contains(string(b), want) {
				break
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("watch did not write %s; file %q; stderr %s", want, b, errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("watch exited %d: %s", code, errb.String())
		}
	}
	// Published after watch started, or before: both arrive, from the
	// state poll wrote.
	watchUntil("198.51.100.2", func() { publish(t, base, iocsID, indicator(2, "[ipv4-addr:value = '198.51.100.2']", "")) })
	publish(t, base, iocsID, indicator(3, "[ipv4-addr:value = '198.51.100.3']", ""))
	watchUntil("198.51.100.3", func() {})

	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "198.51.100.1\n198.51.100.2\n198.51.100.3\n"; got != want {
		t.Fatalf("values written %q, want %q", got, want)
	}
}
