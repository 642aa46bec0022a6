//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"golang.org/x/crypto/bcrypt"
)

// These tests run the real binary as a child process: publishing clients
// and pollers talk to it over HTTP on 127.0.0.1, and it is stopped with
// SIGKILL (crash safety) or SIGTERM (graceful shutdown). They do not run in
// parallel with each other.

var (
	crashSeed   = flag.Uint64("crash.seed", 0, "seed of TestCrash_SIGKILL's random choices (0: from the clock)")
	crashRounds = flag.Int("crash.rounds", 0, "kill rounds of TestCrash_SIGKILL (0: 12, or 3 with -short)")
)

const (
	crashUser       = "publisher"
	crashPassword   = "publisher-password-1"
	crashRoot       = "crash"
	crashCollection = "3f1d2b6e-8c4a-4e1f-9b2d-7a6c5e4f3a21"
	crashObjects    = "/" + crashRoot + "/collections/" + crashCollection + "/objects/"
	crashManifest   = "/" + crashRoot + "/collections/" + crashCollection + "/manifest/"
	taxiiMedia      = "application/taxii+json;version=2.1"
)

// buildBinary builds the eitaxii binary of this package into a temporary
// directory and returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "eitaxii")
	start := time.Now()
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// writeCrashConfig writes a configuration with one publisher, one group and
// one collection, storing in dataDir and listening on a port of the
// kernel's choosing (the address is read from the server's log).
func writeCrashConfig(t *testing.T, dataDir string, maxContentLength int64) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(crashPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return writeConfig(t, `
listen: 127.0.0.1:0
data_dir: `+dataDir+`
discovery: {title: eitaxii crash test}
# The shutdown test polls with 12 connections of one account: more reads
# at once than the default max_concurrent_reads (4) lets one account have.
max_concurrent_reads: 16
accounts:
  - name: `+crashUser+`
    password_hash: "`+string(hash)+`"
groups:
  - name: `+crashRoot+`
    title: Crash test group
    max_content_length: `+fmt.Sprint(maxContentLength)+`
    members: {`+crashUser+`: publisher}
    collections:
      - {id: `+crashCollection+`, title: Indicators, alias: indicators}
`)
}

// proc is one running server process.
type proc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	out    *syncBuffer
	exited chan struct{} // closed once the process has been waited for
}

var discoveryLine = regexp.MustCompile(`discovery=(http://127\.0\.0\.1:\d+)/taxii2/`)

// startProc starts `eitaxii serve --config cfg`, with env (KEY=value)
// added to the environment, and returns once /healthz answers. The process
// is killed in t.Cleanup if still running.
func startProc(t *testing.T, bin, cfg string, env ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, "serve", "--config", cfg), out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)

	// Generous bounds: the machine may be busy with other builds and tests.
	deadline := time.Now().Add(60 * time.Second)
	for p.base == "" {
		if m := discoveryLine.FindStringSubmatch(p.out.String()); m != nil {
			p.base = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not log its address within 60s; output:\n%s", p.out)
		}
		select {
		case <-p.exited:
			t.Fatalf("server exited before listening (%v); output:\n%s", p.cmd.ProcessState, p.out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within 60s (last: %v); output:\n%s", err, p.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill sends SIGKILL (if the process still runs) and waits for its end.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL) // fails harmlessly once it has exited
	<-p.exited
}

// newHTTPClient returns a client with its own connections, bounded in time.
func newHTTPClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32, DisableCompression: true}}
}

// exchange sends one request. resp is nil when no response arrived at all;
// bodyErr reports a response whose body could not be read to its end.
func exchange(hc *http.Client, method, u string, body []byte) (resp *http.Response, data []byte, err, bodyErr error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		return nil, nil, err, nil
	}
	req.SetBasicAuth(crashUser, crashPassword)
	req.Header.Set("Accept", taxiiMedia)
	if body != nil {
		req.Header.Set("Content-Type", taxiiMedia)
	}
	resp, err = hc.Do(req)
	if err != nil {
		return nil, nil, err, nil
	}
	defer resp.Body.Close()
	data, bodyErr = io.ReadAll(resp.Body)
	return resp, data, nil, bodyErr
}

