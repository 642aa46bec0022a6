package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	eitaxii "github.com/eitaxii/eitaxii/client"
)

// Bounds that hold whatever the flags say, so that no loop runs unbounded
// even if the server misbehaves (a page that never ends, a status that
// stays pending).
const (
	maxItems          = 1 << 40 // items one run may hand out
	maxPagesPerWalk   = 1 << 22
	maxStatusPolls    = 100
	statusPollPause   = 100 * time.Millisecond
	newestWindow      = 100 // "the newest 100"
	maxDetailsPerKind = 5   // examples listed per kind of check failure
)

// runner holds one run's state.
type runner struct {
	cfg  *config
	c    *client
	t    *target
	gen  *Generator
	errs *errorLog

	phases []*phase
	cur    atomic.Pointer[phase]

	// next is the first item index not yet handed out.
	next uint64

	mu        sync.Mutex
	confirmed []span // item ranges whose POST the server confirmed
	uncertain []span // item ranges sent but not confirmed (may or may not be stored)

	problems map[string][]string // check failures by kind, a few examples each
	counts   map[string]int
	notes    []string
	measures map[string]float64 // see Report.Measures

	// What the check verified, for the report's summary.
	passes   atomic.Int64 // complete, checked poll passes
	expectN  int          // versions a read had to list
	measured []string     // scale sizes measured
}

// span is the item range [lo, hi).
type span struct{ lo, hi uint64 }

func newRunner(cfg *config, c *client, t *target, gen *Generator) *runner {
	return &runner{cfg: cfg, c: c, t: t, gen: gen, errs: newErrorLog(),
		problems: map[string][]string{}, counts: map[string]int{}, measures: map[string]float64{}}
}

// startPhase begins a timed phase and makes it the progress line's.
func (r *runner) startPhase(name string) *phase {
	p := newPhase(name)
	r.mu.Lock()
	r.phases = append(r.phases, p)
	r.mu.Unlock()
	r.cur.Store(p)
	return p
}

// problem records a correctness failure: counted under kind, with a few
// examples kept. Each also counts as an error of kind "check: <kind>".
func (r *runner) problem(kind, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.counts[kind]++
	if len(r.problems[kind]) < maxDetailsPerKind {
		r.problems[kind] = append(r.problems[kind], msg)
	}
	r.mu.Unlock()
	r.errs.add("check: "+kind, msg)
}

func (r *runner) note(format string, args ...any) {
	r.mu.Lock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// publisher is one publishing worker's reusable buffers.
type publisher struct {
	env []byte
	out bytes.Buffer
}

// publish sends items [lo, hi) in envelopes of size items from clients
// concurrent workers, until all are sent or ctx ends. It returns the end
// of the items handed out.
func (r *runner) publish(ctx context.Context, ph *phase, lo, hi uint64, size, clients int) uint64 {
	var k atomic.Uint64 // next envelope
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			var p publisher
			for ctx.Err() == nil {
				start := lo + k.Add(1)*uint64(size) - uint64(size)
				if start >= hi {
					return
				}
				r.postEnvelope(ctx, ph, &p, start, min(start+uint64(size), hi))
			}
		})
	}
	wg.Wait()
	return min(lo+k.Load()*uint64(size), hi)
}

