package taxii_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/taxii"
)

const (
	rlLimited = "rl-pat"   // the default limit
	rlOther   = "rl-quinn" // the default limit, its own bucket
	rlFast    = "rl-ray"   // its own, higher limit
	rlNone    = "rl-sam"   // its own limit: unlimited
	rlSlow    = "rl-tia"   // its own, lower limit
)

func newRateLimitWorld(t *testing.T) *sgWorld {
	t.Helper()
	with := func(a taxii.Account, r store.RateLimit) taxii.Account { a.RateLimit = &r; return a }
	return newSGWorld(t, taxii.Options{
		Discovery: taxii.Discovery{Title: "Election ISAC"},
		Accounts: []taxii.Account{
			sgAccount(rlLimited, ""), sgAccount(rlOther, ""),
			with(sgAccount(rlFast, ""), store.RateLimit{PerSecond: 100, Burst: 50}),
			with(sgAccount(rlNone, ""), store.RateLimit{}),
			with(sgAccount(rlSlow, ""), store.RateLimit{PerSecond: 0.1, Burst: 1}),
		},
		Groups: []taxii.Group{{Name: "floor", Title: "Floor", Members: map[string]taxii.Role{
			rlLimited: taxii.RoleReader, rlOther: taxii.RoleReader, rlFast: taxii.RoleReader, rlNone: taxii.RoleReader, rlSlow: taxii.RoleReader,
		}}},
		RateLimit: &store.RateLimit{PerSecond: 1, Burst: 3},
	})
}

// checkLimited checks a 429: a TAXII error resource and Retry-After.
func checkLimited(t *testing.T, w *sgWorld, auth, retryAfter string) {
	t.Helper()
	rec := w.req(t, http.MethodGet, "/floor/", "", auth)
	checkError(t, rec, http.StatusTooManyRequests)
	if got := rec.Header().Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After %q, want %q", got, retryAfter)
	}
}

func checkAllowed(t *testing.T, w *sgWorld, auth string, n int) {
	t.Helper()
	for i := range n {
		if rec := w.req(t, http.MethodGet, "/floor/", "", auth); rec.Code != http.StatusOK {
			t.Fatalf("request %d of %d: %d %s", i+1, n, rec.Code, rec.Body)
		}
	}
}

// Ensure that the default token bucket (1/s, burst 3) lets an account
// make 3 requests at once and answers the 4th with 429, Retry-After and a
// TAXII error; that buckets are per account, whatever the credential;
// that an account's own limit replaces the default (higher, unlimited or
// lower); and that time refills the bucket up to the burst.
func TestRateLimit(t *testing.T) {
	w := newRateLimitWorld(t)
	limited := sgBasic(rlLimited, sgPassword(rlLimited))

	checkAllowed(t, w, limited, 2)
	checkAllowed(t, w, sgBearer(sgToken(rlLimited)), 1) // the same account's bucket
	checkLimited(t, w, limited, "1")
	checkLimited(t, w, sgBearer(sgToken(rlLimited)), "1")

	// Refused credentials are not counted against the account.
	for range 5 {
		checkError(t, w.req(t, http.MethodGet, "/floor/", "", sgBasic(rlOther, "wrong")), http.StatusUnauthorized)
	}
	checkAllowed(t, w, sgBasic(rlOther, sgPassword(rlOther)), 3)
	checkAllowed(t, w, sgBasic(rlFast, sgPassword(rlFast)), 50)
	checkAllowed(t, w, sgBasic(rlNone, sgPassword(rlNone)), 200)
	checkAllowed(t, w, sgBasic(rlSlow, sgPassword(rlSlow)), 1)
	checkLimited(t, w, sgBasic(rlSlow, sgPassword(rlSlow)), "10")

	// Half a second refills half a token: still refused, retry in 1 s
	// (rounded up).
	w.clock.Advance(500 * time.Millisecond)
	checkLimited(t, w, limited, "1")
	w.clock.Advance(500 * time.Millisecond)
	checkAllowed(t, w, limited, 1)
	checkLimited(t, w, limited, "1")

	// A long pause refills up to the burst, not beyond.
	w.clock.Advance(time.Hour)
	checkAllowed(t, w, limited, 3)
	checkLimited(t, w, limited, "1")
	checkAllowed(t, w, sgBasic(rlSlow, sgPassword(rlSlow)), 1)
}

// Ensure that a 429 is answered before anything else about the request is
// looked at: a request the server would refuse with 406 or 404 also gets
// 429 once the bucket is empty, so the limit cannot be probed around.
func TestRateLimit_BeforeOtherChecks(t *testing.T) {
	w := newRateLimitWorld(t)
	limited := sgBasic(rlLimited, sgPassword(rlLimited))
	checkAllowed(t, w, limited, 3)
	rec := do(t, w.srv, http.MethodGet, "/no-such-root/", "", "Authorization", limited, "Accept", "text/html")
	checkError(t, rec, http.StatusTooManyRequests)
	if rec.Header().Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
}
