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
	maxGroup = 128 // requests sharing one transaction
	// One transaction in progress at once per node. A second one only
	// waited for the first's row locks (its requests were mostly for the
	// same collection), and took half the waiting requests into a group of
	// its own: one-object publishing from 16 clients went from about 1,400
	// to about 1,850 objects/s with one (docs/performance.md).
	groupWorkers  = 1
	groupDeadline = 60 * time.Second // for one transaction, whatever its callers' contexts
)

// write is one Add Objects request of a group, and what the group's
// transaction decided for it: the fields below s and id are set by each
// run (a write whose group fails is run again alone, so that one bad
// write, such as to an unknown collection, fails alone).
type write struct {
	s  *store.Submission
	id string // the status id

	rows     []newRow   // the versions to insert
	dups     []*version // per object, the version it repeats, or nil
	added    []*version // per object, the version it added, or nil
	assigned []int64    // per object, the date_added drawn for it (0: none)
	st       *store.Status
	newest   int64 // the collection's last_added after w, when w stored versions; else 0
}

// group is what the requests of one group-commit transaction share: the
// collections they write, locked once, each with the object states its
// requests read and change, the date_added last drawn in it and the
// versions they added. A group costs two round trips whatever its size
// (locks and states; then versions, statuses, audit rows and the
// collections' rows), plus a COPY for a collection given many versions,
// and a read of the stored bytes that requests repeat when they do.
type group struct {
	colls map[string]*lockedCollection
	order []string // the ids of colls, in the order they were locked
}

// lockedCollection is a collection whose row the group's transaction has
// locked.
type lockedCollection struct {
	last    int64                   // the greatest date_added drawn: last_added as the group writes it
	objects map[string]*objectState // the states of the object ids the group's requests name
	added   []newRow                // the versions the group stored, ascending by date_added
	writes  []*write
}

// runGroup carries out ws (ordered by collection) in tx.
func (db *DB) runGroup(ctx context.Context, tx pgx.Tx, ws []*write) error {
	g := &group{colls: map[string]*lockedCollection{}}
	// Round trip one: each collection's row locked, then the stored
	// states of its requests' object ids (read after the lock, so that
	// they hold every commit made before it).
	b := &pgx.Batch{}
	for _, w := range ws {
		lc := g.colls[w.s.Collection]
		if lc == nil {
			lc = &lockedCollection{objects: map[string]*objectState{}}
			g.colls[w.s.Collection] = lc
			g.order = append(g.order, w.s.Collection)
			b.Queue(lockCollectionSQL, w.s.Collection)
		}
		lc.writes = append(lc.writes, w)
	}
	asked := map[string][]string{}
	for _, id := range g.order {
		lc := g.colls[id]
		for _, w := range lc.writes {
			var ids []string
			lc.objects, ids = newStates(w.s, lc.objects)
			asked[id] = append(asked[id], ids...)
		}
		if len(asked[id]) > 0 {
			queueLoadStates(b, id, asked[id])
		}
	}
	br := tx.SendBatch(ctx, b)
	err := func() error {
		for _, id := range g.order {
			last, err := scanLocked(br.QueryRow(), id)
			if err != nil {
				return err
			}
			g.colls[id].last = last
		}
		for _, id := range g.order {
			if len(asked[id]) > 0 {
				if err := readStates(br, g.colls[id].objects); err != nil {
					return err
				}
			}
		}
		return nil
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	// In memory, request by request: each against the states as the
	// requests before it left them.
	for _, w := range ws {
		db.addVersions(g.colls[w.s.Collection], w)
	}
	for _, id := range g.order {
		if err := fetchDuplicateRaws(ctx, tx, id, g.colls[id].writes); err != nil {
			return err
		}
	}

	// Round trip two (after the COPY of a collection given many versions).
	b = &pgx.Batch{}
	for _, id := range g.order {
		lc := g.colls[id]
		if err := insertVersions(ctx, tx, b, id, lc.added, lc.objects); err != nil {
			return err
		}
		queueClearFlags(b, id, lc.objects)
	}
	for _, w := range ws {
		if err := queueStatus(b, w); err != nil {
			return err
		}
	}
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

type committer = store.GroupCommitter[*write]

// beginner is the part of *pgxpool.Pool the committer uses.
type beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

func (db *DB) newCommitter(pool beginner) *committer {
	return store.NewGroupCommitter(store.GroupCommitOptions[*write]{
		Run: func(ws []*write) error {
			ctx, cancel := context.WithTimeout(context.Background(), groupDeadline)
			defer cancel()
			return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error { return db.runGroup(ctx, tx, ws) })
		},
		MaxGroup:  maxGroup,
		Workers:   groupWorkers,
		Order:     func(a, b *write) int { return cmp.Compare(a.s.Collection, b.s.Collection) },
		ErrClosed: errClosed,
	})
}
