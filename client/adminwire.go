package client

import (
	"encoding/json"
	"reflect"
	"time"
)

// The admin API's wire types (docs/admin-api.md), defined once: the
// server's handlers decode the request bodies and encode the answers with
// them, and the CLI does the reverse. JSON member names are the API's;
// change one here and both sides change together.
//
// Request bodies name only what they set: pointer fields are absent when
// nil, Optional fields when not Set. The server decodes them strictly
// (unknown, duplicate or mis-cased members are 400s), so a create body and
// a patch body are separate types where the patch may not name a field.

// Role is a member's role in a group: "reader", "publisher" or "admin".
// It is a plain string on the wire; the server validates it.
type Role string

// Optional is a request field that tells absent from null, for PATCH
// fields where null means something (remove a password, return to the
// default rate limit). The zero value is absent; Some sets a value, Null
// sets null. With the `omitzero` option an absent field is left out of the
// encoded body.
type Optional[T any] struct {
	Set   bool // the body names the field
	Null  bool // ... with null
	Value T
}

// Some returns an Optional set to v.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: v} }

// Null returns an Optional set to null.
func Null[T any]() Optional[T] { return Optional[T]{Set: true, Null: true} }

// IsZero reports whether the field is absent (for `omitzero`).
func (o Optional[T]) IsZero() bool { return !o.Set }

// MarshalJSON encodes null or the value. An absent field encodes as null
// too; leave it out with `omitzero`.
func (o Optional[T]) MarshalJSON() ([]byte, error) {
	if !o.Set || o.Null {
		return []byte("null"), nil
	}
	return json.Marshal(o.Value)
}

// UnmarshalJSON records that the field was given, and whether as null.
// encoding/json calls it only for members the body names.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// JSONType is T: the JSON of an Optional[T] is that of T or null. Strict
// decoders that walk a body against its Go type look through Optional
// with it.
func (Optional[T]) JSONType() reflect.Type { return reflect.TypeFor[T]() }

// Organization is GET /admin/v1/organizations/{name}.
type Organization struct {
	Name       string    `json:"name"`
	Title      string    `json:"title,omitempty"`
	IdentityID string    `json:"identity_id"`
	Created    time.Time `json:"created"`
}

// OrganizationList is GET /admin/v1/organizations.
type OrganizationList struct {
	Organizations []Organization `json:"organizations"`
}

// OrganizationBody is the body of POST /admin/v1/organizations.
type OrganizationBody struct {
	Name  *string `json:"name,omitempty"`
	Title *string `json:"title,omitempty"`
}

// OrganizationPatch is the body of PATCH /admin/v1/organizations/{name}.
type OrganizationPatch struct {
	Title *string `json:"title,omitempty"`
}

// RateLimit is an account's request rate limit (a token bucket).
// {0, 0} means unlimited.
type RateLimit struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

// Account is an account as the admin API shows it: never the password
// hash, only whether there is one. Certificates is [] and RateLimit null
// (the server's default) when there are none.
type Account struct {
	Name         string     `json:"name"`
	Organization string     `json:"organization"`
	Kind         string     `json:"kind"`
	Disabled     bool       `json:"disabled"`
	Superadmin   bool       `json:"superadmin"`
	OrgAdmin     bool       `json:"org_admin"`
	Certificates []string   `json:"certificates"`
	RateLimit    *RateLimit `json:"rate_limit"`
	Created      time.Time  `json:"created"`
	HasPassword  bool       `json:"has_password"`
	LastRead     time.Time  `json:"last_read,omitzero"`
}

// AccountList is GET /admin/v1/accounts.
type AccountList struct {
	Accounts []Account `json:"accounts"`
}

// AccountBody is the body of POST /admin/v1/accounts: the fields of a
// patch, plus name and organization. A null Password is the same as none.
type AccountBody struct {
	Name         *string `json:"name,omitempty"`
	Organization *string `json:"organization,omitempty"`
	AccountPatch
}

// AccountPatch is the body of PATCH /admin/v1/accounts/{name}: name and
// organization cannot change. Null Password removes it; null RateLimit
// returns to the server's default; Certificates replaces the whole list.
type AccountPatch struct {
	Kind         *string              `json:"kind,omitempty"`
	Password     Optional[string]     `json:"password,omitzero"`
	Disabled     *bool                `json:"disabled,omitempty"`
	Superadmin   *bool                `json:"superadmin,omitempty"`
	OrgAdmin     *bool                `json:"org_admin,omitempty"`
	Certificates *[]string            `json:"certificates,omitempty"`
	RateLimit    Optional[*RateLimit] `json:"rate_limit,omitzero"`
}

