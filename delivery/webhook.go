// Package delivery is eitaxii's real-time delivery: the per-collection
// fan-out from the store's change feed to live subscribers, and webhook
// dispatch (signing, retries, ordering, the delivery log).
package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
)

// Webhook dispatch. One Dispatcher runs per process, and only while the
// store grants it the dispatch lease (store.WebhookStore.DispatchLease), so
// with several nodes on one store one of them dispatches. It runs one
// worker per enabled subscription; a worker has at most one message in
// flight and moves the subscription's cursor only when the target answers
// 2xx, so every change reaches the target at least once and in cursor
// order, across retries and restarts (the cursor is in the store).
//
// A worker's round: read the subscription and the directory from the
// store, check that the owner may still read the collection (else disable:
// a webhook never carries what its owner could not read over TAXII), read
// the changes after the cursor (store.Store.ReadChanges), keep those of
// the type filter up to the message caps, POST them signed, and record the
// outcome. A failed attempt keeps the message's range (State.Pending) so
// its retries carry the same changes under the same webhook-id, and
// schedules the next try with exponential backoff and jitter; a
// subscription that keeps failing for RetryFor, or that answers 410 Gone,
// is disabled with a reason. A worker then waits for the collection's
// change feed (store.Store.Watch), its retry time or Notify.

// WebhookOptions configure a Dispatcher. Store is required; zero values
// elsewhere take the defaults given.
type WebhookOptions struct {
	Store store.Store
	// AllowHosts are exempt from the SSRF guard (webhooks.allow_hosts).
	AllowHosts Hosts
	// RootCAs, if set, replaces the system roots for https targets (tests,
	// private PKI).
	RootCAs *x509.CertPool
	// Timeout bounds one attempt, connection to last byte: 10 s.
	Timeout time.Duration
	// MaxChanges and MaxBytes cap one message: 100 changes and 1 MiB of
	// objects (a single larger object still goes, alone). More changes go
	// in the following messages.
	MaxChanges int
	MaxBytes   int
	// RetryFor is how long a message is retried before the subscription is
	// disabled: 24 h. Backoff grows from MinBackoff (1 s) to MaxBackoff
	// (1 h), doubling, with jitter.
	RetryFor               time.Duration
	MinBackoff, MaxBackoff time.Duration
	// Rescan is how often the dispatcher looks for new, deleted and
	// disabled subscriptions besides Notify: 1 s.
	Rescan time.Duration
	// Now is the clock (time.Now); Rand returns jitter in [0, 1)
	// (math/rand/v2's Float64).
	Now  func() time.Time
	Rand func() float64
	// Metrics, if set, counts deliveries and the retry queue.
	Metrics *WebhookMetrics
	Logger  *slog.Logger // slog.Default() if nil
}

// Dispatcher delivers webhooks. Make it with NewDispatcher, run it with
// Run.
type Dispatcher struct {
	opts   WebhookOptions
	st     store.Store
	client *http.Client
	log    *slog.Logger
	notify chan struct{}

	mu      sync.Mutex
	workers map[string]*worker // by subscription id
}

// worker is the goroutine of one subscription.
type worker struct {
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}
}

