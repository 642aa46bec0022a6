package taxii

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// Ensure that the re-check of an open stream against a new directory
// (streamAllowed) asks what the request was answered by: each change that
// would refuse the request now ends the stream, and nothing else does.
func TestStreamAllowed(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	certKey := sha256.Sum256([]byte("certificate"))
	base := func() *store.Directory {
		return &store.Directory{
			Accounts:    []store.Account{{Name: "county", PasswordHash: "$2a$hash", Certificates: []string{hex.EncodeToString(certKey[:])}}},
			Tokens:      []store.Token{{ID: "tok1", Account: "county", Hash: hex.EncodeToString(make([]byte, 32)), Expires: now.Add(time.Hour)}},
			Groups:      []store.Group{{Name: "eo", Members: map[string]access.Role{"county": access.RoleReader}}},
			Collections: []store.Collection{{ID: "c1", APIRoot: "eo"}},
		}
	}
	for _, tc := range []struct {
		name   string
		via    string
		change func(d *store.Directory)
		now    time.Time
		want   bool
	}{
		{"Unchanged", "password", func(*store.Directory) {}, now, true},
		{"UnchangedToken", "token", func(*store.Directory) {}, now, true},
		{"UnchangedCertificate", "certificate", func(*store.Directory) {}, now, true},
		{"OtherChange", "password", func(d *store.Directory) { d.Groups = append(d.Groups, store.Group{Name: "other"}) }, now, true},
		{"AccountDisabled", "password", func(d *store.Directory) { d.Accounts[0].Disabled = true }, now, false},
		{"AccountDeleted", "token", func(d *store.Directory) { d.Accounts = nil }, now, false},
		{"PasswordChanged", "password", func(d *store.Directory) { d.Accounts[0].PasswordHash = "$2a$other" }, now, false},
		{"PasswordChangedTokenStream", "token", func(d *store.Directory) { d.Accounts[0].PasswordHash = "$2a$other" }, now, true},
		{"TokenRevoked", "token", func(d *store.Directory) { d.Tokens[0].Revoked = true }, now, false},
		{"TokenExpired", "token", func(*store.Directory) {}, now.Add(time.Hour), false},
		{"TokenDeleted", "token", func(d *store.Directory) { d.Tokens = nil }, now, false},
		{"CertificateRemoved", "certificate", func(d *store.Directory) { d.Accounts[0].Certificates = nil }, now, false},
		{"MembershipRemoved", "password", func(d *store.Directory) { delete(d.Groups[0].Members, "county") }, now, false},
		{"GroupDeleted", "password", func(d *store.Directory) { d.Groups, d.Collections = nil, nil }, now, false},
		{"CollectionDeleted", "password", func(d *store.Directory) { d.Collections = nil }, now, false},
		{"ReadRoleRaised", "password", func(d *store.Directory) { d.Collections[0].Policy.ReadRole = access.RolePublisher }, now, false},
		{"RoleRaised", "password", func(d *store.Directory) { d.Groups[0].Members["county"] = access.RoleAdmin }, now, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			tc.change(d)
			st := &openStream{account: "county", via: tc.via, tokenID: "tok1", passwordHash: "$2a$hash", certKey: certKey, group: "eo", coll: "c1"}
			if got := streamAllowed(buildDirectory(d), st, tc.now); got != tc.want {
				t.Errorf("streamAllowed = %v, want %v", got, tc.want)
			}
		})
	}
}

// writeSizes records the size of each write the stream makes.
type writeSizes struct {
	*httptest.ResponseRecorder
	sizes []int
}

func (w *writeSizes) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.ResponseRecorder.Write(p)
}

// Ensure the bounds of a stream's write buffer: it is full (to be written
// before more is appended) from streamFlushBytes on, a write gives it back
// to streamBuffers so that a writer with nothing to write holds none, and
// a buffer one large event made grow past streamBufferKeep is not pooled:
// the entry goes back with the buffer it was taken with.
func TestSSEWriter_Bounds(t *testing.T) {
	rec := &writeSizes{ResponseRecorder: httptest.NewRecorder()}
	c, _ := gin.CreateTestContext(rec)
	sw := &sseWriter{w: c.Writer, rc: http.NewResponseController(c.Writer), timeout: time.Minute}
	data := []byte(strings.Repeat("x", 1000))
	n := 0
	for !sw.full() {
		sw.event("object", "id", data)
		n++
	}
	if len(sw.buf) < streamFlushBytes || len(sw.buf) >= streamFlushBytes+1100 {
		t.Errorf("full at %d bytes after %d events, want from %d on", len(sw.buf), n, streamFlushBytes)
	}
	if cap(sw.buf) > streamBufferSize {
		t.Errorf("a full buffer grew to %d bytes, want it to fit in the pooled %d", cap(sw.buf), streamBufferSize)
	}
	if err := sw.flush(); err != nil {
		t.Fatal(err)
	}
	if len(rec.sizes) != 1 || rec.sizes[0] < streamFlushBytes {
		t.Errorf("writes %v, want one of at least %d bytes", rec.sizes, streamFlushBytes)
	}
	if sw.buf != nil || sw.bufp != nil {
		t.Errorf("buffer of capacity %d held after its write, want it given back", cap(sw.buf))
	}
	// The writer's own flush keeps what it wrote: the bytes are the
	// events, whatever the pool does with the buffer afterwards.
	if got := rec.Body.Len(); got != rec.sizes[0] || !strings.HasPrefix(rec.Body.String(), "event: object\nid: id\ndata: xxx") {
		t.Errorf("body of %d bytes starting %.30q, want the %d bytes of the events", got, rec.Body.String(), rec.sizes[0])
	}

	sw.event("object", "id", []byte(strings.Repeat("y", 2*streamBufferKeep)))
	if err := sw.flush(); err != nil {
		t.Fatal(err)
	}
	if len(rec.sizes) != 2 || rec.sizes[1] < 2*streamBufferKeep {
		t.Errorf("writes %v, want a second one holding the large event", rec.sizes)
	}
	// The pool hands this goroutine what it just put back (or, at times
	// under the race detector, a new buffer): only buffers the writer
	// holds are looked at, none that another stream may have taken.
	sw.take()
	if cap(sw.buf) > streamBufferKeep {
		t.Errorf("took a buffer of capacity %d after a %d-byte event, want none above %d pooled", cap(sw.buf), 2*streamBufferKeep, streamBufferKeep)
	}
	sw.release()
}