// Token is an API token as listed: never its secret or its hash.
type Token struct {
	ID       string    `json:"id"`
	Account  string    `json:"account"`
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires,omitzero"`
	LastUsed time.Time `json:"last_used,omitzero"`
	Revoked  bool      `json:"revoked"`
}

// TokenList is GET /admin/v1/accounts/{name}/tokens.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}

// TokenBody is the body of POST /admin/v1/accounts/{name}/tokens.
// ExpiresIn is a Go duration ("720h").
type TokenBody struct {
	Name      *string `json:"name,omitempty"`
	ExpiresIn *string `json:"expires_in,omitempty"`
}

// NewToken is the answer to POST /admin/v1/accounts/{name}/tokens: the
// only place the token's secret is ever shown.
type NewToken struct {
	ID      string    `json:"id"`
	Account string    `json:"account"`
	Name    string    `json:"name"`
	Token   string    `json:"token"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

// RevokedTokens is the answer to DELETE /admin/v1/accounts/{name}/tokens.
type RevokedTokens struct {
	Revoked int `json:"revoked"`
}

// Group is a sharing group as the admin API shows it; Members is {} and
// OwnDomains [] when empty.
type Group struct {
	Name             string          `json:"name"`
	Title            string          `json:"title"`
	Description      string          `json:"description"`
	MaxContentLength int64           `json:"max_content_length"`
	IdentityID       string          `json:"identity_id"`
	Members          map[string]Role `json:"members"`
	// OwnDomains are the group's own domains: what the console and
	// `eitaxii publish` extract below them is flagged, not shared by
	// default.
	OwnDomains []string  `json:"own_domains"`
	Created    time.Time `json:"created"`
}

// GroupList is GET /admin/v1/groups.
type GroupList struct {
	Groups []Group `json:"groups"`
}

// GroupBody is the body of POST /admin/v1/groups: a patch plus the name.
type GroupBody struct {
	Name *string `json:"name,omitempty"`
	GroupPatch
}

// GroupPatch is the body of PATCH /admin/v1/groups/{name}: a group's name
// is its API root's URL and does not change.
type GroupPatch struct {
	Title            *string `json:"title,omitempty"`
	Description      *string `json:"description,omitempty"`
	MaxContentLength *int64  `json:"max_content_length,omitempty"`
	// OwnDomains replaces the whole list; [] empties it.
	OwnDomains *[]string `json:"own_domains,omitempty"`
}

// MemberBody is the body of PUT /admin/v1/groups/{name}/members/{account}.
type MemberBody struct {
	Role *Role `json:"role,omitempty"`
}

// Policy is what a collection enforces on Add Objects and who may read
// and write it; fields at their default are omitted.
type Policy struct {
	TLPCeiling string `json:"tlp_ceiling,omitempty"`
	RequireTLP bool   `json:"require_tlp,omitempty"`
	DefaultTLP string `json:"default_tlp,omitempty"`
	Anonymize  bool   `json:"anonymize,omitempty"`
	ReadRole   Role   `json:"read_role,omitempty"`
	WriteRole  Role   `json:"write_role,omitempty"`
}

// Collection is a collection as the admin API shows it, with its policy.
// APIRoot is its group.
type Collection struct {
	ID          string `json:"id"`
	APIRoot     string `json:"api_root"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Alias       string `json:"alias,omitempty"`
	Policy      Policy `json:"policy"`
}

// CollectionList is GET /admin/v1/groups/{name}/collections.
type CollectionList struct {
	Collections []Collection `json:"collections"`
}

// CollectionBody is the body of POST /admin/v1/groups/{name}/collections:
// a patch plus the id. Without ID the server generates one.
type CollectionBody struct {
	ID *string `json:"id,omitempty"`
	CollectionPatch
}

// CollectionPatch is the body of PATCH on a collection. Policy replaces
// the whole policy; an empty Alias removes it.
type CollectionPatch struct {
	Title       *string `json:"title,omitempty"`
	Alias       *string `json:"alias,omitempty"`
	Description *string `json:"description,omitempty"`
	Policy      *Policy `json:"policy,omitempty"`
}

// Me is GET /admin/v1/me: the caller's account, its organization and its
// role in each group.
type Me struct {
	Account      Account         `json:"account"`
	Organization *Organization   `json:"organization"`
	Groups       map[string]Role `json:"groups"`
}