// describe summarises an exchange for a failure message.
func describe(resp *http.Response, data []byte, err, bodyErr error) string {
	switch {
	case err != nil:
		return "no response: " + err.Error()
	case bodyErr != nil:
		return fmt.Sprintf("%d, body cut off after %d bytes: %v", resp.StatusCode, len(data), bodyErr)
	}
	return fmt.Sprintf("%d %.300s", resp.StatusCode, data)
}

// verifyStore opens the store file while no server runs and checks it as
// `eitaxii check` does: bbolt's consistency plus the store's invariants.
func verifyStore(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, bolt.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("store does not open: %v", err)
	}
	defer db.Close()
	problems, err := db.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, p := range problems {
		t.Errorf("verify: %s", p)
	}
	if len(problems) > 0 {
		t.FailNow()
	}
}

// indicatorVersion returns a valid STIX 2.1 indicator: version v of id,
// compact (the server stores objects compacted, so these bytes are exactly
// what it must serve back). pad adds a description of that many bytes.
func indicatorVersion(id string, v, pad int) []byte {
	modified := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(v) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	desc := ""
	if pad > 0 {
		desc = `,"description":"` + strings.Repeat("x", pad) + `"`
	}
	return fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":"%s","created":"2026-01-01T00:00:00.000Z","modified":"%s","name":"crash test %d"%s,"pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`,
		id, modified, v, desc, v%256)
}

// versionKey names an object version: id and modified. The objects of
// these tests are compact with a top-level id first, so the fields are
// found by a scan; anything else is decoded.
func versionKey(raw []byte) (string, error) {
	if id, ok := scanField(raw, `{"type":"indicator","spec_version":"2.1","id":"`); ok {
		if mod, ok := scanField(raw, `,"modified":"`); ok {
			return id + "|" + mod, nil
		}
	}
	var h struct{ ID, Modified string }
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", err
	}
	return h.ID + "|" + h.Modified, nil
}

// scanField returns the string value that follows the first occurrence of
// prefix (which ends with the value's opening quote) in raw.
func scanField(raw []byte, prefix string) (string, bool) {
	i := bytes.Index(raw, []byte(prefix))
	if i < 0 {
		return "", false
	}
	v := raw[i+len(prefix):]
	j := bytes.IndexByte(v, '"')
	if j < 0 || bytes.IndexByte(v[:j], '\\') >= 0 {
		return "", false
	}
	return string(v[:j]), true
}

// envelopeOf returns an envelope of the given objects.
func envelopeOf(objs [][]byte) []byte {
	b := []byte(`{"objects":[`)
	b = append(b, bytes.Join(objs, []byte(","))...)
	return append(b, "]}"...)
}

// page is a TAXII envelope or manifest page as served; objects of an
// envelope are kept byte for byte as json.RawMessage.
type page[O any] struct {
	More    bool   `json:"more"`
	Next    string `json:"next"`
	Objects []O    `json:"objects"`
}

// manifestEntry is one entry of a manifest page.
type manifestEntry struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
}

// served is one object version as read from the collection.
type served struct {
	key string
	raw []byte
}

// readPages reads every page of endpoint (what, in messages) with
// match[version]=all, starting at next (or the beginning), limit 1000,
// and hands each page's objects to each with the page's number.
func readPages[O any](t *testing.T, hc *http.Client, endpoint, what, next string, each func(i int, objs []O)) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatalf("%s: more than 100000 pages", what)
		}
		q := url.Values{"match[version]": {"all"}, "limit": {"1000"}}
		if next != "" {
			q.Set("next", next)
		}
		resp, data, err, bodyErr := exchange(hc, "GET", endpoint+"?"+q.Encode(), nil)
		if err != nil || bodyErr != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s page %d (next %q): %s", what, i, next, describe(resp, data, err, bodyErr))
		}
		var pg page[O]
		if err := json.Unmarshal(data, &pg); err != nil {
			t.Fatalf("%s page %d: %v: %.300s", what, i, err, data)
		}
		each(i, pg.Objects)
		if !pg.More {
			return
		}
		if pg.Next == "" {
			t.Fatalf("%s page %d: more without next", what, i)
		}
		next = pg.Next
	}
}

