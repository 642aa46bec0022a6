package taxii

import (
	"crypto/sha256"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
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

// Failed-login defaults (Options.LoginLimit).
const (
	// DefaultLoginFailuresPerAddress is LoginLimit.PerAddress when zero.
	DefaultLoginFailuresPerAddress = 10
	// DefaultLoginFailuresPerAccount is LoginLimit.PerAccount when zero:
	// above the per-address figure, so that one address alone cannot keep
	// an account locked.
	DefaultLoginFailuresPerAccount = 30
	// DefaultLoginWindow is LoginLimit.Window when zero.
	DefaultLoginWindow = time.Minute
)

const (
	// maxTrackedLogins bounds each table of loginGuard (addresses, account
	// names, refusals to audit). Past it the least recently used entry is
	// forgotten: an attacker who cycles through more addresses than that
	// is limited by the bcrypt slots instead.
	maxTrackedLogins = 10000
	// refusalAuditInterval is the least time between two auth.refused
	// audit rows for one address and account.
	refusalAuditInterval = time.Minute
)

// loginGuard limits failed logins and collapses the audit rows of refused
// requests. Every client address (IPv6 addresses by their /64, which one
// host usually holds whole) and every account name given in a Basic
// credential, existing or not, has a bucket of PerAddress (PerAccount)
// failures that refills evenly over Window. While a bucket holds less than
// one, password logins from that address or for that name are refused with
// 429 before any bcrypt, whether the password is right or not: answering a
// right one would tell a guesser when to stop. Only failed passwords count,
// and only password logins are limited: API tokens and certificates are
// checked from a limited address too (a hash lookup, and neither can be
// guessed), so machine feeds behind an address shared with a guesser keep
// working. A success resets nothing: an attacker holding one valid account
// could otherwise refill its address's bucket at will. The limits are
// checked again inside the bcrypt slot and a failure counted before the
// slot is freed, so concurrent guesses overshoot a limit by at most the
// number of slots less one; logins waiting for a slot take nothing ahead,
// so many right passwords at once from one address are not refused.
//
// Refusals (401 and 429, and requests past an account's rate limit) are
// audited at most once per refusalAuditInterval per address, account
// named and action (the account, if the credential named an
// existing one, else none; see attemptedAccount): the first at once, those
// after it in one row whose Count says how many it stands for. Keeping the
// account in the key keeps "who tried alice's password" answerable by an
// audit query for alice; it costs at most one row a minute per account an
// address names, and one for all its other refusals.
type loginGuard struct {
	limit LoginLimit

	mu    sync.Mutex
	addrs *lru[string, *failures]
	names *lru[[sha256.Size]byte, *failures]
	// known holds the (address, name) pairs that logged in with the right
	// password: the per-name limit does not apply to them, so that guesses
	// from elsewhere cannot lock an account out of the addresses it
	// really uses (the per-address limit still does).
	known    *lru[[sha256.Size]byte, struct{}]
	refusals *lru[refusalKey, *refusalRows]
	// rows are audit rows due, collected under mu and taken by the caller.
	rows      []store.AuditEvent
	nextSweep atomic.Int64 // Unix ns
}

// failures is a bucket of allowed failures.
type failures struct {
	left float64
	last time.Time
}

// refusalKey is what refusals are audited by: the client address's table
// key (addrKey: an IPv6 address's /64, which one client can fill with
// addresses), the account named, and the action (auth.refused, or
// ratelimit for an account over its request rate).
type refusalKey struct{ addr, account, action string }

// refusalRows is the audit state of one refusalKey.
type refusalRows struct {
	rowAt   time.Time        // when the last row was written
	pending int              // refusals since then
	last    store.AuditEvent // the latest of them
}

func newLoginGuard(limit LoginLimit) *loginGuard {
	g := &loginGuard{limit: limit,
		addrs:    newLRU[string, *failures](maxTrackedLogins),
		names:    newLRU[[sha256.Size]byte, *failures](maxTrackedLogins),
		known:    newLRU[[sha256.Size]byte, struct{}](maxTrackedLogins),
		refusals: newLRU[refusalKey, *refusalRows](maxTrackedLogins)}
	g.refusals.onEvict = func(_ refusalKey, r *refusalRows) { g.pendingRow(r) }
	return g
}

// addrKey is the table key of a client address: an IPv6 address's /64.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Unmap().Is6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// refill adds what has refilled since f.last to f, up to n, at n per
// window.
func (f *failures) refill(n int, window time.Duration, now time.Time) {
	switch {
	case f.last.IsZero():
		f.left = float64(n)
	case now.Before(f.last):
		// A request that read the clock before a newer one refilled
		// the bucket: nothing has refilled since.
		return
	default:
		f.left = math.Min(float64(n), f.left+now.Sub(f.last).Seconds()*float64(n)/window.Seconds())
	}
	f.last = now
}

// wait is how long until f holds one failure again.
func (f *failures) wait(n int, window time.Duration) time.Duration {
	return time.Duration((1 - f.left) / float64(n) * float64(window))
}

// limited reports whether password logins from addr, or for the account
// name ("" if none could be read), are refused now, and for how long.
func (g *loginGuard) limited(addr, name string, now time.Time) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, f := g.buckets(addr, name, now)
	var wait time.Duration
	if a != nil && a.left < 1 {
		wait = a.wait(g.limit.PerAddress, g.limit.Window)
	}
	if f != nil && f.left < 1 {
		wait = max(wait, f.wait(g.limit.PerAccount, g.limit.Window))
	}
	return wait, wait > 0
}

