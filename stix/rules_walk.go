package stix

import (
	"strconv"
	"strings"
)

// walker visits every property of one object once and applies the rules
// that depend only on a property's name and value, wherever it sits:
// references (*_ref, *_refs), hashes, *_hex and *_bin values, property
// names, and the ban on empty lists and dictionaries.
//
// The path of the current value is kept as a stack of unescaped tokens and
// only turned into a JSON pointer when there is something to report, so a
// valid object costs no path strings.
type walker struct {
	c     *ruleChecker
	base  string         // JSON pointer of the object within the top-level one
	typ   string         // the object's type
	owner string         // typ, or the extension being walked: the scope of refRules
	local map[string]any // observed-data "objects" when refs are local keys
	segs  []string
}

func (w *walker) push(s string) { w.segs = append(w.segs, s) }
func (w *walker) pop()          { w.segs = w.segs[:len(w.segs)-1] }

// path renders the current position as a JSON pointer.
func (w *walker) path() string {
	var b strings.Builder
	b.WriteString(w.base)
	for _, s := range w.segs {
		b.WriteByte('/')
		b.WriteString(escapePointer(s))
	}
	return b.String()
}

func (w *walker) add(rule, msg string) { w.c.add(w.path(), rule, msg) }

func (w *walker) addf(rule, format string, args ...any) {
	w.c.addf(w.path(), rule, format, args...)
}

// freeDicts are the dictionary properties of STIX 2.1 whose keys are data,
// not property names: nothing in them is read as a reference, hash or hex
// value, and only emptiness is checked below them.
var freeDicts = map[string]bool{
	"environment_variables":    true, // process
	"additional_header_fields": true, // email-message
	"document_info_dict":       true, // pdf-ext
	"startup_info":             true, // windows-process-ext
	"exif_tags":                true, // raster-image-ext
	"request_header":           true, // http-request-ext
	"options":                  true, // socket-ext
	"ipfix":                    true, // network-traffic
}

// reservedNames are the property names §3.8 reserves; they MUST NOT be used.
var reservedNames = map[string]bool{
	"severity": true, "username": true, "phone_number": true, "action": true,
}

// walkObject visits the properties of m. In a dictionary (dict) the keys are
// data; top marks the object's own top level, where property names are
// checked.
func (w *walker) walkObject(m map[string]any, dict, top bool) {
	for k, v := range m {
		w.push(k)
		switch {
		case dict:
			w.value(v, true)
		default:
			if top {
				w.name(k, true)
			}
			w.property(k, v, top)
		}
		w.pop()
	}
}

// name checks a property name of the object itself (top) or of one of its
// extensions. The reserved names are reserved on objects only: inside an
// extension they cannot clash with a future STIX property, and names such
// as "action" are natural there.
func (w *walker) name(k string, top bool) {
	if top && reservedNames[k] {
		w.addf("reserved-property", "%q is a reserved property name (STIX 2.1 §3.8) and must not be used", k)
		return
	}
	if k != "id" && !validCustomName(k) {
		w.addf("property-name", "property name %q must be 3 to 250 characters of a-z, 0-9 and _", k)
	}
}

// property applies the name-driven rules to one property, then descends.
func (w *walker) property(k string, v any, top bool) {
	if top {
		switch {
		case k == "extensions":
			w.extensions(v)
			return
		case k == "objects" && w.typ == "observed-data":
			// Its entries are walked as objects of their own by
			// observedData; here only emptiness matters.
			w.emptiness(v)
			return
		case k == "contents" && w.typ == "language-content":
			w.value(v, true)
			return
		}
	}
	switch {
	case strings.HasSuffix(k, "_ref"):
		w.ref(k, v)
	case strings.HasSuffix(k, "_refs"):
		if list, ok := v.([]any); ok {
			for i, e := range list {
				w.push(strconv.Itoa(i))
				w.ref(k, e)
				w.pop()
			}
		} else {
			w.addf("ref", "%s must be a list of identifiers", k)
		}
	case k == "hashes" || strings.HasSuffix(k, "_hashes"):
		w.hashes(v)
		w.value(v, true)
		return
	case strings.HasSuffix(k, "_hex"):
		if s, ok := v.(string); ok && !isLowerHex(s) {
			w.addf("hex", "%s must be an even number of lowercase hex digits (0-9, a-f), got %q", k, clip(s))
		}
	case strings.HasSuffix(k, "_bin"):
		if s, ok := v.(string); ok && !validBase64(s) {
			w.addf("base64", "%s must be standard base64 (RFC 4648: A-Z a-z 0-9 + /, padded with =, no line breaks)", k)
		}
	}
	w.value(v, freeDicts[k])
}

