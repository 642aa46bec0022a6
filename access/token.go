package access

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// TokenPrefix starts every API token the server makes.
const TokenPrefix = "eit_"

// NewAPIToken returns a new API token, TokenPrefix and 32 random bytes in
// base64url, and its hex SHA-256 (TokenHash), which is all the store keeps
// of it. The admin API and `eitaxii new-token` both make tokens with it.
func NewAPIToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, TokenHash(token)
}

// TokenHash returns the lowercase hex SHA-256 of token: how a token is
// stored and looked up.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// HashKey decodes a hex SHA-256 (a token hash or a certificate
// fingerprint; upper case and colons allowed) into its 32 bytes.
func HashKey(h string) (k [sha256.Size]byte, ok bool) {
	b, err := hex.DecodeString(strings.ReplaceAll(strings.ToLower(h), ":", ""))
	if err != nil || len(b) != sha256.Size {
		return k, false
	}
	copy(k[:], b)
	return k, true
}
