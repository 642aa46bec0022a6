package taxii

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// principal is an authenticated caller.
type principal struct {
	*accountEntry
	via     string // "password", "token" or "certificate"
	tokenID string // when via is "token"
}

// authenticator checks credentials against the current directory.
type authenticator struct {
	now func() time.Time

	// The credential cache remembers that a name, password and stored hash
	// matched, so that Basic auth costs one bcrypt per credential instead
	// of one per request. Keys are HMACs under a per-process key: the cache
	// never holds a password or anything it could be guessed from offline.
	// The stored hash is part of the key, so a password change through the
	// admin API makes the old entry unreachable (the LRU then drops it);
	// disabled and deleted accounts are refused before the cache is read.
	// Entries have no age limit: nothing an expiry would re-check is not
	// already checked on every request, and a re-check would cost the
	// bcrypt the cache is there to save, for every poller, every interval.
	cacheKey []byte
	mu       sync.Mutex
	cache    *lru[[sha256.Size]byte, struct{}]
	// tokenUse collects when tokens were used, written to the store in
	// batches (Token.LastUsed).
	tokenUse map[string]time.Time

	// checks holds one slot per bcrypt verification running; a full
	// channel makes the next wait up to checkWait, then give up, so that
	// a flood of wrong passwords cannot take every core.
	checks    chan struct{}
	checkWait time.Duration
	// waiting counts the logins waiting for a slot (observed by tests).
	waiting atomic.Int32
	// onCheck is called for each bcrypt verification (a metric).
	onCheck func()
}

// DefaultCredentialCacheSize is Options.CredentialCacheSize when zero.
const DefaultCredentialCacheSize = 10000

// passwordCheckWait is how long a password login waits for a free bcrypt
// slot before it is answered 503.
const passwordCheckWait = 2 * time.Second

// checkGuard is consulted around each bcrypt verification of a login, in
// its slot: admit reports whether it may still run, failed is told of a
// wrong password before the slot is freed. Either may be nil.
type checkGuard struct {
	admit  func() bool
	failed func()
}

// errLoginBusy answers a password login that found every bcrypt slot taken
// for passwordCheckWait.
var errLoginBusy = errorf(http.StatusServiceUnavailable, "Service Unavailable",
	"too many password checks are running; retry after the number of seconds in Retry-After, or use an API token")

// dummyHash makes failed logins for unknown accounts cost a bcrypt too, so
// response time does not tell which account names exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("eitaxii-no-such-account"), bcrypt.DefaultCost)

// newAuthenticator returns an authenticator that remembers up to
// cacheSize verified credentials and runs at most checks bcrypt
// verifications at once.
func newAuthenticator(cacheSize, checks int, now func() time.Time, onCheck func()) *authenticator {
	a := &authenticator{
		now:       now,
		cacheKey:  make([]byte, 32),
		cache:     newLRU[[sha256.Size]byte, struct{}](cacheSize),
		tokenUse:  map[string]time.Time{},
		checks:    make(chan struct{}, max(1, checks)),
		checkWait: passwordCheckWait,
		onCheck:   onCheck,
	}
	rand.Read(a.cacheKey)
	return a
}

