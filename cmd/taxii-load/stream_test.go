package main

import (
	"testing"

	"github.com/eitaxii/eitaxii/taxii"
)

// Ensure that the stream scenario passes against eitaxii, on one
// connection per subscriber and across random resumptions, and reports
// its latencies; and that it fails when the server refuses subscribers
// (an account past max_streams_per_account).
func TestRun_Stream(t *testing.T) {
	url, _ := newTestServerWith(t, func(o *taxii.Options, _ string) { o.MaxStreamsPerAccount = -1 })
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
	t.Run("Resume", func(t *testing.T) {
		code, rep, stderr := runJSON(t, "stream", "--url", url, "--subscribers", "10", "--objects", "40", "--idle", "0", "--resume", "--seed", "51")
		checkPassed(t, code, rep, stderr)
		if rep.Measures["connections"] <= 10 {
			t.Errorf("%v connections: the subscribers never resumed", rep.Measures["connections"])
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
