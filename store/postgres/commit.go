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
// and must depend only on what it reads there (it is run again, alone,
// when its group fails, so that one bad write, such as to an unknown
// collection, fails alone).
type write struct {
	coll string
	fn   func(ctx context.Context, tx pgx.Tx) error
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
				for _, w := range ws {
					if err := w.fn(ctx, tx); err != nil {
						return err
					}
				}
				return nil
			})
		},
		MaxGroup:  maxGroup,
		Workers:   groupWorkers,
		Order:     func(a, b write) int { return cmp.Compare(a.coll, b.coll) },
		ErrClosed: errClosed,
	})
}
