package access

import "github.com/eitaxii/eitaxii/stix"

// Policy is what a collection enforces on Add Objects, and who may read and
// write it. The store keeps it as JSON with the member names below, TLP
// levels by their lower-case names (stix.TLP.MarshalText).
type Policy struct {
	// TLPCeiling refuses objects marked above this level; TLPNone means no
	// ceiling.
	TLPCeiling stix.TLP `json:"tlp_ceiling,omitempty"`
	// RequireTLP refuses objects that carry no TLP marking, unless
	// DefaultTLP names the level to mark them with instead.
	RequireTLP bool     `json:"require_tlp,omitempty"`
	DefaultTLP stix.TLP `json:"default_tlp,omitempty"`
	// Anonymize replaces created_by_ref with the group's identity; the
	// publisher is kept in the audit log only.
	Anonymize bool `json:"anonymize,omitempty"`
	// ReadRole and WriteRole are the least roles that may read and write;
	// "" means reader and publisher. A submissions collection that members
	// write and only admins read has WriteRole reader and ReadRole admin.
	ReadRole  Role `json:"read_role,omitempty"`
	WriteRole Role `json:"write_role,omitempty"`
}

// PolicySpec is a collection policy as a person writes it, in the
// configuration file or an admin request: TLP levels by name ("" for
// none). Parse turns it into a Policy.
type PolicySpec struct {
	TLPCeiling string `json:"tlp_ceiling,omitempty"`
	RequireTLP bool   `json:"require_tlp,omitempty"`
	DefaultTLP string `json:"default_tlp,omitempty"`
	Anonymize  bool   `json:"anonymize,omitempty"`
	ReadRole   Role   `json:"read_role,omitempty"`
	WriteRole  Role   `json:"write_role,omitempty"`
}

// Parse checks the policy and returns it typed. tlp_ceiling and
// default_tlp must be TLP levels (stix.ParseTLP), default_tlp at most the
// ceiling and only with require_tlp; read_role and write_role roles or "".
// Fields are checked in that order; the error is a *FieldError naming the
// first bad one.
func (s PolicySpec) Parse() (Policy, error) {
	p := Policy{RequireTLP: s.RequireTLP, Anonymize: s.Anonymize, ReadRole: s.ReadRole, WriteRole: s.WriteRole}
	for _, f := range []struct {
		key, level string
		dst        *stix.TLP
	}{{"tlp_ceiling", s.TLPCeiling, &p.TLPCeiling}, {"default_tlp", s.DefaultTLP, &p.DefaultTLP}} {
		if f.level == "" {
			continue
		}
		l, err := stix.ParseTLP(f.level)
		if err != nil {
			return Policy{}, fieldErrorf(f.key, "%q is not a TLP level (clear, green, amber, amber+strict, red)", f.level)
		}
		*f.dst = l
	}
	if p.DefaultTLP != stix.TLPNone && p.TLPCeiling != stix.TLPNone && p.DefaultTLP > p.TLPCeiling {
		return Policy{}, fieldErrorf("default_tlp", "%s is above the collection's tlp_ceiling %s", s.DefaultTLP, s.TLPCeiling)
	}
	if p.DefaultTLP != stix.TLPNone && !p.RequireTLP {
		return Policy{}, fieldErrorf("default_tlp", "only meaningful with require_tlp: true")
	}
	for _, f := range []struct {
		key string
		r   Role
	}{{"read_role", s.ReadRole}, {"write_role", s.WriteRole}} {
		if f.r != "" && !f.r.Valid() {
			return Policy{}, fieldErrorf(f.key, "unknown role %q (reader, publisher or admin)", f.r)
		}
	}
	return p, nil
}