// NewDispatcher checks opts and returns a dispatcher.
func NewDispatcher(opts WebhookOptions) (*Dispatcher, error) {
	if opts.Store == nil {
		return nil, errors.New("delivery: WebhookOptions.Store is required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.Timeout, 10*time.Second)
	def(&opts.RetryFor, 24*time.Hour)
	def(&opts.MinBackoff, time.Second)
	def(&opts.MaxBackoff, time.Hour)
	def(&opts.Rescan, time.Second)
	if opts.MaxChanges <= 0 {
		opts.MaxChanges = 100
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AllowHosts == nil {
		opts.AllowHosts = Hosts{}
	}
	dl := &dialer{allow: opts.AllowHosts, timeout: opts.Timeout}
	transport := &http.Transport{
		// No proxy from the environment: a proxy would dial for us and
		// the guard would never see the address.
		Proxy:                 nil,
		DialContext:           dl.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Dispatcher{
		opts: opts, st: opts.Store, log: opts.Logger,
		client: &http.Client{
			Transport: transport,
			Timeout:   opts.Timeout,
			// A redirect is the target's answer, not an instruction: a
			// 3xx to an internal address must not be followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		notify:  make(chan struct{}, 1),
		workers: map[string]*worker{},
	}, nil
}

// Notify makes the dispatcher look at the subscriptions again at once and
// wakes every worker (a subscription created, rotated or deleted; the
// clock moved in a test). It never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// Run dispatches until ctx is done, holding the store's dispatch lease
// (waiting for it, and taking it again after losing it), then stops every
// worker and returns nil. It returns an error only if the lease cannot be
// asked for.
func (d *Dispatcher) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		lease, release, err := d.st.DispatchLease(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("webhook dispatch lease: %w", err)
		}
		d.supervise(lease)
		release()
	}
	return nil
}

// supervise keeps one worker per enabled subscription until ctx is done.
func (d *Dispatcher) supervise(ctx context.Context) {
	defer d.stopAll()
	t := time.NewTicker(d.opts.Rescan)
	defer t.Stop()
	for {
		d.scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.notify:
			d.wakeAll()
		}
	}
}

// scan starts the workers of enabled subscriptions that have none, stops
// those of subscriptions gone or disabled, and updates the queue gauge.
func (d *Dispatcher) scan(ctx context.Context) {
	hooks, err := d.st.Webhooks(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("webhooks: list subscriptions", "err", err)
		}
		return
	}
	live := map[string]bool{}
	retrying := 0
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range hooks {
		if w.State.Disabled {
			continue
		}
		live[w.ID] = true
		if w.State.Failures > 0 {
			retrying++
		}
		if wk := d.workers[w.ID]; wk != nil {
			select {
			case <-wk.done: // ended on its own (disabled itself): restart if enabled again
			default:
				continue
			}
		}
		wctx, cancel := context.WithCancel(ctx)
		wk := &worker{cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1)}
		d.workers[w.ID] = wk
		go func(id string) {
			defer close(wk.done)
			d.work(wctx, id, wk.wake)
		}(w.ID)
	}
	for id, wk := range d.workers {
		if !live[id] {
			wk.cancel()
			delete(d.workers, id)
		}
	}
	d.opts.Metrics.setRetrying(retrying)
}

func (d *Dispatcher) wakeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, wk := range d.workers {
		select {
		case wk.wake <- struct{}{}:
		default:
		}
	}
}

func (d *Dispatcher) stopAll() {
	d.mu.Lock()
	ws := d.workers
	d.workers = map[string]*worker{}
	d.mu.Unlock()
	for _, wk := range ws {
		wk.cancel()
	}
	for _, wk := range ws {
		<-wk.done
	}
}

// idleWait is how long a worker with nothing to send waits without a
// hint before it looks again (a safety net; hints normally wake it).
const idleWait = 30 * time.Second

// errorWait is how long a worker waits after a store error.
const errorWait = time.Second

// work runs one subscription's rounds until ctx is done or the
// subscription is gone or disabled.
func (d *Dispatcher) work(ctx context.Context, id string, wake <-chan struct{}) {
	var (
		hints   <-chan time.Time
		watched string
	)
	for ctx.Err() == nil {
		w, err := d.st.Webhook(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			d.storeError(ctx, id, err)
			sleep(ctx, wake, nil, errorWait)
			continue
		}
		if w.State.Disabled {
			return
		}
		if hints == nil || watched != w.Collection {
			hints, err = d.st.Watch(ctx, w.Collection)
			if errors.Is(err, store.ErrCollectionNotFound) {
				d.disable(ctx, w, "the collection was deleted")
				return
			}
			if err != nil {
				d.storeError(ctx, id, err)
				hints = nil
				sleep(ctx, wake, nil, errorWait)
				continue
			}
			watched = w.Collection
		}
		if wait := w.State.NextAttempt.Sub(d.opts.Now()); wait > 0 {
			// Backing off: hints do not shorten the wait, Notify does
			// (the clock may have moved).
			sleep(ctx, wake, nil, wait)
			continue
		}
		busy, err := d.round(ctx, w)
		if err != nil {
			d.storeError(ctx, id, err)
			sleep(ctx, wake, nil, errorWait)
			continue
		}
		if !busy {
			if _, ok := sleep(ctx, wake, hints, idleWait); !ok {
				hints = nil // the feed closed: the collection may be gone
			}
		}
	}
}

func (d *Dispatcher) storeError(ctx context.Context, id string, err error) {
	if ctx.Err() == nil {
		d.log.Warn("webhooks: store", "webhook", id, "err", err)
	}
}

