package taxii

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// backupWriteIdle bounds how long one write of a backup may wait for the
// client. The download as a whole has no limit (a large store over a slow
// link takes as long as it takes), but a client that stops reading must not
// keep the store's read transaction open for ever.
const backupWriteIdle = time.Minute

// handleAdminBackup serves GET /admin/v1/backup (superadmin): a consistent
// copy of the whole store, streamed from one read transaction while
// publishing goes on, as application/octet-stream. The body is a store file
// that bolt.Open accepts. It is sent chunked: its size is known only
// inside the transaction the copy is read in. If the copy fails after the
// first byte, the connection is cut so that the client sees a truncated
// body as an error, never as a short but complete file.
//
// The download is audited (admin.backup.create) before the copy starts,
// in its own transaction: a download cut short has still handed out part
// of everything, and the copy then holds its own audit row.
func (s *Server) handleAdminBackup(c *gin.Context) error {
	p := caller(c)
	ctx := c.Request.Context()
	now := s.now().UTC()
	name := "eitaxii-" + now.Format("20060102T150405Z") + ".db"
	err := s.store.AppendAudit(ctx, store.AuditEvent{Time: now, Action: "admin.backup.create",
		Account: p.Name, Organization: p.Organization, RemoteAddr: c.ClientIP(), Target: "store", Detail: name})
	if err != nil {
		return err
	}

	rc := http.NewResponseController(c.Writer)
	// The request has no body, so the server's read timeout has nothing
	// left to protect; left in place, it would cancel the request's context
	// in the middle of a long download.
	_ = rc.SetReadDeadline(time.Time{})
	h := c.Writer.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Status(http.StatusOK)
	w := &idleWriter{w: c.Writer, rc: rc, idle: backupWriteIdle}
	n, err := s.store.Backup(ctx, w)
	if err != nil {
		if w.n == 0 {
			h.Del("Content-Disposition")
			return err
		}
		s.log.ErrorContext(ctx, "backup cut short", "account", p.Name, "bytes", w.n, "err", err)
		// Abort the connection: ending the response normally would send
		// the last chunk and make a truncated copy look complete.
		panic(http.ErrAbortHandler)
	}
	s.log.InfoContext(ctx, "backup sent", "account", p.Name, "file", name, "bytes", n)
	return nil
}

// idleWriter writes to a response, moving the connection's write deadline
// idle ahead as long as the client keeps reading.
type idleWriter struct {
	w        io.Writer
	rc       *http.ResponseController
	idle     time.Duration
	deadline time.Time
	n        int64
}

func (w *idleWriter) Write(p []byte) (int, error) {
	// Moving the deadline on every 32 KiB would be a system call each;
	// once it is half spent is often enough.
	if now := time.Now(); w.deadline.Sub(now) < w.idle/2 {
		w.deadline = now.Add(w.idle)
		if err := w.rc.SetWriteDeadline(w.deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return 0, err
		}
	}
	n, err := w.w.Write(p)
	w.n += int64(n)
	return n, err
}
