package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

func recv(t *testing.T, ch <-chan time.Time) (time.Time, bool) {
	t.Helper()
	select {
	case at, ok := <-ch:
		return at, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no hint and no close")
		return time.Time{}, false
	}
}

func empty(t *testing.T, ch <-chan time.Time) {
	t.Helper()
	select {
	case at, ok := <-ch:
		t.Fatalf("unexpected hint %v (open %v)", at, ok)
	default:
	}
}

// Ensure that a watcher holds the latest hint only, never goes backwards
// and hears only of its own collection.
func TestWatchersNotify(t *testing.T) {
	var ws Watchers
	a, _ := ws.Add("a")
	b, _ := ws.Add("b")
	ws.Notify("a", 10)
	ws.Notify("a", 20)
	ws.Notify("a", 15) // out of order: dropped
	if at, _ := recv(t, a.C()); !at.Equal(time.UnixMicro(20)) || at.Location() != time.UTC {
		t.Errorf("hint %v, want the latest, 20µs UTC", at)
	}
	empty(t, a.C())
	empty(t, b.C())
	ws.Notify("a", 20)
	empty(t, a.C())
	ws.Notify("nobody", 1)

	ws.Since(b, 30)
	ws.Notify("b", 30)
	empty(t, b.C())
	ws.Notify("b", 31)
	if at, _ := recv(t, b.C()); !at.Equal(time.UnixMicro(31)) {
		t.Errorf("hint %v, want 31µs", at)
	}
	if a.Collection() != "a" {
		t.Errorf("collection %q", a.Collection())
	}
}

// Ensure that watchers close on their context, on Remove, on Drop of their
// collection and on Close, and that Close refuses new ones.
func TestWatchersClose(t *testing.T) {
	var ws Watchers
	ctx, cancel := context.WithCancel(context.Background())
	w1, _ := ws.Add("a")
	ws.Bind(ctx, w1)
	w2, _ := ws.Add("a")
	w3, _ := ws.Add("b")
	w4, _ := ws.Add("c")
	got := ws.Collections()
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("collections %v", got)
	}
	if n := len(ws.Snapshot()); n != 4 {
		t.Errorf("snapshot of %d watchers, want 4", n)
	}

	cancel()
	if _, ok := recv(t, w1.C()); ok {
		t.Error("w1 open after its context ended")
	}
	ws.Remove(w2)
	ws.Remove(w2) // twice: no panic
	if _, ok := recv(t, w2.C()); ok {
		t.Error("w2 open after Remove")
	}
	if ws.Watching("a") {
		t.Error("a still watched")
	}
	ws.Drop("b")
	if _, ok := recv(t, w3.C()); ok {
		t.Error("w3 open after Drop")
	}
	ws.Notify("b", 1) // after Drop: nothing to send to, no panic

	// Bind of a removed watcher releases its hook at once.
	ws.Bind(context.Background(), w2)

	if !ws.Close() || ws.Close() {
		t.Error("Close reported wrongly whether it closed")
	}
	if _, ok := recv(t, w4.C()); ok {
		t.Error("w4 open after Close")
	}
	if _, ok := ws.Add("a"); ok {
		t.Error("Add after Close succeeded")
	}
	if ws.Watching("c") || len(ws.Collections()) != 0 {
		t.Error("watchers left after Close")
	}
}

// Ensure that Bind with a context already done removes the watcher.
func TestWatchersBindDone(t *testing.T) {
	var ws Watchers
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w, _ := ws.Add("a")
	ws.Bind(ctx, w)
	if _, ok := recv(t, w.C()); ok {
		t.Error("open after Bind to a done context")
	}
}

// Ensure that concurrent notifications, removals and closes neither race
// nor send on a closed channel (run with -race).
func TestWatchersConcurrent(t *testing.T) {
	var ws Watchers
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(1); i < 2000; i++ {
			ws.Notify("a", i)
		}
	}()
	for range 100 {
		w, ok := ws.Add("a")
		if !ok {
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		ws.Bind(ctx, w)
		cancel()
	}
	ws.Close()
	<-done
}
