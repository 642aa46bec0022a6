package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

// The change feed's hints. A commit that changes a collection's versions
// notifies changesChannel with the collection id and the collection's new
// newest cursor, and the node that made it also tells its own watchers
// directly once the commit is done, so that a hint is delivered before
// AddObjects or DeleteObject returns. The other nodes hear the
// notification on their listening connection (one per store, opened at
// the first Watch) and pass the cursor on to their watchers without a
// read: PostgreSQL delivers a notification only once the transaction that
// sent it is committed and visible to new snapshots, so a read that
// follows the hint sees the change. A notification without a cursor (a
// deleted collection) is answered by reading the collection's newest
// cursor, one statement for every collection so hinted while the previous
// read ran. A notification is a wake-up hint only: it can be lost (the
// listener reconnecting after the database restarted), so the listener
// also reads the newest cursor of every watched collection every feedPoll,
// however many notifications arrive, and after each reconnect. Hints only
// move forward: a watcher is sent a cursor only when it is newer than the
// last it was sent.

// changesChannel is the channel this release's commits notify and its
// listener listens on. Its payload is "<collection id>" or "<collection
// id> <cursor µs>".
const changesChannel = "eitaxii_changes"

// legacyChannel is the channel of earlier releases, whose payload is the
// collection id alone. Commits notify it too, so that nodes of an earlier
// release hear this one's commits during a rolling upgrade; this release
// does not listen on it (it would read the cursor for every commit) and
// hears an earlier release's commits by the periodic read, within
// feedPoll.
const legacyChannel = "eitaxii_objects"

// Bounds of the listener.
const (
	feedPoll       = 2 * time.Second // the read covering lost notifications
	reconnectFirst = 100 * time.Millisecond
	reconnectMax   = 5 * time.Second
)

// errClosed is returned by calls on a closed store that would otherwise
// wait for it.
var errClosed = errors.New("postgres: store closed")

// queueNotify queues the notification of a change to collID in b, newest
// being the collection's newest cursor (µs) once the transaction commits,
// or 0 when the collection is gone; it is delivered when the transaction
// commits, never before.
func queueNotify(b *pgx.Batch, collID string, newest int64) {
	payload := collID
	if newest > 0 {
		payload += " " + strconv.FormatInt(newest, 10)
	}
	b.Queue("SELECT pg_notify('"+changesChannel+"', $1), pg_notify('"+legacyChannel+"', $2)", payload, collID)
}

// parsePayload splits a changesChannel payload into the collection id and
// the cursor, 0 when it carries none (or one that is not a number).
func parsePayload(payload string) (coll string, cursor int64) {
	coll, c, ok := strings.Cut(payload, " ")
	if !ok {
		return payload, 0
	}
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n <= 0 {
		return coll, 0
	}
	return coll, n
}

// feed delivers hints to the store's watchers (store.Watchers) and runs
// the listener, started by the first Watch.
type feed struct {
	db *DB
	ws store.Watchers

	mu      sync.Mutex
	closed  bool
	started bool               // the listener runs
	stop    context.CancelFunc // stops the listener
	done    chan struct{}      // closed when the listener has stopped

	// The collections hinted without a cursor since the reader last
	// took them, and its wake-up.
	pendMu sync.Mutex
	pend   map[string]struct{}
	wake   chan struct{} // capacity 1
}