// postEnvelope POSTs items [lo, hi) and checks the status: every object a
// success, none failed or pending.
func (r *runner) postEnvelope(ctx context.Context, ph *phase, p *publisher, lo, hi uint64) {
	p.env = r.gen.AppendEnvelope(p.env[:0], lo, hi)
	n := int64(hi - lo)
	resp, err := r.c.do(ctx, http.MethodPost, r.t.objectsURL(), p.env, http.StatusAccepted, &p.out)
	if err == errStopped {
		r.uncertainSpan(lo, hi)
		return
	}
	if err != nil {
		ph.fail("post")
		r.errs.addErr(err)
		r.uncertainSpan(lo, hi)
		return
	}
	var st eitaxii.Status
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		ph.fail("post")
		r.errs.add("bad status", fmt.Sprintf("POST answer is not a status resource: %v", err))
		r.uncertainSpan(lo, hi)
		return
	}
	took := resp.Took
	for polls := 0; (st.Status == "pending" || st.PendingCount > 0) && polls < maxStatusPolls; polls++ {
		// A server that stores asynchronously: wait for the status to
		// complete (bounded), as a client would.
		select {
		case <-ctx.Done():
			r.uncertainSpan(lo, hi)
			return
		case <-time.After(statusPollPause):
		}
		var next *eitaxii.Status
		err := r.c.call(ctx, "GET status "+st.ID, func(ctx context.Context, api *eitaxii.Client) (err error) {
			next, err = api.Status(ctx, r.t.apiRoot, st.ID)
			return err
		})
		if err != nil {
			if err != errStopped {
				r.errs.addErr(err)
			}
			r.uncertainSpan(lo, hi)
			return
		}
		st = *next
	}
	switch {
	case st.FailureCount > 0 || len(st.Failures) > 0:
		msg := fmt.Sprintf("%d of %d objects failed", st.FailureCount, n)
		if len(st.Failures) > 0 {
			f := st.Failures[0]
			msg += fmt.Sprintf("; first %s %s: %s", f.ID, f.Version, f.Message)
		}
		r.errs.add("status failures", msg)
	case int64(st.SuccessCount) != n || int64(st.TotalCount) != n:
		r.errs.add("status counts", fmt.Sprintf("status %s: total_count %d, success_count %d, pending_count %d for %d objects sent",
			st.ID, st.TotalCount, st.SuccessCount, st.PendingCount, n))
	default:
		ph.record("post", took, int(n))
		r.mu.Lock()
		r.confirmed = append(r.confirmed, span{lo, hi})
		r.mu.Unlock()
		return
	}
	ph.fail("post")
	r.uncertainSpan(lo, hi)
}

func (r *runner) uncertainSpan(lo, hi uint64) {
	r.mu.Lock()
	r.uncertain = append(r.uncertain, span{lo, hi})
	r.mu.Unlock()
}

// expected returns the keys of the versions this run's confirmed POSTs
// stored and that a read must list. With match[version]=all that is every
// confirmed item. With "last", it is the newest confirmed version of each
// object, for objects none of whose versions are uncertain (an uncertain
// newer version may be the one listed).
func (r *runner) expected() []key {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []key
	if r.cfg.versions == "all" {
		for _, s := range r.confirmed {
			for i := s.lo; i < s.hi; i++ {
				it := r.gen.Item(i)
				keys = append(keys, keyOf(it.ID, it.Modified))
			}
		}
		return keys
	}
	unsure := map[uint64]bool{}
	for _, s := range r.uncertain {
		for i := s.lo; i < s.hi; i++ {
			unsure[r.gen.origin(i)] = true
		}
	}
	latest := map[uint64]uint64{}
	for _, s := range r.confirmed {
		for i := s.lo; i < s.hi; i++ {
			obj := r.gen.origin(i)
			if !unsure[obj] {
				latest[obj] = max(latest[obj], i)
			}
		}
	}
	for _, i := range latest {
		it := r.gen.Item(i)
		keys = append(keys, keyOf(it.ID, it.Modified))
	}
	return keys
}

// walkMode is how a walk moves from page to page.
type walkMode uint8

const (
	viaNext       walkMode = 1 // the next token (REQ-97)
	viaAddedAfter walkMode = 2 // added_after = X-TAXII-Date-Added-Last (REQ-99)
)

func (m walkMode) String() string {
	if m == viaNext {
		return "next"
	}
	return "added_after"
}

// seenSet records the versions a poller saw; each walk mode has its bit.
type seenSet map[key]walkMode

// walkEnd is how a walk ended.
type walkEnd uint8

const (
	walkDone    walkEnd = iota // reached the end of the collection
	walkStopped                // the run's deadline came between pages; resumable from the last page
	walkFailed                 // a request failed or a check broke the walk
)

