package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// maxSamples bounds the latency samples kept per operation (8 bytes each);
// beyond it, counts go on but percentiles use the first maxSamples.
const maxSamples = 20_000_000

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest sample with at least p% of the samples
// at or below it. It is exact, and always one of the samples; 0 if there
// are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// opStats accumulates one kind of request within a phase.
type opStats struct {
	requests int64
	objects  int64
	errors   int64
	samples  []time.Duration
}

// phase records the requests of one timed part of a scenario. It is safe
// for concurrent use.
type phase struct {
	name  string
	start time.Time
	end   time.Time

	mu  sync.Mutex
	ops map[string]*opStats
	// order keeps the operations in the order they first occurred.
	order []string

	objects  atomic.Int64 // for the progress line
	requests atomic.Int64
}

func newPhase(name string) *phase {
	return &phase{name: name, start: time.Now(), ops: map[string]*opStats{}}
}

func (p *phase) op(name string) *opStats {
	s := p.ops[name]
	if s == nil {
		s = &opStats{}
		p.ops[name] = s
		p.order = append(p.order, name)
	}
	return s
}

// record counts one successful request of op that carried objects objects.
func (p *phase) record(op string, took time.Duration, objects int) {
	p.mu.Lock()
	s := p.op(op)
	s.requests++
	s.objects += int64(objects)
	if len(s.samples) < maxSamples {
		s.samples = append(s.samples, took)
	}
	p.mu.Unlock()
	p.objects.Add(int64(objects))
	p.requests.Add(1)
}

// fail counts one failed request of op (its error goes to errorLog).
func (p *phase) fail(op string) {
	p.mu.Lock()
	p.op(op).errors++
	p.mu.Unlock()
	p.requests.Add(1)
}

// finish fixes the phase's end time.
func (p *phase) finish() { p.end = time.Now() }

// errorLog counts errors by kind and keeps the first message of each. It
// is safe for concurrent use.
type errorLog struct {
	mu     sync.Mutex
	counts map[string]int64
	first  map[string]string
	total  atomic.Int64
}

func newErrorLog() *errorLog {
	return &errorLog{counts: map[string]int64{}, first: map[string]string{}}
}

func (l *errorLog) add(kind, msg string) {
	l.mu.Lock()
	if l.counts[kind] == 0 {
		l.first[kind] = msg
	}
	l.counts[kind]++
	l.mu.Unlock()
	l.total.Add(1)
}

// addErr logs err under its kind: a *requestError's, else "other".
func (l *errorLog) addErr(err error) {
	if re, ok := err.(*requestError); ok {
		l.add(re.Kind, re.Msg)
		return
	}
	l.add("other", err.Error())
}

// Report is a run's result; --json prints it as is. Latencies are in
// milliseconds, rates per second.
type Report struct {
	Scenario string            `json:"scenario"`
	Target   string            `json:"target"` // collection URL
	Started  time.Time         `json:"started"`
	Seconds  float64           `json:"seconds"`
	Params   map[string]string `json:"params"`
	Phases   []PhaseReport     `json:"phases"`
	Errors   []ErrorReport     `json:"errors"`
	Check    CheckReport       `json:"check"`
	// Notes are facts worth knowing that are not errors, e.g. a run that
	// ended at --duration before --objects were sent.
	Notes []string `json:"notes,omitempty"`
	// Measures are the figures a scenario derives beyond request counts
	// and latencies (loginflood, many-pollers: server CPU, bcrypt
	// verifications, audit rows, latency ratios), by name.
	Measures map[string]float64 `json:"measures,omitempty"`
}

// PhaseReport is one timed part of a scenario.
type PhaseReport struct {
	Name           string     `json:"name"`
	Seconds        float64    `json:"seconds"`
	Requests       int64      `json:"requests"`
	Objects        int64      `json:"objects"`
	RequestsPerSec float64    `json:"requests_per_sec"`
	ObjectsPerSec  float64    `json:"objects_per_sec"`
	Ops            []OpReport `json:"ops"`
}

// Op returns the phase's operation of that name; the zero OpReport (no
// requests) when the phase made none.
func (p PhaseReport) Op(name string) OpReport {
	for _, o := range p.Ops {
		if o.Name == name {
			return o
		}
	}
	return OpReport{}
}

