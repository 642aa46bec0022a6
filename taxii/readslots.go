package taxii

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"
)

// DefaultMaxConcurrentReads is Options.MaxConcurrentReads when zero.
const DefaultMaxConcurrentReads = 4

// readRetryAfter is the Retry-After, in seconds, of a read refused because
// the account has too many in progress: pages are usually written within
// a second.
const readRetryAfter = 1

// readSlots counts the page reads each account has in progress, so that one
// account cannot hold more than a few pages in memory at once (a page is
// held until its response is written, which a client that does not read
// can stretch to the write timeout).
type readSlots struct {
	mu sync.Mutex
	n  map[string]int
}

// acquire takes one of account's limit slots and reports whether one was
// free. Every successful acquire must be followed by one release.
func (r *readSlots) acquire(account string, limit int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n[account] >= limit {
		return false
	}
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[account]++
	return true
}

// release gives back a slot taken by acquire.
func (r *readSlots) release(account string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n[account]--; r.n[account] <= 0 {
		delete(r.n, account) // the map holds only accounts reading now
	}
}

// startRead takes a read slot of the caller's account, or answers the
// error to return: 429 with Retry-After when MaxConcurrentReads of its
// reads are in progress. Call the returned release once the response is
// written or has failed (the handler returns either way: a write to a
// client that went away, or past the write timeout, fails).
func (s *Server) startRead(c *gin.Context) (release func(), err error) {
	limit := s.opts.MaxConcurrentReads
	if limit < 0 {
		return func() {}, nil
	}
	account := caller(c).Name
	if !s.reads.acquire(account, limit) {
		s.metrics.readsRefused.Inc()
		c.Header("Retry-After", strconv.Itoa(readRetryAfter))
		return nil, errorf(http.StatusTooManyRequests, "Too Many Requests",
			"this account already has "+strconv.Itoa(limit)+" reads of objects, manifests or versions in progress; "+
				"finish reading those responses, or retry after the number of seconds in Retry-After")
	}
	return func() { s.reads.release(account) }, nil
}
