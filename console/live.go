package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
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
// added from now on to a collection the viewer may read. The stream
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
		page, err := c.store.ReadChanges(ctx, coll.ID, time.Time{}, 1)
		if err != nil {
			c.fail(w, r, err)
			return
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
	if !write("retry: 3000\n\nevent: ready\ndata: {\"collections\":" + strconv.Itoa(len(colls)) + "}\n\n") {
		return
	}
	hb := time.NewTicker(c.opts.LiveHeartbeat)
	defer hb.Stop()
	want := collectionSet(colls)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			b, _ := json.Marshal(ev)
			if !write("event: object\ndata: " + string(b) + "\n\n") {
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
