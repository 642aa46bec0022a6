package taxii

import (
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/eitaxii/eitaxii/console"
	"github.com/google/uuid"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
)

// Role is an account's role in a sharing group.
type Role = access.Role

// The roles, from least to most privileged.
const (
	RoleReader    = access.RoleReader    // can_read
	RolePublisher = access.RolePublisher // can_read and can_write
	RoleAdmin     = access.RoleAdmin     // publisher, and manages the group
)

// Discovery is the server's discovery information (§4.1.1).
type Discovery struct {
	Title       string
	Description string
	Contact     string
	// Default names the group whose API root is advertised as default to
	// callers who are members of it.
	Default string
}

// Organization is a member organization declared in the configuration.
type Organization struct {
	Name  string
	Title string
}

// Account is a person or machine that may authenticate.
type Account struct {
	Name string
	// Organization names the account's organization; DefaultOrganization
	// if empty.
	Organization string
	// Kind is "person" or "machine"; "person" if empty.
	Kind string
	// PasswordHash is a bcrypt hash (from `eitaxii hash-password`); empty
	// means the account has no password.
	PasswordHash string
	// TokenHashes are hex SHA-256 hashes of the account's API tokens.
	TokenHashes []string
	// Certificates are hex SHA-256 fingerprints of client certificates.
	Certificates []string
	Superadmin   bool
	OrgAdmin     bool
	RateLimit    *store.RateLimit
}

// DefaultOrganization holds the configured accounts that name none.
const DefaultOrganization = "default"

// Group is a sharing group: one TAXII API root at /<Name>/.
type Group struct {
	Name             string
	Title            string
	Description      string
	MaxContentLength int64
	Members          map[string]Role
	// OwnDomains (access.OwnDomains) are added to the stored group's.
	OwnDomains  []string
	Collections []Collection
}

// Collection is a TAXII collection of a group.
type Collection struct {
	ID          string
	Title       string
	Description string
	Alias       string
	Policy      access.PolicySpec
}

