package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// Ensure that writes queued while a commit is in progress share the next
// transaction, in Order, and that when it fails each runs again alone, so
// that only the bad write fails; and that Commit after Close is refused.
func TestGroupCommitter(t *testing.T) {
	errBad, errClosed := errors.New("bad write"), errors.New("closed")
	started, gate := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var runs [][]int
	c := NewGroupCommitter(GroupCommitOptions[int]{
		Run: func(ws []int) error {
			mu.Lock()
			first := len(runs) == 0
			runs = append(runs, slices.Clone(ws))
			mu.Unlock()
			if first { // hold the first commit until the others are queued
				close(started)
				<-gate
			}
			if slices.Contains(ws, -1) {
				return errBad
			}
			return nil
		},
		MaxGroup:  8,
		Order:     cmp.Compare[int],
		ErrClosed: errClosed,
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.Commit(ctx, 100); err != nil {
			t.Errorf("write 100: %v", err)
		}
	})
	<-started
	errs := make(map[int]error)
	var emu sync.Mutex
	for _, w := range []int{3, -1, 2, 1} {
		wg.Go(func() {
			err := c.Commit(ctx, w)
			emu.Lock()
			errs[w] = err
			emu.Unlock()
		})
	}
	for len(c.queue) < 4 { // the four writes queue behind the held commit
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for w, err := range errs {
		if bad := w == -1; bad != errors.Is(err, errBad) || !bad && err != nil {
			t.Errorf("write %d: %v", w, err)
		}
	}
	want := [][]int{{100}, {-1, 1, 2, 3}, {-1}, {1}, {2}, {3}}
	if !slices.EqualFunc(runs, want, slices.Equal) {
		t.Errorf("transactions %v, want %v", runs, want)
	}
	c.Close()
	c.Close() // again: no effect
	if err := c.Commit(ctx, 1); !errors.Is(err, errClosed) {
		t.Errorf("commit after Close: %v, want %v", err, errClosed)
	}
}
