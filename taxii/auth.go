package taxii

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// account is an Options.Account ready for authentication.
type account struct {
	name         string
	passwordHash []byte
	groups       map[string]Role // group name -> role
}

// authenticator checks credentials against the configured accounts.
type authenticator struct {
	accounts map[string]*account
	tokens   map[[sha256.Size]byte]*account

	// The password cache remembers, for a short time, that a name and
	// password were verified, so that Basic auth costs one bcrypt per TTL
	// instead of one per request. Keys are HMACs under a per-process key:
	// the cache never holds a password or anything it could be guessed from
	// offline.
	cacheKey []byte
	ttl      time.Duration
	now      func() time.Time
	mu       sync.Mutex
	cache    map[[sha256.Size]byte]time.Time
}

// maxCachedCredentials bounds the cache; past it the cache is emptied, which
// only costs some bcrypt work.
const maxCachedCredentials = 10000

// dummyHash makes failed logins for unknown accounts cost a bcrypt too, so
// response time does not tell which account names exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("eitaxii-no-such-account"), bcrypt.DefaultCost)

func newAuthenticator(accounts map[string]*account, tokenHashes map[string]*account, ttl time.Duration, now func() time.Time) *authenticator {
	a := &authenticator{
		accounts: accounts,
		tokens:   make(map[[sha256.Size]byte]*account, len(tokenHashes)),
		cacheKey: make([]byte, 32),
		ttl:      ttl,
		now:      now,
		cache:    map[[sha256.Size]byte]time.Time{},
	}
	rand.Read(a.cacheKey)
	for h, acct := range tokenHashes {
		var k [sha256.Size]byte
		b, _ := hex.DecodeString(h) // validated by Options.validate
		copy(k[:], b)
		a.tokens[k] = acct
	}
	return a
}

// authenticate returns the account an Authorization header proves, or nil.
// It accepts "Basic" (RFC 7617) and "Bearer" or "Token" API tokens.
func (a *authenticator) authenticate(header string) *account {
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
		return a.checkPassword(name, password)
	case "bearer", "token":
		// Tokens are stored as SHA-256; the lookup is by hash, so the
		// comparison never touches the secret itself.
		return a.tokens[sha256.Sum256([]byte(cred))]
	}
	return nil
}

func (a *authenticator) checkPassword(name, password string) *account {
	acct := a.accounts[name]
	mac := hmac.New(sha256.New, a.cacheKey)
	mac.Write([]byte(name))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	var key [sha256.Size]byte
	copy(key[:], mac.Sum(nil))

	now := a.now()
	a.mu.Lock()
	exp, cached := a.cache[key]
	a.mu.Unlock()
	if cached && now.Before(exp) && acct != nil {
		return acct
	}
	if acct == nil || len(acct.passwordHash) == 0 {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil
	}
	if bcrypt.CompareHashAndPassword(acct.passwordHash, []byte(password)) != nil {
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

// decodeBasic decodes the credentials of a Basic Authorization header.
func decodeBasic(cred string) (name, password string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", "", false
	}
	name, password, ok = strings.Cut(string(b), ":")
	return name, password, ok && name != ""
}