// walk reads the collection page by page, from after (an added_after
// value, "" for the beginning) to the end, in mode, marking every version
// seen with bit in seen. It checks that no version already carries the bit
// (listed twice within the walk, or again after an earlier walk marking
// the same bit), that date_added never goes back, and that the TAXII
// paging fields are coherent. It returns the last X-TAXII-Date-Added-Last
// seen (after when no page had items): every version up to it is in seen,
// so a walk stopped by the deadline can resume from it by added_after.
func (r *runner) walk(ctx context.Context, ph *phase, buf *bytes.Buffer, mode, bit walkMode, after string, seen seenSet) (string, walkEnd) {
	base := r.t.objectsURL()
	op := "page-" + mode.String()
	if r.cfg.endpoint == "manifest" {
		base = r.t.manifestURL()
	}
	q := url.Values{}
	q.Set("limit", strconv.Itoa(r.cfg.limit))
	if r.cfg.versions == "all" {
		q.Set("match[version]", "all")
	}
	if after != "" {
		q.Set("added_after", after)
	}
	last := after
	var lastTime time.Time
	if after != "" {
		lastTime, _ = parseStamp(after)
	}
	var pg pageResource
	for range maxPagesPerWalk {
		resp, err := r.c.do(ctx, http.MethodGet, base+"?"+q.Encode(), nil, http.StatusOK, buf)
		if err == errStopped {
			return last, walkStopped
		}
		if err != nil {
			ph.fail(op)
			r.errs.addErr(err)
			return last, walkFailed
		}
		if err := parsePage(resp.Body, &pg); err != nil {
			ph.fail(op)
			r.errs.add("bad page", fmt.Sprintf("GET %s: %v", base, err))
			return last, walkFailed
		}
		ph.record(op, resp.Took, len(pg.Objects))
		if len(pg.Objects) > r.cfg.limit {
			r.problem("limit", "a page held %d items for limit=%d (REQ-94)", len(pg.Objects), r.cfg.limit)
		}
		if len(pg.Objects) > 0 {
			first, lastH := resp.Header.Get("X-TAXII-Date-Added-First"), resp.Header.Get("X-TAXII-Date-Added-Last")
			ft, ok1 := parseStamp(first)
			lt, ok2 := parseStamp(lastH)
			if !ok1 || !ok2 {
				r.problem("date headers", "page of %d items with X-TAXII-Date-Added-First %q and -Last %q (REQ-101)", len(pg.Objects), first, lastH)
				return last, walkFailed
			}
			if lt.Before(ft) || ft.Before(lastTime) || after != "" && mode == viaAddedAfter && !ft.After(lastTime) {
				r.problem("order", "page dated %s..%s after a page ending %s (REQ-102)", first, lastH, last)
			}
			var prev time.Time
			for _, o := range pg.Objects {
				v := o.version(r.cfg.endpoint == "manifest")
				if r.cfg.endpoint == "manifest" {
					if da, ok := parseStamp(o.DateAdded); !ok || da.Before(prev) || da.Before(ft) || da.After(lt) {
						r.problem("order", "manifest entry %s dated %q out of order or outside the page's headers", o.ID, o.DateAdded)
					} else {
						prev = da
					}
				}
				k := keyOf(o.ID, v)
				if seen[k]&bit != 0 {
					r.problem("duplicate", "%s version %s listed again (walk via %s)", o.ID, v, mode)
				}
				seen[k] |= bit
			}
			last, lastTime = lastH, lt
		}
		switch {
		case !pg.More:
			return last, walkDone
		case len(pg.Objects) == 0 && mode == viaAddedAfter:
			return last, walkDone // more:true then an empty page is allowed (REQ-100)
		case mode == viaNext && pg.Next == "":
			r.problem("next", "more is true but next is missing (INT-06)")
			return last, walkFailed
		case mode == viaNext:
			q.Set("next", pg.Next)
		default:
			q.Set("added_after", last)
		}
	}
	r.problem("endless", "a walk passed %d pages without reaching the end", maxPagesPerWalk)
	return last, walkFailed
}

// runIngest: concurrent publishers send envelopes until --objects are sent
// or --duration ends.
func (r *runner) runIngest(ctx context.Context) {
	ph := r.startPhase("ingest")
	ctx, cancel := context.WithTimeout(ctx, r.cfg.duration)
	defer cancel()
	hi := uint64(maxItems)
	if r.cfg.objects > 0 {
		hi = r.next + uint64(r.cfg.objects)
	}
	end := r.publish(ctx, ph, r.next, hi, r.cfg.envelopeSize, r.cfg.clients)
	ph.finish()
	if r.cfg.objects > 0 && end < hi {
		r.note("--duration %s ended the run after %d of %d objects were handed out", r.cfg.duration, end-r.next, r.cfg.objects)
	}
	r.next = end
}

// fill publishes n items with large envelopes as a phase of its own, so
// that reads have something to read. It reports whether all were sent.
func (r *runner) fill(ctx context.Context, name string, n uint64) bool {
	if n == 0 {
		return true
	}
	ph := r.startPhase(name)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.duration)
	defer cancel()
	end := r.publish(ctx, ph, r.next, r.next+n, r.cfg.fillEnvelopeSize, r.cfg.clients)
	ph.finish()
	full := end == r.next+n && ctx.Err() == nil
	r.next = end
	if !full {
		r.problem("fill", "%s: --duration %s ended the fill before %d objects were sent", name, r.cfg.duration, n)
	}
	return full
}

