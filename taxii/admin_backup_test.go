package taxii_test

import (
	"context"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
)

// Ensure that only a superadmin may download a backup (others 403, no
// credentials 401), that the download is audited, and that the body is a
// healthy store holding what was published before it and its own audit
// row.
func TestAdmin_Backup(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	ctx := context.Background()
	objects := "/" + admOfficials + "/collections/" + admCollOff + "/objects/"
	for i := range 3 {
		rec := do(t, w.srv, "POST", objects, envelope(simpleIndicator(i)),
			"Authorization", admBearer(admPublisher), "Accept", mediaTAXII, "Content-Type", mediaTAXII)
		if rec.Code != 202 {
			t.Fatalf("publish: %d %s", rec.Code, rec.Body)
		}
	}

	t.Run("ErrUnauthorized", func(t *testing.T) {
		admError(t, w.call(t, "", "GET", "/admin/v1/backup", ""), 401, "valid credentials")
	})
	t.Run("ErrNotSuperadmin", func(t *testing.T) {
		for _, user := range []string{admOrgAdmin, admGroupAdmin, admPublisher, admReader, admOutsider, admPlain} {
			admError(t, w.call(t, user, "GET", "/admin/v1/backup", ""), 403, "only a superadmin")
		}
		admError(t, w.call(t, admDisabledAcc, "GET", "/admin/v1/backup", ""), 401, "")
		for _, ev := range w.adminEvents(t) {
			if ev.Action == "admin.backup.create" {
				t.Fatalf("a refused backup was audited: %+v", ev)
			}
		}
	})

	t.Run("OK", func(t *testing.T) {
		rec := w.call(t, admSuper, "GET", "/admin/v1/backup", "")
		if rec.Code != 200 {
			t.Fatalf("status %d; body %s", rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("Content-Type %q", ct)
		}
		disp, params, err := mime.ParseMediaType(rec.Header().Get("Content-Disposition"))
		if err != nil || disp != "attachment" || !strings.HasPrefix(params["filename"], "eitaxii-") || !strings.HasSuffix(params["filename"], ".db") {
			t.Errorf("Content-Disposition %q (%v)", rec.Header().Get("Content-Disposition"), err)
		}
		ev := w.checkEvent(t, "admin.backup.create", admSuper, "isac", "store")
		if ev.Detail != params["filename"] {
			t.Errorf("audit detail %q, want the file name %q", ev.Detail, params["filename"])
		}

		path := filepath.Join(t.TempDir(), "backup.db")
		if err := os.WriteFile(path, rec.Body.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatalf("the backup does not open as a store: %v", err)
		}
		defer db.Close()
		if problems, err := db.Verify(ctx); err != nil || len(problems) > 0 {
			t.Fatalf("Verify on the backup: %q, %v", problems, err)
		}
		page, err := db.FindObjects(ctx, admCollOff, store.Query{Limit: 100})
		if err != nil || len(page.Records) != 3 {
			t.Fatalf("backup holds %d objects (%v), want 3", len(page.Records), err)
		}
		evs, err := db.FindAudit(ctx, store.AuditQuery{Action: "admin.backup.create"})
		if err != nil || len(evs) != 1 || evs[0].Account != admSuper {
			t.Fatalf("backup's own audit rows: %+v, %v", evs, err)
		}
	})
}

// smallBuffers is a listener whose connections buffer little, so that a
// server writing to a client that does not read blocks soon.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(128 << 10)
	}
	return c, err
}

// Ensure that a backup outlives the server's write and read timeouts
// (which are meant for TAXII requests, not for a download of the whole
// store) as long as the client keeps reading.
func TestAdmin_Backup_LongDownload(t *testing.T) {
	t.Parallel()
	w := newAdmWorld(t)
	// A store of about 2 MB, well beyond what the connection buffers.
	// (Audit rows fill it fastest.)
	evs := make([]store.AuditEvent, 500)
	for i := range evs {
		evs[i] = store.AuditEvent{Action: "read", Account: admReader, Detail: strings.Repeat("x", 4000)}
	}
	if err := w.db.AppendAudit(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}

	ts := httptest.NewUnstartedServer(w.srv)
	ts.Listener = smallBuffers{ts.Listener}
	ts.Config.WriteTimeout = 200 * time.Millisecond
	ts.Config.ReadTimeout = 200 * time.Millisecond
	ts.Start()
	defer ts.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(128 << 10)
		}
		return c, err
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("GET", ts.URL+"/admin/v1/backup", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", admBearer(admSuper))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// A client slower than both timeouts.
	time.Sleep(3 * ts.Config.WriteTimeout)
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: status %d, %d bytes, %v", resp.StatusCode, len(body), err)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if problems, err := db.Verify(context.Background()); err != nil || len(problems) > 0 {
		t.Fatalf("Verify on the backup: %q, %v", problems, err)
	}
}