// AuditEvent is one row of the audit log.
type AuditEvent struct {
	Time           time.Time   `json:"time"`
	Action         string      `json:"action"`
	Account        string      `json:"account,omitempty"`
	Organization   string      `json:"organization,omitempty"`
	Group          string      `json:"group,omitempty"`
	Collection     string      `json:"collection,omitempty"`
	StatusID       string      `json:"status_id,omitempty"`
	Objects        []ObjectRef `json:"objects,omitempty"`
	Count          int         `json:"count,omitempty"`
	DateAddedFirst string      `json:"date_added_first,omitempty"`
	DateAddedLast  string      `json:"date_added_last,omitempty"`
	Target         string      `json:"target,omitempty"`
	Detail         string      `json:"detail,omitempty"`
	RemoteAddr     string      `json:"remote_addr,omitempty"`
}

// ObjectRef names one version of an object in an audit row.
type ObjectRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// AuditPage is GET /admin/v1/audit.
type AuditPage struct {
	Events []AuditEvent `json:"events"`
}

// Webhook is a webhook subscription as the admin API shows it: never its
// secrets, only when each was made and when it stops signing.
type Webhook struct {
	ID         string   `json:"id"`
	Owner      string   `json:"owner"`
	Group      string   `json:"group"`
	Collection string   `json:"collection"`
	URL        string   `json:"url"`
	Types      []string `json:"types,omitempty"`
	// IncludeObjects: messages carry the objects; false: a notice of the
	// cursor range only.
	IncludeObjects bool            `json:"include_objects"`
	Secrets        []WebhookSecret `json:"secrets"`
	Created        time.Time       `json:"created"`
	State          WebhookState    `json:"state"`
}

// WebhookSecret describes one signing secret, newest first.
type WebhookSecret struct {
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

// WebhookState is a subscription's delivery progress. Cursors are written
// as TAXII writes date_added.
type WebhookState struct {
	Enabled bool `json:"enabled"`
	// DisabledReason says why the dispatcher stopped it.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// Cursor is the position after the last change the target
	// acknowledged; "" before the first.
	Cursor       string    `json:"cursor,omitempty"`
	Failures     int       `json:"failures,omitempty"`
	FailingSince time.Time `json:"failing_since,omitzero"`
	NextAttempt  time.Time `json:"next_attempt,omitzero"`
}

// WebhookList is GET /admin/v1/webhooks.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}

// WebhookBody is the body of POST /admin/v1/webhooks. Group and
// Collection (an id or an alias) name the collection; URL is the target;
// Owner is the account whose read access binds the deliveries (the caller
// if absent); Types filters by STIX type (all if absent);
// IncludeObjects is true if absent; From is "now" (the default: changes
// after creation) or "start" (everything the collection holds).
type WebhookBody struct {
	Group          *string  `json:"group,omitempty"`
	Collection     *string  `json:"collection,omitempty"`
	URL            *string  `json:"url,omitempty"`
	Owner          *string  `json:"owner,omitempty"`
	Types          []string `json:"types,omitempty"`
	IncludeObjects *bool    `json:"include_objects,omitempty"`
	From           *string  `json:"from,omitempty"`
}

// NewWebhook is the answer to POST /admin/v1/webhooks: the subscription
// and its signing secret ("whsec_" and base64), shown here and never
// again.
type NewWebhook struct {
	Webhook
	Secret string `json:"secret"`
}

// WebhookRotateBody is the body of POST /admin/v1/webhooks/{id}/rotate.
// Grace is how long the secrets in use keep signing beside the new one, a
// Go duration ("24h", the default; "0s" ends them at once).
type WebhookRotateBody struct {
	Grace *string `json:"grace,omitempty"`
}

// NewWebhookSecret is the answer to a rotation: the new secret, shown once,
// and when the previous ones stop signing.
type NewWebhookSecret struct {
	ID              string    `json:"id"`
	Secret          string    `json:"secret"`
	PreviousExpires time.Time `json:"previous_expires"`
}

// WebhookDelivery is one attempt in a subscription's delivery log.
type WebhookDelivery struct {
	Time      time.Time `json:"time"`
	MessageID string    `json:"message_id"`
	Attempt   int       `json:"attempt"`
	First     string    `json:"first,omitempty"`
	Last      string    `json:"last,omitempty"`
	Changes   int       `json:"changes"`
	// Status is the HTTP status answered; 0 when none was (refused
	// address, timeout, connection error).
	Status    int    `json:"status"`
	LatencyMS int64  `json:"latency_ms"`
	Error     string `json:"error,omitempty"`
}

// WebhookDeliveryList is GET /admin/v1/webhooks/{id}/deliveries, newest
// first.
type WebhookDeliveryList struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
}
