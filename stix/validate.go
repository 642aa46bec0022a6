package stix

import (
	"fmt"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/schemas"
)

// Validator checks STIX 2.1 objects one at a time. It is safe for concurrent
// use; build one at start and share it.
type Validator struct {
	schemas *schemaSet
}

// NewValidator compiles the embedded schemas and returns a Validator ready
// for use. An error means the embedded schemas are broken: a bug, not input.
func NewValidator() (*Validator, error) {
	s, err := compileSchemas(schemas.FS)
	if err != nil {
		return nil, err
	}
	return &Validator{schemas: s}, nil
}

// Check validates one object given as raw JSON. It returns the object's
// header and the findings; the object is valid when there are none. The
// header is filled as far as the object allows even when it is invalid, so
// that a failure can still name the object's id and version.
//
// The object is decoded once; the header, the schema and the rules all
// read that one decoding.
func (v *Validator) Check(raw []byte) (Header, []Finding) {
	var h Header
	var fs []Finding
	add := func(path, rule, format string, args ...any) {
		fs = append(fs, Finding{Path: path, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}

	obj, err := decodeObject(raw)
	if err != nil {
		add("", "json", "not a valid JSON object: %s", jsonErrorText(err))
		return h, fs
	}
	// Where the object is not I-JSON (a key given twice, a lone surrogate,
	// a number readers round) what we index may differ from what a client
	// reads, so nothing else is worth checking; the header still names the
	// object where it can.
	if ij := checkIJSON(raw); len(ij) > 0 {
		for name, dst := range map[string]*string{"type": &h.Type, "id": &h.ID, "created": &h.Created, "modified": &h.Modified} {
			if s, ok := obj[name].(string); ok && !samePathOrBelow(ij, "/"+name) {
				*dst = s
			}
		}
		return h, ij
	}
	str := func(name string, dst *string) bool {
		val, present := obj[name]
		if !present {
			return false
		}
		sv, ok := val.(string)
		if !ok {
			add("/"+name, "type", "%s must be a string", name)
			return false
		}
		*dst = sv
		return true
	}
	ts := func(name string, dst *string, at *time.Time) {
		if !str(name, dst) {
			return
		}
		t, err := ParseTimestamp(*dst)
		if err != nil {
			add("/"+name, "timestamp", "%s %q is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS.sssZ, UTC)", name, *dst)
			return
		}
		if !MillisecondPrecision(*dst) {
			add("/"+name, "timestamp-precision", "%s %q must have at least millisecond precision", name, *dst)
			return
		}
		*at = t
	}
	_, hasType := obj["type"]
	_, hasID := obj["id"]
	_, hasSpecVersion := obj["spec_version"]
	_, hasCreated := obj["created"]
	_, hasModified := obj["modified"]

	if !str("type", &h.Type) {
		if !hasType {
			add("/type", "required", "type is required")
		}
	} else if !ValidTypeName(h.Type) {
		add("/type", "type-name", "type %q is not a valid STIX type name (3-250 characters: a-z, 0-9, '-')", h.Type)
	}

	if !str("id", &h.ID) {
		if !hasID {
			add("/id", "required", "id is required")
		}
	} else if typ, _, problem, _ := splitID(h.ID); problem != "" {
		add("/id", "id", "id %q: %s", clip(h.ID), problem)
	} else if h.Type != "" && typ != h.Type {
		add("/id", "id-type", "id %q must start with the object's type %q", h.ID, h.Type)
	}

	ts("created", &h.Created, &h.CreatedAt)
	ts("modified", &h.Modified, &h.ModifiedAt)
	str("spec_version", &h.SpecVersion)
	str("created_by_ref", &h.CreatedByRef)
	if refs, present := obj["object_marking_refs"]; present {
		list, ok := refs.([]any)
		for _, r := range list {
			ref, isString := r.(string)
			ok = ok && isString
			h.ObjectMarkingRefs = append(h.ObjectMarkingRefs, ref)
		}
		if !ok {
			add("/object_marking_refs", "type", "object_marking_refs must be a list of identifiers")
			h.ObjectMarkingRefs = nil
		}
	}

	if h.Type == "" {
		// What else is required depends on the type.
		return h, fs
	}
	// Which common properties are required depends on the kind of object
	// (STIX 2.1 §3.2): SCOs need only type and id; marking definitions need
	// created but not modified; SDOs, SROs and the other meta objects need
	// all of them. isSCOObject says which kind a custom type is.
	sco := isSCOObject(h.Type, obj)
	switch {
	case sco:
		if hasSpecVersion && h.SpecVersion != "2.1" {
			add("/spec_version", "spec-version", "spec_version must be \"2.1\", got %q", h.SpecVersion)
		}
	default:
		if !hasSpecVersion {
			add("/spec_version", "required", "spec_version is required (this server accepts STIX 2.1 objects)")
		} else if h.SpecVersion != "2.1" {
			add("/spec_version", "spec-version", "spec_version must be \"2.1\", got %q", h.SpecVersion)
		}
		if !hasCreated {
			add("/created", "required", "created is required on %s", withArticle(h.Type))
		}
		if !hasModified && h.Type != "marking-definition" {
			add("/modified", "required", "modified is required on %s", withArticle(h.Type))
		}
	}
	if !h.CreatedAt.IsZero() && !h.ModifiedAt.IsZero() && h.ModifiedAt.Before(h.CreatedAt) {
		add("/modified", "modified-before-created", "modified %s is earlier than created %s", h.Modified, h.Created)
	}
	if h.Type == "" || len(fs) > 0 {
		// Without a sound header the deeper checks would only repeat
		// these findings in other words.
		return h, fs
	}
	schemaFindings := v.schemas.check(h.Type, obj)
	ruleFindings := checkRules(&h, obj)
	// Where the schema already explained a property, a rule finding on the
	// same property would only say it again in other words. The exception
	// is a malformed identifier: the schema's pattern can only say what
	// kind of identifier belongs there, which blames the type when it is
	// the UUID that is wrong; the ref-uuid rule says what is wrong with it.
	for _, f := range schemaFindings {
		if !samePathRule(ruleFindings, f.Path, "ref-uuid") {
			fs = append(fs, f)
		}
	}
	for _, f := range ruleFindings {
		if f.Rule == "ref-uuid" || !samePath(schemaFindings, f.Path) {
			fs = append(fs, f)
		}
	}
	return h, fs
}

func samePathRule(fs []Finding, path, rule string) bool {
	for _, f := range fs {
		if f.Path == path && f.Rule == rule {
			return true
		}
	}
	return false
}

// samePathOrBelow reports whether a finding is about path or what it holds.
func samePathOrBelow(fs []Finding, path string) bool {
	for _, f := range fs {
		if f.Path == path || strings.HasPrefix(f.Path, path+"/") {
			return true
		}
	}
	return false
}

func samePath(fs []Finding, path string) bool {
	for _, f := range fs {
		if f.Path == path {
			return true
		}
	}
	return false
}

// decodeObject decodes an object for schema and rule checks, keeping numbers
// as json.Number so that no precision is lost.
func decodeObject(raw []byte) (map[string]any, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return obj, nil
}

// isKnownNonSCO reports whether typ is a STIX 2.1 type that is not a
// cyber observable: an SDO, an SRO or a meta object (not a bundle).
func isKnownNonSCO(typ string) bool {
	switch kindOf(typ) {
	case kindSDO, kindSRO, kindMeta:
		return true
	}
	return false
}

// isSCOObject tells cyber observables from the rest, for Check, the rules
// and the rewrites alike: a known SCO type is one and the other known types
// are not. For an unknown (custom) type the kind its extensions declare
// decides (STIX 2.1 §7.3: an extension-definition entry with extension_type
// new-sdo or new-sro makes an SDO or SRO, which needs created and modified,
// §3.2; new-sco an SCO); only when none is declared does it count as an SCO
// when it carries no created, as the STIX validator does.
func isSCOObject(typ string, obj map[string]any) bool {
	_, created := obj["created"]
	return isSCOKind(typ, created, func() map[string]any {
		ext, _ := obj["extensions"].(map[string]any)
		return ext
	})
}

// isSCOKind is isSCOObject over what it needs: the type, whether created
// is present, and the extensions, asked for only for a custom type.
func isSCOKind(typ string, hasCreated bool, extensions func() map[string]any) bool {
	switch {
	case IsSCO(typ):
		return true
	case isKnownNonSCO(typ) || typ == "bundle":
		return false
	}
	return customIsSCO(hasCreated, declaredKind(extensions()))
}

// customIsSCO decides isSCOObject for a custom type from whether it has
// created and the kind its extensions declare ("" for none).
func customIsSCO(hasCreated bool, declared string) bool {
	switch declared {
	case "new-sdo", "new-sro":
		return false
	case "new-sco":
		return true
	}
	return !hasCreated
}

// declaredKind returns the object kind an extensions dictionary declares:
// "new-sdo", "new-sro" or "new-sco", the extension_type of an entry named by
// an extension-definition id; "" when no entry declares one. Should entries
// disagree, an SDO or SRO wins over an SCO, since it has the stricter
// requirements.
func declaredKind(ext map[string]any) string {
	kind := ""
	for name, v := range ext {
		if !strings.HasPrefix(name, "extension-definition--") {
			continue
		}
		e, _ := v.(map[string]any)
		switch et, _ := e["extension_type"].(string); et {
		case "new-sdo", "new-sro":
			return et
		case "new-sco":
			kind = et
		}
	}
	return kind
}
