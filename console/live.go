package console

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
)

// maxLiveBoards bounds the live boards one account has open on a node:
// each holds a subscription per readable collection.
const maxLiveBoards = 8

// liveWriteTimeout bounds one write to a live board that reads nothing.
const liveWriteTimeout = 30 * time.Second

// Resuming a live board. Each event's id is its date_added; a browser
// that reconnects sends the last one it received (Last-Event-ID). The
// board merges the feeds of several collections, whose cursors are
// independent: an event of one collection may have been sent after a
// later-dated event of another. So the replay starts liveResumeSlack
// before that id, and the board drops what it already shows. At most
// liveReplay changes of each collection are replayed; beyond that the
// board says that it skipped some.
const (
	liveResumeSlack = 5 * time.Second
	liveReplay      = 100
)

// resumeFrom returns where a reconnecting board's replay starts, from its
// Last-Event-ID header, and false when there is none to resume from.
func resumeFrom(lastEventID string) (time.Time, bool) {
	if lastEventID == "" || len(lastEventID) > len(store.TimestampLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(store.TimestampLayout, lastEventID)
	if err != nil || t.Before(time.Unix(0, 0)) {
		return time.Time{}, false
	}
	return t.Add(-liveResumeSlack), true
}

func (c *Console) handleLive(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "live", page{Title: "Live board"})
}

// liveEvent is one object on the live board, as its script reads it.
type liveEvent struct {
	Group      string `json:"group"`
	Collection string `json:"collection"`
	Title      string `json:"collection_title"`
	ID         string `json:"id"`
	Type       string `json:"type"`
	Name       string `json:"name,omitempty"`
	Detail     string `json:"detail,omitempty"`
	TLP        string `json:"tlp"`
	DateAdded  string `json:"date_added"`
	Link       string `json:"link"`
}

// handleLiveEvents streams, as Server-Sent Events, each object version
// added from now on to a collection the viewer may read; a reconnecting
// board first gets what it missed (see resumeFrom). The stream
// checks the session at every heartbeat and ends ("event: end") when it
// has ended or the viewer's readable collections changed: the board then
// reconnects, with the new set, or goes to the sign-in page. It also ends
// when the board reads too slowly (the browser reconnects).
func (c *Console) handleLiveEvents(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	name := s.viewer.Account.Name
	c.liveMu.Lock()
	if c.liveBoards[name] >= maxLiveBoards {
		c.liveMu.Unlock()
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many live boards open for this account", http.StatusTooManyRequests)
		return
	}
	c.liveBoards[name]++
	c.liveMu.Unlock()
	defer func() {
		c.liveMu.Lock()
		if c.liveBoards[name]--; c.liveBoards[name] <= 0 {
			delete(c.liveBoards, name)
		}
		c.liveMu.Unlock()
	}()
	c.liveDone.Add(1)
	defer c.liveDone.Done()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(c.liveCtx, cancel)
	defer stop()

	colls := s.viewer.readable()
	// The ready event's id is where a board that reconnects before any
	// object arrives resumes: the time the subscriptions start (or the id
	// it resumed from). Every change committed after it has a later
	// date_added, clock skew between nodes within liveResumeSlack aside.
	readyID := c.svc.Now().UTC().Format(store.TimestampLayout)
	from, resumed := resumeFrom(r.Header.Get("Last-Event-ID"))
	if resumed {
		readyID = r.Header.Get("Last-Event-ID")
	}
	var replay []liveEvent
	skipped := false
	type source struct {
		coll *Collection
		sub  *delivery.Subscription
		pos  time.Time
	}
	events := make(chan liveEvent, 64)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, coll := range colls {
		sub, err := c.svc.Subscribe(ctx, coll.ID)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		defer sub.Close()
		// Subscribed first, then the position read: a change committed in
		// between is both queued and at or before pos, and skipped.
		var page *store.ChangePage
		if resumed {
			page, err = c.store.ReadChanges(ctx, coll.ID, from, liveReplay)
		} else {
			page, err = c.store.ReadChanges(ctx, coll.ID, time.Time{}, 1)
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if resumed {
			for i := range page.Changes {
				if ch := &page.Changes[i]; !ch.Deleted {
					replay = append(replay, toLiveEvent(coll, &ch.Record))
				}
			}
			skipped = skipped || page.More
		}
		src := source{coll: coll, sub: sub, pos: page.Newest}
		wg.Go(func() {
			defer cancel() // a subscription that ends ends the stream
			for {
				select {
				case <-src.sub.Done():
					return
				case ch := <-src.sub.C():
					if ch.Deleted || !ch.Cursor.After(src.pos) {
						continue
					}
					src.pos = ch.Cursor
					select {
					case events <- toLiveEvent(src.coll, &ch.Record):
					case <-ctx.Done():
						return
					}
				}
			}
		})
	}

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(b string) bool {
		rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout))
		if _, err := w.Write([]byte(b)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	ready, _ := json.Marshal(struct {
		Collections int  `json:"collections"`
		Resumed     bool `json:"resumed"`
		Skipped     bool `json:"skipped"`
	}{len(colls), resumed, skipped})
	if !write("retry: 3000\n\nevent: ready\nid: " + readyID + "\ndata: " + string(ready) + "\n\n") {
		return
	}
	slices.SortStableFunc(replay, func(a, b liveEvent) int { return strings.Compare(a.DateAdded, b.DateAdded) })
	for _, ev := range replay {
		if !write(ev.sse()) {
			return
		}
	}
	hb := time.NewTicker(c.opts.LiveHeartbeat)
	defer hb.Stop()
	want := collectionSet(colls)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			if !write(ev.sse()) {
				return
			}
		case <-hb.C:
			now, err := c.loadSession(r)
			if err != nil || now == nil || collectionSet(now.viewer.readable()) != want {
				write("event: end\ndata: {}\n\n")
				return
			}
			if !write(": heartbeat\n\n") {
				return
			}
		}
	}
}

// sse is the event as the board receives it; its id is where a
// reconnecting board resumes.
func (ev liveEvent) sse() string {
	b, _ := json.Marshal(ev)
	return "event: object\nid: " + ev.DateAdded + "\ndata: " + string(b) + "\n\n"
}

// collectionSet names a set of collections, to notice a change of it.
func collectionSet(colls []*Collection) string {
	ids := make([]string, len(colls))
	for i, c := range colls {
		ids[i] = c.ID
	}
	return strings.Join(ids, ",")
}

func toLiveEvent(coll *Collection, rec *store.Record) liveEvent {
	sum, _ := summarize(rec)
	tlp := "none"
	if sum.TLP != stix.TLPNone {
		tlp = strings.ToLower(strings.TrimPrefix(sum.TLP.String(), "TLP:"))
	}
	return liveEvent{Group: coll.APIRoot, Collection: coll.ID, Title: coll.Title, ID: sum.ID, Type: sum.Type,
		Name: sum.Name, Detail: sum.Detail, TLP: tlp, DateAdded: rec.DateAdded.UTC().Format(store.TimestampLayout),
		Link: "/console/g/" + coll.APIRoot + "/c/" + coll.ID + "/o/" + sum.ID}
}
