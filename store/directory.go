package store

import (
	"time"

	"github.com/eitaxii/eitaxii/access"
)

// Organization is a member organization: an election office, a vendor, an
// ISAC, an agency. Every account belongs to one.
type Organization struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
	// IdentityID is the id of the STIX identity the server made for it.
	IdentityID string    `json:"identity_id"`
	Created    time.Time `json:"created"`
}

// Account is a person or a machine feed.
type Account struct {
	Name         string `json:"name"`
	Organization string `json:"organization"`
	Kind         string `json:"kind"`                    // "person" or "machine"
	PasswordHash string `json:"password_hash,omitempty"` // bcrypt
	Disabled     bool   `json:"disabled,omitempty"`
	// Superadmin manages everything on the server.
	Superadmin bool `json:"superadmin,omitempty"`
	// OrgAdmin manages the accounts of its own organization.
	OrgAdmin bool `json:"org_admin,omitempty"`
	// Certificates are hex SHA-256 fingerprints of client certificates
	// that authenticate this account (mTLS).
	Certificates []string `json:"certificates,omitempty"`
	// RateLimit overrides the server's default; nil means the default.
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
	Created   time.Time  `json:"created"`
	// LastRead is when the account last read objects, a manifest or
	// versions; updated lazily (see RecordUse), so it may lag a little.
	LastRead time.Time `json:"last_read,omitzero"`
}

// RateLimit is a token bucket: PerSecond requests per second on average,
// bursts of up to Burst.
type RateLimit struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

// Token is a named API token of an account. Only its SHA-256 is kept.
type Token struct {
	ID      string    `json:"id"`
	Account string    `json:"account"`
	Name    string    `json:"name"`
	Hash    string    `json:"hash"` // hex SHA-256 of the token
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
	// LastUsed is updated lazily (see RecordUse), so it may lag a little.
	LastUsed time.Time `json:"last_used,omitzero"`
	Revoked  bool      `json:"revoked,omitempty"`
}

// Group is a sharing group: one TAXII API root at /<Name>/.
type Group struct {
	Name             string `json:"name"`
	Title            string `json:"title"`
	Description      string `json:"description,omitempty"`
	MaxContentLength int64  `json:"max_content_length"`
	// IdentityID is the id of the STIX identity that stands for the group
	// when a collection anonymizes publishers.
	IdentityID string                 `json:"identity_id"`
	Members    map[string]access.Role `json:"members,omitempty"`
	// OwnDomains are the group's own domains (access.OwnDomains):
	// indicators of them are flagged before they are shared.
	OwnDomains []string  `json:"own_domains,omitempty"`
	Created    time.Time `json:"created"`
}

// Directory is a snapshot of the whole directory, each list sorted by key.
type Directory struct {
	Organizations []Organization
	Accounts      []Account
	Tokens        []Token
	Groups        []Group
	Collections   []Collection
}

// Collection is the stored description of a TAXII collection.
type Collection struct {
	ID          string        `json:"id"`
	APIRoot     string        `json:"api_root"` // the group it belongs to
	Title       string        `json:"title"`
	Description string        `json:"description,omitempty"`
	Alias       string        `json:"alias,omitempty"`
	Policy      access.Policy `json:"policy"`
}
