package stix

import "slices"

// objectKind classifies a type for reference rules.
type objectKind uint8

const (
	kindSDO objectKind = 1 << iota
	kindSCO
	kindSRO
	kindMeta   // marking-definition, language-content, extension-definition
	kindBundle // never a valid target
	kindCustom // unknown type: could be a custom SDO, SCO or SRO
)

var sdoTypes = map[string]bool{
	"attack-pattern": true, "campaign": true, "course-of-action": true, "grouping": true,
	"identity": true, "incident": true, "indicator": true, "infrastructure": true,
	"intrusion-set": true, "location": true, "malware": true, "malware-analysis": true,
	"note": true, "observed-data": true, "opinion": true, "report": true,
	"threat-actor": true, "tool": true, "vulnerability": true,
}

func kindOf(typ string) objectKind {
	switch {
	case sdoTypes[typ]:
		return kindSDO
	case scoTypes[typ]:
		return kindSCO
	case typ == "relationship" || typ == "sighting":
		return kindSRO
	case typ == "marking-definition" || typ == "language-content" || typ == "extension-definition":
		return kindMeta
	case typ == "bundle":
		return kindBundle
	}
	return kindCustom
}

// A refRule says which objects a reference property may point to: one of
// types when types is set, otherwise any type of the kinds in kinds except
// those in deny. what describes the allowed targets for messages.
type refRule struct {
	types []string
	kinds objectKind
	deny  []string
	what  string
}

func (r *refRule) allows(typ string) bool {
	if len(r.types) > 0 {
		return slices.Contains(r.types, typ)
	}
	return r.kinds&kindOf(typ) != 0 && !slices.Contains(r.deny, typ)
}

func only(what string, types ...string) *refRule { return &refRule{types: types, what: what} }

// commonRefRules apply to these property names on any object.
var commonRefRules = map[string]*refRule{
	"created_by_ref":      only("an identity", "identity"),
	"object_marking_refs": only("marking-definition objects", "marking-definition"),
	"marking_ref":         only("a marking-definition", "marking-definition"),
}

// refRules holds the target MUSTs of STIX 2.1 per type (or predefined
// extension) and property.
var refRules = map[string]map[string]*refRule{
	"relationship": {
		"source_ref": relationshipEnd,
		"target_ref": relationshipEnd,
	},
	"sighting": {
		"sighting_of_ref":    {kinds: kindSDO | kindCustom, what: "an SDO (not an SCO, SRO, marking-definition, language-content, extension-definition or bundle)"},
		"observed_data_refs": only("observed-data objects", "observed-data"),
		"where_sighted_refs": only("identity or location objects", "identity", "location"),
	},
	"observed-data": {
		"object_refs": {kinds: kindSCO | kindSRO | kindCustom, what: "SCOs and SROs (not SDOs or meta objects)"},
	},
	"malware": {
		"operating_system_refs": only("software objects", "software"),
		"sample_refs":           only("file or artifact objects", "file", "artifact"),
	},
	"malware-analysis": {
		"host_vm_ref":             only("a software object", "software"),
		"operating_system_ref":    only("a software object", "software"),
		"installed_software_refs": only("software objects", "software"),
		"sample_ref":              only("a file, artifact or network-traffic object", "file", "artifact", "network-traffic"),
		"analysis_sco_refs":       {kinds: kindSCO | kindCustom, what: "SCOs"},
	},
	"language-content": {
		"object_ref": {kinds: kindSDO | kindSCO | kindSRO | kindMeta | kindCustom, deny: []string{"language-content"},
			what: "the object it translates (not a bundle or another language-content)"},
	},
	"directory": {
		"contains_refs": only("file or directory objects", "file", "directory"),
	},
	"domain-name": {
		"resolves_to_refs": only("ipv4-addr, ipv6-addr or domain-name objects", "ipv4-addr", "ipv6-addr", "domain-name"),
	},
	"email-addr": {
		"belongs_to_ref": only("a user-account", "user-account"),
	},
	"email-message": {
		"from_ref":      only("an email-addr", "email-addr"),
		"sender_ref":    only("an email-addr", "email-addr"),
		"to_refs":       only("email-addr objects", "email-addr"),
		"cc_refs":       only("email-addr objects", "email-addr"),
		"bcc_refs":      only("email-addr objects", "email-addr"),
		"raw_email_ref": only("an artifact", "artifact"),
		"body_raw_ref":  only("an artifact or file", "artifact", "file"),
	},
	"file": {
		"parent_directory_ref": only("a directory", "directory"),
		"contains_refs":        {kinds: kindSCO | kindCustom, what: "SCOs"},
		"content_ref":          only("an artifact", "artifact"),
	},
	"archive-ext": {
		"contains_refs": only("file or directory objects", "file", "directory"),
	},
	"ipv4-addr": ipAddrRefs,
	"ipv6-addr": ipAddrRefs,
	"network-traffic": {
		"src_ref":             endpoint,
		"dst_ref":             endpoint,
		"src_payload_ref":     only("an artifact", "artifact"),
		"dst_payload_ref":     only("an artifact", "artifact"),
		"encapsulates_refs":   only("network-traffic objects", "network-traffic"),
		"encapsulated_by_ref": only("a network-traffic object", "network-traffic"),
	},
	"http-request-ext": {
		"message_body_data_ref": only("an artifact", "artifact"),
	},
	"process": {
		"opened_connection_refs": only("network-traffic objects", "network-traffic"),
		"creator_user_ref":       only("a user-account", "user-account"),
		"image_ref":              only("a file", "file"),
		"parent_ref":             only("a process", "process"),
		"child_refs":             only("process objects", "process"),
	},
	"windows-service-ext": {
		"service_dll_refs": only("file objects", "file"),
	},
	"windows-registry-key": {
		"creator_user_ref": only("a user-account", "user-account"),
	},
}

var (
	relationshipEnd = &refRule{kinds: kindSDO | kindSCO | kindCustom,
		what: "an SDO or SCO (not a relationship, sighting, marking-definition, language-content, extension-definition or bundle)"}
	endpoint   = only("an ipv4-addr, ipv6-addr, mac-addr or domain-name", "ipv4-addr", "ipv6-addr", "mac-addr", "domain-name")
	ipAddrRefs = map[string]*refRule{
		"resolves_to_refs": only("mac-addr objects", "mac-addr"),
		"belongs_to_refs":  only("autonomous-system objects", "autonomous-system"),
	}
)

// lookupRefRule returns the rule for property k in scope owner (a type or
// a predefined extension name), or nil when any identifier will do.
func lookupRefRule(owner, k string) *refRule {
	if r := refRules[owner][k]; r != nil {
		return r
	}
	return commonRefRules[k]
}