// keptWrites fails every write and keeps what it was given, as an HTTP/2
// stream may still hold a frame of a write it gave up on.
type keptWrites struct {
	*httptest.ResponseRecorder
	kept [][]byte
}

func (w *keptWrites) Write(p []byte) (int, error) {
	w.kept = append(w.kept, p)
	return 0, errors.New("stream closed")
}

// Ensure that the buffer of a failed write is not pooled: the writer below
// may not be done with it, and another stream would write into it.
func TestSSEWriter_FailedWriteNotPooled(t *testing.T) {
	rec := &keptWrites{ResponseRecorder: httptest.NewRecorder()}
	c, _ := gin.CreateTestContext(rec)
	sw := &sseWriter{w: c.Writer, rc: http.NewResponseController(c.Writer), timeout: time.Minute}
	sw.event("object", "id", []byte("x"))
	if err := sw.flush(); err == nil {
		t.Fatal("flush succeeded, want the write's error")
	}
	if len(rec.kept) != 1 {
		t.Fatalf("%d writes, want 1", len(rec.kept))
	}
	kept := rec.kept[0][:1]
	// As in TestSSEWriter_Bounds, the pool would hand this goroutine the
	// buffer just put back.
	sw.take()
	if &sw.buf[:1][0] == &kept[0] {
		t.Error("the failed write's buffer was taken from the pool again")
	}
	sw.release()
}

// Ensure that appendCursor formats as AppendFormat with the TAXII
// timestamp layout does, across the years it formats itself and those it
// leaves to AppendFormat, whatever the time's location.
func TestAppendCursor(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	times := []time.Time{
		{},
		time.Unix(0, 0),
		time.Date(2024, 5, 1, 12, 0, 0, 1000, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2027, 1, 1, 3, 4, 5, 123456789, east),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(12, 2, 29, 0, 0, 0, 0, time.UTC),
	}
	for us := int64(1_700_000_000_000_000); us < 1_700_000_000_000_000+5000; us += 37 {
		times = append(times, time.UnixMicro(us))
	}
	for _, tm := range times {
		want := tm.UTC().Format(store.TimestampLayout)
		if got := string(appendCursor([]byte("x"), tm)); got != "x"+want {
			t.Errorf("appendCursor(%v) = %q, want %q", tm, got, "x"+want)
		}
	}
}

func BenchmarkAppendCursor(b *testing.B) {
	buf := make([]byte, 0, 64)
	tm := time.Date(2026, 12, 4, 1, 2, 3, 456789000, time.UTC)
	b.Run("appendCursor", func(b *testing.B) {
		for range b.N {
			buf = appendCursor(buf[:0], tm)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) {
		for range b.N {
			buf = tm.UTC().AppendFormat(buf[:0], store.TimestampLayout)
		}
	})
}

// Ensure that a heartbeat that came due before live started is handled:
// a gap ends the subscription and may take the wake that the heartbeat's
// timer sent, and the timer is reset only after a heartbeat, so live must
// look at a due beat itself. The stream's account is unknown, so handling
// the beat (the access re-check) ends live with errAccessLost; a live that
// missed it would wait for its context.
func TestStreamRun_DueBeatBeforeLive(t *testing.T) {
	const coll = "5b8e2f0c-3f4a-4d6e-9c1b-7a2d9e4f6b10"
	s := newInternalServer(t, openInternalStore(t), Options{
		Discovery: Discovery{Title: "beat"},
		Groups:    []Group{{Name: "eo", Title: "EO", Collections: []Collection{{ID: coll, Title: "Indicators"}}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub, err := s.hub.Subscribe(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	r := &streamRun{
		s: s, w: &sseWriter{w: c.Writer}, filter: &store.Filter{}, coll: coll,
		st:   &openStream{account: "gone", via: "password", group: "eo", coll: coll},
		wake: make(chan struct{}, 1), // empty: the gap took the wake
		beat: time.NewTimer(time.Hour),
	}
	defer r.beat.Stop()
	defer context.AfterFunc(ctx, r.signal)() // as serve: the end of ctx wakes live
	r.beatDue.Store(true)
	if err := r.live(ctx, sub); !errors.Is(err, errAccessLost) {
		t.Fatalf("live = %v, want errAccessLost from the due beat's re-check", err)
	}
}
