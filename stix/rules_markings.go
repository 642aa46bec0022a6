package stix

import (
	"strconv"
	"strings"
	"time"
)

// granularMarkings checks each granular marking (§7.2.3): exactly one of
// marking_ref or lang, and selectors that resolve on the object.
func (c *ruleChecker) granularMarkings(obj map[string]any, gms []any) {
	for i, g := range gms {
		m, ok := g.(map[string]any)
		if !ok {
			continue
		}
		path := func() string { return "/granular_markings/" + strconv.Itoa(i) }
		_, hasRef := m["marking_ref"]
		lang, hasLang := m["lang"]
		if hasRef == hasLang {
			c.add(path(), "granular-marking", "a granular marking needs exactly one of marking_ref or lang")
		}
		if s, ok := lang.(string); ok && !validLangTag(s) {
			c.addf(path()+"/lang", "lang", "lang %q is not an RFC 5646 language tag (such as \"en\" or \"pt-BR\")", s)
		}
		sels, _ := m["selectors"].([]any)
		for j, s := range sels {
			sel, ok := s.(string)
			if !ok {
				continue
			}
			if msg := resolveSelector(obj, sel); msg != "" {
				c.add(path()+"/selectors/"+strconv.Itoa(j), "selector", msg)
			}
		}
	}
}

// resolveSelector follows a granular-marking selector ("description",
// "labels.[0]", "external_references.[1].url") through obj and returns
// why it does not resolve, or "" when it does (§7.2.3.1).
func resolveSelector(obj map[string]any, sel string) string {
	if sel == "" {
		return "a selector must not be empty"
	}
	var cur any = obj
	rest := sel
	done := 0 // length of the part of sel already resolved
	for {
		tok, tail, more := strings.Cut(rest, ".")
		at := "the object"
		if done > 0 {
			at = strconv.Quote(sel[:done-1])
		}
		switch {
		case tok == "":
			return "selector " + strconv.Quote(sel) + " has an empty component"
		case len(tok) > 2 && tok[0] == '[' && tok[len(tok)-1] == ']':
			n, ok := listIndex(tok[1 : len(tok)-1])
			if !ok {
				return "selector " + strconv.Quote(sel) + ": " + strconv.Quote(tok) + " is not a list index"
			}
			list, isList := cur.([]any)
			if !isList {
				return "selector " + strconv.Quote(sel) + ": " + at + " is not a list, so it cannot be indexed with " + tok
			}
			if n >= len(list) {
				return "selector " + strconv.Quote(sel) + ": " + at + " has " + strconv.Itoa(len(list)) +
					" entries, so " + tok + " does not exist"
			}
			cur = list[n]
		default:
			m, isObj := cur.(map[string]any)
			if !isObj {
				return "selector " + strconv.Quote(sel) + ": " + at + " is not an object, so it has no property " + strconv.Quote(tok)
			}
			v, ok := m[tok]
			if !ok {
				return "selector " + strconv.Quote(sel) + ": " + at + " has no property " + strconv.Quote(tok)
			}
			cur = v
		}
		if !more {
			return ""
		}
		done += len(tok) + 1
		rest = tail
	}
}

// listIndex parses the digits of a selector's "[n]".
func listIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// A tlpMarking is one of the predefined TLP marking definitions: the four
// TLP 1.0 objects of STIX 2.1 §7.2.1.4 and the five TLP 2.0 objects of the
// OASIS TLP 2.0 extension (cti-stix-common-objects).
type tlpMarking struct {
	id    string
	name  string // "TLP:GREEN"
	level string // "green"
	v2    bool
}

const tlp2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

