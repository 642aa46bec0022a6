package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		d := make([]time.Duration, len(xs))
		for i, x := range xs {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, test := range []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"Empty", nil, 50, 0},
		{"One", ms(7), 50, 7 * time.Millisecond},
		{"OneMax", ms(7), 100, 7 * time.Millisecond},
		{"TwoMedian", ms(1, 2), 50, 1 * time.Millisecond},
		{"ThreeMedian", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"FourMedian", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"HundredP50", hundred, 50, 50 * time.Millisecond},
		{"HundredP99", hundred, 99, 99 * time.Millisecond},
		{"HundredMax", hundred, 100, 100 * time.Millisecond},
		{"HundredP1", hundred, 1, 1 * time.Millisecond},
		{"HundredTiny", hundred, 0.001, 1 * time.Millisecond},
		{"TenP99", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"TenP90", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
	} {
		t.Run(test.name, func(t *testing.T) {
			if got := percentile(test.samples, test.p); got != test.want {
				t.Errorf("percentile(%v) = %v, want %v", test.p, got, test.want)
			}
		})
	}
}

// Ensure that a phase's report sorts the samples itself and computes
// rates over the phase's time.
func TestPhase_Report(t *testing.T) {
	p := newPhase("x")
	for _, d := range []int{5, 1, 4, 2, 3} {
		p.record("get", time.Duration(d)*time.Millisecond, 10)
	}
	p.fail("get")
	p.start = time.Now().Add(-2 * time.Second)
	p.finish()
	r := p.report()
	if len(r.Ops) != 1 {
		t.Fatalf("ops %+v", r.Ops)
	}
	o := r.Ops[0]
	if o.Requests != 5 || o.Errors != 1 || o.Objects != 50 {
		t.Errorf("counts %+v", o)
	} else if o.P50Ms != 3 || o.P99Ms != 5 || o.MaxMs != 5 {
		t.Errorf("latencies %+v", o)
	} else if o.ObjectsPerSec < 24 || o.ObjectsPerSec > 25.1 {
		t.Errorf("objects/s %v, want about 25", o.ObjectsPerSec)
	} else if r.Requests != 6 {
		t.Errorf("phase requests %d, want 6 (errors count)", r.Requests)
	}
}

func TestWriteTable(t *testing.T) {
	r := &Report{Scenario: "ingest", Target: "http://127.0.0.1/x/collections/c/", Params: map[string]string{"seed": "1"},
		Phases: []PhaseReport{{Name: "ingest", Seconds: 1, Ops: []OpReport{{Name: "post", Requests: 3, Objects: 300, P50Ms: 1.5}}}},
		Errors: []ErrorReport{{Kind: "http 500", Count: 2, First: "boom"}},
		Check:  CheckReport{Summary: "2 requests failed"}}
	var b bytes.Buffer
	if err := writeTable(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scenario ingest", "seed=1", "post", "300", "http 500", "boom", "check    FAIL"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := writeJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Phases[0].Ops[0].Objects != 300 {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}
}

func TestErrorLog(t *testing.T) {
	l := newErrorLog()
	l.addErr(&requestError{Kind: "http 503", Msg: "first"})
	l.addErr(&requestError{Kind: "http 503", Msg: "second"})
	l.add("timeout", "slow")
	got := l.reports()
	want := []ErrorReport{{"http 503", 2, "first"}, {"timeout", 1, "slow"}}
	if !slices.Equal(got, want) {
		t.Errorf("reports %+v, want %+v", got, want)
	}
}
