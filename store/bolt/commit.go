package bolt

import (
	"errors"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// Group commit (store.GroupCommitter). Every bbolt write transaction ends
// in fsyncs (a few milliseconds here), so one transaction per Add Objects
// request would cap single-object publishing at a few hundred requests per
// second. One worker suffices: bbolt runs one write transaction at a
// time.

// maxGroup bounds how many writes share one transaction.
const maxGroup = 256

// errClosed is returned by writes submitted after Close.
var errClosed = errors.New("store: closed")

// A write runs inside a group's transaction; like bbolt's Batch, it must
// depend only on what it reads in tx, since it is run again alone when its
// group fails.
type write = func(*bbolt.Tx) error

type committer = store.GroupCommitter[write]

func newCommitter(db *bbolt.DB, observe func(time.Duration, int)) *committer {
	return store.NewGroupCommitter(store.GroupCommitOptions[write]{
		Run: func(ws []write) error {
			return db.Update(func(tx *bbolt.Tx) error {
				for _, w := range ws {
					if err := w(tx); err != nil {
						return err
					}
				}
				return nil
			})
		},
		MaxGroup:  maxGroup,
		Observe:   observe,
		ErrClosed: errClosed,
	})
}