// readObjects reads every page of the objects endpoint with match[version]=all,
// starting at next (or the beginning), limit 1000.
func readObjects(t *testing.T, hc *http.Client, base, next string) []served {
	t.Helper()
	var all []served
	readPages(t, hc, base+crashObjects, "objects", next, func(i int, objs []json.RawMessage) {
		for _, raw := range objs {
			k, err := versionKey(raw)
			if err != nil {
				t.Fatalf("objects page %d: %v", i, err)
			}
			all = append(all, served{k, raw})
		}
	})
	return all
}

// readManifest reads every manifest page (match[version]=all) and checks
// that date_added is strictly increasing in the served order. It returns
// the version keys in that order.
func readManifest(t *testing.T, hc *http.Client, base string) []string {
	t.Helper()
	var keys []string
	var last time.Time
	readPages(t, hc, base+crashManifest, "manifest", "", func(_ int, objs []manifestEntry) {
		for _, o := range objs {
			da, err := time.Parse(time.RFC3339Nano, o.DateAdded)
			if err != nil {
				t.Fatalf("manifest: %s: date_added %q: %v", o.ID, o.DateAdded, err)
			}
			if !da.After(last) {
				t.Errorf("manifest: %s %s: date_added %s not after the previous %s (unique, strictly increasing)",
					o.ID, o.Version, o.DateAdded, last.Format(time.RFC3339Nano))
			}
			last = da
			keys = append(keys, o.ID+"|"+o.Version)
		}
	})
	return keys
}

// Outcomes of one Add Objects request.
const (
	outcomeUnknown = iota // no response: may or may not be stored, never half
	outcomeAcked          // 202: every object must be stored
)

// sentEnvelope is one Add Objects request of the crash test.
type sentEnvelope struct {
	keys    []string
	outcome int
	status  *store.Status // the 202 body, when it was read in full
	round   int
	node    string // the publisher's node, in tests of several
}

// ledger records what the clients sent and what the server answered.
type ledger struct {
	mu        sync.Mutex
	raw       map[string][]byte // version key -> bytes sent
	envelopes []*sentEnvelope
}

func (l *ledger) add(e *sentEnvelope, keys []string, raws [][]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, k := range keys {
		l.raw[k] = raws[i]
	}
	l.envelopes = append(l.envelopes, e)
}

// publisher is one publishing client; it lives across rounds, so later
// rounds post new versions of objects from earlier ones.
type publisher struct {
	rng  *rand.Rand
	node string // names the node it posts to, in tests of several
	// retry: a 503 (a TAXII error) or no response is an envelope of
	// unknown outcome, and the publisher goes on after a pause instead
	// of stopping; for a server whose database goes away.
	retry bool
	acks  atomic.Int64 // envelopes acknowledged, readable while it runs
	// With retry: envelopes answered 503, and sent without response.
	unavailable, unanswered atomic.Int64
	own                     []struct {
		id string
		v  int
	}
}

