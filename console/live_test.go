package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// publishIndicators publishes n indicators named prefix-0 ... over TAXII,
// as ana.
func (e *env) publishIndicators(prefix string, n int) {
	e.t.Helper()
	var objs []string
	for i := range n {
		objs = append(objs, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%s",`+
			`"created":"2026-11-03T10:00:00.000Z","modified":"2026-11-03T10:00:00.000Z","name":"%s-%d",`+
			`"pattern":"[ipv4-addr:value = '198.51.100.9']","pattern_type":"stix","valid_from":"2026-11-03T10:00:00Z"}`,
			uuid.NewString(), prefix, i))
	}
	req, _ := http.NewRequest("POST", e.url+"/officials/collections/"+collOfficials+"/objects/",
		strings.NewReader(`{"objects":[`+strings.Join(objs, ",")+`]}`))
	req.SetBasicAuth("ana", password("ana"))
	req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		e.t.Fatalf("publish: %d", resp.StatusCode)
	}
}

type sseEvent struct{ event, id, data string }

// liveStream is an open live board stream.
type liveStream struct {
	t      *testing.T
	events chan sseEvent
	cancel context.CancelFunc
}

// openLive opens the live board's stream, sending lastEventID as a
// reconnecting browser does ("" for none).
func (b *browser) openLive(t *testing.T, lastEventID string) *liveStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", b.e.url+"/console/live/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("live events: %d", resp.StatusCode)
	}
	ls := &liveStream{t: t, events: make(chan sseEvent, 1000), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		defer resp.Body.Close()
		defer close(ls.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					ls.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ls
}

// next returns the next event, failing the test after 10 s.
func (ls *liveStream) next() sseEvent {
	ls.t.Helper()
	select {
	case ev, ok := <-ls.events:
		if !ok {
			ls.t.Fatal("the live stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		ls.t.Fatal("no event in 10 s")
	}
	return sseEvent{}
}

type readyData struct {
	Collections int
	Resumed     bool
	Skipped     bool
}

func (ls *liveStream) ready() (sseEvent, readyData) {
	ls.t.Helper()
	ev := ls.next()
	var d readyData
	if ev.event != "ready" || json.Unmarshal([]byte(ev.data), &d) != nil {
		ls.t.Fatalf("first event %+v, want ready", ev)
	}
	return ev, d
}

// names reads n object events and returns their names, checking that
// each id is its date_added and that they come in date_added order.
func (ls *liveStream) names(n int) []string {
	ls.t.Helper()
	var out []string
	last := ""
	for range n {
		ev := ls.next()
		var raw struct {
			Name      string `json:"name"`
			DateAdded string `json:"date_added"`
		}
		if ev.event != "object" || json.Unmarshal([]byte(ev.data), &raw) != nil {
			ls.t.Fatalf("event %+v, want an object", ev)
		}
		if ev.id != raw.DateAdded || raw.DateAdded <= last {
			ls.t.Fatalf("event id %q for date_added %q after %q: want the date_added, ascending", ev.id, raw.DateAdded, last)
		}
		last = raw.DateAdded
		out = append(out, raw.Name)
	}
	return out
}

// Ensure that a live board that reconnects gets what was published while
// it was away, from the id of the last event it had (Last-Event-ID, what
// EventSource sends), in order, then the live objects; that at most 100
// per collection are replayed and the board is told when more were
// skipped; and that a board with no id, or a bad one, starts at now.
func TestLiveBoardResumes(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.mustSignIn("rita")

	ls := b.openLive(t, "")
	first, d := ls.ready()
	if d.Resumed || d.Collections != 1 || first.id == "" {
		t.Fatalf("a new board: ready %+v with id %q", d, first.id)
	}
	ls.cancel()

	e.publishIndicators("away", 3)
	ls = b.openLive(t, first.id)
	if _, d := ls.ready(); !d.Resumed || d.Skipped {
		t.Fatalf("a resumed board: ready %+v", d)
	}
	if got := strings.Join(ls.names(3), " "); got != "away-0 away-1 away-2" {
		t.Fatalf("replayed %q, want away-0 away-1 away-2", got)
	}
	e.publishIndicators("live", 1)
	if got := ls.names(1); got[0] != "live-0" {
		t.Fatalf("after the replay %q, want live-0", got)
	}
	ls.cancel()

	e.publishIndicators("many", 120)
	ls = b.openLive(t, first.id)
	if _, d := ls.ready(); !d.Resumed || !d.Skipped {
		t.Fatalf("a board 124 objects behind: ready %+v, want skipped", d)
	}
	if got := ls.names(100); got[0] != "away-0" || got[99] != "many-95" {
		t.Fatalf("replayed %s ... %s, want away-0 ... many-95", got[0], got[99])
	}
	ls.cancel()

	for _, id := range []string{"", "yesterday", strings.Repeat("9", 100), "0001-01-01T00:00:00.000000Z"} {
		ls := b.openLive(t, id)
		if _, d := ls.ready(); d.Resumed {
			t.Errorf("Last-Event-ID %q resumed", id)
		}
		e.publishIndicators("fresh", 1)
		if got := ls.names(1); got[0] != "fresh-0" {
			t.Errorf("Last-Event-ID %q: first object %q, want fresh-0 (nothing replayed)", id, got[0])
		}
		ls.cancel()
	}
}
