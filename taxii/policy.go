package taxii

import (
	"fmt"
	"strings"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
)

// policy is a collection's publishing policy, prepared for one Add Objects
// request.
type policy struct {
	ceiling    stix.TLP // TLPNone: no ceiling
	require    bool
	defaultTLP stix.TLP // TLPNone: refuse unmarked objects instead
	anonymize  bool
	// from and to are the publisher organization's identity and the
	// group's, for anonymized collections.
	from, to string
	// reserved holds the server-made identity ids (directory.identities).
	reserved map[string]string
}

// newPolicy prepares coll's policy for a publisher of org (which may be nil
// for an account whose organization is gone) in directory dir. Levels were
// validated when the collection was configured.
func newPolicy(coll *store.Collection, g *group, org *store.Organization, dir *directory) *policy {
	p := &policy{require: coll.Policy.RequireTLP, anonymize: coll.Policy.Anonymize, to: g.IdentityID, reserved: dir.identities}
	if coll.Policy.TLPCeiling != "" {
		p.ceiling, _ = stix.ParseTLP(coll.Policy.TLPCeiling)
	}
	if coll.Policy.DefaultTLP != "" {
		p.defaultTLP, _ = stix.ParseTLP(coll.Policy.DefaultTLP)
	}
	p.from = p.to // replacing the group's identity by itself changes nothing
	if org != nil {
		p.from = org.IdentityID
	}
	return p
}

// apply enforces the policy on one valid object. It returns the bytes to
// store (changed when a default marking is added or the publisher is
// anonymized) or the findings that refuse the object.
func (p *policy) apply(h *stix.Header, raw []byte) ([]byte, []stix.Finding) {
	// The server's own identities stand for organizations and groups (an
	// anonymized object's created_by_ref names the group's): publishing an
	// object under one of those ids would put words in their mouth. Only an
	// organization's own identity may be published by its members, and not
	// where publishers are anonymized. STIX ids are lower-case, but the
	// comparison ignores case so that an upper-cased copy cannot pass.
	if owner, ok := p.reserved[strings.ToLower(h.ID)]; ok {
		switch {
		case owner != p.from || p.from == p.to:
			return nil, []stix.Finding{{Path: "/id", Rule: "reserved-identity",
				Message: "this id is an identity the server made for an organization or sharing group; publish your objects under ids of your own"}}
		case p.anonymize:
			return nil, []stix.Finding{{Path: "/id", Rule: "anonymize",
				Message: "this collection anonymizes publishers: your organization's own identity object is not shared"}}
		}
	}
	if p.ceiling != stix.TLPNone || p.require {
		level, err := stix.ObjectTLP(raw)
		if err != nil {
			return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "policy", Message: err.Error()}}
		}
		switch {
		case p.ceiling != stix.TLPNone && level > p.ceiling:
			return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "tlp-ceiling",
				Message: fmt.Sprintf("marked %s, above this collection's ceiling %s: publish it to a collection cleared for it", level, p.ceiling)}}
		case p.require && level == stix.TLPNone && h.Type != "marking-definition":
			if p.defaultTLP == stix.TLPNone {
				return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "tlp-required",
					Message: "no TLP marking: this collection accepts only objects with a TLP marking in object_marking_refs or granular_markings"}}
			}
			marked, err := stix.AddObjectMarking(raw, stix.TLPMarkingID(p.defaultTLP))
			if err != nil {
				return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "policy", Message: err.Error()}}
			}
			raw = marked
		}
	}
	if p.anonymize {
		anon, err := stix.ReplaceIdentity(raw, p.from, p.to)
		if err != nil {
			return nil, []stix.Finding{{Path: "/created_by_ref", Rule: "policy", Message: err.Error()}}
		}
		raw = anon
		h.CreatedByRef = p.to
	}
	return raw, nil
}