// OpReport is one kind of request within a phase.
type OpReport struct {
	Name           string  `json:"name"`
	Requests       int64   `json:"requests"`
	Errors         int64   `json:"errors"`
	Objects        int64   `json:"objects"`
	RequestsPerSec float64 `json:"requests_per_sec"`
	ObjectsPerSec  float64 `json:"objects_per_sec"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
}

// ErrorReport is one kind of error, with how often it happened and the
// first message seen.
type ErrorReport struct {
	Kind  string `json:"kind"`
	Count int64  `json:"count"`
	First string `json:"first"`
}

// CheckReport is the correctness verdict.
type CheckReport struct {
	Passed  bool     `json:"passed"`
	Summary string   `json:"summary"`
	Details []string `json:"details,omitempty"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func rate(n int64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return math.Round(float64(n)/secs*10) / 10
}

// report summarizes the phase.
func (p *phase) report() PhaseReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	end := p.end
	if end.IsZero() {
		end = time.Now()
	}
	secs := end.Sub(p.start).Seconds()
	pr := PhaseReport{Name: p.name, Seconds: math.Round(secs*1000) / 1000}
	for _, name := range p.order {
		s := p.ops[name]
		sorted := slices.Clone(s.samples)
		slices.Sort(sorted)
		o := OpReport{Name: name, Requests: s.requests, Errors: s.errors, Objects: s.objects,
			RequestsPerSec: rate(s.requests, secs), ObjectsPerSec: rate(s.objects, secs),
			P50Ms: ms(percentile(sorted, 50)), P99Ms: ms(percentile(sorted, 99)), MaxMs: ms(percentile(sorted, 100))}
		pr.Ops = append(pr.Ops, o)
		pr.Requests += s.requests + s.errors
		pr.Objects += s.objects
	}
	pr.RequestsPerSec, pr.ObjectsPerSec = rate(pr.Requests, secs), rate(pr.Objects, secs)
	return pr
}

// errorReports lists the errors, most frequent first.
func (l *errorLog) reports() []ErrorReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []ErrorReport{}
	for kind, n := range l.counts {
		out = append(out, ErrorReport{Kind: kind, Count: n, First: l.first[kind]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// writeTable prints the report for people.
func writeTable(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "scenario %s  target %s  started %s  %.1fs\n", r.Scenario, r.Target, r.Started.UTC().Format(time.RFC3339), r.Seconds)
	var params []string
	for _, k := range slices.Sorted(maps.Keys(r.Params)) {
		params = append(params, k+"="+r.Params[k])
	}
	fmt.Fprintf(w, "params   %s\n\n", strings.Join(params, " "))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\top\trequests\terrors\tobjects\tseconds\trequests/s\tobjects/s\tp50 ms\tp99 ms\tmax ms\t")
	for _, p := range r.Phases {
		for _, o := range p.Ops {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.2f\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t\n",
				p.Name, o.Name, o.Requests, o.Errors, o.Objects, p.Seconds, o.RequestsPerSec, o.ObjectsPerSec, o.P50Ms, o.P99Ms, o.MaxMs)
		}
		if len(p.Ops) > 1 {
			var errs int64
			for _, o := range p.Ops {
				errs += o.Errors
			}
			fmt.Fprintf(tw, "%s\t(all)\t%d\t%d\t%d\t%.2f\t%.1f\t%.1f\t\t\t\t\n",
				p.Name, p.Requests-errs, errs, p.Objects, p.Seconds, p.RequestsPerSec, p.ObjectsPerSec)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors   none")
	} else {
		fmt.Fprintln(w, "errors")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range r.Errors {
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", e.Kind, e.Count, e.First)
		}
		tw.Flush()
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note     %s\n", n)
	}
	if len(r.Measures) > 0 {
		names := make([]string, 0, len(r.Measures))
		for k := range r.Measures {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "measure  %s = %g\n", k, r.Measures[k])
		}
	}
	verdict := "FAIL"
	if r.Check.Passed {
		verdict = "PASS"
	}
	fmt.Fprintf(w, "check    %s: %s\n", verdict, r.Check.Summary)
	for _, d := range r.Check.Details {
		fmt.Fprintf(w, "  %s\n", d)
	}
	return nil
}

// writeJSON prints the report for machines.
func writeJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// progress prints one line a second on w while a run goes on, from its
// third second on, so short runs stay quiet. Stop it with the returned
// function.
func progress(w io.Writer, start time.Time, current func() *phase, errs *errorLog) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var lastObjects int64
		var lastPhase *phase
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				p := current()
				if p == nil {
					continue
				}
				objects := p.objects.Load()
				if p != lastPhase {
					lastPhase, lastObjects = p, 0
				}
				if now.Sub(start) < 3*time.Second {
					lastObjects = objects
					continue
				}
				fmt.Fprintf(w, "taxii-load %5.0fs  %-16s objects %10d (%8d/s)  requests %8d  errors %d\n",
					now.Sub(start).Seconds(), p.name, objects, objects-lastObjects, p.requests.Load(), errs.total.Load())
				lastObjects = objects
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
