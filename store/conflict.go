package store

import "fmt"

// Invariant names a rule of the directory that a change may not break.
// Every backend enforces each one inside the transaction that makes the
// change (bbolt by reading what the transaction sees, PostgreSQL with
// constraints), so the check and the change are atomic on every node.
type Invariant int

// The directory's invariants. New ones are added at the end.
const (
	// OrganizationExists: an organization's name is unique.
	OrganizationExists Invariant = iota + 1
	// OrganizationHasAccounts: an organization is deleted only once it has
	// no accounts.
	OrganizationHasAccounts
	// AccountExists: an account's name is unique.
	AccountExists
	// CertificateRegistered: a client certificate fingerprint authenticates
	// one account only.
	CertificateRegistered
	// TokenExists: a token's id is unique.
	TokenExists
	// GroupExists: a group's name is unique.
	GroupExists
	// GroupHasCollections: a group is deleted only once it has no
	// collections.
	GroupHasCollections
	// CollectionExists: a collection's id is unique on the server.
	CollectionExists
	// AliasTaken: a collection alias names one collection of its group.
	AliasTaken
	// WebhookExists: a webhook subscription's id is unique.
	WebhookExists
	// SessionExists: a console session's hash is unique.
	SessionExists
)

// ConflictError is the error of a directory change that would break an
// invariant. It matches ErrConflict (errors.Is). Its text is meant for the
// client that asked for the change and names only what the client gave;
// Holder, which may be outside the client's view, is for the server's own
// messages (the configuration file's, the log).
type ConflictError struct {
	Invariant Invariant
	// Key is what the change gives that is already taken or still in use:
	// a name, an id, an alias, or a certificate fingerprint as the change
	// wrote it.
	Key string
	// Holder is who already has Key: the account a certificate is
	// registered to, the collection with the alias; "" otherwise.
	Holder string
	// Index is the position of the fingerprint in Account.Certificates
	// (CertificateRegistered only).
	Index int
}

// conflictMessages are ConflictError's messages, one per invariant, with
// Key as %[1], Holder as %[2] and Index as %[3].
var conflictMessages = [...]string{
	OrganizationExists:      "organization %[1]q already exists",
	OrganizationHasAccounts: "organization %[1]q still has accounts",
	AccountExists:           "account %[1]q already exists",
	CertificateRegistered:   "certificates[%[3]d]: this certificate is registered to another account",
	TokenExists:             "token %[1]s already exists",
	GroupExists:             "group %[1]q already exists",
	GroupHasCollections:     "group %[1]q still has collections",
	CollectionExists:        "id: a collection %[1]s already exists on this server",
	AliasTaken:              "alias: collection %[2]s of this group already has alias %[1]q",
	WebhookExists:           "webhook %[1]s already exists",
	// %.0[1]s prints nothing: the hash is not repeated to a client, and an
	// indexed verb keeps fmt from reporting the other arguments as extra.
	SessionExists: "a session with this hash already exists%.0[1]s",
}

// Error returns the message the admin API answers with (409).
func (e *ConflictError) Error() string {
	if e.Invariant > 0 && int(e.Invariant) < len(conflictMessages) {
		return fmt.Sprintf(conflictMessages[e.Invariant], e.Key, e.Holder, e.Index)
	}
	return fmt.Sprintf("conflict (invariant %d) on %q", e.Invariant, e.Key)
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
