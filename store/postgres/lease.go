package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The webhook dispatch lease. The dispatcher must run on one node at a
// time, so the lease is a session-level advisory lock (lockDispatch) held
// on a connection of the lease's own, outside the pool: PostgreSQL
// releases it when that session ends, however it ends (release, the
// node's process exiting or crashing, the connection breaking), with no
// expiry to renew and no row to clean up after a dead node. A lease row
// with an expiry would survive the same failures but hand over only
// after the expiry, and needs clocks to agree.
//
// A waiting node tries the lock every leaseRetry. The holder checks its
// session every leasePing and ends the lease (its context) when a check
// fails or takes longer than leasePingTimeout. The session is set up so
// that the server also ends it when the holder goes silent without
// closing its connection (a frozen process, a network partition): after
// leaseIdleTimeout without a statement (idle_session_timeout, PostgreSQL
// 14 and later) and when TCP keepalives go unanswered. The holder's own
// check ends its lease first (leasePing + leasePingTimeout is below
// leaseIdleTimeout), so the node that takes over starts after the old one
// stopped, unless the old one was frozen for longer than leaseIdleTimeout;
// then two dispatchers can overlap until the old one's next check, at
// most leasePing later. Deliveries are at least once anyway (a receiver
// deduplicates by webhook-id).
//
// A session lock needs a session: the database URL must reach
// PostgreSQL directly or through a pooler in session mode (a pooler in
// transaction mode would hand the lock's session to other clients).
const (
	leaseRetry       = time.Second
	leasePing        = 2 * time.Second
	leasePingTimeout = 5 * time.Second
	leaseIdleTimeout = 15 * time.Second
)

// leaseSetupSQL configures the lease's session (see above). The keepalive
// settings apply to TCP connections only and are ignored on a unix socket.
const leaseSetupSQL = `SELECT set_config('idle_session_timeout', $1, false) WHERE current_setting('server_version_num')::int >= 140000
UNION ALL SELECT set_config('tcp_keepalives_idle', '5', false)
UNION ALL SELECT set_config('tcp_keepalives_interval', '2', false)
UNION ALL SELECT set_config('tcp_keepalives_count', '3', false)`

// leases tracks the store's held leases, so that Close ends them.
type leases struct {
	mu     sync.Mutex
	closed bool
	stop   context.Context // done when the store closes
	cancel context.CancelFunc
	held   map[*lease]struct{}
}

// lease is one held dispatch lease.
type lease struct {
	conn   *pgx.Conn
	cancel context.CancelFunc // ends the lease's context
	done   chan struct{}      // closed once the session is closed
}

func newLeases() *leases {
	stop, cancel := context.WithCancel(context.Background())
	return &leases{stop: stop, cancel: cancel, held: map[*lease]struct{}{}}
}

// close ends every held lease and waits for their sessions to close;
// DispatchLease calls waiting for the lock return errClosed.
func (ls *leases) close() {
	ls.mu.Lock()
	ls.closed = true
	ls.cancel()
	held := make([]*lease, 0, len(ls.held))
	for l := range ls.held {
		held = append(held, l)
	}
	ls.mu.Unlock()
	for _, l := range held {
		l.cancel()
		<-l.done
	}
}

// DispatchLease blocks until this node holds the dispatch lease, the
// session-level advisory lock lockDispatch on a connection of its own (see
// above for the failures it survives), and returns a context that is done
// when the lease is lost (the session failed a check, or the store
// closed) or ctx is done, with release, which ends the lease's context
// and closes its session, releasing the lock. release may be called more
// than once and waits for the session to close, so another node may take
// the lease as soon as it returns. While it waits, connection failures
// are retried with backoff. Returns ctx's error when ctx is done before
// the lease is held, and an error of no package's kind when the store is
// closed; no error of this package.
func (db *DB) DispatchLease(ctx context.Context) (context.Context, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	// Waiting ends with ctx or with the store.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(db.leases.stop, stop)()
	conn, err := db.acquireLease(wctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, errClosed
	}
	lctx, cancel := context.WithCancel(ctx)
	l := &lease{conn: conn, cancel: cancel, done: make(chan struct{})}
	ls := db.leases
	ls.mu.Lock()
	if ls.closed {
		ls.mu.Unlock()
		cancel()
		closeConn(conn)
		return nil, nil, errClosed
	}
	ls.held[l] = struct{}{}
	ls.mu.Unlock()
	go db.holdLease(lctx, l)
	release := func() {
		cancel()
		<-l.done
	}
	return lctx, release, nil
}

// acquireLease connects and tries the lock until it is granted or ctx is
// done, reconnecting with backoff when the connection fails.
func (db *DB) acquireLease(ctx context.Context) (*pgx.Conn, error) {
	backoff := reconnectFirst
	for {
		conn, err := db.leaseConn(ctx)
		for err == nil {
			var ok bool
			if err = conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockDispatch).Scan(&ok); err != nil {
				break
			}
			if ok {
				return conn, nil
			}
			backoff = reconnectFirst // the database answers: only the lock is busy
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(leaseRetry):
			}
		}
		if conn != nil {
			// Also when the lock was granted but its answer lost: closing
			// the session releases it.
			closeConn(conn)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, reconnectMax)
	}
}

// leaseConn opens a lease session, named in pg_stat_activity so that an
// operator can tell which node holds the lease.
func (db *DB) leaseConn(ctx context.Context) (*pgx.Conn, error) {
	cfg := db.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "eitaxii webhook dispatch lease"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, leaseSetupSQL, leaseIdleTimeout.String()); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

// holdLease checks the lease's session every leasePing until the lease
// ends, ends the lease when a check fails, then closes the session.
func (db *DB) holdLease(ctx context.Context, l *lease) {
	defer func() {
		l.cancel()
		closeConn(l.conn)
		db.leases.mu.Lock()
		delete(db.leases.held, l)
		db.leases.mu.Unlock()
		close(l.done)
	}()
	t := time.NewTicker(leasePing)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// The same session answering means the lock is still held: it is
		// released only with the session (pgx.Conn does not reconnect).
		pctx, cancel := context.WithTimeout(ctx, leasePingTimeout)
		_, err := l.conn.Exec(pctx, "SELECT 1")
		cancel()
		if err != nil {
			return
		}
	}
}

// closeConn closes a session, giving up on a polite goodbye after a
// second (a broken connection is closed at once anyway).
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}
