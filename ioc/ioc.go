// Package ioc turns free text (an advisory paragraph, CSV rows, a pasted,
// often defanged list) into indicators: it refangs, extracts and
// classifies IPv4 and IPv6 addresses and networks, domains, URLs, email
// addresses, MD5/SHA-1/SHA-256/SHA-512 hashes and CVE ids, de-duplicates
// them, flags what should not be shared by accident, and builds STIX 2.1
// objects with patterns the project's own validator accepts.
//
// Domains are checked against the public-suffix list of
// golang.org/x/net/publicsuffix (the Go team's embedded copy: no network,
// no list of ours to keep current): a name is a domain only when it ends
// in an ICANN suffix and has a label before it, so "report.pdf" or
// "setup.exe" are not taken for domains while "evil.co.uk" is.
package ioc

import (
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Kind is what a candidate is; the names are stable.
type Kind string

// The kinds Extract finds.
const (
	IPv4   Kind = "ipv4"
	IPv6   Kind = "ipv6"
	CIDR4  Kind = "cidr4"
	CIDR6  Kind = "cidr6"
	Domain Kind = "domain"
	URL    Kind = "url"
	Email  Kind = "email"
	MD5    Kind = "md5"
	SHA1   Kind = "sha1"
	SHA256 Kind = "sha256"
	SHA512 Kind = "sha512"
	CVE    Kind = "cve"
)

// Candidate is one indicator found in the text.
type Candidate struct {
	Kind Kind
	// Value is refanged and normalized: domains and hashes lower-case,
	// a domain without its trailing dot, CVE ids upper-case.
	Value string
	// Pattern is the STIX 2.1 pattern; "" for kinds without one (cve).
	Pattern string
	// Warnings say, in plain sentences, why this may not be meant to be
	// shared: a private or reserved address, the group's own domain, a
	// well-known benign domain.
	Warnings []string
	// Line is the 1-based line of the first occurrence.
	Line int
}

// Options tune Extract.
type Options struct {
	// OwnDomains are the sharing group's own domains: they and their
	// subdomains are flagged, not dropped.
	OwnDomains []string
	// MaxCandidates bounds the result; 0 means DefaultMaxCandidates.
	MaxCandidates int
}

// DefaultMaxCandidates is Options.MaxCandidates when zero.
const DefaultMaxCandidates = 100000

// Result is what Extract found.
type Result struct {
	Candidates []Candidate
	// Truncated is set when the text held more than MaxCandidates.
	Truncated bool
}

// refangs undo the usual defanging. Applied in order, case-insensitively
// where a letter is involved.
var refangs = []struct{ from, to string }{
	{"[://]", "://"}, {"[:]//", "://"}, {"[:]", ":"},
	{"[.]", "."}, {"(.)", "."}, {"{.}", "."}, {"[dot]", "."}, {"(dot)", "."}, {"{dot}", "."}, {"\\.", "."},
	{"[@]", "@"}, {"(@)", "@"}, {"[at]", "@"}, {"(at)", "@"}, {"{at}", "@"},
}

var schemeFang = regexp.MustCompile(`(?i)\b(hxxps|hxxp|hxtps|hxtp|fxps|fxp)://`)

// Refang returns s with defanged notations undone: hxxp:// and hxxps://,
// [.] (.) {.} [dot] (dot) \. for dots, [@] [at] (at) for @, [:] and [://].
func Refang(s string) string {
	for _, r := range refangs {
		if strings.ContainsAny(r.from, "adtoADTO") {
			s = replaceFold(s, r.from, r.to)
		} else {
			s = strings.ReplaceAll(s, r.from, r.to)
		}
	}
	s = schemeFang.ReplaceAllStringFunc(s, func(m string) string {
		lower := strings.ToLower(m)
		switch {
		case strings.HasPrefix(lower, "hxxps"), strings.HasPrefix(lower, "hxtps"):
			return "https://"
		case strings.HasPrefix(lower, "hxxp"), strings.HasPrefix(lower, "hxtp"):
			return "http://"
		case strings.HasPrefix(lower, "fxps"):
			return "ftps://"
		}
		return "ftp://"
	})
	return s
}

// replaceFold replaces every case-insensitive occurrence of the ASCII
// string from. Only ASCII letters are folded, so that the lower-cased copy
// keeps every byte's offset (strings.ToLower would not: it turns invalid
// UTF-8 into three-byte replacement characters).
func replaceFold(s, from, to string) string {
	lower := asciiLower(s)
	if !strings.Contains(lower, from) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, from)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(to)
		s, lower = s[i+len(from):], lower[i+len(from):]
	}
}