// run posts envelopes of 1-50 indicators until stop is closed (or a bound
// is reached); about one object in five is a new version of an earlier id.
func (pb *publisher) run(t *testing.T, hc *http.Client, base string, round int, stop <-chan struct{}, nextID func() string, l *ledger, onSend func(n int)) {
	for range 2000 {
		select {
		case <-stop:
			return
		default:
		}
		n := 1 + pb.rng.IntN(50)
		keys, raws := make([]string, 0, n), make([][]byte, 0, n)
		for range n {
			var raw []byte
			if len(pb.own) > 0 && pb.rng.IntN(5) == 0 {
				o := &pb.own[pb.rng.IntN(len(pb.own))]
				o.v++
				raw = indicatorVersion(o.id, o.v, 0)
			} else {
				id := nextID()
				pb.own = append(pb.own, struct {
					id string
					v  int
				}{id, 0})
				raw = indicatorVersion(id, 0, 0)
			}
			k, _ := versionKey(raw)
			keys, raws = append(keys, k), append(raws, raw)
		}
		e := &sentEnvelope{keys: keys, round: round, node: pb.node}
		l.add(e, keys, raws)
		onSend(n)
		resp, data, err, bodyErr := exchange(hc, "POST", base+crashObjects, envelopeOf(raws))
		pause := func() bool {
			select {
			case <-stop:
				return false
			case <-time.After(20 * time.Millisecond):
				return true
			}
		}
		switch {
		case err != nil && pb.retry:
			e.outcome = outcomeUnknown
			pb.unanswered.Add(1)
			if !pause() {
				return
			}
			continue
		case err != nil:
			// No response: the server died first. Stop; the round is over.
			e.outcome = outcomeUnknown
			return
		case resp.StatusCode == http.StatusServiceUnavailable && pb.retry && bodyErr == nil:
			e.outcome = outcomeUnknown
			pb.unavailable.Add(1)
			if !isTAXIIError(resp, data, "503") {
				t.Errorf("POST: 503 without a TAXII error body: %v %.300s", resp.Header, data)
			}
			if !pause() {
				return
			}
			continue
		case resp.StatusCode != http.StatusAccepted:
			e.outcome = outcomeUnknown
			if bodyErr == nil {
				t.Errorf("POST: %d %.300s (want 202 or no response)", resp.StatusCode, data)
			}
			return
		}
		// The 202 status line means the write was committed: the handler
		// answers only after AddObjects returned.
		e.outcome = outcomeAcked
		pb.acks.Add(1)
		if bodyErr != nil {
			return // the body was cut off by the kill: no status id to check
		}
		var st store.Status
		if err := json.Unmarshal(data, &st); err != nil {
			t.Errorf("POST: 202 with a bad body (%v): %.300s", err, data)
			return
		}
		if st.TotalCount != n || st.SuccessCount != n || st.FailureCount != 0 || st.PendingCount != 0 || len(st.Successes) != n {
			t.Errorf("POST of %d objects: status %+v", n, st)
		} else {
			for i, d := range st.Successes {
				if d.ID+"|"+d.Version != keys[i] || d.Message != "" {
					t.Errorf("POST: success %d is %+v, want %s stored", i, d, keys[i])
					break
				}
			}
		}
		e.status = &st
	}
}

// isTAXIIError reports whether a response is a TAXII error with the given
// http_status.
func isTAXIIError(resp *http.Response, data []byte, status string) bool {
	var e struct {
		Title      string `json:"title"`
		HTTPStatus string `json:"http_status"`
	}
	return strings.HasPrefix(resp.Header.Get("Content-Type"), "application/taxii+json") &&
		json.Unmarshal(data, &e) == nil && e.Title != "" && e.HTTPStatus == status
}

// pollToken is a next token seen before a crash, and the last object
// version of the page that carried it.
type pollToken struct {
	next, lastKey string
	round         int
}

// poll follows next links through the collection (match[version]=all, a
// random limit) until stop, checking that a chain never repeats an object
// version, and returns the last next token it obtained.
func poll(t *testing.T, hc *http.Client, base string, round int, rng *rand.Rand, stop <-chan struct{}) *pollToken {
	var tok *pollToken
	for range 10000 {
		seen := map[string]bool{}
		limit := 20 + rng.IntN(180)
		next := ""
		for range 10000 {
			select {
			case <-stop:
				return tok
			default:
			}
			q := url.Values{"match[version]": {"all"}, "limit": {fmt.Sprint(limit)}}
			if next != "" {
				q.Set("next", next)
			}
			resp, data, err, bodyErr := exchange(hc, "GET", base+crashObjects+"?"+q.Encode(), nil)
			if err != nil || bodyErr != nil {
				return tok // the server died
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("poll: %d %.300s", resp.StatusCode, data)
				return tok
			}
			var pg page[json.RawMessage]
			if err := json.Unmarshal(data, &pg); err != nil {
				t.Errorf("poll: %v: %.300s", err, data)
				return tok
			}
			var last string
			for _, raw := range pg.Objects {
				k, err := versionKey(raw)
				if err != nil {
					t.Errorf("poll: %v", err)
					return tok
				}
				if seen[k] {
					t.Errorf("poll: %s served twice in one chain", k)
				}
				seen[k] = true
				last = k
			}
			if !pg.More {
				break
			}
			tok = &pollToken{next: pg.Next, lastKey: last, round: round}
			next = pg.Next
		}
	}
	return tok
}

