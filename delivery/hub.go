// Package delivery is eitaxii's real-time delivery: the fan-out of the
// store's change feeds to live subscribers (Hub; the SSE stream of package
// taxii reads from it). It knows only the store contract, so it works on
// every backend and, on one that notifies across nodes, across nodes.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Reasons a Subscription ends, returned by Subscription.Err. Every one of
// them leaves the subscriber able to resume from the last change it
// handled: the changes are in the store, not in the hub.
var (
	// ErrSlow ends a subscription whose queue was full when a change had
	// to be added: the subscriber fell further behind than HubOptions.Queue
	// changes. Resuming from the last change handled loses nothing.
	ErrSlow = errors.New("delivery: subscriber too slow: dropped")
	// ErrGap ends a subscription when the feed it follows found deletions
	// pruned after its position (store.ChangePage.Gap). The subscriber
	// should read from the store from its own position, which tells it
	// whether it missed any.
	ErrGap = errors.New("delivery: the change feed has a gap")
	// ErrFeedEnded ends the subscriptions of a collection whose change feed
	// closed: the collection was deleted, or the store closed.
	ErrFeedEnded = errors.New("delivery: the change feed ended (collection deleted or store closed)")
	// ErrClosed ends every subscription when the hub closes, and is
	// returned by Subscribe afterwards.
	ErrClosed = errors.New("delivery: hub closed")
	// ErrUnsubscribed is the Err of a subscription its owner closed, or
	// whose context is done.
	ErrUnsubscribed = errors.New("delivery: unsubscribed")
)

// DefaultQueue is HubOptions.Queue when zero.
const DefaultQueue = 1024

// HubOptions configure a Hub.
type HubOptions struct {
	// Queue bounds the changes waiting for one subscriber; one more ends
	// the subscription with ErrSlow. DefaultQueue if zero. Each waiting
	// change costs the subscriber a pointer: the changes themselves are
	// shared by every subscriber of the collection.
	Queue int
	// Logger receives the feed errors; slog.Default() if nil.
	Logger *slog.Logger
}

// Hub fans out the change feeds of a store to subscribers. For each
// collection with at least one subscriber it holds one store.Watch and
// reads each change once (store.ReadChanges from the last position),
// handing the same change to every subscriber's bounded queue. It is safe
// for concurrent use; Close it before closing the store.
type Hub struct {
	st     store.Store
	queue  int
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	feeds  map[string]*feed // by collection id
	closed bool
}

// NewHub returns a hub over st.
func NewHub(st store.Store, opts HubOptions) *Hub {
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{st: st, queue: opts.Queue, log: opts.Logger, ctx: ctx, cancel: cancel, feeds: map[string]*feed{}}
}

// feed is the hub's reader of one collection's change feed.
type feed struct {
	hub    *Hub
	coll   string
	ctx    context.Context
	cancel context.CancelFunc
	ready  chan struct{} // closed once watch and pos are set, or err
	err    error         // why the feed could not start; read after ready

	watch <-chan time.Time

	mu   sync.Mutex
	subs map[*Subscription]struct{}
	// pos is the cursor up to which every change has been queued to every
	// subscriber present at the time (guarded by mu).
	pos time.Time
	// queued mirrors pos for lock-free readers (Subscription.Queued), in
	// µs since the epoch; newest is the latest ChangePage.Newest read.
	queued, newest atomic.Int64
}

// Subscription is one subscriber's queue of a collection's changes. Its
// changes are shared with the other subscribers and must not be modified.
type Subscription struct {
	f   *feed
	ch  chan *store.Change
	ctx context.Context // ended, with the reason as its cause, by end
	end func(reason error)

	mu      sync.Mutex
	stop    func() bool // unregisters the context's callback
	stopped bool        // end ran: stop must be called at once
}

