package taxii

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// auditor writes audit rows for reads and refused requests in batches, off
// the request path: a poll must not cost a write transaction (and an
// fsync). Publishes and admin changes are audited in their own transaction
// instead, never through here. Rows still queued when the process dies are
// lost; Close flushes the rest.
//
// Its goroutine also does the server's other housekeeping: it records when
// tokens were last used and accounts last read, and removes audit rows and
// statuses past their retention.
type auditor struct {
	store store.Store
	log   *slog.Logger
	auth  *authenticator
	queue chan store.AuditEvent
	done  chan struct{}
	wg    sync.WaitGroup

	retention       time.Duration // audit rows; 0 keeps them
	statusRetention time.Duration
	now             func() time.Time
}

const (
	auditQueue   = 8192
	auditBatch   = 1024
	auditEvery   = time.Second
	pruneEvery   = time.Hour
	touchTimeout = 10 * time.Second
)

func newAuditor(st store.Store, log *slog.Logger, auth *authenticator, opts *Options) *auditor {
	a := &auditor{store: st, log: log, auth: auth, queue: make(chan store.AuditEvent, auditQueue),
		done: make(chan struct{}), retention: opts.AuditRetention, statusRetention: opts.StatusRetention, now: opts.Now}
	a.wg.Add(1)
	go a.run()
	return a
}

// record queues an event. When the queue is full it waits: losing audit
// rows silently would be worse than slowing down.
func (a *auditor) record(ev store.AuditEvent) {
	if ev.Time.IsZero() {
		ev.Time = a.now()
	}
	select {
	case a.queue <- ev:
	case <-a.done:
	}
}

func (a *auditor) run() {
	defer a.wg.Done()
	tick := time.NewTicker(auditEvery)
	defer tick.Stop()
	lastPrune := time.Time{}
	batch := make([]store.AuditEvent, 0, auditBatch)
	reads := map[string]time.Time{} // account -> last read, for Account.LastRead
	take := func(ev store.AuditEvent) {
		batch = append(batch, ev)
		if ev.Action == "read" && ev.Account != "" && ev.Time.After(reads[ev.Account]) {
			reads[ev.Account] = ev.Time
		}
	}
	flush := func() {
		if len(batch) > 0 {
			if err := a.store.AppendAudit(context.Background(), batch...); err != nil {
				a.log.Error("audit rows lost", "rows", len(batch), "err", err)
			}
			batch = batch[:0]
		}
		if used := a.auth.takeTokenUse(); used != nil || len(reads) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), touchTimeout)
			if err := a.store.RecordUse(ctx, used, reads); err != nil {
				a.log.Warn("could not record token use and reads", "err", err)
			}
			cancel()
			clear(reads)
		}
	}
	for {
		select {
		case ev := <-a.queue:
			take(ev)
			if len(batch) == auditBatch {
				flush()
			}
		case <-tick.C:
			flush()
			if time.Since(lastPrune) > pruneEvery {
				lastPrune = time.Now()
				a.prune()
			}
		case <-a.done:
			for {
				select {
				case ev := <-a.queue:
					take(ev)
				default:
					flush()
					return
				}
			}
		}
	}
}

// prune removes statuses, change feed tombstones and audit rows past
// their retention.
func (a *auditor) prune() {
	ctx := context.Background()
	if n, err := a.store.PruneStatuses(ctx, a.now().Add(-a.statusRetention)); err != nil {
		a.log.Warn("status pruning failed", "err", err)
	} else if n > 0 {
		a.log.Info("statuses pruned", "statuses", n)
	}
	// The change feed's tombstones share the statuses' retention: a stream
	// or webhook consumer further behind than that resynchronises.
	if n, err := a.store.PruneDeletions(ctx, a.now().Add(-a.statusRetention)); err != nil {
		a.log.Warn("deletion pruning failed", "err", err)
	} else if n > 0 {
		a.log.Info("deletions pruned", "deletions", n)
	}
	if a.retention <= 0 {
		return
	}
	if n, err := a.store.PruneAudit(ctx, a.now().Add(-a.retention)); err != nil {
		a.log.Warn("audit pruning failed", "err", err)
	} else if n > 0 {
		a.log.Info("audit rows pruned", "rows", n)
	}
}

// close flushes what is queued and stops the writer.
func (a *auditor) close() {
	close(a.done)
	a.wg.Wait()
}