// authenticate returns the principal that the request's credentials prove,
// or errUnauthorized; or errLoginBusy if a password had to be checked and
// no bcrypt slot came free in time, or errLoginLimited if guard refused
// the check once in its slot. A verified client certificate registered to an account
// authenticates it; otherwise the Authorization header is read: "Basic"
// (RFC 7617), or "Bearer"/"Token" API tokens. Disabled accounts, revoked and
// expired tokens authenticate nobody.
func (a *authenticator) authenticate(dir *directory, header string, cs *tls.ConnectionState, guard *checkGuard) (*principal, error) {
	if cs != nil && len(cs.VerifiedChains) > 0 && header == "" {
		// VerifiedChains is set only when the certificate chains to the
		// configured client CA; the leaf's fingerprint names the account.
		fp := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if acct := dir.certs[fp]; acct != nil && !acct.Disabled {
			return &principal{accountEntry: acct, via: "certificate"}, nil
		}
		return nil, errUnauthorized
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok {
		return nil, errUnauthorized
	}
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "basic":
		name, password, ok := decodeBasic(cred)
		if !ok {
			return nil, errUnauthorized
		}
		acct, err := a.checkPassword(dir, name, password, guard)
		if err != nil {
			return nil, err
		}
		return &principal{accountEntry: acct, via: "password"}, nil
	case "bearer", "token":
		// Tokens are stored as SHA-256; the lookup is by hash, so no
		// comparison ever touches the secret itself.
		tok := dir.tokens[sha256.Sum256([]byte(cred))]
		now := a.now()
		if tok == nil || tok.Revoked || tok.account.Disabled || (!tok.Expires.IsZero() && !now.Before(tok.Expires)) {
			return nil, errUnauthorized
		}
		a.mu.Lock()
		a.tokenUse[tok.ID] = now
		a.mu.Unlock()
		return &principal{accountEntry: tok.account, via: "token", tokenID: tok.ID}, nil
	}
	return nil, errUnauthorized
}

// checkPassword returns the account whose name and password these are, or
// errUnauthorized, errLoginBusy or errLoginLimited (see compare). A
// disabled account is refused before the cache is read, so a cached
// credential never outlives the account's being disabled.
func (a *authenticator) checkPassword(dir *directory, name, password string, guard *checkGuard) (*accountEntry, error) {
	acct := dir.accounts[name]
	if acct == nil || acct.Disabled || acct.PasswordHash == "" {
		err := a.compare(dummyHash, password, guard)
		if err == nil && guard != nil && guard.failed != nil {
			// The dummy hash's own password: a failure all the same.
			guard.failed()
		}
		if err != nil && err != errUnauthorized {
			return nil, err
		}
		return nil, errUnauthorized
	}
	mac := hmac.New(sha256.New, a.cacheKey)
	for _, part := range []string{name, acct.PasswordHash, password} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	var key [sha256.Size]byte
	copy(key[:], mac.Sum(nil))

	a.mu.Lock()
	_, cached := a.cache.get(key)
	a.mu.Unlock()
	if cached {
		return acct, nil
	}
	if err := a.compare([]byte(acct.PasswordHash), password, guard); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.cache.add(key, struct{}{})
	a.mu.Unlock()
	return acct, nil
}

// compare runs one bcrypt verification in a free slot: nil if password
// matches hash, errUnauthorized if not, errLoginBusy if no slot came free
// within checkWait, errLoginLimited if guard.admit refused it in the slot.
// guard.failed is called for a mismatch before the slot is freed.
func (a *authenticator) compare(hash []byte, password string, guard *checkGuard) error {
	select {
	case a.checks <- struct{}{}:
	default:
		a.waiting.Add(1)
		t := time.NewTimer(a.checkWait)
		select {
		case a.checks <- struct{}{}:
			a.waiting.Add(-1)
			t.Stop()
		case <-t.C:
			a.waiting.Add(-1)
			return errLoginBusy
		}
	}
	defer func() { <-a.checks }()
	if guard != nil && guard.admit != nil && !guard.admit() {
		return errLoginLimited
	}
	if a.onCheck != nil {
		a.onCheck()
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		if guard != nil && guard.failed != nil {
			guard.failed()
		}
		return errUnauthorized
	}
	return nil
}

// takeTokenUse returns and forgets the token uses collected so far.
func (a *authenticator) takeTokenUse() map[string]time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.tokenUse) == 0 {
		return nil
	}
	used := a.tokenUse
	a.tokenUse = map[string]time.Time{}
	return used
}

// decodeBasic decodes the credentials of a Basic Authorization header.
func decodeBasic(cred string) (name, password string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", "", false
	}
	name, password, ok = strings.Cut(string(b), ":")
	return name, password, ok && name != ""
}
