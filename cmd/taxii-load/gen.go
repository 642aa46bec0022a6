package main

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// TLP 2.0 marking definitions (STIX 2.1 §7.2.1.4 as updated by the TLP 2.0
// extension); objects refer to them by these fixed ids.
var tlpMarkings = map[string]string{
	"clear":        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	"green":        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	"amber":        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	"amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	"red":          "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

// maxVersionShare bounds Generator.VersionShare so that every item's chain
// of earlier versions stays short.
const maxVersionShare = 0.9

// versionWindow is how far back (in items) a new version may reach for
// the object it revises.
const versionWindow = 1000

// A Generator produces a reproducible stream of valid STIX 2.1 indicators.
// Item i of the stream is a pure function of the seed and i, so concurrent
// publishers can take disjoint ranges of items and two runs with the same
// seed send the same objects.
//
// A share of the items (VersionShare) are new versions of an object an
// earlier item created: same id and created, a later modified. Every item
// has a distinct (id, modified) pair, and the versions of one object have
// modified increasing with the item index.
type Generator struct {
	seed     uint64
	share    uint64   // VersionShare scaled to 1<<32
	markings []string // marking-definition ids to choose from
	base     time.Time
	identity string // created_by_ref of every object
}

// NewGenerator returns the generator of seed. versionShare in [0, 0.9] is
// the share of items that revise an earlier object; tlp lists the TLP 2.0
// levels (clear, green, amber, amber+strict, red) to mark objects with.
func NewGenerator(seed uint64, versionShare float64, tlp []string) (*Generator, error) {
	if versionShare < 0 || versionShare > maxVersionShare {
		return nil, fmt.Errorf("version share %v is outside [0, %v]", versionShare, maxVersionShare)
	}
	if len(tlp) == 0 {
		return nil, fmt.Errorf("no TLP level given")
	}
	g := &Generator{seed: seed, share: uint64(versionShare * (1 << 32))}
	for _, level := range tlp {
		id, ok := tlpMarkings[strings.ToLower(strings.TrimSpace(level))]
		if !ok {
			return nil, fmt.Errorf("unknown TLP level %q (clear, green, amber, amber+strict, red)", level)
		}
		g.markings = append(g.markings, id)
	}
	// Timestamps are in the past and differ per seed, so that runs with
	// different seeds do not look like one another's versions.
	g.base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seed%512) * 24 * time.Hour)
	g.identity = "identity--" + uuidOf(seed, 1<<63)
	return g, nil
}

// Item identifies one generated object version.
type Item struct {
	Index    uint64 // position in the stream
	Object   uint64 // index of the item that created the object
	ID       string
	Modified string // also the version
}

// Item returns the id and version of item i without rendering it.
func (g *Generator) Item(i uint64) Item {
	obj := g.origin(i)
	return Item{Index: i, Object: obj, ID: "indicator--" + uuidOf(g.seed, obj), Modified: g.stamp(i)}
}

// origin returns the index of the item that created the object item i is
// a version of (i itself for a new object). Each step goes strictly back,
// so the loop ends.
func (g *Generator) origin(i uint64) uint64 {
	for i > 0 {
		r := mix(g.seed ^ 0x9e3779b97f4a7c15*(i+1))
		if r>>32 >= g.share {
			return i
		}
		i -= 1 + (r&0xffffffff)%min(i, versionWindow)
	}
	return i
}

// stamp renders the creation time of item i: base + i ms, millisecond
// precision.
func (g *Generator) stamp(i uint64) string {
	return string(g.appendStamp(nil, i))
}

func (g *Generator) appendStamp(b []byte, i uint64) []byte {
	return g.base.Add(time.Duration(i)*time.Millisecond).AppendFormat(b, "2006-01-02T15:04:05.000Z")
}

// rng is splitmix64: small, fast and good enough to pick test data.
type rng struct{ s uint64 }