// Subscribe starts a subscription to the changes of collection collID
// committed from now on: every change with a cursor later than the feed's
// position when Subscribe returns is queued, in cursor order. Changes
// already committed may be queued too, so a subscriber that also reads
// the store (to replay from an earlier cursor) subscribes first, reads,
// then skips what it has already seen: nothing falls between the two. The
// subscription ends when ctx is done, on Close, or for one of the
// reasons of Subscription.Err. Returns ErrClosed after Close,
// store.ErrCollectionNotFound for an unknown collection, or the store's
// error when the feed could not start.
func (h *Hub) Subscribe(ctx context.Context, collID string) (*Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, ErrClosed
		}
		f := h.feeds[collID]
		starting := f == nil
		if starting {
			fctx, cancel := context.WithCancel(h.ctx)
			f = &feed{hub: h, coll: collID, ctx: fctx, cancel: cancel, ready: make(chan struct{}), subs: map[*Subscription]struct{}{}}
			h.feeds[collID] = f
		}
		h.mu.Unlock()
		if starting {
			// Outside the hub's lock: a backend's Watch may take a round
			// trip, and other collections need not wait for it.
			f.start()
		}
		select {
		case <-f.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil {
			return nil, f.err
		}
		s := newSubscription(f, h.queue)
		f.mu.Lock()
		ended := f.subs == nil // the feed stopped between ready and here
		if !ended {
			f.subs[s] = struct{}{}
		}
		f.mu.Unlock()
		if ended {
			continue // a new feed is started for this subscriber
		}
		stop := context.AfterFunc(ctx, func() { s.end(ErrUnsubscribed) })
		s.mu.Lock()
		if s.stopped {
			stop()
		} else {
			s.stop = stop
		}
		s.mu.Unlock()
		return s, nil
	}
}

// start watches the feed and reads its position, then runs it. Watch
// comes first: a change committed between the two is then both announced
// and, if the position read includes it, skipped as already behind.
func (f *feed) start() {
	defer close(f.ready)
	h := f.hub
	watch, err := h.st.Watch(f.ctx, f.coll)
	if err == nil {
		var p *store.ChangePage
		if p, err = h.st.ReadChanges(f.ctx, f.coll, time.Time{}, 1); err == nil {
			f.pos = p.Newest
			f.queued.Store(microsOf(p.Newest))
			f.newest.Store(microsOf(p.Newest))
		}
	}
	if err != nil {
		f.err = err
		f.cancel()
		h.mu.Lock()
		if h.feeds[f.coll] == f {
			delete(h.feeds, f.coll)
		}
		h.mu.Unlock()
		f.mu.Lock()
		f.subs = nil
		f.mu.Unlock()
		return
	}
	f.watch = watch
	go f.run()
}

// run reads the feed after every hint until the feed stops.
func (f *feed) run() {
	for {
		select {
		case _, ok := <-f.watch:
			if !ok {
				if f.ctx.Err() != nil {
					f.stop(ErrClosed)
				} else {
					f.stop(ErrFeedEnded)
				}
				return
			}
			if err := f.catchUp(); err != nil {
				f.stop(err)
				return
			}
		case <-f.ctx.Done():
			f.stop(ErrClosed)
			return
		}
	}
}

// catchUp reads every change after pos and queues it to every subscriber,
// dropping those whose queue is full. A gap ends every subscription with
// ErrGap (each reads from its own position, which tells it what it
// missed) and the feed goes on from the gap.
func (f *feed) catchUp() error {
	for {
		p, err := f.hub.st.ReadChanges(f.ctx, f.coll, f.pos, store.MaxChanges)
		if err != nil {
			if f.ctx.Err() != nil {
				return ErrClosed
			}
			if errors.Is(err, store.ErrCollectionNotFound) {
				return ErrFeedEnded
			}
			f.hub.log.Error("change feed read failed", "collection", f.coll, "err", err)
			return err
		}
		f.newest.Store(microsOf(p.Newest))
		var dropped []*Subscription
		f.mu.Lock()
		if p.Gap {
			for s := range f.subs {
				dropped = append(dropped, s)
			}
		}
		// Subscriber by subscriber, each given the whole read at once: a
		// subscriber woken by its first change then finds the others
		// queued too and handles them together (one write to its client
		// instead of one per change). Each queue still gets the changes
		// in cursor order.
	subs:
		for s := range f.subs {
			for i := range p.Changes {
				select {
				case s.ch <- &p.Changes[i]:
				default:
					// Never block the feed for one subscriber: it resumes
					// from the store instead.
					delete(f.subs, s)
					dropped = append(dropped, s)
					continue subs
				}
			}
		}
		if n := len(p.Changes); n > 0 {
			f.pos = p.Changes[n-1].Cursor
		}
		if !p.More && p.Newest.After(f.pos) {
			f.pos = p.Newest // a pruned deletion, a value drawn for nothing
		}
		f.queued.Store(microsOf(f.pos))
		f.mu.Unlock()
		for _, s := range dropped {
			if p.Gap {
				s.end(ErrGap)
			} else {
				s.end(ErrSlow)
			}
		}
		if !p.More {
			return nil
		}
	}
}

