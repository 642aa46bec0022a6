package taxii

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

const (
	defaultAuditLimit = 1000
	maxAuditLimit     = 10000
)

// handleAdminAudit serves GET /admin/v1/audit: audit rows, oldest first,
// filtered by since (inclusive) and until (exclusive) as RFC 3339 times,
// account, collection, action (exact, or a prefix ending in ".") and
// limit. A superadmin reads every row; an organization admin the rows of
// its organization's accounts; a group admin the rows of its groups. Other
// accounts may not read the log (403).
func (s *Server) handleAdminAudit(c *gin.Context) error {
	p := caller(c).actor()
	if err := p.CheckReadAudit(); err != nil {
		return err
	}
	q, limit, err := parseAuditQuery(c)
	if err != nil {
		return err
	}
	var keep func(*store.AuditEvent) bool
	if !p.Superadmin {
		keep = func(ev *store.AuditEvent) bool { return p.MayReadAuditRow(ev.Organization, ev.Group) }
	}
	evs, err := s.findAudit(c.Request.Context(), q, limit, keep)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []store.AuditEvent{}
	}
	return writeAdminJSON(c, http.StatusOK, &struct {
		Events []store.AuditEvent `json:"events"`
	}{evs})
}

// parseAuditQuery reads the audit endpoint's parameters; every error is a
// 400 that names the parameter.
func parseAuditQuery(c *gin.Context) (store.AuditQuery, int, error) {
	var q store.AuditQuery
	limit := defaultAuditLimit
	for key, vals := range c.Request.URL.Query() {
		if len(vals) > 1 {
			return q, 0, badRequest("%s: given %d times; give it once", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "since", "until":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return q, 0, badRequest("%s: %q is not an RFC 3339 time such as 2024-11-05T00:00:00Z", key, v)
			}
			if key == "since" {
				q.Since = t
			} else {
				q.Until = t
			}
		case "account":
			q.Account = v
		case "collection":
			q.Collection = v
		case "action":
			q.Action = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxAuditLimit {
				return q, 0, badRequest("limit: %q is not a number from 1 to %d", v, maxAuditLimit)
			}
			limit = n
		default:
			return q, 0, badRequest("%s: unknown parameter (since, until, account, collection, action, limit)", key)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, 0, badRequest("until: must be after since")
	}
	return q, limit, nil
}

// auditBatch is how many rows findAudit reads per store query when it
// filters by scope.
const auditScanBatch = 1000

// findAudit returns up to limit events that q selects and keep (nil keeps
// all) accepts, oldest first. The store cannot filter by scope, so when
// keep is set the log is read in batches, each starting at the time of the
// last row of the one before. Rows share a microsecond (the key's
// precision) often enough that the rows of that last microsecond already
// seen are skipped, counted, rather than assumed to be one.
func (s *Server) findAudit(ctx context.Context, q store.AuditQuery, limit int, keep func(*store.AuditEvent) bool) ([]store.AuditEvent, error) {
	if keep == nil {
		q.Limit = limit
		return s.store.FindAudit(ctx, q)
	}
	var out []store.AuditEvent
	skip := 0
	for {
		q.Limit = skip + auditScanBatch
		evs, err := s.store.FindAudit(ctx, q)
		if err != nil {
			return nil, err
		}
		for i := skip; i < len(evs); i++ {
			if keep(&evs[i]) {
				out = append(out, evs[i])
				if len(out) == limit {
					return out, nil
				}
			}
		}
		if len(evs) < q.Limit {
			return out, nil
		}
		last := evs[len(evs)-1].Time.UnixMicro()
		skip = 0
		for i := len(evs) - 1; i >= 0 && evs[i].Time.UnixMicro() == last; i-- {
			skip++
		}
		q.Since = time.UnixMicro(last)
	}
}