// value descends into lists and objects, refusing empty ones (§2: lists
// and dictionaries MUST NOT be empty).
func (w *walker) value(v any, dict bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			w.add("empty", "an empty object is not allowed; leave the property out instead")
			return
		}
		w.walkObject(x, dict, false)
	case []any:
		if len(x) == 0 {
			w.add("empty", "an empty list is not allowed; leave the property out instead")
			return
		}
		for i, e := range x {
			w.push(strconv.Itoa(i))
			w.value(e, dict)
			w.pop()
		}
	}
}

func (w *walker) emptiness(v any) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			w.add("empty", "an empty object is not allowed; leave the property out instead")
		}
	case []any:
		if len(x) == 0 {
			w.add("empty", "an empty list is not allowed; leave the property out instead")
		}
	}
}

// extensions walks the "extensions" dictionary: its keys are extension
// names, its values objects whose properties follow the naming rule and
// whose references are looked up in the extension's own scope.
func (w *walker) extensions(v any) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		w.value(v, false)
		return
	}
	for name, e := range m {
		w.push(name)
		if !validExtensionName(name) {
			w.addf("extension", "extension name %q must be an extension-definition id or a predefined extension name such as ntfs-ext", name)
		}
		em, ok := e.(map[string]any)
		switch {
		case !ok:
			w.value(e, false)
		case len(em) == 0:
			w.add("empty", "an empty object is not allowed; leave the property out instead")
		default:
			saved := w.owner
			w.owner = name
			for k, pv := range em {
				w.push(k)
				w.name(k, false)
				w.property(k, pv, false)
				w.pop()
			}
			w.owner = saved
		}
		w.pop()
	}
}

// ref checks one identifier reference held by property k.
func (w *walker) ref(k string, v any) {
	s, ok := v.(string)
	if !ok {
		w.addf("ref", "%s must hold identifiers (strings of the form <type>--<uuid>), got %s", k, jsonText(v))
		return
	}
	rule := lookupRefRule(w.owner, k)
	// Inside observed-data "objects" references are keys of that
	// dictionary, except the common ones, which always hold identifiers.
	if w.local != nil && commonRefRules[k] == nil {
		w.localRef(k, s, rule)
		return
	}
	typ, u, problem, inUUID := splitID(s)
	if problem != "" {
		rule := "ref"
		if inUUID {
			rule = "ref-uuid"
		}
		w.addf(rule, "%s: %q is not a STIX identifier: %s", k, clip(s), problem)
		return
	}
	if rule != nil && !rule.allows(typ) {
		w.addf("ref-type", "%s must refer to %s, not to %s", k, rule.what, withArticle(typ))
	}
	if typ == "process" && u.Version() != 4 {
		w.addf("uuid-v4", "%s: %q cannot name a process: process ids are version 4 UUIDs", k, s)
	}
	if (k == "object_marking_refs" || k == "marking_ref") && s == w.c.id {
		w.addf("marking-self-ref", "a marking definition must not mark itself (%s holds its own id)", k)
	}
}

// localRef checks a reference inside the deprecated observed-data "objects"
// dictionary, where references are keys of that dictionary (§4.13).
func (w *walker) localRef(k, s string, rule *refRule) {
	target, ok := w.local[s]
	if !ok {
		w.addf("ref", "%s: %q is not a key of this observed-data's objects", k, clip(s))
		return
	}
	t, _ := target.(map[string]any)
	typ, _ := t["type"].(string)
	if rule != nil && typ != "" && !rule.allows(typ) {
		w.addf("ref-type", "%s must refer to %s, not to %s (objects key %q)", k, rule.what, withArticle(typ), s)
	}
}

// hashes checks a hashes dictionary: keys are 3-250 characters, values of
// the known algorithms have that algorithm's form.
func (w *walker) hashes(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, hv := range m {
		w.push(k)
		if len(k) < 3 || len(k) > 250 || !dictKeyChars(k) {
			w.addf("hashes", "hash algorithm name %q must be 3 to 250 characters of a-z, A-Z, 0-9, - and _", clip(k))
		}
		if s, ok := hv.(string); !ok {
			w.addf("hashes", "the %s hash must be a string", clip(k))
		} else if alg, ok := checkHash(k, s); !ok {
			w.addf("hashes", "%q is not a valid %s hash: want %s", clip(s), alg.name, alg.form)
		}
		w.pop()
	}
}