// runPoll: optionally fill, then --pollers walk the whole collection via
// next and again via added_after, --passes times each. The collection
// must not change meanwhile: each walk must list the same versions, each
// once, including every version this run's fill stored.
func (r *runner) runPoll(ctx context.Context) {
	if len(r.cfg.fill) > 0 && !r.fill(ctx, "fill", uint64(r.cfg.fill[0])) {
		return
	}
	want := r.expected()
	r.expectN = len(want)
	ph := r.startPhase("poll")
	ctx, cancel := context.WithTimeout(ctx, r.cfg.duration)
	defer cancel()
	var complete, incomplete atomic.Int64
	var wg sync.WaitGroup
	for p := range r.cfg.pollers {
		wg.Go(func() {
			var buf bytes.Buffer
			for pass := range r.cfg.passes {
				seen := seenSet{}
				_, endNext := r.walk(ctx, ph, &buf, viaNext, viaNext, "", seen)
				_, endAfter := r.walk(ctx, ph, &buf, viaAddedAfter, viaAddedAfter, "", seen)
				if endNext != walkDone || endAfter != walkDone {
					incomplete.Add(1)
					return
				}
				complete.Add(1)
				r.comparePasses(fmt.Sprintf("poller %d pass %d", p+1, pass+1), seen, want)
			}
		})
	}
	wg.Wait()
	ph.finish()
	r.passesNote(complete.Load(), incomplete.Load())
}

// comparePasses checks one poller's pass of both walk modes: every version
// listed by both, and every expected version listed.
func (r *runner) comparePasses(who string, seen seenSet, want []key) {
	var onlyNext, onlyAfter int
	for _, m := range seen {
		switch m {
		case viaNext:
			onlyNext++
		case viaAddedAfter:
			onlyAfter++
		}
	}
	if onlyNext+onlyAfter > 0 {
		r.problem("walks differ", "%s: %d versions listed only via next, %d only via added_after", who, onlyNext, onlyAfter)
	}
	if missing := countMissing(seen, want, viaNext|viaAddedAfter); missing > 0 {
		r.problem("missing", "%s: %d of the %d versions this run stored were not listed by both walks", who, missing, len(want))
	}
}

// countMissing counts the wanted keys not seen with all bits of mode.
func countMissing(seen seenSet, want []key, mode walkMode) int {
	n := 0
	for _, k := range want {
		if seen[k]&mode != mode {
			n++
		}
	}
	return n
}

func (r *runner) passesNote(complete, incomplete int64) {
	r.passes.Add(complete)
	if incomplete > 0 {
		r.note("%d poll passes were cut short (by --duration or an error) and not checked", incomplete)
	}
	if complete == 0 {
		r.problem("no pass", "no poller completed a pass within --duration %s", r.cfg.duration)
	}
}

// runMixed: publishers and pollers together for --duration. Each poller
// walks the collection via next once, then polls for what is new via
// added_after every --poll-interval. When the publishers have stopped,
// each poller polls once more, and must have seen every version the
// publishers got confirmed, each once.
func (r *runner) runMixed(ctx context.Context) {
	ph := r.startPhase("mixed")
	runCtx, cancel := context.WithTimeout(ctx, r.cfg.duration)
	defer cancel()
	type poller struct {
		seen seenSet
		last string
		end  walkEnd
	}
	pollers := make([]*poller, r.cfg.pollers)
	var wg sync.WaitGroup
	wg.Go(func() {
		r.next = r.publish(runCtx, ph, r.next, maxItems, r.cfg.envelopeSize, r.cfg.clients)
	})
	for i := range pollers {
		pl := &poller{seen: seenSet{}}
		pollers[i] = pl
		wg.Go(func() {
			var buf bytes.Buffer
			// Both walks mark with one bit, so a version listed by the
			// first walk and again by a poll is a duplicate.
			last, end := r.walk(runCtx, ph, &buf, viaNext, viaNext, "", pl.seen)
			for end == walkDone && runCtx.Err() == nil {
				select {
				case <-runCtx.Done():
				case <-time.After(r.cfg.pollInterval):
					last, end = r.walk(runCtx, ph, &buf, viaAddedAfter, viaNext, last, pl.seen)
				}
			}
			pl.last, pl.end = last, end
		})
	}
	wg.Wait()
	ph.finish()

	// The final poll, after the publishers: a phase of its own so that
	// its pages do not count in the mixed rates.
	fin := r.startPhase("final-poll")
	fctx, fcancel := context.WithTimeout(ctx, r.cfg.duration)
	defer fcancel()
	want := r.expected()
	r.expectN = len(want)
	var complete, incomplete int64
	for i, pl := range pollers {
		if pl.end == walkFailed {
			incomplete++
			continue
		}
		// A walk the deadline stopped resumes where it was.
		var buf bytes.Buffer
		if _, end := r.walk(fctx, fin, &buf, viaAddedAfter, viaNext, pl.last, pl.seen); end != walkDone {
			incomplete++
			continue
		}
		complete++
		if missing := countMissing(pl.seen, want, viaNext); missing > 0 {
			r.problem("missing", "poller %d: %d of the %d versions the publishers stored were never listed", i+1, missing, len(want))
		}
	}
	fin.finish()
	r.passesNote(complete, incomplete)
}

