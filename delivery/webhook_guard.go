package delivery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// The SSRF guard. A webhook target is a URL a group admin types, and the
// server POSTs to it from inside the operator's network, so the guard
// refuses what would turn the server into a proxy to that network: plain
// http, and any address in the loopback, private (RFC 1918, ULA),
// link-local (cloud metadata included), shared (CGNAT), unspecified,
// broadcast or multicast ranges. The address is checked when it is dialed
// (net.Dialer.Control sees the IP actually connected to), after DNS, so a
// name that resolves to a public address at creation and to a private one
// later (DNS rebinding) is refused too. Hosts the operator lists in
// webhooks.allow_hosts are exempt from both rules: a receiver on the same
// machine or in the same network is then a deliberate choice.

// TargetError is a target the guard refuses; its text says why, for the
// admin that gave it.
type TargetError struct{ Problem string }

func (e *TargetError) Error() string { return "webhook target refused: " + e.Problem }

// Hosts is the set of hosts exempt from the guard (webhooks.allow_hosts):
// names or IP literals, compared without case and without port.
type Hosts map[string]bool

// NewHosts returns the set of the given hosts.
func NewHosts(hosts []string) Hosts {
	h := Hosts{}
	for _, name := range hosts {
		name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
		if name != "" {
			h[name] = true
		}
	}
	return h
}

func (h Hosts) allows(host string) bool {
	return h[strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))]
}

// CheckTarget checks a target URL before it is stored and before each
// delivery: absolute https (http only for an allowed host), a host, no
// user info, no fragment, and, if the host is an IP literal, an address
// the guard accepts. Names are resolved only when dialed. The error is a
// *TargetError.
func CheckTarget(raw string, allow Hosts) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return nil, &TargetError{Problem: "not an absolute URL"}
	}
	host := u.Hostname()
	switch {
	case host == "":
		return nil, &TargetError{Problem: "the URL names no host"}
	case u.User != nil:
		return nil, &TargetError{Problem: "the URL may not hold a user name or password"}
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, &TargetError{Problem: "the URL may not have a fragment"}
	case u.Scheme == "https":
	case u.Scheme == "http" && allow.allows(host):
	case u.Scheme == "http":
		return nil, &TargetError{Problem: "only https targets are allowed (the operator may allow a host for plain http in webhooks.allow_hosts)"}
	default:
		return nil, &TargetError{Problem: fmt.Sprintf("scheme %q: only https", u.Scheme)}
	}
	if allow.allows(host) {
		return u, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := forbidden(ip); why != "" {
			return nil, &TargetError{Problem: fmt.Sprintf("%s is %s", ip, why)}
		}
	}
	return u, nil
}

// Ranges outside what netip's predicates name.
var (
	sharedRange    = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598, carrier-grade NAT
	thisNetwork    = netip.MustParsePrefix("0.0.0.0/8")
	broadcast      = netip.MustParseAddr("255.255.255.255")
	metadataV4     = netip.MustParseAddr("169.254.169.254")
	metadataV6     = netip.MustParseAddr("fd00:ec2::254")
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	// Prefixes that reach IPv4 or site addresses by other means: the
	// local-use NAT64 prefix (RFC 8215), IPv4-compatible addresses
	// (deprecated, RFC 4291) and site-local ones (deprecated, RFC 3879).
	nat64Local   = netip.MustParsePrefix("64:ff9b:1::/48")
	v4Compatible = netip.MustParsePrefix("::/96")
	siteLocal    = netip.MustParsePrefix("fec0::/10")
)

// forbidden says why ip may not be a webhook target ("" if it may).
func forbidden(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64WellKnown.Contains(ip) {
		// An IPv4 address embedded in the NAT64 prefix reaches that
		// address: judge the embedded one.
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case ip == metadataV4 || ip == metadataV6:
		return "a cloud metadata address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "an unspecified address"
	case ip.IsMulticast() || ip == broadcast:
		return "a multicast or broadcast address"
	case sharedRange.Contains(ip):
		return "a shared (carrier-grade NAT) address"
	case nat64Local.Contains(ip) || v4Compatible.Contains(ip) || siteLocal.Contains(ip):
		return "an address translated to a local network"
	}
	return ""
}

// dialer dials for the delivery client, checking each address it connects
// to unless the host asked for is allowed.
type dialer struct {
	allow   Hosts
	timeout time.Duration
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	nd := &net.Dialer{Timeout: d.timeout, KeepAlive: 30 * time.Second}
	if !d.allow.allows(host) {
		nd.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &TargetError{Problem: fmt.Sprintf("cannot check address %q", address)}
			}
			if why := forbidden(ap.Addr()); why != "" {
				// Not the address itself: the delivery log is read by
				// group admins, who must not map the server's network.
				return &TargetError{Problem: fmt.Sprintf("%s resolves to %s", host, why)}
			}
			return nil
		}
	}
	return nd.DialContext(ctx, network, addr)
}
