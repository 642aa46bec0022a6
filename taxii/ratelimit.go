package taxii

import (
	"math"
	"sync"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// limiter keeps one token bucket per account.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	limit  store.RateLimit
}

// allow takes one token from the account's bucket under limit. It returns
// false, and how long until a token is available, when the bucket is empty.
// A zero PerSecond means unlimited.
func (l *limiter) allow(account string, limit store.RateLimit, now time.Time) (bool, time.Duration) {
	if limit.PerSecond <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b := l.buckets[account]
	if b == nil || b.limit != limit {
		// New account, or its limit changed: start full.
		b = &bucket{tokens: float64(limit.Burst), last: now, limit: limit}
		l.buckets[account] = b
	}
	b.tokens = math.Min(float64(limit.Burst), b.tokens+now.Sub(b.last).Seconds()*limit.PerSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / limit.PerSecond * float64(time.Second))
	return false, wait
}
