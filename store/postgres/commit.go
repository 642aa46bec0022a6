package postgres

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Group commit. A publishing transaction holds its collection's row lock
// until it has committed, fsync included, so one transaction per request
// caps single-object publishing to one collection at one commit per
// fsync, whatever the number of nodes. The committer instead runs the
// Add Objects requests that arrive while a commit is in progress together
// in the next transaction: an idle node commits a lone request at once (no
// batching delay), a busy one spreads one fsync over every request
// waiting. Within a group, requests run in the order of their
// collections' ids (arrival order within a collection), so that every
// group, on every node, takes its row locks in one order and two groups
// cannot deadlock.

// Bounds of the committer.
const (
	maxGroup      = 128              // requests sharing one transaction
	groupWorkers  = 2                // transactions in progress at once
	groupDeadline = 60 * time.Second // for one transaction, whatever its callers' contexts
)

// write is one request of a group: fn runs inside the group's transaction
// and must depend only on what it reads there (it is run again, alone,
// when its group fails).
type write struct {
	coll string
	fn   func(ctx context.Context, tx pgx.Tx) error
	done chan error
}

type committer struct {
	pool  beginner
	queue chan write
	wg    sync.WaitGroup

	// mu makes "closed" and "queued" exclusive: once closed is set, every
	// write that got in is queued, and the workers drain the queue
	// before they stop, so no write waits for ever.
	mu     sync.RWMutex
	closed bool
}

// beginner is the part of *pgxpool.Pool the committer uses.
type beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

func newCommitter(pool beginner) *committer {
	c := &committer{pool: pool, queue: make(chan write, maxGroup)}
	for range groupWorkers {
		c.wg.Add(1)
		go c.run()
	}
	return c
}

// commit runs fn in a transaction that it may share with other writes,
// and returns fn's error or the commit's. Once queued, the write is
// carried out even if ctx ends meanwhile: the caller may learn only the
// outcome, never leave it undecided.
func (c *committer) commit(ctx context.Context, coll string, fn func(context.Context, pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := write{coll: coll, fn: fn, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	c.queue <- w // the workers consume until closed: this cannot block for ever
	c.mu.RUnlock()
	return <-w.done
}

func (c *committer) run() {
	defer c.wg.Done()
	group := make([]write, 0, maxGroup)
	for w := range c.queue {
		group = append(group[:0], w)
	collect:
		for len(group) < maxGroup {
			select {
			case w, ok := <-c.queue:
				if !ok {
					break collect
				}
				group = append(group, w)
			default:
				break collect
			}
		}
		c.apply(group)
	}
}

// apply commits a group in one transaction, or each write alone if that
// fails, so that one bad write (an unknown collection) fails alone.
func (c *committer) apply(group []write) {
	if len(group) > 1 {
		slices.SortStableFunc(group, func(a, b write) int { return cmp.Compare(a.coll, b.coll) })
		err := c.tx(func(ctx context.Context, tx pgx.Tx) error {
			for _, w := range group {
				if err := w.fn(ctx, tx); err != nil {
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
		w.done <- c.tx(w.fn)
	}
}

func (c *committer) tx(fn func(context.Context, pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), groupDeadline)
	defer cancel()
	return pgx.BeginTxFunc(ctx, c.pool, pgx.TxOptions{}, func(tx pgx.Tx) error { return fn(ctx, tx) })
}

// close stops the committer once the queued writes are done. It may be
// called more than once.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	c.wg.Wait()
}
