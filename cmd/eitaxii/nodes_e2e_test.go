//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
)

// These tests run two `eitaxii serve` processes, the real binary, with one
// configuration on one PostgreSQL database (issue 11, item 6), with the
// publishers, ledger and checks of crash_test.go. Their load is bounded by
// a count of object versions sent, not by time; timeouts are failure
// guards only.

// twoNodes is a pair of nodes on one database.
type twoNodes struct {
	bin, cfg string
	env      []string // EITAXII_DATABASE_URL for the processes
	a, b     *proc
}

// startTwoNodes creates a database (skipping without PostgreSQL), builds
// the binary and starts two nodes on the database.
func startTwoNodes(t *testing.T) *twoNodes {
	t.Helper()
	dbURL := pgtest.URL(t) // first: the database is dropped after the nodes stop
	n := &twoNodes{bin: buildBinary(t), env: []string{"EITAXII_DATABASE_URL=" + dbURL}}
	// The data directory is unused on PostgreSQL; both nodes name it.
	n.cfg = writeCrashConfig(t, t.TempDir(), 10<<20)
	n.a = n.start(t)
	n.b = n.start(t)
	return n
}

func (n *twoNodes) start(t *testing.T) *proc {
	t.Helper()
	return startProc(t, n.bin, n.cfg, n.env...)
}

// base is the base URL of node "a" or "b".
func (n *twoNodes) base(node string) string {
	if node == "a" {
		return n.a.base
	}
	return n.b.base
}

// logTailsIfFailed logs the tail of both nodes' output if t has failed;
// labelA names node A (which a test may have restarted).
func (n *twoNodes) logTailsIfFailed(t *testing.T, labelA string) {
	t.Helper()
	if t.Failed() {
		t.Logf("%s output tail:\n%s\nnode B output tail:\n%s", labelA, tail(n.a.out.String(), 3000), tail(n.b.out.String(), 3000))
	}
}

// nodesLoad is the setup the load tests on two nodes share: the nodes, a
// client, the test's seed, and publishers on both nodes recording what
// they send in one ledger.
type nodesLoad struct {
	*twoNodes
	hc     *http.Client
	seed   uint64
	nextID func() string
	l      *ledger
	pubs   []*publisher // perNode on node a, then perNode on node b
}

// startNodesLoad starts two nodes (startTwoNodes) and makes perNode
// publishers for each, with publisher.retry set to retry.
func startNodesLoad(t *testing.T, perNode int, retry bool) *nodesLoad {
	t.Helper()
	n := startTwoNodes(t)
	seed := testSeed(t)
	return &nodesLoad{
		twoNodes: n,
		hc:       newHTTPClient(),
		seed:     seed,
		nextID:   idSource(seed),
		l:        &ledger{raw: map[string][]byte{}},
		pubs:     append(newPublishers(seed, "a", perNode, 1, retry), newPublishers(seed, "b", perNode, 11, retry)...),
	}
}

// run runs pb against its node in round 0 until stop is closed, recording
// in the ledger and counting its sends with onSend.
func (ld *nodesLoad) run(t *testing.T, pb *publisher, stop <-chan struct{}, onSend func(int)) {
	pb.run(t, ld.hc, ld.base(pb.node), 0, stop, ld.nextID, ld.l, onSend)
}

// newPublishers returns count publishers posting to node.
func newPublishers(seed uint64, node string, count int, first uint64, retry bool) []*publisher {
	pubs := make([]*publisher, count)
	for i := range pubs {
		pubs[i] = &publisher{rng: rand.New(rand.NewPCG(seed, first+uint64(i))), node: node, retry: retry}
	}
	return pubs
}

// idSource returns unique indicator ids for one test run.
func idSource(seed uint64) func() string {
	tag := uint32(seed)
	var counter atomic.Uint64
	return func() string {
		return fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", tag, counter.Add(1))
	}
}

// budget returns an onSend function for publisher.run and a channel closed
// once n object versions have been sent through it.
func budget(n int64) (onSend func(int), reached <-chan struct{}) {
	var sent atomic.Int64
	ch := make(chan struct{})
	var once sync.Once
	return func(k int) {
		if sent.Add(int64(k)) >= n {
			once.Do(func() { close(ch) })
		}
	}, ch
}

// await waits for ch, failing the test after a generous guard.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(60 * time.Second):
		t.Fatalf("not within 60s: %s", what)
	}
}

// testSeed returns the seed of a test's random choices, from the clock
// unless -crash.seed gives it.
func testSeed(t *testing.T) uint64 {
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	return seed
}