// runScale fills the collection to each --fill size in turn and, at each,
// times fetching the newest 100 versions by added_after and the first page,
// --repeat times each.
func (r *runner) runScale(ctx context.Context) {
	filled := uint64(0)
	for _, size := range r.cfg.fill {
		n := uint64(size) - filled
		label := strconv.FormatInt(size, 10)
		// The bulk, then one marker version on its own, then the newest
		// 100 on their own: the marker's date_added is then the
		// added_after that selects exactly the newest 100, on any server
		// whose date_added grows between requests.
		if !r.fill(ctx, "fill-"+label, n-newestWindow-1) {
			return
		}
		ph := r.startPhase("fill-" + label + "-tail")
		tctx, cancel := context.WithTimeout(ctx, r.cfg.duration)
		marker := r.next
		r.publish(tctx, ph, marker, marker+1, 1, 1)
		r.publish(tctx, ph, marker+1, marker+1+newestWindow, newestWindow, 1)
		cancel()
		ph.finish()
		r.next = marker + 1 + newestWindow
		if rep := ph.report(); len(rep.Ops) == 0 || rep.Ops[0].Requests != 2 {
			r.problem("fill", "fill-%s: the last two envelopes were not confirmed", label)
			return
		}
		filled = uint64(size)
		if !r.measure(ctx, label, marker) {
			r.problem("incomplete", "read-%s did not finish (--duration %s or an error)", label, r.cfg.duration)
			return
		}
		r.measured = append(r.measured, label)
	}
}

// measure times the newest-100 and first-page reads at one size.
func (r *runner) measure(ctx context.Context, label string, marker uint64) bool {
	ph := r.startPhase("read-" + label)
	defer ph.finish()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.duration)
	defer cancel()
	var buf bytes.Buffer

	m := r.gen.Item(marker)
	after, ok := r.markerAdded(ctx, ph, &buf, label, m)
	if !ok {
		return false
	}

	// What the newest 100 must be.
	newest := map[key]bool{}
	latest := map[uint64]uint64{}
	for i := marker + 1; i <= marker+newestWindow; i++ {
		latest[r.gen.origin(i)] = i
	}
	for i := marker + 1; i <= marker+newestWindow; i++ {
		it := r.gen.Item(i)
		if r.cfg.versions == "all" || latest[it.Object] == i {
			newest[keyOf(it.ID, it.Modified)] = true
		}
	}

	qNew := url.Values{}
	qNew.Set("added_after", after)
	qNew.Set("limit", strconv.Itoa(newestWindow))
	qFirst := url.Values{}
	qFirst.Set("limit", strconv.Itoa(newestWindow))
	if r.cfg.versions == "all" {
		qNew.Set("match[version]", "all")
		qFirst.Set("match[version]", "all")
	}
	newURL, firstURL := r.t.objectsURL()+"?"+qNew.Encode(), r.t.objectsURL()+"?"+qFirst.Encode()
	var firstKeys map[key]bool
	for rep := range r.cfg.repeat {
		got, ok := r.readPage(ctx, ph, "newest-100", newURL, &buf)
		if !ok {
			return false
		}
		if !sameKeys(got, newest) {
			r.problem("newest", "read-%s: added_after=%s listed %d versions, %d of them among the %d newest",
				label, after, len(got), overlap(got, newest), len(newest))
		}
		got, ok = r.readPage(ctx, ph, "first-page", firstURL, &buf)
		if !ok {
			return false
		}
		if rep == 0 {
			firstKeys = got
			if len(got) != newestWindow {
				r.problem("first page", "read-%s: the first page listed %d versions, want %d", label, len(got), newestWindow)
			}
		} else if !sameKeys(got, firstKeys) {
			r.problem("first page", "read-%s: the first page changed between repeats", label)
		}
	}
	return true
}

