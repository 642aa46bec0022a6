package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/taxii"
	"gopkg.in/yaml.v3"
)

// Config is the YAML configuration file. Its shape is a public contract:
// keys may be added, never renamed.
type Config struct {
	Listen  string `yaml:"listen"`
	DataDir string `yaml:"data_dir"`
	// DatabaseURL chooses PostgreSQL as the store (a libpq URL or
	// keyword/value string); empty keeps the embedded bbolt store under
	// data_dir. EITAXII_DATABASE_URL and --database-url override it.
	DatabaseURL   string               `yaml:"database_url"`
	TLS           TLSConfig            `yaml:"tls"`
	Discovery     DiscoveryConfig      `yaml:"discovery"`
	Organizations []OrganizationConfig `yaml:"organizations"`
	Accounts      []AccountConfig      `yaml:"accounts"`
	Groups        []GroupConfig        `yaml:"groups"`
	// RateLimit is every account's default; accounts may override it.
	RateLimit *RateLimitConfig `yaml:"rate_limit"`
	// AuditRetention is how long audit rows are kept, as a Go duration
	// ("8760h"); empty keeps them forever.
	AuditRetention string `yaml:"audit_retention"`
	// StatusRetention is how long Add Objects statuses are kept ("48h");
	// at least and by default 24h.
	StatusRetention string        `yaml:"status_retention"`
	Metrics         MetricsConfig `yaml:"metrics"`

	// Page memory (taxii.Options has the contracts).

	// MaxPageBytes caps the object bytes of one page; default 8 MiB, -1
	// for no cap.
	MaxPageBytes int `yaml:"max_page_bytes"`
	// MaxConcurrentReads caps the page reads one account may have in
	// progress; default 4, -1 for no cap.
	MaxConcurrentReads int `yaml:"max_concurrent_reads"`
	// MaxStreamsPerAccount caps the live streams one account may have
	// open (taxii.Options.MaxStreamsPerAccount); default 8, -1 for no cap.
	MaxStreamsPerAccount int `yaml:"max_streams_per_account"`
	// LoginLimit bounds failed logins (taxii.LoginLimit).
	LoginLimit LoginLimitConfig `yaml:"login_limit"`
	// CredentialCacheSize bounds the verified Basic credentials kept
	// (taxii.Options.CredentialCacheSize); 10,000 if 0.
	CredentialCacheSize int `yaml:"credential_cache_size"`
	// Webhooks configure webhook delivery.
	Webhooks WebhooksConfig `yaml:"webhooks"`
}

// WebhooksConfig configures webhook delivery (package delivery).
type WebhooksConfig struct {
	// AllowHosts are target hosts (names or IP addresses, no port) exempt
	// from the SSRF guard: plain http and loopback or private addresses
	// are allowed for them, for a receiver on this machine or network.
	AllowHosts []string `yaml:"allow_hosts"`
	// MaxChanges and MaxBytes cap one message (changes, bytes of
	// objects); 100 and 1 MiB if 0. Set max_changes: 1 for receivers that
	// want one object per message.
	MaxChanges int `yaml:"max_changes"`
	MaxBytes   int `yaml:"max_bytes"`
}

// LoginLimitConfig is taxii.LoginLimit: failed password logins allowed per
// client address and per account name in each window; 0 for the default,
// -1 for no limit.
type LoginLimitConfig struct {
	PerAddress int `yaml:"per_address"`
	PerAccount int `yaml:"per_account"`
	// Window is a Go duration ("1m"); 1m if empty.
	Window string `yaml:"window"`
}

// MetricsConfig says who may read /metrics without credentials.
type MetricsConfig struct {
	// Allow lists addresses or networks ("127.0.0.1", "10.1.0.0/16");
	// everyone else needs a superadmin's credentials.
	Allow []string `yaml:"allow"`
}

// TLSConfig names the server's certificate and key (PEM files) and,
// optionally, the CA that signs client certificates (mTLS).
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// OrganizationConfig declares a member organization.
type OrganizationConfig struct {
	Name  string `yaml:"name"`
	Title string `yaml:"title"`
}

// RateLimitConfig is a token bucket: requests per second and burst.
type RateLimitConfig struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

func (r *RateLimitConfig) limit() *store.RateLimit {
	if r == nil {
		return nil
	}
	return &store.RateLimit{PerSecond: r.PerSecond, Burst: r.Burst}
}

// DiscoveryConfig is what GET /taxii2/ shows.
type DiscoveryConfig struct {
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	Contact     string `yaml:"contact"`
	Default     string `yaml:"default"`
}