var tlpMarkings = []tlpMarking{
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE", "white", false},
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN", "green", false},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER", "amber", false},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED", "red", false},
	{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR", "clear", true},
	{"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN", "green", true},
	{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER", "amber", true},
	{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT", "amber+strict", true},
	{"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED", "red", true},
}

var (
	tlp1Created = time.Date(2017, 1, 20, 0, 0, 0, 0, time.UTC)
	tlp2Created = time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC)
)

// markingDefinition applies the TLP rules: an object with a predefined TLP
// id must be exactly that object, and no other marking definition may claim
// to be a TLP marking ("MUST NOT be used or created", §7.2.1.4).
func (c *ruleChecker) markingDefinition(obj map[string]any) {
	for i := range tlpMarkings {
		if strings.EqualFold(c.id, tlpMarkings[i].id) {
			c.predefinedTLP(&tlpMarkings[i], obj)
			return
		}
	}
	level, v2 := claimedTLP(obj)
	if level == "" {
		return
	}
	if level == "?" {
		c.add("", "tlp", "only the predefined TLP marking definitions may define a TLP level (STIX 2.1 §7.2.1.4, TLP 2.0 extension); refer to one of them instead of creating another")
		return
	}
	// Suggest the predefined object of the same level, in the same TLP
	// version when there is one.
	want := ""
	for _, m := range tlpMarkings {
		if m.level == level && (m.v2 == v2 || want == "") {
			want = m.id
		}
	}
	msg := "only the predefined TLP marking definitions may define a TLP level; refer to the TLP:" +
		strings.ToUpper(level) + " one, " + want + ", instead of creating another"
	c.add("", "tlp", msg)
}

// claimedTLP returns the TLP level obj claims to define and whether in the
// TLP 2.0 style, or "" when it claims none.
func claimedTLP(obj map[string]any) (level string, v2 bool) {
	if ext, ok := obj["extensions"].(map[string]any); ok {
		if e, ok := ext[tlp2Extension].(map[string]any); ok {
			l, _ := e["tlp_2_0"].(string)
			return tlpLevel(l, "?"), true
		}
	}
	if dt, ok := obj["definition_type"].(string); ok {
		if strings.EqualFold(dt, "tlp") {
			def, _ := obj["definition"].(map[string]any)
			l, _ := def["tlp"].(string)
			return tlpLevel(l, "?"), false
		}
		// Seen in the wild: definition_type "TLP:CLEAR" with no definition.
		if len(dt) > 4 && strings.EqualFold(dt[:4], "tlp:") {
			return tlpLevel(dt[4:], "?"), false
		}
	}
	if def, ok := obj["definition"].(map[string]any); ok {
		for k, v := range def {
			if strings.EqualFold(k, "tlp") {
				l, _ := v.(string)
				return tlpLevel(l, "?"), false
			}
		}
	}
	if name, ok := obj["name"].(string); ok && len(name) > 4 && strings.EqualFold(name[:4], "tlp:") {
		if l := tlpLevel(name[4:], ""); l != "" {
			return l, false
		}
	}
	return "", false
}

// tlpLevel normalises a TLP level name, or returns unknown.
func tlpLevel(s, unknown string) string {
	l := strings.ToLower(strings.TrimSpace(s))
	l = strings.TrimPrefix(l, "tlp:")
	switch l {
	case "white", "clear", "green", "amber", "amber+strict", "red":
		return l
	}
	return unknown
}

// predefinedTLP compares obj with the predefined marking m it claims to be.
func (c *ruleChecker) predefinedTLP(m *tlpMarking, obj map[string]any) {
	what := "the predefined " + m.name + " marking definition"
	if m.v2 {
		what = "the predefined TLP 2.0 " + m.name + " marking definition"
	}
	allowed := func(k string) bool {
		switch k {
		case "type", "spec_version", "id", "created", "name":
			return true
		case "definition_type", "definition":
			return !m.v2
		case "extensions":
			return m.v2
		}
		return false
	}
	for k := range obj {
		if !allowed(k) {
			c.addf("/"+escapePointer(k), "tlp", "%s has no %s property; send it exactly as published", what, k)
		}
	}
	if name, _ := obj["name"].(string); name != m.name {
		c.addf("/name", "tlp", "%s must have name %q", what, m.name)
	}
	created := tlp1Created
	if m.v2 {
		created = tlp2Created
	}
	if s, _ := obj["created"].(string); s != "" {
		if t, err := ParseTimestamp(s); err == nil && !t.Equal(created) {
			c.addf("/created", "tlp", "%s must have created %s", what, created.Format("2006-01-02T15:04:05.000Z"))
		}
	}
	if !m.v2 {
		if dt, _ := obj["definition_type"].(string); dt != "tlp" {
			c.addf("/definition_type", "tlp", "%s must have definition_type \"tlp\"", what)
		}
		def, _ := obj["definition"].(map[string]any)
		if l, _ := def["tlp"].(string); l != m.level || len(def) != 1 {
			c.addf("/definition", "tlp", "%s must have definition {\"tlp\": %q}", what, m.level)
		}
		return
	}
	ext, _ := obj["extensions"].(map[string]any)
	e, _ := ext[tlp2Extension].(map[string]any)
	et, _ := e["extension_type"].(string)
	l, _ := e["tlp_2_0"].(string)
	if len(ext) != 1 || len(e) != 2 || et != "property-extension" || l != m.level {
		c.addf("/extensions", "tlp", "%s must have extensions {%q: {\"extension_type\": \"property-extension\", \"tlp_2_0\": %q}}",
			what, tlp2Extension, m.level)
	}
}

// externalReferences checks §2.5: a source_name and at least one of
// description, url or external_id; CAPEC and CVE ids in their exact form,
// under the source names "capec" and "cve" in their exact form.
func (c *ruleChecker) externalReferences(refs []any) {
	for i, r := range refs {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		path := func() string { return "/external_references/" + strconv.Itoa(i) }
		sn, hasSN := m["source_name"].(string)
		if !hasSN {
			c.add(path(), "external-reference", "an external reference needs a source_name")
		}
		_, d := m["description"]
		_, u := m["url"]
		eidv, e := m["external_id"]
		if !d && !u && !e {
			c.add(path(), "external-reference", "an external reference needs at least one of description, url or external_id")
		}
		eid, _ := eidv.(string)
		// The vocabulary's source names are case-exact (§3.1, §4.19): a
		// consumer matching "cve" does not see a "CVE" reference.
		for _, vocab := range []struct {
			name string
			like func(string) bool
		}{{"cve", cveID}, {"capec", capecID}} {
			if sn != vocab.name && strings.EqualFold(sn, vocab.name) && vocab.like(strings.ToUpper(eid)) {
				c.addf(path()+"/source_name", "external-reference",
					"source_name %q of a reference to %s must be written %q, in lower case: source names are case-sensitive", sn, clip(eid), vocab.name)
			}
		}
		switch {
		case !e:
		case sn == "capec" && !capecID(eid):
			c.addf(path()+"/external_id", "external-reference", "a capec reference's external_id must be CAPEC-<number>, got %s", jsonText(eidv))
		case sn == "cve" && !cveID(eid):
			c.addf(path()+"/external_id", "external-reference", "a cve reference's external_id must be the CVE id, such as CVE-2016-1234, got %s", jsonText(eidv))
		}
	}
}