// sleep waits for ctx, wake, a hint or the timeout. It returns whether it
// woke for a hint, and false as second value if hints was closed.
func sleep(ctx context.Context, wake <-chan struct{}, hints <-chan time.Time, timeout time.Duration) (hinted, open bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	case _, ok := <-hints:
		return true, ok
	}
	return false, true
}

// round does one step of w's delivery. busy reports whether it did
// something (a message sent, a cursor moved, the subscription disabled);
// false means there is nothing new to send.
func (d *Dispatcher) round(ctx context.Context, w *store.Webhook) (busy bool, err error) {
	dir, err := d.st.LoadDirectory(ctx)
	if err != nil {
		return false, err
	}
	if why := mayRead(dir, w); why != "" {
		return true, d.disable(ctx, w, why)
	}
	// Without a type filter a message never needs more than MaxChanges
	// changes; with one, read a full page so skipped types cost no extra
	// round. Either way a retry reads the same page, hence picks the same
	// changes.
	limit := store.MaxChanges
	if len(w.Types) == 0 {
		limit = min(d.opts.MaxChanges, store.MaxChanges)
	}
	pg, err := d.st.ReadChanges(ctx, w.Collection, w.State.Cursor, limit)
	if errors.Is(err, store.ErrCollectionNotFound) {
		return true, d.disable(ctx, w, "the collection was deleted")
	}
	if err != nil {
		return false, err
	}
	changes, last := d.pick(w, pg.Changes)
	if last.IsZero() && !w.State.Pending.IsZero() {
		// The pending message's changes are gone (their versions were
		// deleted since, and the deletions have later cursors): that
		// message is empty now, so step over its range.
		st := w.State
		st.Cursor, st.Pending = w.State.Pending, time.Time{}
		return true, d.st.RecordDelivery(ctx, w.ID, st, nil)
	}
	if last.IsZero() {
		return false, nil
	}
	if len(changes) == 0 {
		// Only changes the type filter skips: move past them unsent.
		st := w.State
		st.Cursor, st.Pending = last, time.Time{}
		return true, d.st.RecordDelivery(ctx, w.ID, st, nil)
	}
	return true, d.attempt(ctx, w, changes, last)
}

// pick chooses the changes of w's next message from a page read after its
// cursor: those the type filter keeps, at most MaxChanges and MaxBytes of
// objects (at least one), and while a message is pending only those up to
// its last cursor. last is the cursor the message ends at (changes
// skipped by the filter included); zero when there is nothing to send.
func (d *Dispatcher) pick(w *store.Webhook, page []store.Change) (changes []store.Change, last time.Time) {
	size := 0
	for _, ch := range page {
		if !w.State.Pending.IsZero() && ch.Cursor.After(w.State.Pending) {
			break
		}
		if !typeMatch(w.Types, ch.Record.ID) {
			last = ch.Cursor
			continue
		}
		n := 128 // the change's own fields
		if w.IncludeObjects {
			n += len(ch.Record.Raw)
		}
		if len(changes) > 0 && (len(changes) >= d.opts.MaxChanges || size+n > d.opts.MaxBytes) {
			break
		}
		changes = append(changes, ch)
		size += n
		last = ch.Cursor
	}
	return changes, last
}

// typeMatch reports whether the object id (type--uuid) is of one of types
// (any, when types is empty).
func typeMatch(types []string, id string) bool {
	if len(types) == 0 {
		return true
	}
	typ, _, _ := strings.Cut(id, "--")
	return slices.Contains(types, typ)
}

// mayRead says why w's owner may not read its collection now ("" if it
// may), as TAXII decides it: an enabled account, a member of the group
// with a role the collection's read_role admits.
func mayRead(dir *store.Directory, w *store.Webhook) string {
	i := slices.IndexFunc(dir.Accounts, func(a store.Account) bool { return a.Name == w.Owner })
	if i < 0 {
		return fmt.Sprintf("the owner %s was deleted", w.Owner)
	}
	if dir.Accounts[i].Disabled {
		return fmt.Sprintf("the owner %s is disabled", w.Owner)
	}
	j := slices.IndexFunc(dir.Collections, func(c store.Collection) bool { return c.ID == w.Collection })
	if j < 0 || dir.Collections[j].APIRoot != w.Group {
		return "the collection was deleted"
	}
	k := slices.IndexFunc(dir.Groups, func(g store.Group) bool { return g.Name == w.Group })
	if k < 0 {
		return "the group was deleted"
	}
	role, member := dir.Groups[k].Members[w.Owner]
	if !member || !access.CanRead(dir.Collections[j].Policy.ReadRole, role) {
		return fmt.Sprintf("the owner %s may no longer read the collection", w.Owner)
	}
	return ""
}

