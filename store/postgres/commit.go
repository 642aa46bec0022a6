package postgres

import (
	"cmp"
	"context"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

// Group commit (store.GroupCommitter) of Add Objects. A publishing
// transaction holds its collection's row lock until it has committed,
// fsync included, so one transaction per request would cap single-object
// publishing to one collection at one commit per fsync, whatever the
// number of nodes. Within a group, requests run in the order of their
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
// and must depend only on what it reads there and on g (it is run again,
// alone, when its group fails, so that one bad write, such as to an
// unknown collection, fails alone).
type write struct {
	coll string
	fn   func(ctx context.Context, tx pgx.Tx, g *group) error
}

// group is what the requests of one group-commit transaction share: the
// collections they locked, each with the date_added last drawn in it and
// what the group added, written once before the commit (flush) rather
// than by every request. With one-object requests the collection's row,
// its hour counts and the notification were most of a request's
// statements.
type group struct {
	colls map[string]*lockedCollection
	order []string // the ids of colls, in the order they were locked
}

// lockedCollection is a collection whose row the group's transaction has
// locked.
type lockedCollection struct {
	last  int64    // the greatest date_added drawn: last_added as flush writes it
	added []newRow // the versions the group stored, ascending by date_added
}

// lock returns collID's row, locking it the first time the group asks.
// Returns ErrCollectionNotFound.
func (g *group) lock(ctx context.Context, tx pgx.Tx, collID string) (*lockedCollection, error) {
	if lc := g.colls[collID]; lc != nil {
		return lc, nil
	}
	last, err := lockCollection(ctx, tx, collID)
	if err != nil {
		return nil, err
	}
	lc := &lockedCollection{last: last}
	g.colls[collID] = lc
	g.order = append(g.order, collID)
	return lc, nil
}

// flush writes what the group changed in each collection it locked: its
// last_added, its version count and hours, and, when versions were
// added, the notification that wakes the other nodes' watchers.
func (g *group) flush(ctx context.Context, tx pgx.Tx) error {
	b := &pgx.Batch{}
	for _, id := range g.order {
		lc := g.colls[id]
		if len(lc.added) == 0 {
			b.Queue("UPDATE collections SET last_added = $2 WHERE id = $1", id, lc.last)
			continue
		}
		// The activity counters ride on the collection's update.
		b.Queue(withHours("UPDATE collections SET last_added = $5, versions = versions + $6 WHERE id = $1"),
			append(hoursArgs(id, lc.added), lc.last, len(lc.added))...)
		queueNotify(b, id, lc.last)
	}
	return tx.SendBatch(ctx, b).Close()
}

type committer = store.GroupCommitter[write]

// beginner is the part of *pgxpool.Pool the committer uses.
type beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

func newCommitter(pool beginner) *committer {
	return store.NewGroupCommitter(store.GroupCommitOptions[write]{
		Run: func(ws []write) error {
			ctx, cancel := context.WithTimeout(context.Background(), groupDeadline)
			defer cancel()
			return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
				g := &group{colls: map[string]*lockedCollection{}}
				for _, w := range ws {
					if err := w.fn(ctx, tx, g); err != nil {
						return err
					}
				}
				return g.flush(ctx, tx)
			})
		},
		MaxGroup:  maxGroup,
		Workers:   groupWorkers,
		Order:     func(a, b write) int { return cmp.Compare(a.coll, b.coll) },
		ErrClosed: errClosed,
	})
}
