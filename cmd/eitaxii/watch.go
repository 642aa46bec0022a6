package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"time"

	"github.com/eitaxii/eitaxii/client"
)

const watchUsage = `usage: eitaxii watch --server URL --collection ID|ALIAS|TITLE [OPTIONS]

Writes every object published to a collection as it arrives, from eitaxii's
live stream ({api-root}/collections/{id}/stream/), and keeps going: when the
server is away it reconnects with exponential backoff and jitter (at most
--max-delay apart, or as the server's retry: asks) and resumes after the
last event it wrote, so nothing is lost and little is repeated.

options: as eitaxii poll (--server, --collection, --api-root, --since-file,
--type, credentials), and
  --format F           jsonl (the default), csv or values; stix, one envelope,
                       cannot be kept open
  --out FILE           append to FILE (synced before the state is written)
                       instead of writing to standard output
  --idle-timeout D     reconnect when the server sends nothing, not even a
                       heartbeat, for D (default 60s)
  --max-delay D        the longest wait between reconnects (default 60s)

--since-file records the last event id (sent as Last-Event-ID) after each
burst of events is written out; a state written by eitaxii poll starts the
stream after its last date_added. Without a state the stream starts at the
newest object. Deletions are reported on standard error.
exit status: 0 stopped by a signal, 1 failed (the server refused the
stream, for example 401 or 404; an event that cannot be used; the output),
2 usage, 3 the state file is unreadable or another collection's.
`

// maxEventsPerState bounds the events written between two state writes:
// a crash repeats at most this many.
const maxEventsPerState = 256

// minRetryDelay is the least reconnect delay, whatever retry: says: a
// server asking for 0 would otherwise be hammered.
const minRetryDelay = 250 * time.Millisecond

// runWatch implements `eitaxii watch` and returns the exit status.
func runWatch(ctx context.Context, args []string, e *env) int {
	return consumerStatus(e, "watch", watchUsage, watchCommand(ctx, args, e))
}

func watchCommand(ctx context.Context, args []string, e *env) error {
	k := &consumer{ctx: ctx, e: e}
	fs := newAdminFlagSet("watch")
	k.flags(fs)
	idle := fs.Duration("idle-timeout", defaultWatchIdle, "reconnect after this long without a byte")
	maxDelay := fs.Duration("max-delay", defaultWatchMaxDelay, "longest wait between reconnects")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	if err := k.check(); err != nil {
		return err
	}
	switch {
	case k.format == formatSTIX:
		return usagef("", "--format stix is one envelope and cannot be kept open; use jsonl")
	case *idle <= 0 || *maxDelay <= 0:
		return usagef("", "--idle-timeout and --max-delay must be positive")
	}
	// The output of watch only ever grows.
	k.appendOut = k.out != ""
	c, err := k.connFlags.connectClient(e, connOptions{name: "eitaxii watch", userAgent: "eitaxii-watch",
		maxResponse: pollMaxResponse, responseHeaderTimeout: watchHeaderTimeout})
	if err != nil {
		return err
	}
	k.c = c
	w := &watcher{k: k, idle: *idle, back: backoff{base: time.Second, max: *maxDelay, jitter: e.jitter}, sleep: e.sleep}
	if w.back.jitter == nil {
		w.back.jitter = rand.Float64
	}
	if w.sleep == nil {
		w.sleep = sleepCtx
	}
	return w.run(ctx)
}

// sleepCtx waits d, or until ctx is done (then it returns ctx's error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff computes reconnect delays: base doubled per failed attempt up to
// max, each drawn at random from its upper half so that many watchers cut
// off at once do not come back at once.
type backoff struct {
	base, max time.Duration
	attempt   int
	jitter    func() float64
}

// next returns the delay before the next attempt and counts it.
func (b *backoff) next() time.Duration {
	d := b.max
	if b.attempt < 30 {
		if x := b.base << b.attempt; x > 0 && x < b.max {
			d = x
		}
	}
	b.attempt++
	return d/2 + time.Duration(b.jitter()*float64(d/2))
}

// reset starts over after a connection that delivered events.
func (b *backoff) reset() { b.attempt = 0 }

// setBase takes the server's retry: as the first delay, within
// [minRetryDelay, max].
func (b *backoff) setBase(d time.Duration) {
	b.base = min(max(d, minRetryDelay), b.max)
}

// watcher is one run of `eitaxii watch`.
type watcher struct {
	k     *consumer
	idle  time.Duration
	back  backoff
	sleep func(context.Context, time.Duration) error

	st      *pollState
	out     *objectWriter
	file    *os.File // --out, or nil for standard output
	pending int      // events written since the state was
}

// fatalError marks an error that reconnecting cannot cure.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// retryable reports whether err, from resolving the collection or opening
// the stream, may pass: the server is away, overloaded or restarting.
// A refusal (401, 403, 404, 406, ...) is final.
func retryable(err error) bool {
	if _, ok := errors.AsType[*client.NotEventStreamError](err); ok {
		return false
	}
	if _, ok := errors.AsType[*usageError](err); ok || errors.Is(err, errNoCollection) {
		return false
	}
	switch s := client.StatusOf(err); {
	case s == 0:
		return true
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
		return true
	}
	return false
}