// Ensure that killing the server with SIGKILL at random moments under
// continuous publishing never loses an acknowledged object or status, never
// half-stores an envelope, keeps date_added unique and increasing, keeps
// next tokens valid across the restart, and leaves a store that verifies.
func TestCrash_SIGKILL(t *testing.T) {
	rounds := *crashRounds
	if rounds <= 0 {
		rounds = 12
		if testing.Short() {
			rounds = 3
		}
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d), %d rounds", seed, seed, rounds)
	rng := rand.New(rand.NewPCG(seed, 0))
	start := time.Now()

	bin := buildBinary(t)
	dataDir := t.TempDir()
	cfg := writeCrashConfig(t, dataDir, 10<<20)
	dbPath := filepath.Join(dataDir, storeFile)

	const publishers = 6
	pubs := make([]*publisher, publishers)
	for i := range pubs {
		pubs[i] = &publisher{rng: rand.New(rand.NewPCG(seed, uint64(i+1)))}
	}
	// Ids are unique within the run; the tag sets runs apart in logs.
	tag := rng.Uint32()
	var counter atomic.Uint64
	nextID := func() string {
		return fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", tag, counter.Add(1))
	}
	l := &ledger{raw: map[string][]byte{}}
	var tok *pollToken
	var kills, checkedStatuses int

	for round := 0; round <= rounds; round++ {
		t0 := time.Now()
		p := startProc(t, bin, cfg)
		hc := newHTTPClient()
		t1 := time.Now()
		checkedStatuses += checkAfterCrash(t, hc, p.base, l, tok, round, round == rounds)
		t2 := time.Now()
		if t.Failed() {
			t.Fatalf("round %d: checks failed; server output tail:\n%s", round, tail(p.out.String(), 4000))
		}
		if round == rounds {
			// Last restart: check done; stop cleanly.
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(shutdownTimeout + 5*time.Second):
				t.Fatal("server did not exit after SIGTERM")
			}
			verifyStore(t, dbPath)
			break
		}

		// The kill comes after a random delay, or as soon as the round
		// has sent a random number of object versions (which bounds the
		// data the later checks read), whichever is first. Either way
		// the clients are busy: requests are in flight.
		delay := time.Duration(200+rng.IntN(1300)) * time.Millisecond
		budget := int64(300 + rng.IntN(2700))
		var sent atomic.Int64
		reached := make(chan struct{})
		var reachedOnce sync.Once
		onSend := func(n int) {
			if sent.Add(int64(n)) >= budget {
				reachedOnce.Do(func() { close(reached) })
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, pb := range pubs {
			wg.Go(func() { pb.run(t, hc, p.base, round, stop, nextID, l, onSend) })
		}
		var roundTok *pollToken
		pollRng := rand.New(rand.NewPCG(seed, uint64(1000+round)))
		wg.Go(func() { roundTok = poll(t, hc, p.base, round, pollRng, stop) })

		began := time.Now()
		select {
		case <-time.After(delay):
		case <-reached:
		}
		killedAfter := time.Since(began)
		p.kill()
		kills++
		close(stop)
		wg.Wait()
		hc.CloseIdleConnections()
		if roundTok != nil {
			tok = roundTok
		}

		l.mu.Lock()
		acked, unknown, objs := 0, 0, 0
		for _, e := range l.envelopes {
			if e.round != round {
				continue
			}
			if e.outcome == outcomeAcked {
				acked++
				objs += len(e.keys)
			} else {
				unknown++
			}
		}
		l.mu.Unlock()
		// The file left by the kill verifies with no server running.
		t3 := time.Now()
		verifyStore(t, dbPath)
		t.Logf("round %d: SIGKILL after %v (delay %v, budget %d versions): %d envelopes acknowledged (%d object versions), %d without response; next token: %v (start %v, check %v, verify %v)",
			round, killedAfter.Round(time.Millisecond), delay, budget, acked, objs, unknown, roundTok != nil,
			t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), time.Since(t3).Round(time.Millisecond))
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	acked, objs := 0, 0
	for _, e := range l.envelopes {
		if e.outcome == outcomeAcked {
			acked++
			objs += len(e.keys)
		}
	}
	t.Logf("%d kills, %d envelopes acknowledged holding %d object versions (%d sent in all), %d statuses checked, %v",
		kills, acked, objs, len(l.raw), checkedStatuses, time.Since(start).Round(time.Millisecond))
}

// checkAfterCrash checks the restarted server against the ledger: every
// acknowledged version present and byte-identical, nothing stored that was
// not sent, envelopes without response stored wholly or not at all,
// date_added strictly increasing, the statuses of the previous round (of
// every round when all is set) retrievable with the same counts, and the
// pre-crash next token paging to exactly the rest of a fresh read. It
// returns how many statuses it checked.
func checkAfterCrash(t *testing.T, hc *http.Client, base string, l *ledger, tok *pollToken, round int, all bool) int {
	t.Helper()
	objs := readObjects(t, hc, base, "")
	manifest := readManifest(t, hc, base)
	if len(manifest) != len(objs) {
		t.Errorf("round %d: manifest lists %d versions, objects %d", round, len(manifest), len(objs))
	}
	// Each kind of problem is reported 10 times at most, then counted.
	problems := map[string]int{}
	report := func(kind, format string, args ...any) {
		if problems[kind]++; problems[kind] <= 10 {
			t.Errorf("round %d: "+format, append([]any{round}, args...)...)
		}
	}
	defer func() {
		for kind, n := range problems {
			if n > 10 {
				t.Errorf("round %d: %d problems of the kind %q in all", round, n, kind)
			}
		}
	}()

	stored := make(map[string][]byte, len(objs))
	index := make(map[string]int, len(objs))
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, o := range objs {
		if i < len(manifest) && manifest[i] != o.key {
			report("order", "position %d: objects serve %s, manifest %s", i, o.key, manifest[i])
		}
		if _, dup := stored[o.key]; dup {
			report("duplicate", "%s served twice", o.key)
		}
		stored[o.key] = o.raw
		index[o.key] = i
		sent, ok := l.raw[o.key]
		switch {
		case !ok:
			report("unsent", "%s is stored but was never sent", o.key)
		case !bytes.Equal(sent, o.raw):
			report("bytes", "%s stored differs from what was sent:\n sent   %s\n stored %s", o.key, sent, o.raw)
		}
	}
	checked := 0
	var unanswered [2]int // envelopes without response: not stored, stored whole
	for _, e := range l.envelopes {
		present := 0
		for _, k := range e.keys {
			if _, ok := stored[k]; ok {
				present++
			}
		}
		switch {
		case e.outcome == outcomeAcked && present != len(e.keys):
			report("lost", "acknowledged envelope of round %d: %d of its %d versions missing (first %s)",
				e.round, len(e.keys)-present, len(e.keys), e.keys[0])
		case e.outcome == outcomeUnknown && present != 0 && present != len(e.keys):
			report("half", "unanswered envelope of round %d half stored: %d of %d versions", e.round, present, len(e.keys))
		case e.outcome == outcomeUnknown && present != 0:
			unanswered[1]++
		case e.outcome == outcomeUnknown:
			unanswered[0]++
		}
		if e.status == nil || !all && e.round != round-1 {
			continue
		}
		checked++
		resp, data, err, bodyErr := exchange(hc, "GET", base+"/"+crashRoot+"/status/"+e.status.ID+"/", nil)
		if err != nil || bodyErr != nil || resp.StatusCode != http.StatusOK {
			report("status", "status %s of round %d: %s", e.status.ID, e.round, describe(resp, data, err, bodyErr))
			continue
		}
		var st store.Status
		if err := json.Unmarshal(data, &st); err != nil {
			report("status", "status %s: %v", e.status.ID, err)
			continue
		}
		if st.ID != e.status.ID || st.TotalCount != e.status.TotalCount || st.SuccessCount != e.status.SuccessCount ||
			st.FailureCount != e.status.FailureCount || st.PendingCount != e.status.PendingCount || !slices.Equal(st.Successes, e.status.Successes) {
			report("status", "status %s now %+v, was %+v", e.status.ID, st, *e.status)
		}
	}

	if tok != nil {
		i, ok := index[tok.lastKey]
		if !ok {
			t.Errorf("round %d: %s, served before the crash with a next token, is gone", round, tok.lastKey)
		} else {
			rest := readObjects(t, hc, base, tok.next)
			want := objs[i+1:]
			if len(rest) != len(want) {
				t.Errorf("round %d: next token of round %d pages to %d versions after the restart, a fresh read has %d after %s",
					round, tok.round, len(rest), len(want), tok.lastKey)
			}
			for j := range min(len(rest), len(want)) {
				if rest[j].key != want[j].key {
					t.Errorf("round %d: next token of round %d: item %d is %s, want %s", round, tok.round, j, rest[j].key, want[j].key)
					break
				}
			}
		}
	}
	t.Logf("round %d: restart check: %d versions stored; %d envelopes sent, of those without response %d stored whole, %d not at all; %d statuses re-read",
		round, len(objs), len(l.envelopes), unanswered[1], unanswered[0], checked)
	return checked
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// halfwayReader is a request body that closes half once half of it has been
// read by the transport.
type halfwayReader struct {
	r    *bytes.Reader
	size int
	half chan struct{}
	once sync.Once
}

func (h *halfwayReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if h.r.Len() <= h.size/2 {
		h.once.Do(func() { close(h.half) })
	}
	return n, err
}

// Outcomes of a request during shutdown.
type shutdownOutcomes struct {
	ok, refused, unavailable, afterTerm atomic.Int64
}

// Ensure that SIGTERM during a large POST and many polls lets every request
// either complete normally or be refused cleanly (never a truncated or 500
// response), that the process exits 0 within the shutdown timeout, and that
// the store it leaves verifies and holds the large POST's objects.
func TestShutdown_SIGTERM(t *testing.T) {
	bin := buildBinary(t)
	dataDir := t.TempDir()
	cfg := writeCrashConfig(t, dataDir, 32<<20)
	dbPath := filepath.Join(dataDir, storeFile)
	p := startProc(t, bin, cfg)
	hc := newHTTPClient()

	// Something to poll: 3000 objects.
	for e := range 3 {
		objs := make([][]byte, 1000)
		for i := range objs {
			objs[i] = indicatorVersion(fmt.Sprintf("indicator--00000000-0000-4000-8000-%012x", e*1000+i), 0, 0)
		}
		resp, data, err, bodyErr := exchange(hc, "POST", p.base+crashObjects, envelopeOf(objs))
		if err != nil || bodyErr != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("preload: %s", describe(resp, data, err, bodyErr))
		}
	}

	// The large POST: 20,000 indicators, about 10 MB.
	const large = 20000
	objs := make([][]byte, large)
	largeKeys := make([]string, large)
	for i := range objs {
		objs[i] = indicatorVersion(fmt.Sprintf("indicator--11111111-0000-4000-8000-%012x", i), 0, 250)
		largeKeys[i], _ = versionKey(objs[i])
	}
	body := envelopeOf(objs)
	t.Logf("large envelope: %d objects, %d bytes", large, len(body))

	var termSent atomic.Bool
	var out shutdownOutcomes
	// classify judges one exchange; it reports whether the poller should
	// stop (the server has gone away after SIGTERM).
	classify := func(what string, resp *http.Response, data []byte, err, bodyErr error) (stop bool) {
		after := termSent.Load()
		switch {
		case err != nil:
			if !after {
				t.Errorf("%s: no response before SIGTERM: %v", what, err)
				return true
			}
			out.refused.Add(1)
			return true
		case bodyErr != nil:
			t.Errorf("%s: truncated response (%d, %d bytes read): %v", what, resp.StatusCode, len(data), bodyErr)
			return true
		case resp.StatusCode == http.StatusServiceUnavailable:
			out.unavailable.Add(1)
			return after
		case resp.StatusCode != http.StatusOK:
			t.Errorf("%s: %d %.300s", what, resp.StatusCode, data)
			return true
		case !json.Valid(data):
			t.Errorf("%s: 200 with invalid JSON (%d bytes): %.300s", what, len(data), data)
			return true
		}
		out.ok.Add(1)
		if after {
			out.afterTerm.Add(1)
		}
		return false
	}

	var wg sync.WaitGroup
	deadline := time.Now().Add(45 * time.Second)
	const pollers = 12
	for i := range pollers {
		wg.Go(func() {
			phc := newHTTPClient()
			defer phc.CloseIdleConnections()
			next := ""
			for n := 0; n < 100000 && time.Now().Before(deadline); n++ {
				var u string
				switch i % 3 {
				case 0: // objects, paging with next
					q := url.Values{"match[version]": {"all"}, "limit": {"1000"}}
					if next != "" {
						q.Set("next", next)
					}
					u = p.base + crashObjects + "?" + q.Encode()
				case 1:
					u = p.base + crashManifest + "?limit=500"
				default:
					u = p.base + "/taxii2/"
				}
				resp, data, err, bodyErr := exchange(phc, "GET", u, nil)
				if classify(fmt.Sprintf("poller %d", i), resp, data, err, bodyErr) {
					return
				}
				if i%3 == 0 && resp.StatusCode == http.StatusOK {
					var pg page[json.RawMessage]
					json.Unmarshal(data, &pg)
					next = pg.Next
				}
			}
		})
	}

	// Let the polls get going, then start the large POST and send SIGTERM
	// once the transport has sent half of its body.
	time.Sleep(100 * time.Millisecond)
	hr := &halfwayReader{r: bytes.NewReader(body), size: len(body), half: make(chan struct{})}
	type result struct {
		resp         *http.Response
		data         []byte
		err, bodyErr error
		after        bool
	}
	postDone := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", p.base+crashObjects, hr)
		req.ContentLength = int64(len(body))
		req.SetBasicAuth(crashUser, crashPassword)
		req.Header.Set("Accept", taxiiMedia)
		req.Header.Set("Content-Type", taxiiMedia)
		var r result
		// Not bounded by newHTTPClient's timeout: the server bounds it,
		// by its shutdown timeout.
		r.resp, r.err = (&http.Client{Timeout: shutdownTimeout + time.Minute}).Do(req)
		if r.err == nil {
			r.data, r.bodyErr = io.ReadAll(r.resp.Body)
			r.resp.Body.Close()
		}
		r.after = termSent.Load()
		postDone <- r
	}()
	select {
	case <-hr.half:
	case <-time.After(30 * time.Second):
		t.Fatal("the large POST did not send half its body in 30s")
	}
	termSent.Store(true)
	termAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	select {
	case <-p.exited:
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatalf("server still running %v after SIGTERM; output tail:\n%s", shutdownTimeout+5*time.Second, tail(p.out.String(), 4000))
	}
	exitAfter := time.Since(termAt)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; output tail:\n%s", code, tail(p.out.String(), 4000))
	}
	wg.Wait()

	// The large POST was in flight (half its body sent) when SIGTERM came:
	// the server had its headers, so draining must let it finish.
	r := <-postDone
	largeAcked := false
	switch {
	case r.err != nil:
		t.Errorf("large POST: no response (%v): an in-flight request was dropped, not drained", r.err)
	case r.bodyErr != nil:
		t.Errorf("large POST: truncated response (%d): %v", r.resp.StatusCode, r.bodyErr)
	case r.resp.StatusCode != http.StatusAccepted:
		t.Errorf("large POST: %d %.300s", r.resp.StatusCode, r.data)
	default:
		var st store.Status
		if err := json.Unmarshal(r.data, &st); err != nil || st.SuccessCount != large || st.TotalCount != large {
			t.Errorf("large POST: 202 with status %.300s (%v)", r.data, err)
		}
		largeAcked = true
	}
	t.Logf("SIGTERM with the large POST half sent: exit after %v; large POST answered %v (after SIGTERM: %v); polls: %d ok (%d after SIGTERM), %d refused, %d 503",
		exitAfter.Round(time.Millisecond), largeAcked, r.after, out.ok.Load(), out.afterTerm.Load(), out.refused.Load(), out.unavailable.Load())
	if !strings.Contains(p.out.String(), "shutting down") {
		t.Errorf("server did not log a graceful shutdown; output tail:\n%s", tail(p.out.String(), 4000))
	}

	// The database was closed cleanly: it opens (no lock held) and verifies.
	verifyStore(t, dbPath)
	p = startProc(t, bin, cfg)
	hc = newHTTPClient()
	stored := map[string]bool{}
	for _, o := range readObjects(t, hc, p.base, "") {
		stored[o.key] = true
	}
	if largeAcked {
		missing := 0
		for _, k := range largeKeys {
			if !stored[k] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("after restart: %d of the large POST's %d objects missing", missing, large)
		}
	}
	if got, want := len(stored), 3000+large; largeAcked && got != want {
		t.Errorf("after restart: %d versions stored, want %d", got, want)
	}
	readManifest(t, hc, p.base) // date_added order
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("second run: exit status %d after SIGTERM", code)
	}
}
