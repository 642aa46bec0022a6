package taxii_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchServer is a test server whose election-officials API root takes
// 10 MiB envelopes.
func benchServer(b *testing.B) *testServer {
	return newTestServerConfig(b, config{eoMaxContentLen: 10 << 20})
}

func benchEnvelope(first, n int) string {
	objs := make([]string, n)
	for i := range objs {
		objs[i] = simpleIndicator(first + i)
	}
	return envelope(objs...)
}

// One Add Objects request of 1,000 new indicators per iteration, through
// the whole handler: body read, envelope decoding, full validation
// (schema, rules, pattern), the write transaction (issue 5: ingest).
func BenchmarkServer_AddObjects1000(b *testing.B) {
	ts := benchServer(b)
	target := objectsURL(rootEO, collEO)
	b.ReportAllocs()
	for i := range b.N {
		b.StopTimer()
		body := benchEnvelope(i*1000, 1000)
		b.SetBytes(int64(len(body)))
		b.StartTimer()
		w := do(b, ts, http.MethodPost, target, body, "Authorization", basic(userPublisher), "Content-Type", mediaTAXII)
		if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"success_count":1000`) {
			b.Fatalf("POST: %d %.300s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "objects/s")
}

// A limit=1000 page of a 10,000-object collection per iteration, rendered
// from the stored bytes (issue 5: polling).
func BenchmarkServer_GetObjectsPage(b *testing.B) {
	ts := benchServer(b)
	target := objectsURL(rootEO, collEO)
	for first := 0; first < 10000; first += 1000 {
		w := do(b, ts, http.MethodPost, target, benchEnvelope(first, 1000), "Authorization", basic(userPublisher), "Content-Type", mediaTAXII)
		if w.Code != http.StatusAccepted {
			b.Fatalf("fill: %d %.300s", w.Code, w.Body)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w := do(b, ts, http.MethodGet, target+"?limit=1000&added_after="+stamp(added(1000*(i%9))), "", "Authorization", basic(userReader))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"more":true`) {
			b.Fatalf("GET: %d %.300s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "objects/s")
}

// Discovery with a Basic credential that the server has already verified
// once: what authentication costs per request with the cache (issue 5).
func BenchmarkServer_AuthenticateCachedBasic(b *testing.B) {
	ts := benchServer(b)
	auth := basic(userReader)
	do(b, ts, http.MethodGet, "/taxii2/", "", "Authorization", auth) // pay the bcrypt once
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if w := do(b, ts, http.MethodGet, "/taxii2/", "", "Authorization", auth); w.Code != http.StatusOK {
			b.Fatalf("GET: %d", w.Code)
		}
	}
}

// The live stream's fan-out to 500 subscribers over loopback TCP: per
// iteration one commit of 1 or 10 versions, and the iteration ends when
// every subscriber has read them, so ns/op is the time from the publish to
// the last subscriber's read (the spread of one commit over 500 streams),
// ns/event that per version and subscriber, and cpu-ns/event the process's
// CPU time (user and system, getrusage) per event, which depends less than
// the others on what else the machine runs. The readers share the CPU and
// count in it; they only count events, so that they cost little beside
// the server.
func BenchmarkStream_FanOut500(b *testing.B) {
	for _, perCommit := range []int{1, 10} {
		b.Run(fmt.Sprintf("versions=%d", perCommit), func(b *testing.B) { benchFanOut(b, 500, perCommit) })
	}
}

func benchFanOut(b *testing.B, subscribers, perCommit int) {
	ts, srv := newStreamServer(b, config{maxStreams: -1})
	ts.addObjects(b, collEO, simpleIndicator(0))
	counts := make([]chan int, subscribers)
	for i := range counts {
		counts[i] = countObjectEvents(b, srv, streamURL(rootEO, collEO))
	}
	// Every stream is live (its start heartbeat read) before publishing.
	for _, c := range counts {
		if n, ok := <-c; !ok || n != 0 {
			b.Fatal("a stream ended before publishing")
		}
	}
	objs := make([]string, perCommit)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for i := range b.N {
		for k := range objs {
			objs[k] = simpleIndicator(1 + i*perCommit + k)
		}
		ts.addObjects(b, collEO, objs...)
		for _, c := range counts {
			for n := 0; n < perCommit; {
				got, ok := <-c
				if !ok {
					b.Fatalf("commit %d: a stream ended after %d of %d events", i, n, perCommit)
				}
				n += got
			}
		}
	}
	b.StopTimer()
	events := float64(b.N * subscribers * perCommit)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/events, "cpu-ns/event")
}

// processCPU is the CPU time, user and system, the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countObjectEvents opens a stream and sends on the returned channel 0
// once the stream's first heartbeat is read, then the number of object
// events in each read; it closes the channel when the stream ends. It
// counts the "event: object" lines without parsing the events, so that
// the reader costs little beside the server.
func countObjectEvents(b *testing.B, srv *httptest.Server, target string) chan int {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+target, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", basic(userReader))
	resp, err := srv.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("stream: %d", resp.StatusCode)
	}
	out := make(chan int, 1024)
	done := make(chan struct{})
	b.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	go func() {
		defer close(done)
		defer close(out)
		mark, started := []byte("\nevent: object\n"), false
		buf := make([]byte, 64<<10)
		var tail []byte // the end of the last read: a mark may straddle reads
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				chunk := append(tail, buf[:n]...)
				if !started && bytes.Contains(chunk, []byte("event: heartbeat")) {
					started = true
					out <- 0
				}
				if c := bytes.Count(chunk, mark); c > 0 {
					out <- c
				}
				tail = append(tail[:0], chunk[max(0, len(chunk)-len(mark)+1):]...)
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}