// disable records that w stops, with why.
func (d *Dispatcher) disable(ctx context.Context, w *store.Webhook, why string) error {
	st := w.State
	st.Disabled, st.Reason = true, why
	d.log.Info("webhook disabled", "webhook", w.ID, "reason", why)
	d.opts.Metrics.disabled()
	err := d.st.RecordDelivery(ctx, w.ID, st, nil)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// maxResponse is how much of a target's answer is read (and dropped):
// enough to keep the connection for the next message.
const maxResponse = 64 << 10

// attempt sends the message of changes (after w's cursor, up to last) and
// records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, w *store.Webhook, changes []store.Change, last time.Time) error {
	now := d.opts.Now()
	id := messageID(w.ID, w.State.Cursor, last)
	body := encodeMessage(w, w.State.Cursor, last, changes)
	entry := &store.WebhookDelivery{Time: now, MessageID: id, Attempt: w.State.Failures + 1,
		First: changes[0].Cursor, Last: last, Changes: len(changes)}

	start := time.Now()
	status, err := d.post(ctx, w, id, now, body)
	entry.Latency = time.Since(start)
	if ctx.Err() != nil {
		// Shutting down or the subscription went away mid-flight: the
		// message is sent again next time, unrecorded.
		return nil
	}
	entry.Status = status
	st := w.State
	switch {
	case err == nil && status >= 200 && status < 300:
		st = store.WebhookState{Cursor: last}
		d.opts.Metrics.delivered("ok", len(changes))
	case err == nil && status == http.StatusGone:
		entry.Error = "410 Gone"
		st.Disabled, st.Reason = true, "the target answered 410 Gone"
		st.Pending = last
		d.opts.Metrics.delivered("gone", 0)
		d.log.Info("webhook disabled", "webhook", w.ID, "reason", st.Reason)
	default:
		outcome := "failed"
		if err != nil {
			entry.Error = err.Error()
			var te *TargetError
			if errors.As(err, &te) {
				outcome = "refused"
			}
		} else {
			if status >= 300 && status < 400 {
				entry.Error = fmt.Sprintf("%d %s: redirects are not followed", status, http.StatusText(status))
			} else {
				entry.Error = fmt.Sprintf("%d %s", status, http.StatusText(status))
			}
		}
		st.Failures++
		if st.FailingSince.IsZero() {
			st.FailingSince = now
		}
		st.Pending = last
		if now.Sub(st.FailingSince) >= d.opts.RetryFor {
			st.Disabled = true
			st.Reason = fmt.Sprintf("failing since %s (%d attempts); last: %s", st.FailingSince.UTC().Format(time.RFC3339), st.Failures, entry.Error)
			d.opts.Metrics.disabled()
			d.log.Info("webhook disabled", "webhook", w.ID, "reason", st.Reason)
		} else {
			st.NextAttempt = now.Add(d.backoff(st.Failures))
		}
		d.opts.Metrics.delivered(outcome, 0)
	}
	err = d.st.RecordDelivery(ctx, w.ID, st, entry)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// backoff is the wait after the n-th consecutive failure: MinBackoff
// doubled n-1 times, at most MaxBackoff, then scaled by a random factor in
// [0.5, 1) so that subscriptions failing together do not retry together.
func (d *Dispatcher) backoff(n int) time.Duration {
	exp := float64(d.opts.MinBackoff) * math.Pow(2, float64(min(n-1, 62)))
	wait := time.Duration(min(exp, float64(d.opts.MaxBackoff)))
	return time.Duration(float64(wait) * (0.5 + d.opts.Rand()/2))
}

// post sends one attempt and returns the status answered.
func (d *Dispatcher) post(ctx context.Context, w *store.Webhook, id string, now time.Time, body []byte) (int, error) {
	u, err := CheckTarget(w.URL, d.opts.AllowHosts)
	if err != nil {
		return 0, err
	}
	keys := activeKeys(w, now)
	if len(keys) == 0 {
		return 0, errors.New("no secret in use: rotate the webhook's secret")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "eitaxii-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", Sign(keys, id, now, body))
	resp, err := d.client.Do(req)
	if err != nil {
		var te *TargetError
		if errors.As(err, &te) {
			return 0, te
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	return resp.StatusCode, nil
}
