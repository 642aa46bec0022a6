package bolt

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// Group commit. Every bbolt write transaction ends in fsyncs (a few
// milliseconds here), so one transaction per Add Objects request caps
// single-object publishing at a few hundred requests per second, whoever
// sends them. The committer instead runs the writes that arrive while a
// commit is in progress together in the next transaction: an idle server
// commits a lone request at once (no batching delay), a busy one amortises
// the fsync over every request waiting.

// maxGroup bounds how many writes share one transaction, so one commit
// cannot grow without limit under load.
const maxGroup = 256

// errClosed is returned by writes submitted after Close.
var errClosed = errors.New("store: closed")

type write struct {
	fn   func(*bbolt.Tx) error
	done chan error
}

type committer struct {
	db      *bbolt.DB
	observe func(time.Duration, int) // may be nil
	queue   chan write
	stop    chan struct{}
	stopped chan struct{}

	// mu makes "closed" and "queued" exclusive: once close has set
	// closed, every write that got in is already queued, and the run loop
	// drains the queue before it stops, so no write waits forever.
	mu     sync.RWMutex
	closed bool
}

func newCommitter(db *bbolt.DB, observe func(time.Duration, int)) *committer {
	c := &committer{db: db, observe: observe, queue: make(chan write, maxGroup), stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.run()
	return c
}

// commit runs fn in a write transaction shared with other concurrent
// writes, and returns fn's error or the commit's. fn must depend only on
// what it reads in tx: when a shared transaction fails, each of its
// functions is run again alone, so that one bad write cannot fail the
// others (bbolt's Batch has the same contract).
func (c *committer) commit(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := write{fn: fn, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	c.queue <- w // the run loop is still consuming: this cannot block for ever
	c.mu.RUnlock()
	// Once queued the write is carried out even if ctx ends meanwhile:
	// the caller may only learn the outcome, never leave it undecided.
	return <-w.done
}

func (c *committer) run() {
	defer close(c.stopped)
	group := make([]write, 0, maxGroup)
	for {
		select {
		case w := <-c.queue:
			group = append(group[:0], w)
		case <-c.stop:
			c.drain()
			return
		}
	collect:
		for len(group) < maxGroup {
			select {
			case w := <-c.queue:
				group = append(group, w)
			default:
				break collect
			}
		}
		c.apply(group)
	}
}

// apply commits a group in one transaction, or each alone if that fails.
func (c *committer) apply(group []write) {
	if c.observe != nil {
		defer func(start time.Time) { c.observe(time.Since(start), len(group)) }(time.Now())
	}
	if len(group) > 1 {
		err := c.db.Update(func(tx *bbolt.Tx) error {
			for _, w := range group {
				if err := w.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			for _, w := range group {
				w.done <- nil
			}
			return
		}
	}
	for _, w := range group {
		w.done <- c.db.Update(w.fn)
	}
}

// drain carries out the writes still queued when the store closes.
func (c *committer) drain() {
	for {
		select {
		case w := <-c.queue:
			c.apply([]write{w})
		default:
			return
		}
	}
}

// close stops the committer after the queued writes are done. It may be
// called more than once.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	<-c.stopped
}