// manifestLookups is how many times scale times finding one object in the
// manifest by match[id] (a scan of the collection on some servers).
const manifestLookups = 5

// markerAdded finds the date_added of the marker version m two ways, which
// must agree: the X-TAXII-Date-Added-First of GET objects/{id}/ with
// match[version] (REQ-101), and the manifest filtered by match[id], timed
// as "object-by-id" and "manifest-by-id".
func (r *runner) markerAdded(ctx context.Context, ph *phase, buf *bytes.Buffer, label string, m Item) (string, bool) {
	fail := func(op string, err error) {
		if err != errStopped {
			ph.fail(op)
			r.errs.addErr(err)
		}
	}
	q := url.Values{}
	q.Set("match[version]", m.Modified)
	resp, err := r.c.do(ctx, http.MethodGet, r.t.objectsURL()+url.PathEscape(m.ID)+"/?"+q.Encode(), nil, http.StatusOK, buf)
	if err != nil {
		fail("object-by-id", err)
		return "", false
	}
	ph.record("object-by-id", resp.Took, 1)
	var pg pageResource
	if err := parsePage(resp.Body, &pg); err != nil {
		r.errs.add("bad page", "object: "+err.Error())
		return "", false
	}
	if len(pg.Objects) != 1 || pg.Objects[0].ID != m.ID || keyOf(m.ID, pg.Objects[0].version(false)) != keyOf(m.ID, m.Modified) {
		r.problem("missing", "read-%s: GET objects/%s/?match[version]=%s listed %d objects, not that version", label, m.ID, m.Modified, len(pg.Objects))
		return "", false
	}
	after := resp.Header.Get("X-TAXII-Date-Added-First")
	at, ok := parseStamp(after)
	if !ok {
		r.problem("date headers", "read-%s: GET objects/%s/ without a valid X-TAXII-Date-Added-First (%q; REQ-101)", label, m.ID, after)
		return "", false
	}

	q = url.Values{}
	q.Set("match[id]", m.ID)
	q.Set("match[version]", "all")
	u := r.t.manifestURL() + "?" + q.Encode()
	for range min(r.cfg.repeat, manifestLookups) {
		resp, err := r.c.do(ctx, http.MethodGet, u, nil, http.StatusOK, buf)
		if err != nil {
			fail("manifest-by-id", err)
			return "", false
		}
		ph.record("manifest-by-id", resp.Took, 1)
		if err := parsePage(resp.Body, &pg); err != nil {
			r.errs.add("bad page", "manifest: "+err.Error())
			return "", false
		}
		found := false
		for _, o := range pg.Objects {
			if o.ID == m.ID && keyOf(o.ID, o.version(true)) == keyOf(m.ID, m.Modified) {
				found = true
				if da, ok := parseStamp(o.DateAdded); !ok || !da.Equal(at) {
					r.problem("date_added", "read-%s: %s version %s has date_added %q in the manifest, %q in the object's headers", label, m.ID, m.Modified, o.DateAdded, after)
				}
			}
		}
		if !found {
			r.problem("missing", "read-%s: the manifest does not list %s version %s", label, m.ID, m.Modified)
			return "", false
		}
	}
	return after, true
}

// readPage GETs one objects page and returns the versions it lists.
func (r *runner) readPage(ctx context.Context, ph *phase, op, u string, buf *bytes.Buffer) (map[key]bool, bool) {
	resp, err := r.c.do(ctx, http.MethodGet, u, nil, http.StatusOK, buf)
	if err != nil {
		if err != errStopped {
			ph.fail(op)
			r.errs.addErr(err)
		}
		return nil, false
	}
	var pg pageResource
	if err := parsePage(resp.Body, &pg); err != nil {
		ph.fail(op)
		r.errs.add("bad page", fmt.Sprintf("GET %s: %v", u, err))
		return nil, false
	}
	ph.record(op, resp.Took, len(pg.Objects))
	got := map[key]bool{}
	for _, o := range pg.Objects {
		v := o.version(false)
		k := keyOf(o.ID, v)
		if got[k] {
			r.problem("duplicate", "%s: %s version %s listed twice on one page", op, o.ID, v)
		}
		got[k] = true
	}
	return got, true
}

func sameKeys(a, b map[key]bool) bool {
	return len(a) == len(b) && overlap(a, b) == len(a)
}

func overlap(a, b map[key]bool) int {
	n := 0
	for k := range a {
		if b[k] {
			n++
		}
	}
	return n
}
