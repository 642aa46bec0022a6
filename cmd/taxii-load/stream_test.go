package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/eitaxii/eitaxii/taxii"
)

// Ensure that the stream scenario passes against eitaxii, on one
// connection per subscriber and across random resumptions, and reports
// its latencies; and that it fails when the server refuses subscribers
// (an account past max_streams_per_account).
func TestRun_Stream(t *testing.T) {
	url, h := newTestServerWith(t, func(o *taxii.Options, _ string) { o.MaxStreamsPerAccount = -1 })
	t.Run("Live", func(t *testing.T) {
		code, rep, stderr := runJSON(t, "stream", "--url", url, "--subscribers", "20", "--objects", "15", "--idle", "0", "--seed", "50")
		checkPassed(t, code, rep, stderr)
		if rep.Measures["subscribers"] != 20 || rep.Measures["versions_published"] != 15 || rep.Measures["connections"] != 20 {
			t.Errorf("measures %v, want 20 subscribers, 15 versions, 20 connections", rep.Measures)
		}
		if _, ok := rep.Measures["latency_p99_ms"]; !ok {
			t.Errorf("no latency measured: %v", rep.Measures)
		}
	})
	t.Run("PublishInterval", func(t *testing.T) {
		// 5 POSTs at least 40 ms apart take at least 160 ms: a lower
		// bound, which a slow machine cannot break.
		code, rep, stderr := runJSON(t, "stream", "--url", url, "--subscribers", "2", "--objects", "5", "--idle", "0", "--publish-interval", "40ms", "--seed", "56")
		checkPassed(t, code, rep, stderr)
		published := false
		for _, p := range rep.Phases {
			if p.Name == "publish" {
				published = true
				if p.Seconds < 0.16 {
					t.Errorf("publish phase took %.3f s, want at least 0.16 s for 5 POSTs 40 ms apart", p.Seconds)
				}
			}
		}
		if !published {
			t.Errorf("phases %+v: no publish phase", rep.Phases)
		}
		if rep.Params["publish_interval"] != "40ms" {
			t.Errorf("params %v, want publish_interval 40ms", rep.Params)
		}
	})
	t.Run("Resume", func(t *testing.T) {
		code, rep, stderr := runJSON(t, "stream", "--url", url, "--subscribers", "10", "--objects", "40", "--idle", "0", "--resume", "--seed", "51")
		checkPassed(t, code, rep, stderr)
		if rep.Measures["connections"] <= 10 {
			t.Errorf("%v connections: the subscribers never resumed", rep.Measures["connections"])
		}
	})
	t.Run("SubscribeURL", func(t *testing.T) {
		// Two more listeners on the same server stand for two nodes of
		// one database; the publisher posts to url, which no subscriber
		// uses.
		var streams, posts [2]atomic.Int64
		nodes := make([]string, 2)
		for i := range nodes {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/stream/") {
					streams[i].Add(1)
				}
				if r.Method == http.MethodPost {
					posts[i].Add(1)
				}
				h.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			nodes[i] = srv.URL
		}
		code, rep, stderr := runJSON(t, "stream", "--url", url, "--subscribe-url", nodes[0]+","+nodes[1], "--subscribers", "9", "--objects", "12", "--idle", "0", "--resume", "--seed", "53")
		checkPassed(t, code, rep, stderr)
		if rep.Measures["subscriber_nodes"] != 2 {
			t.Errorf("measures %v, want 2 subscriber nodes", rep.Measures)
		}
		// Round-robin: subscribers 0, 2, 4, 6, 8 on the first node, the
		// others on the second, each resuming where it started.
		a, b := streams[0].Load(), streams[1].Load()
		if a+b != int64(rep.Measures["connections"]) || a < 5 || b < 4 {
			t.Errorf("streams %d and %d of %v connections, want every one on the nodes, at least 5 and 4", a, b, rep.Measures["connections"])
		}
		if p := posts[0].Load() + posts[1].Load(); p != 0 {
			t.Errorf("%d POSTs to the subscribers' nodes, want all on --url", p)
		}
		// Without --resume the latencies are reported, overall and by node.
		code, rep, stderr = runJSON(t, "stream", "--url", url, "--subscribe-url", nodes[0]+","+nodes[1], "--subscribers", "4", "--objects", "3", "--idle", "0", "--seed", "55")
		checkPassed(t, code, rep, stderr)
		for _, m := range []string{"latency_p99_ms", "latency_p50_ms_node_1", "latency_p99_ms_node_1", "latency_p50_ms_node_2", "latency_p99_ms_node_2"} {
			if _, ok := rep.Measures[m]; !ok {
				t.Errorf("measures %v lack %s", rep.Measures, m)
			}
		}
		if _, ok := rep.Measures["latency_p99_ms_node_3"]; ok {
			t.Errorf("measures %v: a third node's latency, with two nodes", rep.Measures)
		}
	})
	t.Run("BadSubscribeURL", func(t *testing.T) {
		if code, _, _ := runJSON(t, "stream", "--url", url, "--subscribe-url", "ftp://x", "--seed", "54"); code != exitUsage {
			t.Errorf("exit %d, want %d (usage) for an ftp:// --subscribe-url", code, exitUsage)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		limited, _ := newTestServerWith(t, func(o *taxii.Options, _ string) { o.MaxStreamsPerAccount = 3 })
		code, rep, _ := runJSON(t, "stream", "--url", limited, "--subscribers", "5", "--objects", "1", "--idle", "0", "--seed", "52")
		if code != exitFail || rep.Check.Passed {
			t.Errorf("exit %d, check %+v: want a failed check when subscribers are refused", code, rep.Check)
		}
	})
}
