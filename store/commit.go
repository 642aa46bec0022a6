package store

import (
	"context"
	"slices"
	"sync"
	"time"
)

// GroupCommitter is the group commit of the backends' writes. A write
// transaction ends in an fsync, so one transaction per request caps
// single-object publishing at one request per fsync, whoever sends them.
// The committer instead runs the writes that arrive while a commit is in
// progress together in the next transaction: an idle store commits a lone
// write at once (no batching delay), a busy one spreads one fsync over
// every write waiting.
//
// W is a backend's write, which its Run carries out. A write must depend
// only on what it reads in its transaction: when a shared transaction
// fails, each of its writes is run again alone, so that one bad write
// cannot fail the others.
type GroupCommitter[W any] struct {
	opts  GroupCommitOptions[W]
	queue chan queuedWrite[W]
	wg    sync.WaitGroup

	// mu makes "closed" and "queued" exclusive: once Close has set closed,
	// every write that got in is queued, and the workers drain the queue
	// before they stop, so no write waits for ever.
	mu     sync.RWMutex
	closed bool
}

// GroupCommitOptions configures a GroupCommitter.
type GroupCommitOptions[W any] struct {
	// Run carries out ws, in order, in one transaction and commits it; it
	// returns the first write's error or the commit's.
	Run func(ws []W) error
	// MaxGroup bounds how many writes share one transaction, so one
	// commit cannot grow without limit under load.
	MaxGroup int
	// Workers is how many transactions may be in progress at once; 1 if
	// zero.
	Workers int
	// Order, if set, orders the writes of a group before its transaction
	// (stably: arrival order among equals), such as to take row locks in
	// one order in every group.
	Order func(a, b W) int
	// Observe, if set, is told how long each group took, reruns
	// included, and how many writes it held (for metrics).
	Observe func(d time.Duration, writes int)
	// ErrClosed is what Commit returns once Close has been called.
	ErrClosed error
}

type queuedWrite[W any] struct {
	w    W
	done chan error
}

// NewGroupCommitter starts a committer with opts. Close stops it.
func NewGroupCommitter[W any](opts GroupCommitOptions[W]) *GroupCommitter[W] {
	c := &GroupCommitter[W]{opts: opts, queue: make(chan queuedWrite[W], opts.MaxGroup)}
	for range max(opts.Workers, 1) {
		c.wg.Go(c.run)
	}
	return c
}

// Commit carries out w in a transaction that it may share with other
// writes, and returns w's error or the commit's. Once queued, the write is
// carried out even if ctx ends meanwhile: the caller may learn only the
// outcome, never leave it undecided.
func (c *GroupCommitter[W]) Commit(ctx context.Context, w W) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q := queuedWrite[W]{w: w, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return c.opts.ErrClosed
	}
	c.queue <- q // the workers consume until closed: this cannot block for ever
	c.mu.RUnlock()
	return <-q.done
}

func (c *GroupCommitter[W]) run() {
	group := make([]queuedWrite[W], 0, c.opts.MaxGroup)
	for q := range c.queue {
		group = append(group[:0], q)
	collect:
		for len(group) < c.opts.MaxGroup {
			select {
			case q, ok := <-c.queue:
				if !ok {
					break collect
				}
				group = append(group, q)
			default:
				break collect
			}
		}
		c.apply(group)
	}
}

// apply commits a group in one transaction, or each write alone if that
// fails.
func (c *GroupCommitter[W]) apply(group []queuedWrite[W]) {
	if c.opts.Observe != nil {
		defer func(start time.Time) { c.opts.Observe(time.Since(start), len(group)) }(time.Now())
	}
	if len(group) > 1 {
		if c.opts.Order != nil {
			slices.SortStableFunc(group, func(a, b queuedWrite[W]) int { return c.opts.Order(a.w, b.w) })
		}
		ws := make([]W, len(group))
		for i, q := range group {
			ws[i] = q.w
		}
		if c.opts.Run(ws) == nil {
			for _, q := range group {
				q.done <- nil
			}
			return
		}
	}
	for _, q := range group {
		q.done <- c.opts.Run([]W{q.w})
	}
}

// Close stops the committer once the queued writes are done. It may be
// called more than once.
func (c *GroupCommitter[W]) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	c.wg.Wait()
}
