package access

import (
	"fmt"
	"strings"

	"github.com/eitaxii/eitaxii/stix"
)

// Publish is a collection's publishing policy, prepared for one Add
// Objects request: what it enforces on each object, and who publishes.
type Publish struct {
	Ceiling   stix.TLP // TLPNone: no ceiling
	Require   bool     // refuse (or mark, with Default) objects with no TLP marking
	Default   stix.TLP // TLPNone: refuse unmarked objects instead
	Anonymize bool     // replace the publisher's identity with the group's
	// From and To are the identity ids of the publisher's organization and
	// of the group. From is To when the publisher has no organization
	// (replacing the group's identity by itself changes nothing).
	From, To string
	// Reserved maps the lower-cased id of every STIX identity the server
	// made (one per organization, one per group) to its owner's identity
	// id: no member may publish an object under one of these ids but its
	// own organization's.
	Reserved map[string]string
}

// NewPublish prepares a collection's policy given as its stored fields:
// TLP levels (validated by CollectionPolicy when the collection was made;
// an unparsable level counts as none), require_tlp and anonymize; the
// publisher organization's identity id (from, "" if the organization is
// gone), the group's (to), and the reserved identity ids.
func NewPublish(tlpCeiling, defaultTLP string, requireTLP, anonymize bool, from, to string, reserved map[string]string) *Publish {
	p := &Publish{Require: requireTLP, Anonymize: anonymize, From: from, To: to, Reserved: reserved}
	if tlpCeiling != "" {
		p.Ceiling, _ = stix.ParseTLP(tlpCeiling)
	}
	if defaultTLP != "" {
		p.Default, _ = stix.ParseTLP(defaultTLP)
	}
	if p.From == "" {
		p.From = p.To
	}
	return p
}

// Apply enforces the policy on one valid object with header h and bytes
// raw. It returns the bytes to store (changed when a default marking is
// added or the publisher is anonymized; h.CreatedByRef is then updated
// too) or the findings that refuse the object. raw is not modified.
func (p *Publish) Apply(h *stix.Header, raw []byte) ([]byte, []stix.Finding) {
	// The server's own identities stand for organizations and groups (an
	// anonymized object's created_by_ref names the group's): publishing an
	// object under one of those ids would put words in their mouth. Only an
	// organization's own identity may be published by its members, and not
	// where publishers are anonymized. STIX ids are lower-case, but the
	// comparison ignores case so that an upper-cased copy cannot pass.
	if owner, ok := p.Reserved[strings.ToLower(h.ID)]; ok {
		switch {
		case owner != p.From || p.From == p.To:
			return nil, []stix.Finding{{Path: "/id", Rule: "reserved-identity",
				Message: "this id is an identity the server made for an organization or sharing group; publish your objects under ids of your own"}}
		case p.Anonymize:
			return nil, []stix.Finding{{Path: "/id", Rule: "anonymize",
				Message: "this collection anonymizes publishers: your organization's own identity object is not shared"}}
		}
	}
	if p.Ceiling != stix.TLPNone || p.Require {
		level, err := stix.ObjectTLP(raw)
		if err != nil {
			return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "policy", Message: err.Error()}}
		}
		switch {
		case p.Ceiling != stix.TLPNone && level > p.Ceiling:
			return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "tlp-ceiling",
				Message: fmt.Sprintf("marked %s, above this collection's ceiling %s: publish it to a collection cleared for it", level, p.Ceiling)}}
		case p.Require && level == stix.TLPNone && h.Type != "marking-definition":
			if p.Default == stix.TLPNone {
				return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "tlp-required",
					Message: "no TLP marking: this collection accepts only objects with a TLP marking in object_marking_refs or granular_markings"}}
			}
			marked, err := stix.AddObjectMarking(raw, stix.TLPMarkingID(p.Default))
			if err != nil {
				return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "policy", Message: err.Error()}}
			}
			raw = marked
		}
	}
	if p.Anonymize {
		anon, err := stix.ReplaceIdentity(raw, p.From, p.To)
		if err != nil {
			return nil, []stix.Finding{{Path: "/created_by_ref", Rule: "policy", Message: err.Error()}}
		}
		raw = anon
		h.CreatedByRef = p.To
	}
	return raw, nil
}
