package main

import (
	"strconv"
	"testing"
)

// The scenario benchmarks run taxii-load against an in-process eitaxii, so
// that `go test -bench Scenario -cpuprofile` profiles the server (and the
// load tool, which shares the process) under each workload:
//
//	go test -run '^$' -bench 'Scenario_Ingest1000$' -benchtime 3x -cpuprofile ingest.prof ./cmd/taxii-load
//	go tool pprof -top ingest.prof

// benchScenario runs taxii-load with args per iteration and reports the
// objects/s of phase.
func benchScenario(b *testing.B, url string, phase string, args func(i int) []string) {
	b.Helper()
	var objects, seconds float64
	i := 0
	for b.Loop() {
		code, rep, stderr := runJSON(b, append(args(i), "--url", url)...)
		if code != exitOK || !rep.Check.Passed {
			b.Fatalf("exit %d, check %+v, errors %+v\n%s", code, rep.Check, rep.Errors, stderr)
		}
		for _, p := range rep.Phases {
			if p.Name == phase {
				objects += float64(p.Objects)
				seconds += p.Seconds
			}
		}
		i++
	}
	b.ReportMetric(objects/seconds, "objects/s")
}

// BenchmarkScenario_Ingest1000 publishes 20,000 indicators per iteration
// in 1000-indicator envelopes from 4 clients.
func BenchmarkScenario_Ingest1000(b *testing.B) {
	url := newTestServer(b)
	benchScenario(b, url, "ingest", func(i int) []string {
		return []string{"ingest", "--objects", "20000", "--envelope-size", "1000", "--clients", "4", "--seed", strconv.Itoa(1000 + i)}
	})
}

// BenchmarkScenario_Ingest1 publishes 2,000 single-indicator envelopes per
// iteration from 16 clients.
func BenchmarkScenario_Ingest1(b *testing.B) {
	url := newTestServer(b)
	benchScenario(b, url, "ingest", func(i int) []string {
		return []string{"ingest", "--objects", "2000", "--envelope-size", "1", "--clients", "16", "--seed", strconv.Itoa(2000 + i)}
	})
}

// BenchmarkScenario_Poll fills 100,000 indicators once, then per iteration
// 4 pollers each walk them with limit=1000 via next and via added_after.
func BenchmarkScenario_Poll(b *testing.B) {
	url := newTestServer(b)
	code, rep, stderr := runJSON(b, "ingest", "--url", url, "--objects", "100000", "--envelope-size", "1000", "--clients", "4", "--seed", "3000")
	if code != exitOK {
		b.Fatalf("fill: exit %d %+v %s", code, rep.Errors, stderr)
	}
	benchScenario(b, url, "poll", func(int) []string {
		return []string{"poll", "--pollers", "4", "--limit", "1000"}
	})
}