// follow reads the collection on base as a poller that keeps up with it:
// from added_after the last date_added it has seen (X-TAXII-Date-Added-Last),
// with the given limit, following each next chain to its end when chain is
// set. It returns what it read once a read that began after done was
// closed came back empty: by then it has read the whole collection, each
// version exactly once if date_added order is commit order.
func follow(t *testing.T, hc *http.Client, base string, limit int, chain bool, done <-chan struct{}) []served {
	var got []served
	after, next := "", ""
	for range 100000 {
		finished := false
		select {
		case <-done:
			finished = true
		default:
		}
		q := url.Values{"match[version]": {"all"}, "limit": {fmt.Sprint(limit)}}
		if next != "" {
			q.Set("next", next)
		} else if after != "" {
			q.Set("added_after", after)
		}
		resp, data, err, bodyErr := exchange(hc, "GET", base+crashObjects+"?"+q.Encode(), nil)
		if err != nil || bodyErr != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("follow %s (chain %v): %s", base, chain, describe(resp, data, err, bodyErr))
			return got
		}
		var pg page[json.RawMessage]
		if err := json.Unmarshal(data, &pg); err != nil {
			t.Errorf("follow: %v: %.300s", err, data)
			return got
		}
		for _, raw := range pg.Objects {
			k, err := versionKey(raw)
			if err != nil {
				t.Errorf("follow: %v", err)
				return got
			}
			got = append(got, served{k, raw})
		}
		if len(pg.Objects) > 0 {
			after = resp.Header.Get("X-TAXII-Date-Added-Last")
			if after == "" {
				t.Errorf("follow: a page of %d objects without X-TAXII-Date-Added-Last", len(pg.Objects))
				return got
			}
		}
		next = ""
		if chain && pg.More {
			if pg.Next == "" {
				t.Errorf("follow: more without next")
				return got
			}
			next = pg.Next
			continue
		}
		if len(pg.Objects) == 0 {
			if finished {
				return got
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Errorf("follow %s: more than 100000 reads", base)
	return got
}

// sameOrder reports, as a test error, where b differs from a.
func sameOrder(t *testing.T, what string, a, b []served) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d versions, want %d", what, len(b), len(a))
	}
	for i := range min(len(a), len(b)) {
		if a[i].key != b[i].key {
			t.Errorf("%s: item %d is %s, want %s", what, i, b[i].key, a[i].key)
			return
		}
	}
}

// countOutcomes counts the ledger's envelopes of node by outcome, from
// index from on.
func countOutcomes(l *ledger, node string, from int) (acked, unknown int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.envelopes[from:] {
		if e.node != node {
			continue
		}
		if e.outcome == outcomeAcked {
			acked++
		} else {
			unknown++
		}
	}
	return acked, unknown
}

// Ensure that publishers on two nodes of one database at once, and
// pollers on both keeping up by added_after and by next chains, give every
// poller every acknowledged version exactly once and in one order, the
// same on both nodes, with date_added strictly increasing.
func TestNodes_PublishAndPoll(t *testing.T) {
	ld := startNodesLoad(t, 3, false)
	n, hc, l := ld.twoNodes, ld.hc, ld.l

	onSend, reached := budget(4000)
	stop, published := make(chan struct{}), make(chan struct{})
	var pwg, fwg sync.WaitGroup
	for _, pb := range ld.pubs {
		pwg.Go(func() { ld.run(t, pb, stop, onSend) })
	}
	type follower struct {
		node  string
		base  string
		limit int
		chain bool
		got   []served
	}
	followers := []*follower{
		{"a", n.a.base, 37, false, nil}, {"a", n.a.base, 50, true, nil},
		{"b", n.b.base, 41, false, nil}, {"b", n.b.base, 29, true, nil},
	}
	for _, f := range followers {
		fwg.Go(func() { f.got = follow(t, newHTTPClient(), f.base, f.limit, f.chain, published) })
	}
	await(t, reached, "4000 object versions sent")
	close(stop)
	pwg.Wait()
	close(published)
	fwg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	for _, node := range []string{"a", "b"} {
		acked, unknown := countOutcomes(l, node, 0)
		if unknown != 0 || acked == 0 {
			t.Errorf("node %s: %d envelopes acknowledged, %d not: want every one acknowledged", node, acked, unknown)
		}
	}
	objsA := readObjects(t, hc, n.a.base, "")
	objsB := readObjects(t, hc, n.b.base, "")
	sameOrder(t, "node B's objects against node A's", objsA, objsB)
	for _, f := range followers {
		how := "added_after"
		if f.chain {
			how = "next chains from added_after"
		}
		sameOrder(t, fmt.Sprintf("poller on node %s by %s, limit %d", f.node, how, f.limit), objsA, f.got)
	}
	// Every acknowledged version present and byte-identical, none twice,
	// nothing unsent, the manifest in the same order with date_added
	// strictly increasing, every status readable: on each node.
	checkAfterCrash(t, hc, n.a.base, l, nil, 0, true)
	checkAfterCrash(t, hc, n.b.base, l, nil, 0, true)
	t.Logf("%d envelopes, %d versions stored, read alike by 2 nodes and 4 pollers", len(l.envelopes), len(objsA))
}