// succeeded notes a right password from addr for name.
func (g *loginGuard) succeeded(addr, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.known.add(knownKey(addr, name), struct{}{})
}

// knownKey is the table key of an (address, name) pair; hashed, so the
// table holds no text a client sent.
func knownKey(addr, name string) [sha256.Size]byte {
	return sha256.Sum256([]byte(addrKey(addr) + "\x00" + name))
}

// failed counts one wrong password from addr for name.
func (g *loginGuard) failed(addr, name string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, f := g.buckets(addr, name, now)
	if a != nil {
		a.left = math.Max(0, a.left-1)
	}
	if f != nil {
		f.left = math.Max(0, f.left-1)
	}
}

// buckets returns the refilled buckets of addr and name, made if needed;
// nil for a limit that is off. Names are kept as hashes: the table holds
// no text a client sent. mu is held.
func (g *loginGuard) buckets(addr, name string, now time.Time) (a, f *failures) {
	if n := g.limit.PerAddress; n > 0 {
		k := addrKey(addr)
		var ok bool
		if a, ok = g.addrs.get(k); !ok {
			a = &failures{}
			g.addrs.add(k, a)
		}
		a.refill(n, g.limit.Window, now)
	}
	if n := g.limit.PerAccount; n > 0 && name != "" {
		if _, ok := g.known.get(knownKey(addr, name)); ok {
			return a, nil
		}
		k := sha256.Sum256([]byte(name))
		var ok bool
		if f, ok = g.names.get(k); !ok {
			f = &failures{}
			g.names.add(k, f)
		}
		f.refill(n, g.limit.Window, now)
	}
	return a, f
}

// refused notes the refusal ev (RemoteAddr and Account set) and returns
// the audit rows due now: ev, with Count the refusals since the last row,
// if its address and account had no row for refusalAuditInterval; none if
// they had one, ev then being counted in the next.
func (g *loginGuard) refused(ev store.AuditEvent, now time.Time) []store.AuditEvent {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := refusalKey{addrKey(ev.RemoteAddr), ev.Account, ev.Action}
	a, ok := g.refusals.get(k)
	if !ok {
		a = &refusalRows{}
		g.refusals.add(k, a)
	}
	a.pending++
	a.last = ev
	if a.rowAt.IsZero() || now.Sub(a.rowAt) >= refusalAuditInterval {
		g.pendingRow(a)
		a.rowAt = now
	}
	return g.takeRows()
}

// sweep returns, at most once per refusalAuditInterval, the rows of the
// refusals counted whose interval has ended without a refusal to write
// them. It is called on every request, so the
// test for "not yet" takes no lock.
func (g *loginGuard) sweep(now time.Time) []store.AuditEvent {
	if now.UnixNano() < g.nextSweep.Load() {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.UnixNano() < g.nextSweep.Load() {
		return nil
	}
	g.nextSweep.Store(now.Add(refusalAuditInterval).UnixNano())
	g.refusals.each(func(_ refusalKey, a *refusalRows) {
		if a.pending > 0 && now.Sub(a.rowAt) >= refusalAuditInterval {
			g.pendingRow(a)
			a.rowAt = now
		}
	})
	return g.takeRows()
}

// flush returns the rows of all refusals not yet written, for shutdown.
func (g *loginGuard) flush() []store.AuditEvent {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refusals.each(func(_ refusalKey, a *refusalRows) { g.pendingRow(a) })
	return g.takeRows()
}

// pendingRow queues a's row for its pending refusals, if any; mu is held.
func (g *loginGuard) pendingRow(a *refusalRows) {
	if a.pending == 0 {
		return
	}
	row := a.last
	row.Count = a.pending
	g.rows = append(g.rows, row)
	a.pending = 0
}

func (g *loginGuard) takeRows() []store.AuditEvent {
	rows := g.rows
	g.rows = nil
	return rows
}