func (r *rng) next() uint64 { r.s += 0x9e3779b97f4a7c15; return mix(r.s) }

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// uuidOf returns a UUIDv4-shaped id (version 4, RFC 4122 variant) derived
// from seed and n.
func uuidOf(seed, n uint64) string {
	var u [16]byte
	a, b := mix(seed^mix(n+0x632be59bd9b4e019)), mix(seed+mix(n^0x85ebca6b))
	for k := range 8 {
		u[k] = byte(a >> (8 * k))
		u[8+k] = byte(b >> (8 * k))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// Vocabulary for names, descriptions and values. Nothing here needs JSON or
// pattern escaping: no quotes, backslashes or control characters.
var (
	tlds     = []string{"com", "net", "org", "info", "us", "xyz", "top", "online", "site", "gov.example"}
	words    = []string{"vote", "ballot", "county", "poll", "worker", "portal", "secure", "login", "update", "verify", "election", "results", "registrar", "clerk", "state", "absentee", "mail", "precinct", "canvass", "official"}
	paths    = []string{"login", "verify", "wp-admin/upload.php", "download/update.exe", "auth/sso", "results/live", "invoice.pdf.js", "owa/auth/logon.aspx", "api/v1/collect", "gate.php"}
	mailbox  = []string{"it-support", "helpdesk", "noreply", "elections", "clerk", "payroll", "security", "admin", "accounts", "notice"}
	campaign = []string{"credential phishing against county election staff", "voter-registration lookup spoofing", "ransomware staging infrastructure", "scanning of election-night reporting sites", "malspam with fake ballot-tracking notices", "password spraying against webmail", "fake poll-worker training portal"}
	kinds    = []string{"ipv4", "ipv4", "ipv6", "domain", "domain", "url", "url", "md5", "sha256", "file", "email", "email"}
	itypes   = []string{"malicious-activity", "anomalous-activity", "attribution", "compromised", "benign", "unknown"}
)

// AppendObject appends the JSON of item i to b. The object is a STIX 2.1
// indicator valid under the specification (and eitaxii's validator):
// millisecond created and modified, a STIX pattern over an IPv4 or IPv6
// address, a domain, a URL, file hashes (MD5, SHA-256) or an email
// address, and a TLP 2.0 marking.
func (g *Generator) AppendObject(b []byte, i uint64) []byte {
	obj := g.origin(i)
	// What the object is depends only on obj; what a version revises
	// (confidence, description) depends on i.
	r := rng{s: g.seed ^ mix(obj+1)}
	v := rng{s: g.seed ^ mix(i+0x1234567)}

	kind := kinds[r.intn(len(kinds))]
	pattern, name := g.pattern(&r, kind)
	b = append(b, `{"type":"indicator","spec_version":"2.1","id":"indicator--`...)
	b = append(b, uuidOf(g.seed, obj)...)
	b = append(b, `","created_by_ref":"`...)
	b = append(b, g.identity...)
	b = append(b, `","created":"`...)
	b = g.appendStamp(b, obj)
	b = append(b, `","modified":"`...)
	b = g.appendStamp(b, i)
	b = append(b, `","name":"`...)
	b = append(b, name...)
	b = append(b, `","description":"Observed in `...)
	b = append(b, campaign[v.intn(len(campaign))]...)
	if i != obj {
		b = append(b, ` (revised)`...)
	}
	b = append(b, `.","indicator_types":["`...)
	b = append(b, itypes[r.intn(len(itypes))]...)
	b = append(b, `"],"pattern":"`...)
	b = append(b, pattern...)
	b = append(b, `","pattern_type":"stix","pattern_version":"2.1","valid_from":"`...)
	b = g.appendStamp(b, obj)
	b = append(b, `","confidence":`...)
	b = strconv.AppendInt(b, int64(v.intn(101)), 10)
	b = append(b, `,"labels":["election-2026","`...)
	b = append(b, words[r.intn(len(words))]...)
	b = append(b, `"],"object_marking_refs":["`...)
	b = append(b, g.markings[r.intn(len(g.markings))]...)
	b = append(b, `"]}`...)
	return b
}

// AppendEnvelope appends a TAXII envelope holding items [lo, hi).
func (g *Generator) AppendEnvelope(b []byte, lo, hi uint64) []byte {
	b = append(b, `{"objects":[`...)
	for i := lo; i < hi; i++ {
		if i > lo {
			b = append(b, ',')
		}
		b = g.AppendObject(b, i)
	}
	return append(b, "]}"...)
}

// pattern returns a STIX pattern of the given kind and a name for the
// indicator.
func (g *Generator) pattern(r *rng, kind string) (pattern, name string) {
	switch kind {
	case "ipv4":
		a := netip.AddrFrom4([4]byte{byte(1 + r.intn(223)), byte(r.intn(256)), byte(r.intn(256)), byte(1 + r.intn(254))})
		if r.intn(5) == 0 {
			p := netip.PrefixFrom(a, 24).Masked()
			return "[ipv4-addr:value ISSUBSET '" + p.String() + "']", "Scanning range " + p.String()
		}
		return "[ipv4-addr:value = '" + a.String() + "']", "Malicious IP " + a.String()
	case "ipv6":
		var x [16]byte
		x[0], x[1] = 0x20, 0x01
		for k := 2; k < 16; k++ {
			x[k] = byte(r.next())
		}
		a := netip.AddrFrom16(x)
		return "[ipv6-addr:value = '" + a.String() + "']", "Malicious IPv6 " + a.String()
	case "domain":
		d := g.domain(r)
		return "[domain-name:value = '" + d + "']", "Phishing domain " + d
	case "url":
		u := "https://" + g.domain(r) + "/" + paths[r.intn(len(paths))]
		if r.intn(3) == 0 {
			u += "?id=" + strconv.Itoa(r.intn(1000000))
		}
		return "[url:value = '" + u + "']", "Malicious URL " + u
	case "md5":
		h := hexOf(r, 16)
		return "[file:hashes.MD5 = '" + h + "']", "Malware sample MD5 " + h
	case "sha256":
		h := hexOf(r, 32)
		return "[file:hashes.'SHA-256' = '" + h + "']", "Malware sample SHA-256 " + h[:16]
	case "file":
		md5, sha := hexOf(r, 16), hexOf(r, 32)
		f := words[r.intn(len(words))] + "_" + words[r.intn(len(words))] + ".exe"
		return "[file:hashes.MD5 = '" + md5 + "' OR file:hashes.'SHA-256' = '" + sha + "'] AND [file:name = '" + f + "']",
			"Dropper " + f
	default: // email
		e := mailbox[r.intn(len(mailbox))] + "@" + g.domain(r)
		if r.intn(4) == 0 {
			return "[email-message:from_ref.value = '" + e + "'] WITHIN 3600 SECONDS", "Phishing sender " + e
		}
		return "[email-addr:value = '" + e + "']", "Phishing sender " + e
	}
}

func (g *Generator) domain(r *rng) string {
	return words[r.intn(len(words))] + "-" + words[r.intn(len(words))] + strconv.Itoa(r.intn(1000)) + "." + tlds[r.intn(len(tlds))]
}

func hexOf(r *rng, n int) string {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(r.next())
	}
	return hex.EncodeToString(b)
}
