package access_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/access"
)

// Ensure that a new token has the eit_ format, is new each time, and that
// its hash is the hex SHA-256 the store keeps.
func TestNewAPIToken(t *testing.T) {
	tok, hash := access.NewAPIToken()
	tok2, _ := access.NewAPIToken()
	if !strings.HasPrefix(tok, "eit_") || len(tok) != 4+43 || tok == tok2 {
		t.Fatalf("tokens %q %q", tok, tok2)
	}
	sum := sha256.Sum256([]byte(tok))
	if hash != hex.EncodeToString(sum[:]) || access.TokenHash(tok) != hash {
		t.Fatalf("hash %s", hash)
	}
	k, ok := access.HashKey(strings.ToUpper(hash[:2]) + ":" + hash[2:])
	if !ok || hex.EncodeToString(k[:]) != hash {
		t.Fatalf("HashKey: %x %v", k, ok)
	}
	if _, ok := access.HashKey("abc"); ok {
		t.Fatal("HashKey accepted a short hash")
	}
}
