package stix

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// checkRules applies the STIX 2.1 MUSTs that a JSON schema cannot express:
// calendar-valid timestamps and their orderings, identifier references and
// the kinds of object they may point to, property naming, hashes, hex and
// base64 values, markings (self references, selectors, the predefined TLP
// objects), patterns and the per-type conditions of STIX 2.1 §4-§7.
//
// obj must have been decoded with json.Decoder.UseNumber (decodeObject);
// plain float64 numbers are tolerated. h supplies the object's type and id;
// Check calls checkRules only once the header is sound, but checkRules never
// panics on any input, whatever h holds. Rules already covered by Check
// (modified >= created, the id's form, created/modified precision) are not
// repeated. Findings are sorted by path, then rule, so that the same object
// always gets the same report.
func checkRules(h *Header, obj map[string]any) []Finding {
	c := ruleChecker{id: h.ID}
	c.object("", h.Type, obj, nil)
	if len(c.fs) > 1 {
		slices.SortFunc(c.fs, func(a, b Finding) int {
			if n := cmp.Compare(a.Path, b.Path); n != 0 {
				return n
			}
			if n := cmp.Compare(a.Rule, b.Rule); n != 0 {
				return n
			}
			return cmp.Compare(a.Message, b.Message)
		})
	}
	return c.fs
}

// ruleChecker collects the findings for one top-level object.
type ruleChecker struct {
	id string // the top-level object's id, for self references
	fs []Finding
}

func (c *ruleChecker) add(path, rule, msg string) {
	c.fs = append(c.fs, Finding{Path: path, Rule: rule, Message: msg})
}

func (c *ruleChecker) addf(path, rule, format string, args ...any) {
	c.add(path, rule, fmt.Sprintf(format, args...))
}

// object checks one object: the top-level one (base "") or, with base
// "/objects/<key>" and local set, an SCO embedded in the deprecated
// observed-data "objects" dictionary, whose references are keys of local.
func (c *ruleChecker) object(base, typ string, obj map[string]any, local map[string]any) {
	top := base == ""
	var buf [16]string // path stack; kept off the heap for the common depths
	w := walker{c: c, base: base, owner: typ, typ: typ, local: local, segs: buf[:0]}
	w.walkObject(obj, false, true)

	c.timestamps(base, typ, obj)
	if top {
		c.commonRules(typ, obj)
	}
	c.typeRules(base, typ, obj)
}

// commonRules are the rules on the common properties of §3.2 and on the
// object as a whole that apply only to top-level objects.
func (c *ruleChecker) commonRules(typ string, obj map[string]any) {
	if v, ok := obj["confidence"]; ok {
		if n, ok := jsonInt(v); !ok || n < 0 || n > 100 {
			c.addf("/confidence", "confidence", "confidence must be an integer from 0 to 100, got %s", jsonText(v))
		}
	}
	if v, ok := obj["lang"].(string); ok && !validLangTag(v) {
		c.addf("/lang", "lang", "lang %q is not an RFC 5646 language tag (such as \"en\" or \"pt-BR\")", v)
	}
	if refs, ok := obj["external_references"].([]any); ok {
		c.externalReferences(refs)
	}
	if gms, ok := obj["granular_markings"].([]any); ok {
		c.granularMarkings(obj, gms)
	}
	if _, ok := obj["defanged"]; ok && !isSCOObject(typ, obj) {
		c.addf("/defanged", "defanged", "defanged may only appear on cyber-observable objects, not on %s", withArticle(typ))
	}
	c.uuidVersion(typ, obj)
	if ext, ok := obj["extensions"].(map[string]any); ok {
		c.extensionTypes(ext)
	}
}

// idContributing lists, for the SCO types where they can all be absent, the
// properties from which a deterministic (UUIDv5) id is derived (§6). Without
// any of them the id MUST be a UUIDv4. process has none at all.
var idContributing = map[string][]string{
	"artifact":             {"hashes", "payload_bin"},
	"email-message":        {"from_ref", "subject", "body"},
	"process":              nil,
	"user-account":         {"account_type", "user_id", "account_login"},
	"windows-registry-key": {"key", "values"},
	"x509-certificate":     {"hashes", "serial_number"},
}

func (c *ruleChecker) uuidVersion(typ string, obj map[string]any) {
	props, ok := idContributing[typ]
	if !ok {
		return
	}
	for _, p := range props {
		if _, ok := obj[p]; ok {
			return
		}
	}
	_, u, err := SplitID(c.id)
	if err != nil || u.Version() == 4 {
		return
	}
	if typ == "process" {
		c.addf("/id", "uuid-v4", "a process id must use a version 4 (random) UUID, %q has version %d", c.id, u.Version())
		return
	}
	c.addf("/id", "uuid-v4", "%s without any of %s must have a version 4 (random) UUID, %q has version %d",
		withArticle(typ), strings.Join(props, ", "), c.id, u.Version())
}

// extensionTypes checks the "extensions" dictionary entries that name an
// extension definition: they MUST say which kind of extension they are.
func (c *ruleChecker) extensionTypes(ext map[string]any) {
	for name, v := range ext {
		if !strings.HasPrefix(name, "extension-definition--") {
			continue
		}
		e, ok := v.(map[string]any)
		if !ok {
			continue
		}
		path := "/extensions/" + escapePointer(name)
		et, present := e["extension_type"]
		if !present {
			c.add(path, "extension", "an extension named by an extension-definition id must have extension_type")
			continue
		}
		if s, ok := et.(string); !ok || !extensionTypeEnum[s] {
			c.addf(path+"/extension_type", "extension",
				"extension_type must be one of new-sdo, new-sco, new-sro, property-extension, toplevel-property-extension, got %s", jsonText(et))
		}
	}
}

// extensionTypeEnum is extension-type-enum (§7.3).
var extensionTypeEnum = map[string]bool{
	"new-sdo": true, "new-sco": true, "new-sro": true,
	"property-extension": true, "toplevel-property-extension": true,
}

// escapePointer escapes one JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	s = strings.ReplaceAll(s, "~", "~0")
	return strings.ReplaceAll(s, "/", "~1")
}
