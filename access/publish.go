package access

import (
	"fmt"
	"strings"

	"github.com/eitaxii/eitaxii/stix"
)

// Publish is a collection's policy prepared for one Add Objects request:
// what it enforces on each object, and who publishes.
type Publish struct {
	Policy
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

// NewPublish prepares policy for a publisher whose organization has
// identity id from ("" if the organization is gone), in a group with
// identity id to, given the reserved identity ids.
func NewPublish(policy Policy, from, to string, reserved map[string]string) *Publish {
	if from == "" {
		from = to
	}
	return &Publish{Policy: policy, From: from, To: to, Reserved: reserved}
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
	if p.TLPCeiling != stix.TLPNone || p.RequireTLP {
		level, err := stix.ObjectTLP(raw)
		if err != nil {
			return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "policy", Message: err.Error()}}
		}
		switch {
		case p.TLPCeiling != stix.TLPNone && level > p.TLPCeiling:
			return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "tlp-ceiling",
				Message: fmt.Sprintf("marked %s, above this collection's ceiling %s: publish it to a collection cleared for it", level, p.TLPCeiling)}}
		case p.RequireTLP && level == stix.TLPNone && h.Type != "marking-definition":
			if p.DefaultTLP == stix.TLPNone {
				return nil, []stix.Finding{{Path: "/object_marking_refs", Rule: "tlp-required",
					Message: "no TLP marking: this collection accepts only objects with a TLP marking in object_marking_refs or granular_markings"}}
			}
			marked, err := stix.AddObjectMarking(raw, stix.TLPMarkingID(p.DefaultTLP))
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