// stop ends every subscription with err and removes the feed from the hub.
func (f *feed) stop(err error) {
	f.cancel()
	h := f.hub
	h.mu.Lock()
	if h.feeds[f.coll] == f {
		delete(h.feeds, f.coll)
	}
	h.mu.Unlock()
	f.mu.Lock()
	subs := f.subs
	f.subs = nil
	f.mu.Unlock()
	for s := range subs {
		s.end(err)
	}
}

// leave removes s from its feed and stops the feed when s was its last
// subscriber.
func (f *feed) leave(s *Subscription) {
	h := f.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	f.mu.Lock()
	if f.subs == nil {
		f.mu.Unlock()
		return
	}
	delete(f.subs, s)
	last := len(f.subs) == 0
	if last {
		f.subs = nil // Subscribe starts a new feed from now on
	}
	f.mu.Unlock()
	if last {
		if h.feeds[f.coll] == f {
			delete(h.feeds, f.coll)
		}
		f.cancel() // run sees it and returns; its stop finds no subscriber
	}
}

func newSubscription(f *feed, queue int) *Subscription {
	s := &Subscription{f: f, ch: make(chan *store.Change, queue)}
	ctx, cancel := context.WithCancelCause(context.Background())
	s.ctx = ctx
	var once sync.Once
	s.end = func(reason error) {
		once.Do(func() {
			cancel(reason)
			s.mu.Lock()
			s.stopped = true
			if s.stop != nil {
				s.stop()
			}
			s.mu.Unlock()
			f.leave(s)
		})
	}
	return s
}

// C is the subscription's queue, in cursor order. It is never closed: read
// it together with Done.
func (s *Subscription) C() <-chan *store.Change { return s.ch }

// Done is closed when the subscription has ended; Err then says why.
// Changes still in C when it ends may be read, or ignored.
func (s *Subscription) Done() <-chan struct{} { return s.ctx.Done() }

// Context is done when the subscription has ended, with Err as its
// cause: a subscriber can arrange, with context.AfterFunc, to be woken
// from a blocking write when it is dropped.
func (s *Subscription) Context() context.Context { return s.ctx }

// Err is nil while the subscription runs, then ErrSlow, ErrGap,
// ErrFeedEnded, ErrClosed, ErrUnsubscribed, or an error of the store that
// made its feed fail.
func (s *Subscription) Err() error {
	return context.Cause(s.ctx)
}

// Queued is the cursor up to which every change of the collection has
// been put in the queue (or was already behind the feed when the
// subscription started). A subscriber that has read everything from C and
// has read the store up to the feed's position when it subscribed may
// move its position here: read Queued first, then find C empty.
func (s *Subscription) Queued() time.Time { return timeOf(s.f.queued.Load()) }

// Newest is the collection's high-water mark as the feed last read it
// (store.ChangePage.Newest), for measuring how far a subscriber lags.
func (s *Subscription) Newest() time.Time { return timeOf(s.f.newest.Load()) }

// Close ends the subscription (Err: ErrUnsubscribed) and stops the feed if
// it was the collection's last. Calling it more than once is harmless.
func (s *Subscription) Close() { s.end(ErrUnsubscribed) }

// Close ends every subscription with ErrClosed and refuses new ones. It
// does not wait for the feeds' readers to return.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
}

func microsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func timeOf(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
