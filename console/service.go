package console

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/store"
)

// Service is what the console asks of the server it is part of: the
// directory as the TAXII API sees it, the API's login checks and its
// publishing pipeline. The taxii package provides it, so that every page
// answers exactly as the API would: a collection the API hides is hidden
// here, a login refused there is refused here, and an object the API
// would refuse gets the same failure message.
type Service interface {
	// Viewer returns what the named account may see now, or nil when the
	// account does not exist or is disabled.
	Viewer(account string) *Viewer
	// CheckPassword verifies a sign-in as HTTP Basic is verified: the same
	// failed-login limits, the same bcrypt slots, the same audit of
	// refusals. It returns the account's Viewer, or a *SignInError.
	CheckPassword(ctx context.Context, name, password, remoteAddr string) (*Viewer, error)
	// CertificateViewer returns the account registered to the verified
	// client certificate of cs (nil when there is none, or it names no
	// enabled account) and the certificate's fingerprint.
	CertificateViewer(cs *tls.ConnectionState) (*Viewer, string)
	// Publish runs the Add Objects pipeline on envelope (a TAXII envelope,
	// bounded by the group's max_content_length by the caller) for v on
	// coll: validation, the collection's policy, one transaction with the
	// status and its audit row. It returns the envelope's decoding error
	// (wrapping stix.ErrBadEnvelope) as the API would answer it with 422, or
	// store errors.
	Publish(ctx context.Context, v *Viewer, coll *Collection, envelope []byte, remoteAddr string) (*store.Status, error)
	// RecordRead audits a read of objects, as a TAXII read is audited.
	RecordRead(ev store.AuditEvent)
	// Subscribe follows a collection's change feed (delivery.Hub).
	Subscribe(ctx context.Context, collID string) (*delivery.Subscription, error)
	// Now is the server's clock.
	Now() time.Time

	// The group admin page's changes. Each is decided for v's account as
	// the directory has it now, by the admin API's rules, in one store
	// transaction with the admin API's audit row. A refusal is a
	// *ChangeError with the status and message the admin API would answer
	// (404 for a group, account or token v may not see, as for a missing
	// one); any other error is the store's.

	// SetMember adds account to group with role, or changes its role
	// (PUT /admin/v1/groups/{group}/members/{account}).
	SetMember(ctx context.Context, v *Viewer, group, account string, role access.Role, remoteAddr string) error
	// RemoveMember takes account out of group
	// (DELETE /admin/v1/groups/{group}/members/{account}).
	RemoveMember(ctx context.Context, v *Viewer, group, account, remoteAddr string) error
	// CreateToken makes an API token for account named name, expiring
	// after expiresIn ("" for never; a Go duration such as "720h")
	// (POST /admin/v1/accounts/{account}/tokens). It returns the token,
	// whose secret is shown once and stored only as a hash.
	CreateToken(ctx context.Context, v *Viewer, account, name, expiresIn, remoteAddr string) (NewToken, error)
	// RevokeToken revokes account's token id
	// (DELETE /admin/v1/accounts/{account}/tokens/{id}).
	RevokeToken(ctx context.Context, v *Viewer, account, id, remoteAddr string) error
}

// ChangeError is a group admin change the server refused: the admin API's
// status for it (400, 403, 404 or 409) and its message.
type ChangeError struct {
	Status  int
	Message string
}

func (e *ChangeError) Error() string { return e.Message }

// NewToken is an API token just made, with its secret.
type NewToken struct {
	ID, Account, Name, Secret string
	Expires                   time.Time // zero: never
}

// SignInError is a refused sign-in, with the Retry-After the API would
// send ("" for none).
type SignInError struct {
	Message    string
	RetryAfter string
}

func (e *SignInError) Error() string { return e.Message }

// errSignIn is the one answer to a wrong name or password: it does not
// say which.
var errSignIn = errors.New("the account name or the password is wrong")

// Viewer is an account as the console sees it: the account, its groups
// and, in each, the collections it may see (read or write; the others are
// absent, as the API hides them).
type Viewer struct {
	Account store.Account
	// OrganizationIdentity is the id of the STIX identity of the account's
	// organization: what the indicators it publishes name as their
	// created_by_ref, unless published under the group's identity.
	OrganizationIdentity string
	// Groups are the account's groups, sorted by name.
	Groups []*Group
}

// Group is a sharing group as a member sees it.
type Group struct {
	store.Group
	Role access.Role
	// Collections are the collections the member may see, sorted by id.
	Collections []*Collection
}

// Collection is a collection as a member sees it.
type Collection struct {
	store.Collection
	CanRead, CanWrite bool
}

// group returns the viewer's group of that name, or nil.
func (v *Viewer) group(name string) *Group {
	for _, g := range v.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// collection returns the visible collection of a group by id or alias,
// or nil: a hidden collection and a missing one are the same nil.
func (v *Viewer) collection(group, key string) (*Group, *Collection) {
	g := v.group(group)
	if g == nil {
		return nil, nil
	}
	for _, c := range g.Collections {
		if c.ID == key || (c.Alias != "" && c.Alias == key) {
			return g, c
		}
	}
	return nil, nil
}

// readable lists the collections the viewer may read, in group order.
func (v *Viewer) readable() []*Collection {
	var out []*Collection
	for _, g := range v.Groups {
		for _, c := range g.Collections {
			if c.CanRead {
				out = append(out, c)
			}
		}
	}
	return out
}