// Ensure that killing one node with SIGKILL while publishers post to both
// loses no acknowledged version (the other node serves every one, and so
// does the killed node once restarted), that the other node's publishers
// get every envelope acknowledged meanwhile, and that a next token served
// by the killed node pages on the other.
func TestNodes_KillOneUnderLoad(t *testing.T) {
	ld := startNodesLoad(t, 3, false)
	n, hc, l := ld.twoNodes, ld.hc, ld.l

	onSend, reached := budget(1500)
	var afterKill atomic.Bool
	onSendB, reachedB := budget(1500)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, pb := range ld.pubs {
		count := onSend
		if pb.node == "b" {
			count = func(k int) {
				onSend(k)
				if afterKill.Load() {
					onSendB(k)
				}
			}
		}
		wg.Go(func() { ld.run(t, pb, stop, count) })
	}
	var tok *pollToken
	wg.Go(func() { tok = poll(t, newHTTPClient(), n.a.base, 0, rand.New(rand.NewPCG(ld.seed, 100)), stop) })

	await(t, reached, "1500 object versions sent to both nodes")
	l.mu.Lock()
	killedAt := len(l.envelopes)
	l.mu.Unlock()
	n.a.kill()
	afterKill.Store(true)
	// Node B's publishers go on until they have sent as much again.
	await(t, reachedB, "1500 object versions sent to node B after the kill")
	close(stop)
	wg.Wait()
	hc.CloseIdleConnections()

	ackedA, unknownA := countOutcomes(l, "a", 0)
	ackedB, unknownB := countOutcomes(l, "b", 0)
	ackedBAfter, _ := countOutcomes(l, "b", killedAt)
	if unknownB != 0 || ackedBAfter == 0 {
		t.Errorf("node B: %d envelopes acknowledged (%d sent after the kill of node A), %d not: want every one acknowledged",
			ackedB, ackedBAfter, unknownB)
	}
	t.Logf("node A killed: its publishers had %d envelopes acknowledged, %d without response; node B's %d acknowledged, %d of them sent after the kill; next token from node A: %v",
		ackedA, unknownA, ackedB, ackedBAfter, tok != nil)

	// The surviving node serves every acknowledged version, and pages on
	// with the killed node's next token.
	checkAfterCrash(t, hc, n.b.base, l, tok, 1, true)
	objsB := readObjects(t, hc, n.b.base, "")
	// So does the killed node once restarted.
	n.a = n.start(t)
	checkAfterCrash(t, hc, n.a.base, l, tok, 1, true)
	sameOrder(t, "the restarted node A's objects against node B's", objsB, readObjects(t, hc, n.a.base, ""))
	n.logTailsIfFailed(t, "node A (restarted)")
}

// Ensure that restarting the database while publishers post to both nodes
// needs no restart of the nodes: during the outage they answer 503 TAXII
// errors (or the request fails), and afterwards both accept publishes and
// serve every version acknowledged before, during and after.
func TestNodes_DatabaseRestartUnderLoad(t *testing.T) {
	ld := startNodesLoad(t, 2, true)
	n, hc, l, pubs := ld.twoNodes, ld.hc, ld.l, ld.pubs

	onSend, reached := budget(1500)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, pb := range pubs {
		wg.Go(func() { ld.run(t, pb, stop, onSend) })
	}
	acks := func(node string) (n int64) {
		for _, pb := range pubs {
			if pb.node == node {
				n += pb.acks.Load()
			}
		}
		return n
	}
	await(t, reached, "1500 object versions sent to both nodes")
	l.mu.Lock()
	restartAt := len(l.envelopes)
	l.mu.Unlock()
	pgtest.Restart(t)
	ackedAtRestart := map[string]int64{"a": acks("a"), "b": acks("b")}
	// Each node recovers by itself: a publish on it is acknowledged again
	// (the publishers keep posting meanwhile).
	for _, node := range []struct {
		name string
		p    *proc
	}{{"a", n.a}, {"b", n.b}} {
		deadline := time.Now().Add(60 * time.Second)
		for {
			if acks(node.name) > ackedAtRestart[node.name] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s accepted no publish within 60s of the database's restart; output tail:\n%s", node.name, tail(node.p.out.String(), 3000))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	hc.CloseIdleConnections()

	for _, node := range []string{"a", "b"} {
		ackedBefore, unknownBefore := countOutcomes(l, node, 0)
		ackedAfter, unknownAfter := countOutcomes(l, node, restartAt)
		var unavailable, unanswered int64
		for _, pb := range pubs {
			if pb.node == node {
				unavailable += pb.unavailable.Load()
				unanswered += pb.unanswered.Load()
			}
		}
		t.Logf("node %s: %d envelopes acknowledged, %d not (%d and %d from the restart on); %d answered 503, %d without response",
			node, ackedBefore, unknownBefore, ackedAfter, unknownAfter, unavailable, unanswered)
	}
	// Neither node was restarted: both serve every acknowledged version.
	checkAfterCrash(t, hc, n.a.base, l, nil, 1, true)
	checkAfterCrash(t, hc, n.b.base, l, nil, 1, true)
	sameOrder(t, "node B's objects against node A's", readObjects(t, hc, n.a.base, ""), readObjects(t, hc, n.b.base, ""))
	n.logTailsIfFailed(t, "node A")
}
