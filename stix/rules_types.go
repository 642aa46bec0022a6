package stix

import (
	"strings"
)

// typeRules applies the conditional MUSTs of one object type (§4-§7). base
// is the object's JSON pointer ("" at top level, "/objects/<key>" for SCOs
// embedded in observed-data).
func (c *ruleChecker) typeRules(base, typ string, obj map[string]any) {
	switch typ {
	case "indicator":
		c.indicator(obj)
	case "location":
		c.location(obj)
	case "malware":
		if isFamily, _ := obj["is_family"].(bool); isFamily {
			if _, ok := obj["name"]; !ok {
				c.add("/name", "required", "name is required on a malware family (is_family is true)")
			}
		}
	case "observed-data":
		c.observedData(obj)
	case "sighting":
		c.rangeInt(base, obj, "count", 0, 999999999)
	case "marking-definition":
		c.markingDefinition(obj)
	case "extension-definition":
		c.extensionDefinition(obj)
	case "language-content":
		c.languageContent(obj)
	case "artifact":
		c.artifact(base, obj)
	case "email-addr":
		if v, ok := obj["value"].(string); ok && strings.ContainsAny(v, "<>") {
			c.addf(base+"/value", "email-addr", "value must be the bare address (like jdoe@example.com) without a display name; put the name in display_name, got %q", clip(v))
		}
	case "email-message":
		if mp, ok := obj["is_multipart"].(bool); ok {
			if _, has := obj["body"]; mp && has {
				c.add(base+"/body", "email-body", "body is only allowed when is_multipart is false; use body_multipart for a multipart message")
			}
			if _, has := obj["body_multipart"]; !mp && has {
				c.add(base+"/body_multipart", "email-body", "body_multipart is only allowed when is_multipart is true")
			}
		}
	case "network-traffic":
		c.networkTraffic(base, obj)
	case "software":
		if langs, ok := obj["languages"].([]any); ok {
			for i, l := range langs {
				if s, ok := l.(string); ok && !validLangTag(s) {
					c.addf(base+"/languages/"+itoa(i), "lang", "%q is not an RFC 5646 language tag (such as \"en\" or \"pt-BR\")", clip(s))
				}
			}
		}
	case "windows-registry-key":
		if k, ok := obj["key"].(string); ok {
			hive, _, _ := strings.Cut(k, `\`)
			if full := registryHives[strings.ToUpper(hive)]; full != "" {
				c.addf(base+"/key", "registry-key", "the hive must be written out in full: %s, not %s", full, hive)
			}
		}
	}
}

// registryHives maps abbreviated hive names to their full form, which §6.16
// requires.
var registryHives = map[string]string{
	"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT",
	"HKU": "HKEY_USERS", "HKCC": "HKEY_CURRENT_CONFIG", "HKPD": "HKEY_PERFORMANCE_DATA",
	"HKDD": "HKEY_DYN_DATA",
}

func (c *ruleChecker) indicator(obj map[string]any) {
	// Other pattern languages (snort, yara, sigma, ...) are stored as sent.
	if pt, _ := obj["pattern_type"].(string); pt != "stix" {
		return
	}
	if p, ok := obj["pattern"].(string); ok {
		if err := validatePattern(p); err != nil {
			c.add("/pattern", "pattern", "pattern: "+err.Error())
		}
	}
}

func (c *ruleChecker) location(obj map[string]any) {
	lat, hasLat := obj["latitude"]
	lon, hasLon := obj["longitude"]
	switch {
	case hasLat && !hasLon:
		c.add("/latitude", "location", "latitude requires longitude")
	case hasLon && !hasLat:
		c.add("/longitude", "location", "longitude requires latitude")
	}
	if f, ok := jsonFloat(lat); hasLat && (!ok || f < -90 || f > 90) {
		c.addf("/latitude", "location", "latitude must be a number from -90.0 to 90.0, got %s", jsonText(lat))
	}
	if f, ok := jsonFloat(lon); hasLon && (!ok || f < -180 || f > 180) {
		c.addf("/longitude", "location", "longitude must be a number from -180.0 to 180.0, got %s", jsonText(lon))
	}
	if _, ok := obj["precision"]; ok && !(hasLat && hasLon) {
		c.add("/precision", "location", "precision is only allowed together with latitude and longitude")
	}
	_, hasRegion := obj["region"]
	_, hasCountry := obj["country"]
	if !hasRegion && !hasCountry && !(hasLat && hasLon) {
		c.add("", "location", "a location needs at least one of region, country, or latitude and longitude")
	}
}

// observedData checks §4.13: exactly one of object_refs and the deprecated
// objects, object_refs naming at least one SCO, and every embedded object a
// cyber observable whose references resolve inside objects.
func (c *ruleChecker) observedData(obj map[string]any) {
	objs, hasObjs := obj["objects"]
	refs, hasRefs := obj["object_refs"]
	switch {
	case hasObjs && hasRefs:
		c.add("/objects", "observed-data", "objects (deprecated) and object_refs must not both be present; use object_refs")
	case !hasObjs && !hasRefs:
		c.add("", "observed-data", "observed-data needs object_refs (or the deprecated objects)")
	}
	if list, ok := refs.([]any); ok && len(list) > 0 {
		sco, valid := false, true
		for _, r := range list {
			s, _ := r.(string)
			t, _, err := SplitID(s)
			if err != nil {
				valid = false // reported as a bad ref already
				break
			}
			if kindOf(t) != kindSRO {
				sco = true
			}
		}
		if valid && !sco {
			c.add("/object_refs", "observed-data", "object_refs must name at least one SCO, not only relationships and sightings")
		}
	}
	if m, ok := objs.(map[string]any); ok {
		for k, e := range m {
			path := "/objects/" + escapePointer(k)
			em, ok := e.(map[string]any)
			if !ok {
				c.add(path, "observed-data", "each entry of objects must be a cyber-observable object")
				continue
			}
			t, _ := em["type"].(string)
			if t == "" {
				c.add(path, "observed-data", "each entry of objects needs a type")
				continue
			}
			if !isSCOObject(t, em) {
				c.addf(path+"/type", "observed-data", "objects may only hold cyber-observable objects, not %s", withArticle(t))
				continue
			}
			c.object(path, t, em, m)
		}
	}
	c.rangeInt("", obj, "number_observed", 1, 999999999)
}

// rangeInt reports property p of obj when present and not an integer in
// [min, max].
func (c *ruleChecker) rangeInt(base string, obj map[string]any, p string, min, max int64) {
	v, ok := obj[p]
	if !ok {
		return
	}
	if n, ok := jsonInt(v); !ok || n < min || n > max {
		c.addf(base+"/"+p, "range", "%s must be an integer from %d to %d, got %s", p, min, max, jsonText(v))
	}
}

func (c *ruleChecker) extensionDefinition(obj map[string]any) {
	if _, ok := obj["created_by_ref"]; !ok {
		c.add("/created_by_ref", "required", "an extension-definition must name its creator in created_by_ref")
	}
	toplevel := false
	types, _ := obj["extension_types"].([]any)
	for i, t := range types {
		s, _ := t.(string)
		if !extensionTypeEnum[s] {
			c.addf("/extension_types/"+itoa(i), "extension-definition",
				"extension type must be one of new-sdo, new-sco, new-sro, property-extension, toplevel-property-extension, got %s", jsonText(t))
		}
		toplevel = toplevel || s == "toplevel-property-extension"
	}
	if _, ok := obj["extension_properties"]; ok && !toplevel {
		c.add("/extension_properties", "extension-definition", "extension_properties is only allowed when extension_types contains toplevel-property-extension")
	}
	if props, ok := obj["extension_properties"].([]any); ok {
		for i, p := range props {
			if s, ok := p.(string); ok && !validCustomName(s) {
				c.addf("/extension_properties/"+itoa(i), "property-name", "property name %q must be 3 to 250 characters of a-z, 0-9 and _", clip(s))
			}
		}
	}
}

func (c *ruleChecker) languageContent(obj map[string]any) {
	contents, _ := obj["contents"].(map[string]any)
	for lang, v := range contents {
		path := "/contents/" + escapePointer(lang)
		if !validLangTag(lang) {
			c.addf(path, "language-content", "contents key %q is not an RFC 5646 language tag (such as \"de\" or \"pt-BR\")", clip(lang))
		}
		m, ok := v.(map[string]any)
		if !ok {
			c.add(path, "language-content", "each contents entry must be a dictionary of translated properties")
			continue
		}
		for k := range m {
			if !validCustomName(k) {
				c.addf(path+"/"+escapePointer(k), "language-content", "%q is not a property name (3 to 250 characters of a-z, 0-9 and _)", clip(k))
			}
		}
	}
}

func (c *ruleChecker) artifact(base string, obj map[string]any) {
	_, hasPayload := obj["payload_bin"]
	_, hasURL := obj["url"]
	switch {
	case hasPayload && hasURL:
		c.add(base+"/url", "artifact", "payload_bin and url must not both be present")
	case !hasPayload && !hasURL:
		c.add(base, "artifact", "an artifact needs payload_bin or url")
	}
	if _, ok := obj["hashes"]; hasURL && !ok {
		c.add(base+"/hashes", "required", "hashes is required when the artifact is given by url")
	}
	if _, ok := obj["decryption_key"]; ok {
		if _, ok := obj["encryption_algorithm"]; !ok {
			c.add(base+"/decryption_key", "artifact", "decryption_key is only allowed together with encryption_algorithm")
		}
	}
}

func (c *ruleChecker) networkTraffic(base string, obj map[string]any) {
	if active, _ := obj["is_active"].(bool); active {
		if _, ok := obj["end"]; ok {
			c.add(base+"/end", "network-traffic", "end must not be present while is_active is true")
		}
	}
	_, src := obj["src_ref"]
	_, dst := obj["dst_ref"]
	if !src && !dst {
		c.add(base, "network-traffic", "network-traffic needs at least one of src_ref or dst_ref")
	}
	c.rangeInt(base, obj, "src_port", 0, 65535)
	c.rangeInt(base, obj, "dst_port", 0, 65535)
}