// Options configure a Server.
//
// Organizations, Accounts and Groups bootstrap the store's directory: at
// start, what they declare and the store lacks is created; nothing is
// changed or deleted, so changes made through the admin API stay.
type Options struct {
	Discovery     Discovery
	Organizations []Organization
	Accounts      []Account
	Groups        []Group

	// MaxPageSize caps the items of one page (REQ-19); 1000 if zero. A
	// request without limit gets this many.
	MaxPageSize int
	// MaxObjectsPerEnvelope bounds one Add Objects request; 100,000 if zero.
	MaxObjectsPerEnvelope int
	// MaxHeaderBytes bounds a request's header (request line and fields,
	// counted as sent): 431 above it; DefaultMaxHeaderBytes if zero.
	MaxHeaderBytes int
	// MaxQueryBytes bounds the URL query: 414 above it;
	// DefaultMaxQueryBytes if zero.
	MaxQueryBytes int
	// CredentialCacheSize bounds the verified Basic credentials kept, so
	// that Basic auth costs a bcrypt the first time only; past it the
	// least recently used is forgotten. A credential is kept until its
	// password changes or it is crowded out; a disabled account is refused
	// before the cache is read. DefaultCredentialCacheSize if zero.
	CredentialCacheSize int
	// PasswordChecks bounds the bcrypt verifications running at once;
	// max(1, GOMAXPROCS/2) if zero, so that a flood of wrong passwords
	// leaves cores to everything else. A login that finds none free for
	// 2 s is answered 503 with Retry-After.
	PasswordChecks int
	// DirectoryPoll is how often the server asks the store whether the
	// directory changed (store.Store.DirectoryVersion) and reloads it if
	// so: the bound on how long a change made by another node on the same
	// database (a revoked token, a removed member, a deleted collection)
	// takes to apply here. Its own changes apply at once.
	// DefaultDirectoryPoll if zero.
	DirectoryPoll time.Duration
	// LoginLimit bounds failed logins per client address and per account
	// name; see LoginLimit.
	LoginLimit LoginLimit
	// RateLimit is every account's default request rate; nil or a zero
	// PerSecond means unlimited. An account's own limit overrides it.
	RateLimit *store.RateLimit
	// AuditRetention is how long audit rows are kept; 0 means forever.
	AuditRetention time.Duration
	// StatusRetention is how long Add Objects statuses stay retrievable;
	// 24 hours if zero, the least the spec allows (REQ-43).
	StatusRetention time.Duration

	// Metrics receive the server's measurements; NewMetrics() if nil.
	Metrics *Metrics
	// MetricsAllow lists the networks that may read /metrics without
	// credentials; others need a superadmin's.
	MetricsAllow []netip.Prefix

	Logger *slog.Logger     // slog.Default() if nil
	Now    func() time.Time // time.Now if nil
	// NewID makes the ids of what the server creates: collections, tokens
	// and the STIX identities of organizations and groups. It must return
	// a random (version 4) UUID, and be safe for concurrent use (admin
	// requests call it at once); uuid.New if nil. Tests inject a sequence.
	// Its ids are not checked.
	NewID func() uuid.UUID

	// Page memory. What one read holds until its response is written:
	// MaxPageSize alone lets a page of large objects reach hundreds of
	// megabytes.

	// MaxPageBytes caps the object bytes of one page of Get Objects and Get
	// an Object; on manifest and versions pages each record counts its text
	// fields instead (see store.Page). A page cut by it has more and next
	// like one cut by MaxPageSize; an object larger than it is served alone.
	// DefaultMaxPageBytes if zero; negative means no byte cap. With
	// MaxPageSize it is the server's page limit of REQ-19.
	MaxPageBytes int
	// MaxConcurrentReads caps the page reads (objects, an object, manifest,
	// versions) one account may have in progress, from the read to the end
	// of writing its response; beyond it they are answered 429 with
	// Retry-After. DefaultMaxConcurrentReads if zero; negative means no cap.
	MaxConcurrentReads int

	// The live stream.

	// MaxStreamsPerAccount caps the streams one account may have open;
	// beyond it they are answered 429 with Retry-After.
	// DefaultMaxStreamsPerAccount if zero; negative means no cap.
	MaxStreamsPerAccount int
	// StreamHeartbeat is the interval of a stream's heartbeats;
	// DefaultStreamHeartbeat if zero. Proxies close connections idle for
	// longer than about a minute, so keep it well below that.
	StreamHeartbeat time.Duration
	// StreamWriteTimeout bounds each write to a stream's client: a client
	// that takes longer to accept one is disconnected. It replaces the
	// HTTP server's WriteTimeout, which bounds a whole response, on
	// streams. DefaultStreamWriteTimeout if zero.
	StreamWriteTimeout time.Duration
	// StreamQueue bounds the changes waiting for one stream's client; one
	// more and the client is disconnected as slow (it resumes from its
	// last event id and loses nothing). delivery.DefaultQueue if zero.
	StreamQueue int

	// Console configures the analyst console under /console/ (on unless
	// Console.Disabled).
	Console console.Settings
	// WebhookAllowHosts are the webhook target hosts exempt from the
	// SSRF guard (webhooks.allow_hosts): plain http and private or
	// loopback addresses are allowed for them. The dispatcher gets the
	// same list.
	WebhookAllowHosts []string
	// OnWebhookChange, if set, is called after a webhook subscription is
	// created, rotated or deleted (the dispatcher's Notify).
	OnWebhookChange func()
}

// DefaultMaxPageBytes is Options.MaxPageBytes when zero: 8 MiB.
const DefaultMaxPageBytes = 8 << 20

// LoginLimit bounds failed authentication, so that guessing passwords is
// slow and a flood of wrong ones costs no bcrypt. Each client address
// (IPv6: its /64) and each account name sent in a Basic credential, an
// account or not, may fail PerAddress (PerAccount) times, refilled evenly
// over Window; beyond that, password logins from that address or for that
// name are answered 429 with Retry-After, a correct password included.
// API tokens and client certificates are neither counted nor limited. The
// address is the connection's, not a forwarded header's.
type LoginLimit struct {
	// PerAddress: DefaultLoginFailuresPerAddress if zero; negative: none.
	PerAddress int
	// PerAccount: DefaultLoginFailuresPerAccount if zero; negative: none.
	PerAccount int
	// Window: DefaultLoginWindow if zero.
	Window time.Duration
}

