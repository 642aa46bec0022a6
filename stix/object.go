package stix

import (
	"time"
)

// Header is the part of a STIX object the server indexes, filters and reports
// on. The object itself is kept as raw bytes next to it.
type Header struct {
	Type        string
	ID          string
	SpecVersion string // as sent; "" when absent (allowed on SCOs)

	// Created and Modified are the strings as sent (precision kept); the
	// *At fields hold the parsed instants, zero when absent.
	Created    string
	Modified   string
	CreatedAt  time.Time
	ModifiedAt time.Time

	CreatedByRef      string
	ObjectMarkingRefs []string
}

// Version returns the instant that identifies this version of the object:
// modified, else created. ok is false for objects that carry neither (most
// SCOs); the store then versions them by date_added (conformance REQ-107).
func (h *Header) Version() (t time.Time, ok bool) {
	switch {
	case !h.ModifiedAt.IsZero():
		return h.ModifiedAt, true
	case !h.CreatedAt.IsZero():
		return h.CreatedAt, true
	}
	return time.Time{}, false
}

// scoTypes are the 18 cyber-observable object types of STIX 2.1 (§6).
var scoTypes = map[string]bool{
	"artifact": true, "autonomous-system": true, "directory": true, "domain-name": true,
	"email-addr": true, "email-message": true, "file": true, "ipv4-addr": true,
	"ipv6-addr": true, "mac-addr": true, "mutex": true, "network-traffic": true,
	"process": true, "software": true, "url": true, "user-account": true,
	"windows-registry-key": true, "x509-certificate": true,
}

// IsSCO reports whether typ is one of the STIX 2.1 cyber-observable types.
func IsSCO(typ string) bool { return scoTypes[typ] }
