package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	eitaxii "github.com/eitaxii/eitaxii/client"
)

// The webhooks scenario (eitaxii only): --webhooks subscriptions to the
// collection, made through the admin API with the run's credentials (a
// group admin's), POST to a receiver this process runs on
// --receiver-addr; the server must allow that host in
// webhooks.allow_hosts. The receiver checks every message's signature,
// answers 503 for --fail-for from the first request it gets, then 204
// (counted from that request, not from the receiver's start, so that a
// slow start cannot use up the window before any delivery), and
// deduplicates by webhook-id as a receiver should. The check: each
// subscription received every version the run's confirmed POSTs stored,
// each once, in strictly increasing cursor order.

// hookSink is the receiver's state for one subscription.
type hookSink struct {
	key []byte

	mu         sync.Mutex
	acked      map[string]bool // webhook-ids acknowledged
	last       string          // cursor of the last change received
	got        map[key]int
	messages   int
	changes    int
	badSig     int
	disordered int
	failed     int
	lastAt     time.Time
}

type hookReceiver struct {
	failFor time.Duration
	mu      sync.Mutex
	sinks   map[string]*hookSink // by path
	firstAt time.Time            // of the first request
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	s := h.sinks[req.URL.Path]
	if h.firstAt.IsZero() {
		h.firstAt = time.Now()
	}
	failing := time.Since(h.firstAt) < h.failFor
	h.mu.Unlock()
	if s == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	id := req.Header.Get("webhook-id")
	mac := hmac.New(sha256.New, s.key)
	fmt.Fprintf(mac, "%s.%s.%s", id, req.Header.Get("webhook-timestamp"), body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	signed := false
	for _, sig := range strings.Fields(req.Header.Get("webhook-signature")) {
		signed = signed || hmac.Equal([]byte(sig), []byte(want))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !signed:
		s.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	case failing:
		s.failed++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case s.acked[id]:
		w.WriteHeader(http.StatusNoContent) // a retry of a message already taken
		return
	}
	var m struct {
		Data struct {
			Changes []struct {
				Cursor string
				Kind   string
				Object struct {
					ID       string `json:"id"`
					Modified string `json:"modified"`
				}
			}
		}
	}
	if err := json.Unmarshal(body, &m); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.acked[id] = true
	s.messages++
	for _, ch := range m.Data.Changes {
		// Cursors have a fixed width, so text order is time order.
		if ch.Cursor <= s.last {
			s.disordered++
		}
		s.last = ch.Cursor
		if ch.Kind == "object" {
			s.got[keyOf(ch.Object.ID, ch.Object.Modified)]++
			s.changes++
		}
	}
	s.lastAt = time.Now()
	w.WriteHeader(http.StatusNoContent)
}

// runWebhooks: subscribe, publish --objects, wait for every subscription
// to have everything (within --duration), check, unsubscribe.
func (r *runner) runWebhooks(ctx context.Context) {
	ln, err := net.Listen("tcp", r.cfg.receiverAddr)
	if err != nil {
		r.problem("receiver", "listen on %s: %v", r.cfg.receiverAddr, err)
		return
	}
	recv := &hookReceiver{sinks: map[string]*hookSink{}, failFor: r.cfg.failFor}
	srv := &http.Server{Handler: recv, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	group, coll := lastSegment(r.t.apiRoot), lastSegment(r.t.collection)
	var ids []string
	defer func() {
		for _, id := range ids {
			err := r.c.call(context.WithoutCancel(ctx), "DELETE webhook", func(ctx context.Context, api *eitaxii.Client) error {
				return api.Admin().DeleteWebhook(ctx, id)
			})
			if err != nil {
				r.errs.addErr(err)
			}
		}
	}()
	for i := range r.cfg.webhooks {
		path := fmt.Sprintf("/hook/%d", i)
		var created *eitaxii.NewWebhook
		body := eitaxii.WebhookBody{Group: &group, Collection: &coll, URL: new("http://" + ln.Addr().String() + path)}
		err := r.c.call(ctx, "POST webhook", func(ctx context.Context, api *eitaxii.Client) (err error) {
			created, err = api.Admin().CreateWebhook(ctx, body)
			return err
		})
		if err != nil {
			r.errs.addErr(err)
			r.problem("subscribe", "webhook %d: %v", i, err)
			return
		}
		ids = append(ids, created.ID)
		k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(created.Secret, "whsec_"))
		if err != nil {
			r.problem("subscribe", "webhook %d: secret %q: %v", i, created.Secret, err)
			return
		}
		recv.sinks[path] = &hookSink{key: k, acked: map[string]bool{}, got: map[key]int{}}
	}

	n := uint64(r.cfg.objects)
	if n == 0 {
		n = 20000
	}
	pub := r.startPhase("publish")
	ctx, cancel := context.WithTimeout(ctx, r.cfg.duration)
	defer cancel()
	started := time.Now()
	r.next = r.publish(ctx, pub, r.next, r.next+n, r.cfg.envelopeSize, r.cfg.clients)
	pub.finish()
	want := r.expected()
	r.expectN = len(want)

	wait := r.startPhase("deliver")
	complete := func() bool {
		for _, s := range recv.sinks {
			s.mu.Lock()
			c := s.changes
			s.mu.Unlock()
			if c < len(want) {
				return false
			}
		}
		return true
	}
	for !complete() && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	wait.finish()

	var messages, changes, failed int
	var lastAt time.Time
	for path, s := range recv.sinks {
		s.mu.Lock()
		messages += s.messages
		changes += s.changes
		failed += s.failed
		if s.lastAt.After(lastAt) {
			lastAt = s.lastAt
		}
		if s.badSig > 0 {
			r.problem("signature", "%s: %d messages with no valid signature", path, s.badSig)
		}
		if s.disordered > 0 {
			r.problem("order", "%s: %d changes at or before the cursor of the one before", path, s.disordered)
		}
		missing, repeated := 0, 0
		for _, k := range want {
			switch s.got[k] {
			case 0:
				missing++
			case 1:
			default:
				repeated++
			}
		}
		if missing > 0 {
			r.problem("missing", "%s: %d of %d versions never delivered", path, missing, len(want))
		}
		if repeated > 0 {
			r.problem("repeated", "%s: %d versions delivered in more than one message", path, repeated)
		}
		s.mu.Unlock()
	}
	took := lastAt.Sub(started).Seconds()
	r.measures["webhooks"] = float64(len(recv.sinks))
	r.measures["messages_acknowledged"] = float64(messages)
	r.measures["changes_delivered"] = float64(changes)
	r.measures["attempts_refused_503"] = float64(failed)
	if took > 0 {
		r.measures["seconds_publish_start_to_last_delivery"] = round3(took)
		r.measures["deliveries_per_second"] = round3(float64(messages) / took)
		r.measures["objects_delivered_per_second"] = round3(float64(changes) / took)
	}
}

// lastSegment is the last path segment of an absolute URL ending in "/".
func lastSegment(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	segs := strings.Split(strings.Trim(p.Path, "/"), "/")
	return segs[len(segs)-1]
}