// DefaultDirectoryPoll is Options.DirectoryPoll when zero: a change made on
// another node applies here within half a second, for one cheap read per
// poll.
const DefaultDirectoryPoll = 500 * time.Millisecond

// DefaultMaxContentLength is an API root's max_content_length when the
// group does not set one: 10 MiB.
const DefaultMaxContentLength = 10 << 20

// validate checks the options and fills defaults. Its errors name the
// configuration key at fault, as the YAML file spells it.
func (o *Options) validate() error {
	if o.MaxPageSize <= 0 {
		o.MaxPageSize = 1000
	}
	if o.MaxPageBytes == 0 {
		o.MaxPageBytes = DefaultMaxPageBytes
	}
	if o.MaxConcurrentReads == 0 {
		o.MaxConcurrentReads = DefaultMaxConcurrentReads
	}
	if o.MaxStreamsPerAccount == 0 {
		o.MaxStreamsPerAccount = DefaultMaxStreamsPerAccount
	}
	if o.StreamHeartbeat < 0 || o.StreamWriteTimeout < 0 || o.StreamQueue < 0 {
		return fmt.Errorf("stream: heartbeat, write_timeout and queue must not be negative")
	}
	if o.StreamHeartbeat == 0 {
		o.StreamHeartbeat = DefaultStreamHeartbeat
	}
	if o.StreamWriteTimeout == 0 {
		o.StreamWriteTimeout = DefaultStreamWriteTimeout
	}
	if o.MaxObjectsPerEnvelope <= 0 {
		o.MaxObjectsPerEnvelope = 100000
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxQueryBytes <= 0 {
		o.MaxQueryBytes = DefaultMaxQueryBytes
	}
	if o.StatusRetention == 0 {
		o.StatusRetention = 24 * time.Hour
	}
	if o.StatusRetention < 24*time.Hour {
		return fmt.Errorf("status_retention: %v is shorter than the 24 hours TAXII asks statuses to be kept", o.StatusRetention)
	}
	if o.CredentialCacheSize < 0 {
		return fmt.Errorf("credential_cache_size: must not be negative")
	}
	if o.CredentialCacheSize == 0 {
		o.CredentialCacheSize = DefaultCredentialCacheSize
	}
	if o.DirectoryPoll < 0 {
		return fmt.Errorf("directory_poll: must not be negative")
	}
	if o.DirectoryPoll == 0 {
		o.DirectoryPoll = DefaultDirectoryPoll
	}
	if o.PasswordChecks <= 0 {
		o.PasswordChecks = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if o.LoginLimit.PerAddress == 0 {
		o.LoginLimit.PerAddress = DefaultLoginFailuresPerAddress
	}
	if o.LoginLimit.PerAccount == 0 {
		o.LoginLimit.PerAccount = DefaultLoginFailuresPerAccount
	}
	if o.LoginLimit.Window < 0 {
		return fmt.Errorf("login_limit.window: must not be negative")
	}
	if o.LoginLimit.Window == 0 {
		o.LoginLimit.Window = DefaultLoginWindow
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = uuid.New
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if strings.TrimSpace(o.Discovery.Title) == "" {
		return fmt.Errorf("discovery.title: required")
	}
	orgs := map[string]bool{DefaultOrganization: true}
	for i, org := range o.Organizations {
		key := fmt.Sprintf("organizations[%d]", i)
		if err := under(key, access.OrganizationName(org.Name), access.OrganizationTitle(org.Title)); err != nil {
			return err
		}
		if orgs[org.Name] && org.Name != DefaultOrganization {
			return fmt.Errorf("%s.name: duplicate organization %q", key, org.Name)
		}
		orgs[org.Name] = true
	}
	accounts := map[string]bool{}
	tokens := map[string]string{}
	certs := map[[32]byte]bool{}
	for i, a := range o.Accounts {
		key := fmt.Sprintf("accounts[%d]", i)
		if err := newName(accounts, key, "account", a.Name, access.AccountName(a.Name)); err != nil {
			return err
		}
		if a.Organization != "" && !orgs[a.Organization] {
			return fmt.Errorf("%s.organization: unknown organization %q (declare it under organizations)", key, a.Organization)
		}
		_, certErr := access.Certificates(a.Certificates)
		if err := under(key, optionalKind(a.Kind), certErr, rateLimit(a.RateLimit)); err != nil {
			return err
		}
		for j, fp := range a.Certificates {
			// The admin API refuses this too (409): a certificate
			// authenticates one account only.
			k, _ := access.HashKey(fp)
			if certs[k] {
				return fmt.Errorf("%s.certificates[%d]: this certificate is registered to another account", key, j)
			}
			certs[k] = true
		}
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
		if err := newName(groups, key, "group", g.Name, access.GroupName(g.Name)); err != nil {
			return err
		}
		if g.MaxContentLength == 0 {
			g.MaxContentLength = DefaultMaxContentLength
		}
		own, ownErr := access.OwnDomains(g.OwnDomains)
		if err := under(key, requiredTitle(g.Title), access.Description(g.Description), access.MaxContentLength(g.MaxContentLength), ownErr); err != nil {
			return err
		}
		g.OwnDomains = own
		for name, role := range g.Members {
			if !accounts[name] {
				return fmt.Errorf("%s.members.%s: unknown account %q", key, name, name)
			}
			var fe *access.FieldError
			if err := access.MemberRole(role); errors.As(err, &fe) {
				return fmt.Errorf("%s.members.%s: %s", key, name, fe.Problem)
			}
		}
		aliases := map[string]bool{}
		for j, c := range g.Collections {
			ckey := fmt.Sprintf("%s.collections[%d]", key, j)
			if err := under(ckey, access.CollectionID(c.ID)); err != nil {
				return err
			}
			if other, dup := collIDs[c.ID]; dup {
				return fmt.Errorf("%s.id: duplicate collection id %s (also in group %q)", ckey, c.ID, other)
			}
			collIDs[c.ID] = g.Name
			if err := under(ckey, requiredTitle(c.Title), access.Description(c.Description), access.Alias(c.Alias)); err != nil {
				return err
			}
			if c.Alias != "" {
				if aliases[c.Alias] {
					return fmt.Errorf("%s.alias: duplicate alias %q in group %q", ckey, c.Alias, g.Name)
				}
				aliases[c.Alias] = true
			}
			if err := under(ckey, policyError(c.Policy)); err != nil {
				return err
			}
		}
	}
	if err := rateLimit(o.RateLimit); err != nil {
		return err
	}
	if o.Discovery.Default != "" && !groups[o.Discovery.Default] {
		return fmt.Errorf("discovery.default: unknown group %q", o.Discovery.Default)
	}
	return nil
}

// under returns the first error of errs (the rules of one configuration
// entry, in the order they are checked) under the entry's key, or nil.
func under(key string, errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%s.%v", key, err)
		}
	}
	return nil
}

// newName checks name, the name of the entry key (an entry of the kind
// what), with ruleErr, its rule's answer, and refuses it when seen holds
// it already; then it adds it to seen.
func newName(seen map[string]bool, key, what, name string, ruleErr error) error {
	if err := under(key, ruleErr); err != nil {
		return err
	}
	if seen[name] {
		return fmt.Errorf("%s.name: duplicate %s %q", key, what, name)
	}
	seen[name] = true
	return nil
}

// optionalKind is access.Kind for a kind that may be left out.
func optionalKind(kind string) error {
	if kind == "" {
		return nil
	}
	return access.Kind(kind)
}

// rateLimit is access.RateLimit for a rate limit that may be absent.
func rateLimit(r *store.RateLimit) error {
	if r == nil {
		return nil
	}
	return access.RateLimit(r.PerSecond, r.Burst)
}

// requiredTitle checks the title of a configured group or collection:
// absent (empty) is "required", as in the admin API, and anything else
// follows access.Title.
func requiredTitle(title string) error {
	if title == "" {
		return &access.FieldError{Field: "title", Problem: "required"}
	}
	return access.Title(title)
}

// policyError is the error of parsing a configured policy, if any.
func policyError(spec access.PolicySpec) error {
	_, err := spec.Parse()
	return err
}