// separators end a token: white space and the punctuation that surrounds
// indicators in prose, CSV and markup. Dots, colons, slashes and @ are
// parts of indicators and are trimmed from the ends only.
func separator(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', ',', ';', '"', '\'', '<', '>', '(', ')', '[', ']', '{', '}', '|', '`', '\u00a0':
		return true
	}
	return false
}

// Extract finds the indicators of text, de-duplicated (by kind and
// value), in order of first appearance. It reads the text once, token by
// token; its cost is linear in the text's length.
func Extract(text string, opts Options) Result {
	limit := opts.MaxCandidates
	if limit <= 0 {
		limit = DefaultMaxCandidates
	}
	own := normalizeDomains(opts.OwnDomains)
	var res Result
	seen := map[string]bool{}
	for n, line := range strings.Split(text, "\n") {
		for _, tok := range strings.FieldsFunc(Refang(line), separator) {
			tok = strings.Trim(tok, ".,:;!?*")
			kind, value := classify(tok)
			if kind == "" {
				continue
			}
			key := string(kind) + " " + value
			if seen[key] {
				continue
			}
			if len(res.Candidates) == limit {
				res.Truncated = true
				return res
			}
			seen[key] = true
			c := Candidate{Kind: kind, Value: value, Pattern: Pattern(kind, value), Line: n + 1}
			c.Warnings = warnings(kind, value, own)
			res.Candidates = append(res.Candidates, c)
		}
	}
	return res
}

var (
	hexOnly = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	cveID   = regexp.MustCompile(`^(?i)cve-\d{4}-\d{4,7}$`)
	// emailLocal is the dot-atom of RFC 5322, the part mail systems use.
	emailLocal = regexp.MustCompile(`^[A-Za-z0-9!#$%&*+/=?^_{|}~-]+(\.[A-Za-z0-9!#$%&*+/=?^_{|}~-]+)*$`)
	label      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// maxToken bounds what is classified: no indicator is longer (a URL up to
// the length browsers and proxies commonly accept).
const maxToken = 8192

// classify returns the kind and normalized value of one token, or "".
func classify(tok string) (Kind, string) {
	if len(tok) < 3 || len(tok) > maxToken {
		return "", ""
	}
	if i := strings.Index(tok, "://"); i > 0 {
		return classifyURL(tok)
	}
	if strings.Contains(tok, "/") {
		if p, err := netip.ParsePrefix(tok); err == nil {
			p = p.Masked()
			if p.Addr().Is4() {
				return CIDR4, p.String()
			}
			return CIDR6, p.String()
		}
		return "", ""
	}
	if a, err := netip.ParseAddr(tok); err == nil && a.Zone() == "" {
		if a.Is4() || a.Is4In6() {
			return IPv4, a.Unmap().String()
		}
		return IPv6, a.String()
	}
	if hexOnly.MatchString(tok) {
		switch len(tok) {
		case 32:
			return MD5, strings.ToLower(tok)
		case 40:
			return SHA1, strings.ToLower(tok)
		case 64:
			return SHA256, strings.ToLower(tok)
		case 128:
			return SHA512, strings.ToLower(tok)
		}
		return "", ""
	}
	if cveID.MatchString(tok) {
		return CVE, strings.ToUpper(tok)
	}
	if at := strings.LastIndexByte(tok, '@'); at > 0 {
		local, dom := tok[:at], tok[at+1:]
		if d, ok := domainName(dom); ok && len(local) <= 64 && emailLocal.MatchString(local) {
			return Email, local + "@" + d
		}
		return "", ""
	}
	if d, ok := domainName(tok); ok {
		return Domain, d
	}
	return "", ""
}

// classifyURL accepts http, https, ftp and ftps URLs with a host that is a
// domain or an address.
func classifyURL(tok string) (Kind, string) {
	u, err := url.Parse(tok)
	if err != nil {
		return "", ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ftp", "ftps":
	default:
		return "", ""
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err != nil {
		d, ok := domainName(host)
		if !ok {
			return "", ""
		}
		if u.Port() != "" {
			u.Host = d + ":" + u.Port()
		} else {
			u.Host = d
		}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return URL, u.String()
}

// domainName returns s as a domain name (lower-case, no trailing dot) if
// it is one: LDH labels, at most 253 bytes, ending in an ICANN public
// suffix with at least one label before it.
func domainName(s string) (string, bool) {
	d := strings.TrimSuffix(strings.ToLower(s), ".")
	if len(d) > 253 || !strings.Contains(d, ".") {
		return "", false
	}
	for _, l := range strings.Split(d, ".") {
		if !label.MatchString(l) {
			return "", false
		}
	}
	suffix, icann := publicsuffix.PublicSuffix(d)
	if !icann || suffix == d {
		return "", false
	}
	return d, true
}

func normalizeDomains(ds []string) []string {
	var out []string
	for _, d := range ds {
		if d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), "."); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// asciiLower lower-cases ASCII letters only, byte for byte.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
