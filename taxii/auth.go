package taxii

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"strings"
	"sync"
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

	// The password cache remembers, for a short time, that a name,
	// password and stored hash matched, so that Basic auth costs one bcrypt
	// per TTL instead of one per request. Keys are HMACs under a
	// per-process key: the cache never holds a password or anything it
	// could be guessed from offline. The stored hash is part of the key, so
	// a password change through the admin API invalidates the entry.
	cacheKey []byte
	ttl      time.Duration
	mu       sync.Mutex
	cache    map[[sha256.Size]byte]time.Time
	// tokenUse collects when tokens were used, written to the store in
	// batches (Token.LastUsed).
	tokenUse map[string]time.Time
}

// maxCachedCredentials bounds the cache; past it the cache is emptied, which
// only costs some bcrypt work.
const maxCachedCredentials = 10000

// dummyHash makes failed logins for unknown accounts cost a bcrypt too, so
// response time does not tell which account names exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("eitaxii-no-such-account"), bcrypt.DefaultCost)

func newAuthenticator(ttl time.Duration, now func() time.Time) *authenticator {
	a := &authenticator{
		now:      now,
		cacheKey: make([]byte, 32),
		ttl:      ttl,
		cache:    map[[sha256.Size]byte]time.Time{},
		tokenUse: map[string]time.Time{},
	}
	rand.Read(a.cacheKey)
	return a
}

// authenticate returns the principal that the request's credentials prove,
// or nil. A verified client certificate registered to an account
// authenticates it; otherwise the Authorization header is read: "Basic"
// (RFC 7617), or "Bearer"/"Token" API tokens. Disabled accounts, revoked and
// expired tokens authenticate nobody.
func (a *authenticator) authenticate(dir *directory, header string, cs *tls.ConnectionState) *principal {
	if cs != nil && len(cs.VerifiedChains) > 0 && header == "" {
		// VerifiedChains is set only when the certificate chains to the
		// configured client CA; the leaf's fingerprint names the account.
		fp := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if acct := dir.certs[fp]; acct != nil && !acct.Disabled {
			return &principal{accountEntry: acct, via: "certificate"}
		}
		return nil
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok {
		return nil
	}
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "basic":
		name, password, ok := decodeBasic(cred)
		if !ok {
			return nil
		}
		if acct := a.checkPassword(dir, name, password); acct != nil {
			return &principal{accountEntry: acct, via: "password"}
		}
	case "bearer", "token":
		// Tokens are stored as SHA-256; the lookup is by hash, so no
		// comparison ever touches the secret itself.
		tok := dir.tokens[sha256.Sum256([]byte(cred))]
		now := a.now()
		if tok == nil || tok.Revoked || tok.account.Disabled || (!tok.Expires.IsZero() && !now.Before(tok.Expires)) {
			return nil
		}
		a.mu.Lock()
		a.tokenUse[tok.ID] = now
		a.mu.Unlock()
		return &principal{accountEntry: tok.account, via: "token", tokenID: tok.ID}
	}
	return nil
}

func (a *authenticator) checkPassword(dir *directory, name, password string) *accountEntry {
	acct := dir.accounts[name]
	if acct == nil || acct.Disabled || acct.PasswordHash == "" {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil
	}
	mac := hmac.New(sha256.New, a.cacheKey)
	for _, part := range []string{name, acct.PasswordHash, password} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	var key [sha256.Size]byte
	copy(key[:], mac.Sum(nil))

	now := a.now()
	a.mu.Lock()
	exp, cached := a.cache[key]
	a.mu.Unlock()
	if cached && now.Before(exp) {
		return acct
	}
	if bcrypt.CompareHashAndPassword([]byte(acct.PasswordHash), []byte(password)) != nil {
		return nil
	}
	a.mu.Lock()
	if len(a.cache) >= maxCachedCredentials {
		clear(a.cache)
	}
	a.cache[key] = now.Add(a.ttl)
	a.mu.Unlock()
	return acct
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
