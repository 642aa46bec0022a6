package stix

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// headerFields is what Check decodes of every object; json.RawMessage fields
// let it tell "absent" from "present with the wrong JSON type".
type headerFields struct {
	Type              json.RawMessage `json:"type"`
	ID                json.RawMessage `json:"id"`
	SpecVersion       json.RawMessage `json:"spec_version"`
	Created           json.RawMessage `json:"created"`
	Modified          json.RawMessage `json:"modified"`
	CreatedByRef      json.RawMessage `json:"created_by_ref"`
	ObjectMarkingRefs json.RawMessage `json:"object_marking_refs"`
}

// Check validates one object given as raw JSON. It returns the object's
// header and the findings; the object is valid when there are none. The
// header is filled as far as the object allows even when it is invalid, so
// that a failure can still name the object's id and version.
func (v *Validator) Check(raw []byte) (Header, []Finding) {
	var h Header
	var fs []Finding
	add := func(path, rule, format string, args ...any) {
		fs = append(fs, Finding{Path: path, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}

	var f headerFields
	if err := json.Unmarshal(raw, &f); err != nil {
		add("", "json", "not a valid JSON object: %s", jsonErrorText(err))
		return h, fs
	}
	// A key given twice means whatever we index may differ from what a
	// client reads (I-JSON forbids it), so nothing else is worth checking.
	if dups := checkDuplicateKeys(raw); len(dups) > 0 {
		return h, dups
	}
	str := func(name string, rawv json.RawMessage, dst *string) bool {
		if rawv == nil {
			return false
		}
		if err := json.Unmarshal(rawv, dst); err != nil || rawv[0] != '"' {
			add("/"+name, "type", "%s must be a string", name)
			return false
		}
		return true
	}
	ts := func(name string, rawv json.RawMessage, dst *string, at *time.Time) {
		if !str(name, rawv, dst) {
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

	if !str("type", f.Type, &h.Type) {
		if f.Type == nil {
			add("/type", "required", "type is required")
		}
	} else if !ValidTypeName(h.Type) {
		add("/type", "type-name", "type %q is not a valid STIX type name (3-250 characters: a-z, 0-9, '-')", h.Type)
	}

	if !str("id", f.ID, &h.ID) {
		if f.ID == nil {
			add("/id", "required", "id is required")
		}
	} else if typ, _, err := SplitID(h.ID); err != nil {
		add("/id", "id", "id %q is not of the form <type>--<uuid>", h.ID)
	} else if h.Type != "" && typ != h.Type {
		add("/id", "id-type", "id %q must start with the object's type %q", h.ID, h.Type)
	}

	ts("created", f.Created, &h.Created, &h.CreatedAt)
	ts("modified", f.Modified, &h.Modified, &h.ModifiedAt)
	str("spec_version", f.SpecVersion, &h.SpecVersion)
	str("created_by_ref", f.CreatedByRef, &h.CreatedByRef)
	if f.ObjectMarkingRefs != nil {
		if err := json.Unmarshal(f.ObjectMarkingRefs, &h.ObjectMarkingRefs); err != nil || f.ObjectMarkingRefs[0] != '[' {
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
	// all of them. An unknown (custom) type counts as an SCO when it
	// carries no created, as the STIX validator does.
	sco := IsSCO(h.Type) || (h.Type != "marking-definition" && f.Created == nil && !isKnownNonSCO(h.Type))
	switch {
	case sco:
		if f.SpecVersion != nil && h.SpecVersion != "2.1" {
			add("/spec_version", "spec-version", "spec_version must be \"2.1\", got %s", string(f.SpecVersion))
		}
	default:
		if f.SpecVersion == nil {
			add("/spec_version", "required", "spec_version is required (this server accepts STIX 2.1 objects)")
		} else if h.SpecVersion != "2.1" {
			add("/spec_version", "spec-version", "spec_version must be \"2.1\", got %s", string(f.SpecVersion))
		}
		if f.Created == nil {
			add("/created", "required", "created is required on a %s", h.Type)
		}
		if f.Modified == nil && h.Type != "marking-definition" {
			add("/modified", "required", "modified is required on a %s", h.Type)
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
	obj, err := decodeObject(raw)
	if err != nil {
		add("", "json", "not a valid JSON object: %s", jsonErrorText(err))
		return h, fs
	}
	fs = append(fs, v.schemas.check(h.Type, obj)...)
	fs = append(fs, checkRules(&h, obj)...)
	return h, fs
}

// decodeObject decodes an object for schema and rule checks, keeping numbers
// as json.Number so that no precision is lost.
func decodeObject(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// knownNonSCO lists the STIX 2.1 types that are not cyber observables.
var knownNonSCO = map[string]bool{
	"attack-pattern": true, "campaign": true, "course-of-action": true, "grouping": true,
	"identity": true, "incident": true, "indicator": true, "infrastructure": true,
	"intrusion-set": true, "location": true, "malware": true, "malware-analysis": true,
	"note": true, "observed-data": true, "opinion": true, "report": true,
	"threat-actor": true, "tool": true, "vulnerability": true,
	"relationship": true, "sighting": true,
	"marking-definition": true, "language-content": true, "extension-definition": true,
}

func isKnownNonSCO(typ string) bool { return knownNonSCO[typ] }
