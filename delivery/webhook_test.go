package delivery_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/storetest"
)

const (
	group   = storetest.APIRoot
	coll    = storetest.CollA
	hookID  = "00000000-0000-4000-8000-00000000d001"
	owner   = "soc"
	admin   = "alice"
	orgName = "county"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// verifier checks a message the way a receiver following the Standard
// Webhooks specification does, written from the spec and sharing no code
// with the package: the signed content is "<webhook-id>.<webhook-timestamp>.<body>",
// each signature in webhook-signature is "v1,<base64 HMAC-SHA256>", any
// one of them matching a key is enough, and the timestamp must be near.
func verify(keys [][]byte, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %v", ts, err)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %d too far from now", unix)
	}
	signed := id + "." + ts + "." + string(body)
	for _, sig := range strings.Fields(sigs) {
		ver, b64, ok := strings.Cut(sig, ",")
		if !ok || ver != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		for _, k := range keys {
			mac := hmac.New(sha256.New, k)
			mac.Write([]byte(signed))
			if hmac.Equal(mac.Sum(nil), got) {
				return nil
			}
		}
	}
	return errors.New("no valid signature")
}

// receiver is a webhook target on loopback that verifies every message
// and records the changes of those it acknowledges.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	now func() time.Time

	mu       sync.Mutex
	keys     [][]byte
	answer   func(n int) int // status for the n-th request (from 1)
	requests int
	ids      []string // webhook-id of each request
	sigs     []int    // signatures per request
	got      []delivery.MessageChange
	messages []delivery.Message
	badSig   int
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	r := &receiver{t: t, now: now, keys: [][]byte{testKey}, answer: func(int) int { return http.StatusNoContent }}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.ids = append(r.ids, req.Header.Get("webhook-id"))
	r.sigs = append(r.sigs, len(strings.Fields(req.Header.Get("webhook-signature"))))
	if err := verify(r.keys, req.Header, body, r.now()); err != nil {
		r.badSig++
		r.t.Errorf("receiver: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	status := r.answer(r.requests)
	if status >= 200 && status < 300 {
		var m delivery.Message
		if err := json.Unmarshal(body, &m); err != nil {
			r.t.Errorf("receiver: body: %v", err)
		}
		r.messages = append(r.messages, m)
		r.got = append(r.got, m.Data.Changes...)
	}
	w.WriteHeader(status)
}

// objectIDs returns the ids of the objects received, in order.
func (r *receiver) objectIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, ch := range r.got {
		var o struct{ ID string }
		_ = json.Unmarshal(ch.Object, &o)
		ids = append(ids, o.ID)
	}
	return ids
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// env is a store with the directory and one subscription, a receiver, and
// a dispatcher's options.
type env struct {
	t     *testing.T
	path  string
	db    *bolt.DB
	clock *storetest.Clock // the dispatcher's injected clock
	rcv   *receiver
	opts  delivery.WebhookOptions
	stop  func()
	disp  *delivery.Dispatcher
}

func newEnv(t *testing.T, hook func(w *store.Webhook)) *env {
	e := &env{t: t, path: filepath.Join(t.TempDir(), "eitaxii.db"), clock: storetest.NewClock(time.Now())}
	e.open()
	e.rcv = newReceiver(t, func() time.Time { return e.clock.Now() })
	err := e.db.ChangeDirectory(context.Background(), func(tx store.DirectoryTx) error {
		for _, step := range []func() error{
			func() error { return tx.CreateOrganization(&store.Organization{Name: orgName}) },
			func() error {
				return tx.CreateAccount(&store.Account{Name: owner, Organization: orgName, Kind: "machine"})
			},
			func() error {
				return tx.CreateAccount(&store.Account{Name: admin, Organization: orgName, Kind: "person"})
			},
			func() error {
				return tx.CreateGroup(&store.Group{Name: group, Title: "ISAC", Members: map[string]access.Role{owner: access.RoleReader, admin: access.RoleAdmin}})
			},
			func() error {
				return tx.CreateCollection(&store.Collection{ID: coll, APIRoot: group, Title: "Indicators"})
			},
			func() error {
				w := &store.Webhook{ID: hookID, Owner: owner, Group: group, Collection: coll, URL: e.rcv.srv.URL + "/hook",
					IncludeObjects: true, Secrets: []store.WebhookSecret{{Key: testKey}}, Created: e.clock.Now()}
				if hook != nil {
					hook(w)
				}
				return tx.CreateWebhook(w)
			},
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	roots := e.rcv.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	e.opts = delivery.WebhookOptions{
		AllowHosts: delivery.NewHosts([]string{"127.0.0.1"}), RootCAs: roots,
		MaxChanges: 7, Now: e.clock.Now, Rand: func() float64 { return 0 },
		Rescan: 20 * time.Millisecond, Metrics: delivery.NewWebhookMetrics(),
	}
	return e
}

func (e *env) open() {
	db, err := bolt.Open(e.path, bolt.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
	e.t.Cleanup(func() { db.Close() })
}

// start runs a dispatcher until the test ends or e.stop is called.
func (e *env) start() {
	e.opts.Store = e.db
	d, err := delivery.NewDispatcher(e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			e.t.Errorf("Run: %v", err)
		}
	}()
	e.disp = d
	e.stop = func() { cancel(); <-done }
	e.t.Cleanup(e.stop)
}

// publish adds n indicators numbered from first, in one request.
func (e *env) publish(first, n int) []string {
	objs := storetest.Indicators(e.t, first, n)
	if _, err := e.db.AddObjects(context.Background(), &store.Submission{APIRoot: group, Collection: coll, Received: time.Now(), Objects: objs}); err != nil {
		e.t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range objs {
		ids[i] = storetest.STIXID("indicator", first+i)
	}
	return ids
}

func (e *env) webhook() *store.Webhook {
	w, err := e.db.Webhook(context.Background(), hookID)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWebhook_InOrder(t *testing.T) {
	e := newEnv(t, nil)
	want := e.publish(0, 20)
	e.start()
	want = append(want, e.publish(100, 30)...)
	want = append(want, e.publish(200, 1)...)
	eventually(t, "every object", func() bool { return len(e.rcv.objectIDs()) >= len(want) })
	if got := e.rcv.objectIDs(); !equal(got, want) {
		t.Fatalf("received %d objects %v,\nwant %d %v", len(got), got, len(want), want)
	}
	e.rcv.mu.Lock()
	for i, m := range e.rcv.messages {
		if len(m.Data.Changes) > 7 || m.Data.Count != len(m.Data.Changes) {
			t.Errorf("message %d: %d changes, count %d; want at most 7 (MaxChanges)", i, len(m.Data.Changes), m.Data.Count)
		}
		if i > 0 && m.Data.After != e.rcv.messages[i-1].Data.Last {
			t.Errorf("message %d continues after %s, the previous one ended at %s", i, m.Data.After, e.rcv.messages[i-1].Data.Last)
		}
		if m.Type != delivery.MessageType || m.Data.Webhook != hookID || m.Data.Group != group || m.Data.Collection != coll {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	e.rcv.mu.Unlock()
	eventually(t, "the last delivery recorded", func() bool {
		log, _ := e.db.WebhookDeliveries(context.Background(), hookID, 0)
		return len(log) == e.rcv.count() && e.webhook().State.Cursor.Equal(log[0].Last)
	})
	if w := e.webhook(); w.State.Failures != 0 || !w.State.Pending.IsZero() || w.State.Disabled {
		t.Fatalf("state=%+v", w.State)
	}
	log, err := e.db.WebhookDeliveries(context.Background(), hookID, 0)
	if err != nil || len(log) != len(e.rcv.messages) {
		t.Fatalf("log has %d entries (%v), want one per message (%d)", len(log), err, len(e.rcv.messages))
	}
	if log[0].Status != http.StatusNoContent || log[0].Attempt != 1 || log[0].Error != "" {
		t.Fatalf("log[0]=%+v", log[0])
	}
}

// TestWebhook_FailThenRecover: a receiver that fails for a while gets
// everything, in order, once it recovers; retries back off exponentially
// on the injected clock and keep their webhook-id.
func TestWebhook_FailThenRecover(t *testing.T) {
	e := newEnv(t, nil)
	const failures = 4
	e.rcv.answer = func(n int) int {
		if n <= failures {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	want := e.publish(0, 5)
	e.start()
	// Rand is 0: the jitter factor is 0.5, so the waits are 0.5 s, 1 s,
	// 2 s, 4 s after the 1st, 2nd, 3rd, 4th failure.
	for n := 1; n <= failures; n++ {
		eventually(t, fmt.Sprintf("failure %d", n), func() bool { return e.webhook().State.Failures == n })
		st := e.webhook().State
		wantWait := time.Duration(1<<(n-1)) * time.Second / 2
		if got := st.NextAttempt.Sub(e.clock.Now()); got != wantWait {
			t.Fatalf("after failure %d the next attempt is in %v, want %v", n, got, wantWait)
		}
		if st.Pending.IsZero() || st.FailingSince.IsZero() {
			t.Fatalf("state=%+v: want the pending range and the failure start kept", st)
		}
		if n == 1 {
			// Published while failing: the retries still carry the
			// first message's changes only.
			want = append(want, e.publish(10, 3)...)
		}
		time.Sleep(20 * time.Millisecond)
		if e.rcv.count() != n {
			t.Fatalf("%d requests before the retry time, want %d", e.rcv.count(), n)
		}
		e.clock.Advance(wantWait)
		e.disp.Notify()
	}
	eventually(t, "every object", func() bool { return len(e.rcv.objectIDs()) >= len(want) })
	if got := e.rcv.objectIDs(); !equal(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
	e.rcv.mu.Lock()
	for i := 1; i <= failures; i++ {
		if e.rcv.ids[i] != e.rcv.ids[0] {
			t.Errorf("attempt %d has webhook-id %s, the first %s", i+1, e.rcv.ids[i], e.rcv.ids[0])
		}
	}
	if len(e.rcv.messages[0].Data.Changes) != 5 {
		t.Errorf("the retried message carries %d changes, want the first 5", len(e.rcv.messages[0].Data.Changes))
	}
	e.rcv.mu.Unlock()
	log, _ := e.db.WebhookDeliveries(context.Background(), hookID, 0)
	last := log[len(log)-1] // the oldest
	if last.Attempt != 1 || last.Status != http.StatusServiceUnavailable || !strings.Contains(last.Error, "503") {
		t.Fatalf("first log entry=%+v", last)
	}
}

func TestWebhook_Gone(t *testing.T) {
	e := newEnv(t, nil)
	e.rcv.answer = func(int) int { return http.StatusGone }
	e.publish(0, 3)
	e.start()
	eventually(t, "the subscription disabled", func() bool { return e.webhook().State.Disabled })
	if w := e.webhook(); !strings.Contains(w.State.Reason, "410") {
		t.Fatalf("reason=%q", w.State.Reason)
	}
	e.publish(10, 3)
	time.Sleep(50 * time.Millisecond)
	if n := e.rcv.count(); n != 1 {
		t.Fatalf("%d requests, want 1 (none after 410)", n)
	}
}

func TestWebhook_RetryLimit(t *testing.T) {
	e := newEnv(t, nil)
	e.opts.MaxBackoff = time.Hour
	e.rcv.answer = func(int) int { return http.StatusInternalServerError }
	e.publish(0, 1)
	e.start()
	for n := 1; !e.webhook().State.Disabled; n++ {
		eventually(t, fmt.Sprintf("failure %d", n), func() bool { w := e.webhook(); return w.State.Failures >= n || w.State.Disabled })
		if n > 100 {
			t.Fatal("not disabled after 100 failures")
		}
		if w := e.webhook(); !w.State.Disabled {
			e.clock.Advance(w.State.NextAttempt.Sub(e.clock.Now()))
			e.disp.Notify()
		}
	}
	w := e.webhook()
	if since := e.clock.Now().Sub(w.State.FailingSince); since < 24*time.Hour || since > 25*time.Hour {
		t.Fatalf("disabled after %v of failures, want 24 h", since)
	}
	if !strings.Contains(w.State.Reason, "failing since") || !strings.Contains(w.State.Reason, "500") {
		t.Fatalf("reason=%q", w.State.Reason)
	}
}

// TestWebhook_Refused: the SSRF guard refuses a loopback address unless the
// host is allowed, checking the address dialed (localhost is a name);
// redirects are not followed.
func TestWebhook_Refused(t *testing.T) {
	t.Run("Loopback", func(t *testing.T) {
		e := newEnv(t, func(w *store.Webhook) {
			u, _ := url.Parse(w.URL)
			w.URL = "https://localhost:" + u.Port() + "/hook"
		})
		e.publish(0, 1)
		e.start()
		eventually(t, "a refused attempt", func() bool { return e.webhook().State.Failures > 0 })
		log, _ := e.db.WebhookDeliveries(context.Background(), hookID, 0)
		if len(log) == 0 || log[0].Status != 0 || !strings.Contains(log[0].Error, "loopback") {
			t.Fatalf("log=%+v, want a refusal naming loopback", log)
		}
		if n := e.rcv.count(); n != 0 {
			t.Fatalf("the receiver got %d requests", n)
		}
	})
	t.Run("Redirect", func(t *testing.T) {
		e := newEnv(t, nil)
		other := newReceiver(t, e.clock.Now)
		e.rcv.srv.Config.Handler = http.RedirectHandler(other.srv.URL+"/hook", http.StatusFound)
		e.publish(0, 1)
		e.start()
		eventually(t, "a failed attempt", func() bool { return e.webhook().State.Failures > 0 })
		log, _ := e.db.WebhookDeliveries(context.Background(), hookID, 0)
		if len(log) == 0 || log[0].Status != http.StatusFound || !strings.Contains(log[0].Error, "not followed") {
			t.Fatalf("log=%+v", log)
		}
		if n := other.count(); n != 0 {
			t.Fatalf("the redirect was followed: %d requests", n)
		}
	})
}

func TestCheckTarget(t *testing.T) {
	allow := delivery.NewHosts([]string{"receiver.internal", "10.1.2.3"})
	for _, tc := range []struct {
		url, problem string
	}{
		{"https://soc.example/hook", ""},
		{"http://soc.example/hook", "only https"},
		{"http://receiver.internal:8080/hook", ""},
		{"https://10.1.2.3/hook", ""},
		{"ftp://soc.example/", "only https"},
		{"/hook", "absolute"},
		{"https://user:pw@soc.example/", "user name"},
		{"https://soc.example/#x", "fragment"},
		{"https://127.0.0.1/", "loopback"},
		{"https://[::1]/", "loopback"},
		{"https://10.0.0.1/", "private"},
		{"https://192.168.1.1/", "private"},
		{"https://[fd12::1]/", "private"},
		{"https://169.254.169.254/latest/meta-data", "metadata"},
		{"https://[fd00:ec2::254]/", "metadata"},
		{"https://[fe80::1]/", "link-local"},
		{"https://0.0.0.0/", "unspecified"},
		{"https://[::]/", "unspecified"},
		{"https://224.0.0.1/", "multicast"},
		{"https://[::ffff:127.0.0.1]/", "loopback"},
		{"https://[64:ff9b::a00:1]/", "private"},
		{"https://100.64.0.1/", "shared"},
		{"https://[64:ff9b:1::a00:5]/", "local network"},
		{"https://[::a00:5]/", "local network"},
		{"https://[fec0::1]/", "local network"},
		{"https://93.184.216.34/", ""},
		{"https://[2001:db8::1]/", ""},
	} {
		_, err := delivery.CheckTarget(tc.url, allow)
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.url, err)
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%s: err=%v, want one naming %q", tc.url, err, tc.problem)
		}
	}
}

// TestWebhook_AccessLost: once the owner is removed from the group,
// nothing more is delivered and the subscription says why.
func TestWebhook_AccessLost(t *testing.T) {
	e := newEnv(t, nil)
	want := e.publish(0, 3)
	e.start()
	eventually(t, "the first objects", func() bool { return len(e.rcv.objectIDs()) == 3 })
	err := e.db.ChangeDirectory(context.Background(), func(tx store.DirectoryTx) error {
		g, err := tx.Group(group)
		if err != nil {
			return err
		}
		delete(g.Members, owner)
		return tx.UpdateGroup(g)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.publish(10, 3)
	eventually(t, "the subscription disabled", func() bool { return e.webhook().State.Disabled })
	if r := e.webhook().State.Reason; !strings.Contains(r, "may no longer read") {
		t.Fatalf("reason=%q", r)
	}
	time.Sleep(50 * time.Millisecond)
	if got := e.rcv.objectIDs(); !equal(got, want) {
		t.Fatalf("received %v, want only %v", got, want)
	}
}

// TestWebhook_Restart: a new dispatcher on the reopened store resumes
// after the acknowledged cursor: nothing lost, nothing acknowledged sent
// again, in cursor order.
func TestWebhook_Restart(t *testing.T) {
	e := newEnv(t, nil)
	want := e.publish(0, 10)
	e.start()
	eventually(t, "the first objects", func() bool { return len(e.rcv.objectIDs()) == 10 })
	// Wait for the acknowledgement of the last message to be recorded, not
	// for its receipt: a message received but not yet recorded when the
	// dispatcher stops is rightly sent again (at-least-once), which the
	// exact comparison below would take for a lost cursor.
	e.waitCursor("the cursor acknowledged")
	e.stop()
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	e.open()
	want = append(want, e.publish(20, 5)...)
	e.start()
	// Once the cursor is at the last change nothing more is sent: the
	// receiver has everything it will get, with nothing before the resumed
	// cursor sent again.
	e.waitCursor("every object acknowledged")
	if got := e.rcv.objectIDs(); !equal(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
}

// waitCursor waits until the webhook's recorded cursor is the collection's
// last change.
func (e *env) waitCursor(what string) {
	e.t.Helper()
	pg, err := e.db.ReadChanges(context.Background(), coll, time.Time{}, 0)
	if err != nil || len(pg.Changes) == 0 {
		e.t.Fatalf("ReadChanges: %d changes, %v", len(pg.Changes), err)
	}
	last := pg.Changes[len(pg.Changes)-1].Cursor
	eventually(e.t, what, func() bool { return e.webhook().State.Cursor.Equal(last) })
}

// TestWebhook_Rotation: while a rotation's grace period runs every message
// carries both signatures; an expired secret no longer signs.
func TestWebhook_Rotation(t *testing.T) {
	newKey := []byte("fedcba9876543210fedcba9876543210")
	var e *env
	e = newEnv(t, func(w *store.Webhook) {
		w.Secrets = []store.WebhookSecret{{Key: newKey}, {Key: testKey, Expires: w.Created.Add(time.Hour)}}
	})
	e.rcv.keys = [][]byte{testKey} // a receiver that has not switched yet
	e.publish(0, 1)
	e.start()
	eventually(t, "a delivery", func() bool { return len(e.rcv.objectIDs()) == 1 })
	e.rcv.mu.Lock()
	if e.rcv.sigs[0] != 2 {
		t.Errorf("%d signatures during the grace period, want 2", e.rcv.sigs[0])
	}
	e.rcv.keys = [][]byte{newKey}
	e.rcv.mu.Unlock()
	e.clock.Advance(2 * time.Hour)
	e.publish(1, 1)
	eventually(t, "a second delivery", func() bool { return len(e.rcv.objectIDs()) == 2 })
	e.rcv.mu.Lock()
	defer e.rcv.mu.Unlock()
	if e.rcv.sigs[1] != 1 {
		t.Errorf("%d signatures after the grace period, want 1", e.rcv.sigs[1])
	}
}

// TestWebhook_FilterAndNotice: the type filter skips other types (the
// cursor still moves past them) and a notice carries the range only.
func TestWebhook_FilterAndNotice(t *testing.T) {
	e := newEnv(t, func(w *store.Webhook) { w.Types = []string{"malware"}; w.IncludeObjects = false })
	e.publish(0, 3)
	mw := storetest.Malware(t, storetest.STIXID("malware", 1), storetest.Created)
	if _, err := e.db.AddObjects(context.Background(), &store.Submission{APIRoot: group, Collection: coll, Received: time.Now(), Objects: []store.Object{mw}}); err != nil {
		t.Fatal(err)
	}
	e.publish(10, 2)
	e.start()
	eventually(t, "the notice", func() bool { return e.rcv.count() == 1 })
	eventually(t, "the cursor past the filtered changes", func() bool {
		pg, _ := e.db.ReadChanges(context.Background(), coll, time.Time{}, 0)
		return e.webhook().State.Cursor.Equal(pg.Changes[len(pg.Changes)-1].Cursor)
	})
	e.rcv.mu.Lock()
	defer e.rcv.mu.Unlock()
	m := e.rcv.messages[0]
	if m.Data.Count != 1 || len(m.Data.Changes) != 0 || m.Data.Last == "" {
		t.Fatalf("notice=%+v, want count 1, no changes, a range", m.Data)
	}
}

func TestSign(t *testing.T) {
	// The example of the Standard Webhooks specification's reference
	// libraries: secret, id, timestamp and body give this signature.
	key, err := delivery.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := delivery.Sign([][]byte{key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign=%s, want %s", got, want)
	}
}

// TestWebhook_PendingDeleted: when the versions of a message being retried
// are deleted meanwhile, the retry steps over the emptied range and the
// deletion is delivered next.
func TestWebhook_PendingDeleted(t *testing.T) {
	e := newEnv(t, nil)
	e.rcv.answer = func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	ids := e.publish(0, 1)
	e.start()
	eventually(t, "the first failure", func() bool { return e.webhook().State.Failures == 1 })
	if _, err := e.db.DeleteObject(context.Background(), coll, ids[0], store.Filter{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	e.disp.Notify()
	eventually(t, "the deletion delivered", func() bool {
		e.rcv.mu.Lock()
		defer e.rcv.mu.Unlock()
		return len(e.rcv.got) == 1 && e.rcv.got[0].Kind == "delete" && e.rcv.got[0].ID == ids[0]
	})
}

// TestWebhook_Disables: a deleted collection and a disabled owner stop a
// subscription, each with its reason.
func TestWebhook_Disables(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(tx store.DirectoryTx) error
		reason string
	}{
		"OwnerDisabled": {func(tx store.DirectoryTx) error {
			a, err := tx.Account(owner)
			if err != nil {
				return err
			}
			a.Disabled = true
			return tx.UpdateAccount(a)
		}, "disabled"},
		"OwnerDeleted":      {func(tx store.DirectoryTx) error { return tx.DeleteAccount(owner) }, "was deleted"},
		"CollectionDeleted": {func(tx store.DirectoryTx) error { return tx.DeleteCollection(coll) }, "collection was deleted"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.start()
			if err := e.db.ChangeDirectory(context.Background(), tc.change); err != nil {
				t.Fatal(err)
			}
			if name != "CollectionDeleted" {
				e.publish(0, 1)
			}
			e.disp.Notify()
			eventually(t, "the subscription disabled", func() bool { return e.webhook().State.Disabled })
			if r := e.webhook().State.Reason; !strings.Contains(r, tc.reason) {
				t.Fatalf("reason=%q, want %q", r, tc.reason)
			}
			if n := e.rcv.count(); n != 0 {
				t.Fatalf("%d requests, want none", n)
			}
		})
	}
}
