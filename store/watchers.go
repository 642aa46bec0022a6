package store

import (
	"context"
	"sync"
	"time"
)

// Watchers is the in-process side of a backend's change feed (Store.Watch):
// it hands change hints to the subscribers of each collection. Every
// subscription is a channel of capacity one holding the latest hint: a
// hint not yet received is replaced by a newer one, and a subscriber is
// never sent a cursor older than, or equal to, one it was sent. The
// channel is closed when the subscription's context ends (Bind), when
// its collection is dropped (Drop, Remove) and when the Watchers close
// (Close). The zero value is ready to use and safe for concurrent use.
type Watchers struct {
	mu     sync.Mutex
	closed bool
	byColl map[string]map[*Watcher]struct{} // by collection id
}

// Watcher is one subscription. Its fields are guarded by Watchers.mu; ch
// is sent to and closed only under it, so a send never meets a closed
// channel.
type Watcher struct {
	coll   string
	ch     chan time.Time
	last   int64       // newest cursor sent (µs), so that hints only move forward
	stop   func() bool // releases the context hook (Bind)
	closed bool
}

// C returns the channel of w's hints.
func (w *Watcher) C() <-chan time.Time { return w.ch }

// Collection returns the id of the collection w watches.
func (w *Watcher) Collection() string { return w.coll }

// Add subscribes to the collection coll. It reports false, adding
// nothing, once the Watchers are closed.
func (ws *Watchers) Add(coll string) (*Watcher, bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return nil, false
	}
	w := &Watcher{coll: coll, ch: make(chan time.Time, 1)}
	if ws.byColl == nil {
		ws.byColl = map[string]map[*Watcher]struct{}{}
	}
	if ws.byColl[coll] == nil {
		ws.byColl[coll] = map[*Watcher]struct{}{}
	}
	ws.byColl[coll][w] = struct{}{}
	return w, true
}

// Since makes w's hints start after the cursor last (µs): changes up to
// it are the subscriber's to read.
func (ws *Watchers) Since(w *Watcher, last int64) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w.last = max(w.last, last)
}

// Bind removes w when ctx is done (at once if it is already done). A w
// already removed only releases the hook.
func (ws *Watchers) Bind(ctx context.Context, w *Watcher) {
	stop := context.AfterFunc(ctx, func() { ws.Remove(w) })
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if w.closed {
		stop()
		return
	}
	w.stop = stop
}

// Remove closes w's channel and unsubscribes it; it may be called more
// than once.
func (ws *Watchers) Remove(w *Watcher) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.removeLocked(w)
}

func (ws *Watchers) removeLocked(w *Watcher) {
	if w.closed {
		return
	}
	w.closed = true
	close(w.ch)
	if w.stop != nil {
		w.stop()
	}
	m := ws.byColl[w.coll]
	delete(m, w)
	if len(m) == 0 {
		delete(ws.byColl, w.coll)
	}
}

// Notify tells coll's watchers that its newest cursor is now cursor (µs),
// sent as a time, except to those already sent it or a later one (the
// commits of successive writes may report out of order), replacing a hint
// they have not received. It costs a lock and a map lookup when coll has
// no watchers.
func (ws *Watchers) Notify(coll string, cursor int64) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if len(ws.byColl[coll]) == 0 {
		return
	}
	t := time.UnixMicro(cursor).UTC()
	for w := range ws.byColl[coll] {
		if cursor <= w.last {
			continue
		}
		w.last = cursor
		select { // drop the hint not yet received: the newer one replaces it
		case <-w.ch:
		default:
		}
		w.ch <- t // cannot block: only this code sends, under mu, to an empty buffer
	}
}

// Watching reports whether coll has watchers.
func (ws *Watchers) Watching(coll string) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return len(ws.byColl[coll]) > 0
}

// Collections returns the ids of the collections that have watchers.
func (ws *Watchers) Collections() []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ids := make([]string, 0, len(ws.byColl))
	for id := range ws.byColl {
		ids = append(ids, id)
	}
	return ids
}

// Snapshot returns the current watchers.
func (ws *Watchers) Snapshot() []*Watcher {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var out []*Watcher
	for _, m := range ws.byColl {
		for w := range m {
			out = append(out, w)
		}
	}
	return out
}

// Drop closes the watchers of coll, a collection that no longer exists.
func (ws *Watchers) Drop(coll string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.byColl[coll] {
		ws.removeLocked(w)
	}
}

// Close closes every watcher and refuses new ones (Add reports false). It
// reports whether this call closed them, false when they were already
// closed.
func (ws *Watchers) Close() bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return false
	}
	ws.closed = true
	for _, m := range ws.byColl {
		for w := range m {
			ws.removeLocked(w)
		}
	}
	return true
}