// run resolves the collection and then reads the stream until ctx is
// done, reconnecting as needed. It returns nil when ctx is done.
func (w *watcher) run(ctx context.Context) error {
	k := w.k
	for {
		err := k.resolve()
		if err == nil {
			break
		}
		if !retryable(err) {
			return err
		}
		if w.wait(ctx, err) != nil {
			return nil
		}
	}
	st, err := k.loadState()
	if err != nil {
		return err
	}
	w.st = st
	if k.out != "" {
		f, seen, empty, err := k.openAppend()
		if err != nil {
			return err
		}
		defer f.Close()
		w.file, w.out = f, newObjectWriter(k.format, f, seen, empty)
	} else {
		w.out = newObjectWriter(k.format, k.e.stdout, nil, true)
	}
	if err := w.out.begin(); err != nil {
		return err
	}
	for {
		err := w.stream(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if fe, ok := errors.AsType[*fatalError](err); ok {
			return fe.err
		}
		if err != nil && !retryable(err) {
			return err
		}
		if w.wait(ctx, err) != nil {
			return nil
		}
	}
}

// wait sleeps the next backoff delay, saying why on standard error.
func (w *watcher) wait(ctx context.Context, why error) error {
	d := w.back.next()
	if why != nil {
		fmt.Fprintf(w.k.e.stderr, "eitaxii watch: %s; reconnecting in %v\n", clean(why.Error()), d.Round(time.Millisecond))
	}
	return w.sleep(ctx, d)
}

// stream reads one connection until it ends. It returns nil when the
// server ended the stream cleanly, a *fatalError for what reconnecting
// cannot cure, and otherwise the error that ended it.
func (w *watcher) stream(ctx context.Context) (err error) {
	k := w.k
	opts := client.StreamOptions{LastEventID: w.st.LastEventID, Types: k.types, IdleTimeout: w.idle}
	if opts.LastEventID == "" {
		opts.AddedAfter = w.st.DateAddedLast
	}
	s, err := k.c.Stream(ctx, k.rootURL, k.coll.ID, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	defer func() {
		if d, ok := s.Retry(); ok {
			w.back.setBase(d)
		}
		// What was written is recorded even when the connection broke.
		if cerr := w.commit(); cerr != nil {
			err = &fatalError{cerr}
		}
	}()
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, client.ErrEventTooLarge) {
			// The same event would come again after a reconnect.
			return &fatalError{fmt.Errorf("stream of %s: %w", k.coll.ID, err)}
		}
		if err != nil {
			return err
		}
		w.back.reset()
		if err := w.event(ev); err != nil {
			return &fatalError{err}
		}
		if s.Buffered() == 0 || w.pending >= maxEventsPerState {
			// Once per burst: the server sent nothing more yet.
			if err := w.commit(); err != nil {
				return &fatalError{err}
			}
		}
	}
}

// event writes one event out and advances the state in memory.
func (w *watcher) event(ev client.Event) error {
	switch ev.Type {
	case client.EventObject:
		o, err := client.DecodeObject(ev)
		if err != nil {
			return err
		}
		if err := w.out.object(o.Object); err != nil {
			return err
		}
		w.st.DateAddedLast = o.DateAdded
	case client.EventDelete:
		d, err := client.DecodeDelete(ev)
		if err != nil {
			return err
		}
		fmt.Fprintf(w.k.e.stderr, "eitaxii watch: deleted %s version %s\n", clean(d.ID), clean(d.Version))
	case client.EventHeartbeat:
		if cur := client.DecodeHeartbeat(ev); cur != "" && cur != w.st.LastEventID {
			w.st.LastEventID = cur
			w.pending++
		}
		return nil
	default:
		// Other events are not ours to interpret (and do not move the
		// cursor, which only eitaxii's events define).
		return nil
	}
	if ev.ID != "" {
		w.st.LastEventID = ev.ID
	}
	w.pending++
	return nil
}

// commit makes what was written durable, then records the state: the
// output first, so that a crash between the two repeats events but never
// loses one.
func (w *watcher) commit() error {
	if w.pending == 0 {
		return nil
	}
	if err := w.out.flush(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if w.file != nil {
		if err := w.file.Sync(); err != nil {
			return fmt.Errorf("--out %s: %w", w.k.out, err)
		}
	}
	if w.k.e.afterOutput != nil {
		if err := w.k.e.afterOutput(); err != nil {
			return err
		}
	}
	if w.k.sinceFile != "" {
		if err := w.st.save(w.k.sinceFile); err != nil {
			return fmt.Errorf("--since-file %s: %w", w.k.sinceFile, err)
		}
	}
	w.pending = 0
	return nil
}