func newFeed(db *DB) *feed {
	return &feed{db: db, done: make(chan struct{}), pend: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

// Watch subscribes to a collection's change feed: the channel receives the
// collection's newest cursor after each commit that adds versions to it or
// deletes some, on this node or another; this node's own commits are
// hinted before AddObjects or DeleteObject returns, other nodes' within a
// few seconds at worst (a lost notification waits for the periodic read).
// The channel holds one value: a hint not yet received is replaced by a
// newer one, and a receiver never gets an older cursor after a newer one.
// The channel is closed when ctx is done, when the collection is deleted
// (on this node at once, on another within a few seconds) and when the
// store closes. Returns ErrCollectionNotFound for an unknown collection.
func (db *DB) Watch(ctx context.Context, collID string) (_ <-chan time.Time, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f := db.feed
	w, err := f.add(collID)
	if err != nil {
		return nil, err
	}
	// Registered first, checked second: a deletion between the two closes
	// the channel rather than leaving it open for ever.
	var last int64
	err = db.pool.QueryRow(ctx, "SELECT last_added FROM collections WHERE id = $1", collID).Scan(&last)
	if errNoRows(err) {
		err = fmt.Errorf("%s: %w", collID, store.ErrCollectionNotFound)
	}
	if err != nil {
		f.ws.Remove(w)
		return nil, err
	}
	// Changes up to now are the caller's to read: hints start after them.
	f.ws.Since(w, last)
	f.ws.Bind(ctx, w)
	return w.C(), nil
}

// add subscribes to coll, starting the listener if it does not run yet.
func (f *feed) add(coll string) (*store.Watcher, error) {
	w, ok := f.ws.Add(coll)
	if !ok {
		return nil, errClosed
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started && !f.closed {
		f.started = true
		ctx, cancel := context.WithCancel(context.Background())
		f.stop = cancel
		go f.listen(ctx)
	}
	return w, nil
}

// notify sends newest (µs) to the watchers of coll that have not been
// sent it or a later cursor, replacing a hint they have not received.
func (f *feed) notify(coll string, newest int64) { f.ws.Notify(coll, newest) }

// dropped closes the watchers of a collection that no longer exists.
func (f *feed) dropped(coll string) { f.ws.Drop(coll) }

// close stops the listener and closes every watcher.
func (f *feed) close() {
	f.ws.Close()
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	started := f.started
	if started {
		f.stop()
	}
	f.mu.Unlock()
	if started {
		<-f.done
	}
}

// listen holds the listening connection until ctx ends, reconnecting with
// backoff when it breaks (the database restarted, a network cut), and
// reads every watched collection's newest cursor at each (re)connection;
// the reader it runs beside it answers the hints without a cursor and
// reads every watched collection every feedPoll.
func (f *feed) listen(ctx context.Context) {
	defer close(f.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { f.reader(ctx) })
	backoff := reconnectFirst
	for ctx.Err() == nil {
		if f.session(ctx) == nil || ctx.Err() != nil {
			return
		}
		// The connection broke, or never came up: retry, backing off.
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, reconnectMax)
	}
}

// session connects, listens, and passes notifications on until the
// connection fails or ctx ends.
func (f *feed) session(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, f.db.pool.Config().ConnConfig.Copy())
	if err != nil {
		f.refresh(ctx, nil) // the pool may still reach the database
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return err
	}
	// Notifications sent while no connection listened are lost: read.
	f.refresh(ctx, nil)
	for {
		// Bounded, so that a connection pgx has closed is noticed.
		wctx, cancel := context.WithTimeout(ctx, feedPoll)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			f.hinted(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// pgx keeps the connection usable after a read deadline.
			if conn.IsClosed() {
				return err
			}
		default:
			return err
		}
	}
}

// hinted handles one notification: a cursor goes to the watchers at
// once; a collection hinted without one is left for the reader.
func (f *feed) hinted(payload string) {
	coll, cursor := parsePayload(payload)
	if cursor > 0 {
		f.notify(coll, cursor)
		return
	}
	if !f.ws.Watching(coll) {
		return
	}
	f.pendMu.Lock()
	f.pend[coll] = struct{}{}
	f.pendMu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default: // the reader has a wake-up pending: it will take coll too
	}
}

// reader reads, until ctx ends, the newest cursor of the collections
// hinted without one (all those hinted while a read ran, in the next
// read) and, every feedPoll, of every watched collection.
func (f *feed) reader(ctx context.Context) {
	poll := time.NewTicker(feedPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
			f.pendMu.Lock()
			ids := make([]string, 0, len(f.pend))
			for id := range f.pend {
				ids = append(ids, id)
			}
			clear(f.pend)
			f.pendMu.Unlock()
			f.refresh(ctx, ids)
		case <-poll.C:
			f.refresh(ctx, nil)
		}
	}
}

// refresh reads the newest cursor of the watched collections among ids
// (nil: of every watched collection) for their watchers, and closes the
// watchers of those deleted.
func (f *feed) refresh(ctx context.Context, ids []string) {
	if ids == nil {
		ids = f.ws.Collections()
	}
	if len(ids) == 0 {
		return
	}
	rows, err := f.db.pool.Query(ctx, "SELECT id, last_added FROM collections WHERE id = ANY($1)", ids)
	if err != nil {
		return // the next read retries
	}
	found := map[string]int64{}
	for rows.Next() {
		var id string
		var last int64
		if rows.Scan(&id, &last) == nil {
			found[id] = last
		}
	}
	rows.Close()
	if rows.Err() != nil {
		return
	}
	for _, id := range ids {
		if last, ok := found[id]; ok {
			f.notify(id, last)
		} else {
			f.dropped(id)
		}
	}
}
