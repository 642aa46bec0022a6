package ioc

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// patternPaths are the STIX object paths of each kind's pattern.
var patternPaths = map[Kind]string{
	IPv4: "ipv4-addr:value", CIDR4: "ipv4-addr:value",
	IPv6: "ipv6-addr:value", CIDR6: "ipv6-addr:value",
	Domain: "domain-name:value", URL: "url:value", Email: "email-addr:value",
	MD5: "file:hashes.MD5", SHA1: "file:hashes.'SHA-1'", SHA256: "file:hashes.'SHA-256'", SHA512: "file:hashes.'SHA-512'",
}

// Pattern returns the STIX 2.1 pattern that matches value of kind, or ""
// for kinds without one (cve). The value is written as a STIX string
// literal: quotes and backslashes escaped.
func Pattern(kind Kind, value string) string {
	path, ok := patternPaths[kind]
	if !ok {
		return ""
	}
	lit := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value)
	return "[" + path + " = '" + lit + "']"
}

// ObjectOptions are what every object built from a list has in common.
type ObjectOptions struct {
	// Now is created, modified and valid_from.
	Now time.Time
	// NewID returns a UUIDv4 for each object.
	NewID func() string
	// Name names every object; empty gives each one a name from its value.
	Name        string
	Description string
	Labels      []string
	// Confidence is 0..100; -1 leaves it out.
	Confidence int
	// Markings are object_marking_refs (marking-definition ids).
	Markings []string
	// CreatedBy is created_by_ref, optional.
	CreatedBy string
}

var kindTitle = map[Kind]string{
	IPv4: "IPv4 address", IPv6: "IPv6 address", CIDR4: "IPv4 network", CIDR6: "IPv6 network",
	Domain: "Domain", URL: "URL", Email: "Email address",
	MD5: "File MD5", SHA1: "File SHA-1", SHA256: "File SHA-256", SHA512: "File SHA-512",
}

// stixObject holds the members Object writes, in STIX's usual order.
type stixObject struct {
	Type               string              `json:"type"`
	SpecVersion        string              `json:"spec_version"`
	ID                 string              `json:"id"`
	CreatedBy          string              `json:"created_by_ref,omitempty"`
	Created            string              `json:"created"`
	Modified           string              `json:"modified"`
	Name               string              `json:"name"`
	Description        string              `json:"description,omitempty"`
	Pattern            string              `json:"pattern,omitempty"`
	PatternType        string              `json:"pattern_type,omitempty"`
	ValidFrom          string              `json:"valid_from,omitempty"`
	Labels             []string            `json:"labels,omitempty"`
	Confidence         *int                `json:"confidence,omitempty"`
	ExternalReferences []externalReference `json:"external_references,omitempty"`
	Markings           []string            `json:"object_marking_refs,omitempty"`
}

type externalReference struct {
	SourceName string `json:"source_name"`
	ExternalID string `json:"external_id"`
}

// Object builds the STIX 2.1 object of a candidate, compact JSON: an
// indicator with its pattern (pattern_type stix, valid_from Now), or for a
// CVE id a vulnerability with the CVE as its external reference.
func Object(c Candidate, o ObjectOptions) ([]byte, error) {
	if o.NewID == nil {
		return nil, errors.New("ioc: ObjectOptions.NewID is required")
	}
	if o.Confidence > 100 || o.Confidence < -1 {
		return nil, errors.New("ioc: confidence must be 0..100 (or -1 to leave it out)")
	}
	ts := o.Now.UTC().Format("2006-01-02T15:04:05.000Z")
	obj := stixObject{SpecVersion: "2.1", CreatedBy: o.CreatedBy, Created: ts, Modified: ts, Name: o.Name,
		Description: o.Description, Labels: o.Labels, Markings: o.Markings}
	if o.Confidence >= 0 {
		obj.Confidence = &o.Confidence
	}
	if c.Kind == CVE {
		obj.Type, obj.ID = "vulnerability", "vulnerability--"+o.NewID()
		if obj.Name == "" {
			obj.Name = c.Value
		}
		obj.ExternalReferences = []externalReference{{SourceName: "cve", ExternalID: c.Value}}
	} else {
		if c.Pattern == "" {
			return nil, errors.New("ioc: the candidate has no pattern")
		}
		obj.Type, obj.ID = "indicator", "indicator--"+o.NewID()
		obj.Pattern, obj.PatternType, obj.ValidFrom = c.Pattern, "stix", ts
		if obj.Name == "" {
			obj.Name = kindTitle[c.Kind] + " " + c.Value
		}
	}
	return json.Marshal(obj)
}