// AccountConfig is one account with hashed credentials.
type AccountConfig struct {
	Name         string           `yaml:"name"`
	Organization string           `yaml:"organization"`
	Kind         string           `yaml:"kind"`
	PasswordHash string           `yaml:"password_hash"`
	TokenHashes  []string         `yaml:"token_hashes"`
	Certificates []string         `yaml:"certificates"`
	Superadmin   bool             `yaml:"superadmin"`
	OrgAdmin     bool             `yaml:"org_admin"`
	RateLimit    *RateLimitConfig `yaml:"rate_limit"`
}

// GroupConfig is one sharing group (an API root at /<name>/).
type GroupConfig struct {
	Name             string             `yaml:"name"`
	Title            string             `yaml:"title"`
	Description      string             `yaml:"description"`
	MaxContentLength int64              `yaml:"max_content_length"`
	Members          map[string]string  `yaml:"members"`
	OwnDomains       []string           `yaml:"own_domains"`
	Collections      []CollectionConfig `yaml:"collections"`
}

// CollectionConfig is one collection of a group.
type CollectionConfig struct {
	ID          string `yaml:"id"`
	Title       string `yaml:"title"`
	Alias       string `yaml:"alias"`
	Description string `yaml:"description"`
	TLPCeiling  string `yaml:"tlp_ceiling"`
	RequireTLP  bool   `yaml:"require_tlp"`
	DefaultTLP  string `yaml:"default_tlp"`
	Anonymize   bool   `yaml:"anonymize"`
	ReadRole    string `yaml:"read_role"`
	WriteRole   string `yaml:"write_role"`
}

// maxConfigSize bounds the configuration file we read.
const maxConfigSize = 4 << 20

// loadConfig reads and decodes a configuration file. Unknown keys are
// errors, with the line they are on, so that a misspelt key is not
// silently ignored.
func loadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfigSize)
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &cfg, nil
}

// serverOptions converts the file's sharing model into taxii.Options. The
// taxii package validates it and names the key at fault.
func (c *Config) serverOptions() (taxii.Options, error) {
	o := taxii.Options{Discovery: taxii.Discovery{
		Title: c.Discovery.Title, Description: c.Discovery.Description,
		Contact: c.Discovery.Contact, Default: c.Discovery.Default,
	}, RateLimit: c.RateLimit.limit(), CredentialCacheSize: c.CredentialCacheSize,
		LoginLimit:   taxii.LoginLimit{PerAddress: c.LoginLimit.PerAddress, PerAccount: c.LoginLimit.PerAccount},
		MaxPageBytes: c.MaxPageBytes, MaxConcurrentReads: c.MaxConcurrentReads,
		MaxStreamsPerAccount: c.MaxStreamsPerAccount, WebhookAllowHosts: c.Webhooks.AllowHosts}
	for _, d := range []struct {
		key, text string
		dst       *time.Duration
	}{
		{"audit_retention", c.AuditRetention, &o.AuditRetention},
		{"status_retention", c.StatusRetention, &o.StatusRetention},
		{"login_limit.window", c.LoginLimit.Window, &o.LoginLimit.Window},
	} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v < 0 {
			return o, fmt.Errorf("%s: %q is not a duration such as 8760h", d.key, d.text)
		}
		*d.dst = v
	}
	for i, a := range c.Metrics.Allow {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			addr, aerr := netip.ParseAddr(a)
			if aerr != nil {
				return o, fmt.Errorf("metrics.allow[%d]: %q is neither an address nor a network", i, a)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		o.MetricsAllow = append(o.MetricsAllow, p.Masked())
	}
	for _, org := range c.Organizations {
		o.Organizations = append(o.Organizations, taxii.Organization{Name: org.Name, Title: org.Title})
	}
	for _, a := range c.Accounts {
		o.Accounts = append(o.Accounts, taxii.Account{Name: a.Name, Organization: a.Organization, Kind: a.Kind,
			PasswordHash: a.PasswordHash, TokenHashes: a.TokenHashes, Certificates: a.Certificates,
			Superadmin: a.Superadmin, OrgAdmin: a.OrgAdmin, RateLimit: a.RateLimit.limit()})
	}
	for _, g := range c.Groups {
		grp := taxii.Group{Name: g.Name, Title: g.Title, Description: g.Description,
			MaxContentLength: g.MaxContentLength, Members: map[string]taxii.Role{}, OwnDomains: g.OwnDomains}
		for name, role := range g.Members {
			grp.Members[name] = taxii.Role(role)
		}
		for _, col := range g.Collections {
			grp.Collections = append(grp.Collections, taxii.Collection{ID: col.ID, Title: col.Title, Alias: col.Alias, Description: col.Description,
				Policy: access.PolicySpec{TLPCeiling: col.TLPCeiling, RequireTLP: col.RequireTLP, DefaultTLP: col.DefaultTLP,
					Anonymize: col.Anonymize, ReadRole: access.Role(col.ReadRole), WriteRole: access.Role(col.WriteRole)}})
		}
		o.Groups = append(o.Groups, grp)
	}
	return o, nil
}
