package ioc

import (
	"net/netip"
	"net/url"
	"strings"
)

// benignDomains are well-known domains that show up in advisories as
// context (a download page, a mail provider, a code host) far more often
// than as indicators: flagged so that nobody blocks them by accident.
var benignDomains = []string{
	"google.com", "googleapis.com", "gstatic.com", "gmail.com", "youtube.com",
	"microsoft.com", "windows.com", "office.com", "live.com", "outlook.com", "azure.com",
	"apple.com", "icloud.com", "amazon.com", "amazonaws.com", "cloudflare.com",
	"github.com", "githubusercontent.com", "gitlab.com", "facebook.com", "twitter.com", "x.com",
	"linkedin.com", "wikipedia.org", "mozilla.org", "yahoo.com",
	"cisa.gov", "nist.gov", "mitre.org", "first.org", "oasis-open.org",
	"example.com", "example.net", "example.org",
}

// reserved are the special-purpose address blocks (RFC 6890 and its
// updates) that are never an attacker's public address.
var reserved = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "is in 0.0.0.0/8 (\"this network\")"},
	{netip.MustParsePrefix("100.64.0.0/10"), "is a carrier-grade NAT address (100.64.0.0/10)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "is an IETF protocol assignment (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "is a documentation address (192.0.2.0/24)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "is a benchmarking address (198.18.0.0/15)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "is a documentation address (198.51.100.0/24)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "is a documentation address (203.0.113.0/24)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "is reserved (240.0.0.0/4)"},
	{netip.MustParsePrefix("2001:db8::/32"), "is a documentation address (2001:db8::/32)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "is a local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "is a discard-only address (100::/64)"},
}

// addressWarning says why an address is not a public one, or "".
func addressWarning(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "is a loopback address"
	case a.IsPrivate():
		return "is a private address"
	case a.IsLinkLocalUnicast():
		return "is a link-local address"
	case a.IsMulticast():
		return "is a multicast address"
	case a.IsUnspecified():
		return "is the unspecified address"
	}
	for _, r := range reserved {
		if r.prefix.Contains(a) {
			return r.why
		}
	}
	return ""
}

// domainWarning says why a domain is probably not malicious, or "".
func domainWarning(d string, own []string) string {
	for _, o := range own {
		if d == o || strings.HasSuffix(d, "."+o) {
			return "is one of the sharing group's own domains (" + o + ")"
		}
	}
	for _, b := range benignDomains {
		if d == b || strings.HasSuffix(d, "."+b) {
			return "is a well-known benign domain (" + b + ")"
		}
	}
	return ""
}

// warnings lists why a candidate may not be meant to be shared.
func warnings(kind Kind, value string, own []string) []string {
	var w string
	switch kind {
	case IPv4, IPv6:
		w = addressWarning(netip.MustParseAddr(value))
	case CIDR4, CIDR6:
		w = addressWarning(netip.MustParsePrefix(value).Addr())
	case Domain:
		w = domainWarning(value, own)
	case Email:
		w = domainWarning(value[strings.LastIndexByte(value, '@')+1:], own)
	case URL:
		if u, err := url.Parse(value); err == nil {
			if a, err := netip.ParseAddr(u.Hostname()); err == nil {
				w = addressWarning(a)
			} else {
				w = domainWarning(u.Hostname(), own)
			}
			if w != "" {
				w = "its host " + w
			}
		}
	}
	if w == "" {
		return nil
	}
	return []string{"This " + kindNoun[kind] + " " + w + "."}
}

var kindNoun = map[Kind]string{
	IPv4: "address", IPv6: "address", CIDR4: "network", CIDR6: "network",
	Domain: "domain", Email: "email address", URL: "URL",
}
