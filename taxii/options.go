package taxii

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Role is an account's role in a sharing group.
type Role string

// The roles, from least to most privileged.
const (
	RoleReader    Role = "reader"    // can_read
	RolePublisher Role = "publisher" // can_read and can_write
	RoleAdmin     Role = "admin"     // publisher, and manages the group
)

func (r Role) canRead() bool  { return r == RoleReader || r == RolePublisher || r == RoleAdmin }
func (r Role) canWrite() bool { return r == RolePublisher || r == RoleAdmin }

// Discovery is the server's discovery information (§4.1.1).
type Discovery struct {
	Title       string
	Description string
	Contact     string
	// Default names the group whose API root is advertised as default to
	// callers who are members of it.
	Default string
}

// Account is a person or machine that may authenticate.
type Account struct {
	Name string
	// PasswordHash is a bcrypt hash (from `eitaxii hash-password`); empty
	// means the account has no password.
	PasswordHash string
	// TokenHashes are hex SHA-256 hashes of the account's API tokens.
	TokenHashes []string
}

// Group is a sharing group: one TAXII API root at /<Name>/.
type Group struct {
	Name             string
	Title            string
	Description      string
	MaxContentLength int64
	Members          map[string]Role
	Collections      []Collection
}

// Collection is a TAXII collection of a group.
type Collection struct {
	ID          string
	Title       string
	Description string
	Alias       string
}

// Options configure a Server.
type Options struct {
	Discovery Discovery
	Accounts  []Account
	Groups    []Group

	// MaxPageSize caps the items of one page (REQ-19); 1000 if zero. A
	// request without limit gets this many.
	MaxPageSize int
	// MaxObjectsPerEnvelope bounds one Add Objects request; 100,000 if zero.
	MaxObjectsPerEnvelope int
	// CredentialCacheTTL is how long a verified password is remembered so
	// that Basic auth does not cost a bcrypt per request; 1 minute if zero.
	CredentialCacheTTL time.Duration

	Logger *slog.Logger     // slog.Default() if nil
	Now    func() time.Time // time.Now if nil
}

// DefaultMaxContentLength is an API root's max_content_length when the
// group does not set one: 10 MiB.
const DefaultMaxContentLength = 10 << 20

var (
	groupNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	// reservedRootNames are paths the server uses or will use itself.
	reservedRootNames = map[string]bool{"taxii2": true, "admin": true, "metrics": true, "healthz": true, "readyz": true}
	accountPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
)

// validate checks the options and fills defaults. Its errors name the
// configuration key at fault, as the YAML file spells it.
func (o *Options) validate() error {
	if o.MaxPageSize <= 0 {
		o.MaxPageSize = 1000
	}
	if o.MaxObjectsPerEnvelope <= 0 {
		o.MaxObjectsPerEnvelope = 100000
	}
	if o.CredentialCacheTTL <= 0 {
		o.CredentialCacheTTL = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if strings.TrimSpace(o.Discovery.Title) == "" {
		return fmt.Errorf("discovery.title: required")
	}
	accounts := map[string]bool{}
	tokens := map[string]string{}
	for i, a := range o.Accounts {
		key := fmt.Sprintf("accounts[%d]", i)
		if !accountPattern.MatchString(a.Name) {
			return fmt.Errorf("%s.name: %q is not a valid account name (letters, digits, . _ @ -; at most 128)", key, a.Name)
		}
		if accounts[a.Name] {
			return fmt.Errorf("%s.name: duplicate account %q", key, a.Name)
		}
		accounts[a.Name] = true
		if a.PasswordHash != "" && !strings.HasPrefix(a.PasswordHash, "$2") {
			return fmt.Errorf("%s.password_hash: not a bcrypt hash (make one with `eitaxii hash-password`)", key)
		}
		for j, h := range a.TokenHashes {
			if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
				return fmt.Errorf("%s.token_hashes[%d]: not a hex SHA-256 hash (make one with `eitaxii new-token`)", key, j)
			}
			if other, dup := tokens[strings.ToLower(h)]; dup {
				return fmt.Errorf("%s.token_hashes[%d]: the same token hash is also given to account %q", key, j, other)
			}
			tokens[strings.ToLower(h)] = a.Name
		}
	}
	groups := map[string]bool{}
	collIDs := map[string]string{}
	for i := range o.Groups {
		g := &o.Groups[i]
		key := fmt.Sprintf("groups[%d]", i)
		if !groupNamePattern.MatchString(g.Name) || reservedRootNames[g.Name] {
			return fmt.Errorf("%s.name: %q cannot name an API root (lowercase letters, digits, . _ -; not taxii2, admin, metrics, healthz, readyz)", key, g.Name)
		}
		if groups[g.Name] {
			return fmt.Errorf("%s.name: duplicate group %q", key, g.Name)
		}
		groups[g.Name] = true
		if strings.TrimSpace(g.Title) == "" {
			return fmt.Errorf("%s.title: required", key)
		}
		if g.MaxContentLength == 0 {
			g.MaxContentLength = DefaultMaxContentLength
		}
		if g.MaxContentLength < 0 || g.MaxContentLength > 1<<53-1 {
			return fmt.Errorf("%s.max_content_length: must be a positive number of bytes", key)
		}
		for name, role := range g.Members {
			if !accounts[name] {
				return fmt.Errorf("%s.members.%s: unknown account %q", key, name, name)
			}
			if role != RoleReader && role != RolePublisher && role != RoleAdmin {
				return fmt.Errorf("%s.members.%s: unknown role %q (reader, publisher or admin)", key, name, role)
			}
		}
		aliases := map[string]bool{}
		for j, c := range g.Collections {
			ckey := fmt.Sprintf("%s.collections[%d]", key, j)
			u, err := uuid.Parse(c.ID)
			if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || len(c.ID) != 36 || c.ID != strings.ToLower(c.ID) {
				return fmt.Errorf("%s.id: %q is not a lowercase UUIDv4", ckey, c.ID)
			}
			if other, dup := collIDs[c.ID]; dup {
				return fmt.Errorf("%s.id: duplicate collection id %s (also in group %q)", ckey, c.ID, other)
			}
			collIDs[c.ID] = g.Name
			if strings.TrimSpace(c.Title) == "" {
				return fmt.Errorf("%s.title: required", ckey)
			}
			if c.Alias != "" {
				if !groupNamePattern.MatchString(c.Alias) {
					return fmt.Errorf("%s.alias: %q is not a valid alias (lowercase letters, digits, . _ -)", ckey, c.Alias)
				}
				if aliases[c.Alias] {
					return fmt.Errorf("%s.alias: duplicate alias %q in group %q", ckey, c.Alias, g.Name)
				}
				aliases[c.Alias] = true
			}
		}
	}
	if o.Discovery.Default != "" && !groups[o.Discovery.Default] {
		return fmt.Errorf("discovery.default: unknown group %q", o.Discovery.Default)
	}
	return nil
}
