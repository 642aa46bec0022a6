package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// schemaBase is the $id prefix of every embedded schema; a file's $id is
// schemaBase followed by its path in the schemas tree.
const schemaBase = "https://eitaxii.dev/schemas/stix2.1/"

// typeDirs are the schema directories whose files each describe one STIX
// type, named after the file ("sdos/indicator.json" is "indicator").
var typeDirs = []string{"sdos", "sros", "observables", "meta"}

// schemaSet holds the compiled per-type schemas. It is read-only after
// compileSchemas and safe for concurrent use.
//
// Error messages come from the schemas themselves: in our schema files a
// "description" is never documentation (that is "title" and "$comment") but
// the analyst-facing message for a failing pattern, format, enum, const,
// not, anyOf, oneOf or contains at that node, with "{name}" standing for the
// offending property. Keywords whose message is generic (required,
// additionalProperties, minItems, ...) are worded here.
type schemaSet struct {
	byType map[string]*jsonschema.Schema
	// core validates custom objects that carry created (custom SDOs and
	// SROs); observable validates the other custom objects (custom SCOs).
	core, observable *jsonschema.Schema
	// nodes maps every compiled (sub)schema location to its schema, to
	// find the description and constraints behind a validation error.
	nodes map[string]*jsonschema.Schema
}

// compileSchemas compiles every schema file in fsys (laid out as
// schemas.FS) once. Each file is registered under its $id, which must
// mirror its path; nothing is ever fetched. An error means the embedded
// schemas are broken.
func compileSchemas(fsys fs.FS) (*schemaSet, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.ExtractAnnotations = true // keeps description, our message templates
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema %s is not embedded (refusing to fetch it)", s)
	}

	var ids []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		var head struct {
			ID string `json:"$id"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return fmt.Errorf("schema %s: %w", p, err)
		}
		if want := schemaBase + p; head.ID != want {
			return fmt.Errorf("schema %s: $id is %q, want %q", p, head.ID, want)
		}
		if err := c.AddResource(head.ID, bytes.NewReader(data)); err != nil {
			return fmt.Errorf("schema %s: %w", p, err)
		}
		ids = append(ids, head.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}

	s := &schemaSet{
		byType: make(map[string]*jsonschema.Schema),
		nodes:  make(map[string]*jsonschema.Schema),
	}
	for _, id := range ids {
		sch, err := c.Compile(id)
		if err != nil {
			return nil, err
		}
		s.index(sch)
		rel := strings.TrimPrefix(id, schemaBase)
		dir, file := path.Split(rel)
		if slices.Contains(typeDirs, strings.TrimSuffix(dir, "/")) {
			s.byType[strings.TrimSuffix(file, ".json")] = sch
		}
		switch rel {
		case "common/core.json":
			s.core = sch
		case "common/cyber-observable-core.json":
			s.observable = sch
		}
	}
	if s.core == nil || s.observable == nil {
		return nil, errors.New("schemas: common/core.json or common/cyber-observable-core.json is missing")
	}
	return s, nil
}

// index records sch and every schema below it by location.
func (s *schemaSet) index(sch *jsonschema.Schema) {
	if sch == nil {
		return
	}
	if _, seen := s.nodes[sch.Location]; seen {
		return
	}
	s.nodes[sch.Location] = sch
	for _, sub := range subschemas(sch) {
		s.index(sub)
	}
}

// subschemas lists the schemas directly below sch.
func subschemas(sch *jsonschema.Schema) []*jsonschema.Schema {
	subs := []*jsonschema.Schema{sch.Ref, sch.Not, sch.If, sch.Then, sch.Else,
		sch.PropertyNames, sch.Items2020, sch.Contains, sch.UnevaluatedProperties, sch.UnevaluatedItems}
	subs = append(subs, sch.AllOf...)
	subs = append(subs, sch.AnyOf...)
	subs = append(subs, sch.OneOf...)
	subs = append(subs, sch.PrefixItems...)
	for _, p := range sch.Properties {
		subs = append(subs, p)
	}
	for _, p := range sch.PatternProperties {
		subs = append(subs, p)
	}
	for _, p := range sch.DependentSchemas {
		subs = append(subs, p)
	}
	if p, ok := sch.AdditionalProperties.(*jsonschema.Schema); ok {
		subs = append(subs, p)
	}
	return subs
}

// check validates obj, decoded with json.Decoder.UseNumber, against the
// schema of typ. A type without a schema of its own is a custom object: it
// is checked against the core schema when it carries created, else against
// the cyber-observable core. Findings are sorted by path, then message.
func (s *schemaSet) check(typ string, obj map[string]any) []Finding {
	sch := s.byType[typ]
	if sch == nil {
		if _, ok := obj["created"]; ok {
			sch = s.core
		} else {
			sch = s.observable
		}
	}
	err := sch.Validate(obj)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Finding{{Rule: "schema", Message: "cannot be checked: " + err.Error()}}
	}
	r := schemaReporter{set: s, obj: obj}
	r.walk(ve)
	slices.SortFunc(r.fs, func(a, b Finding) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(r.fs)
}

// schemaReporter turns a jsonschema.ValidationError tree into findings.
type schemaReporter struct {
	set *schemaSet
	obj map[string]any
	fs  []Finding
}

func (r *schemaReporter) add(ptr, msg string) {
	r.fs = append(r.fs, Finding{Path: ptr, Rule: "schema", Message: msg})
}

// walk reports the leaves of the error tree. Wrapping errors ($ref, allOf,
// if/then/else) only carry causes; anyOf, oneOf and contains are reported
// as one finding worded by their schema rather than as every failed
// alternative or list entry.
func (r *schemaReporter) walk(ve *jsonschema.ValidationError) {
	kw, node := r.keyword(ve)
	switch {
	case kw == "anyOf" || kw == "oneOf" || kw == "minContains" || len(ve.Causes) == 0:
		r.leaf(ve, kw, node)
	default:
		for _, c := range ve.Causes {
			r.walk(c)
		}
	}
}

// keyword returns the keyword that failed in ve and the schema holding it.
func (r *schemaReporter) keyword(ve *jsonschema.ValidationError) (string, *jsonschema.Schema) {
	loc := ve.AbsoluteKeywordLocation
	if ve.Message == "not allowed" {
		// A false schema fails as a whole, without a keyword.
		if n, ok := r.set.nodes[loc]; ok {
			return "", n
		}
	}
	i := strings.LastIndexByte(loc, '/')
	if i < 0 {
		return "", nil
	}
	kw, parent := loc[i+1:], loc[:i]
	if j := strings.LastIndex(parent, "/dependentRequired/"); j >= 0 {
		// dependentRequired/<property>/<index>
		return "dependentRequired", r.set.nodes[parent[:j]]
	}
	return kw, r.set.nodes[parent]
}

// schemaMessageKeywords are the keywords whose message comes from the failing
// schema's description when it has one.
var schemaMessageKeywords = map[string]bool{
	"": true, "type": true, "pattern": true, "format": true, "enum": true, "const": true,
	"not": true, "anyOf": true, "oneOf": true, "minContains": true, "minLength": true,
	"maxLength": true, "minimum": true, "maximum": true,
}

// leaf reports one failed keyword.
func (r *schemaReporter) leaf(ve *jsonschema.ValidationError, kw string, node *jsonschema.Schema) {
	ptr := schemaPointer(ve.InstanceLocation)
	name := schemaSubject(ptr)
	if node != nil && node.Description != "" && schemaMessageKeywords[kw] {
		r.add(ptr, strings.ReplaceAll(node.Description, "{name}", name))
		return
	}
	value, _ := schemaLookup(r.obj, ptr)
	switch kw {
	case "required":
		m, _ := value.(map[string]any)
		if node == nil || m == nil {
			break
		}
		for _, p := range node.Required {
			if _, ok := m[p]; !ok {
				r.add(ptr+"/"+pointerEscape(p), p+" is required")
			}
		}
		return
	case "dependentRequired":
		m, _ := value.(map[string]any)
		if node == nil || m == nil {
			break
		}
		for _, dep := range schemaSortedKeys(node.DependentRequired) {
			if _, ok := m[dep]; !ok {
				continue
			}
			for _, p := range node.DependentRequired[dep] {
				if _, ok := m[p]; !ok {
					r.add(ptr+"/"+pointerEscape(p), p+" is required when "+dep+" is present")
				}
			}
		}
		return
	case "additionalProperties":
		m, _ := value.(map[string]any)
		if node == nil || m == nil {
			break
		}
		for _, k := range schemaSortedKeys(m) {
			if !schemaDeclares(node, k) {
				r.add(ptr+"/"+pointerEscape(k), k+" is not allowed in "+name)
			}
		}
		return
	case "type":
		if node != nil && len(node.Types) > 0 {
			r.add(ptr, fmt.Sprintf("%s must be %s, not %s", name, schemaTypeNames(node.Types), schemaJSONType(value)))
			return
		}
	case "const":
		if node != nil && len(node.Constant) > 0 {
			r.add(ptr, name+" must be "+schemaValueText(node.Constant[0]))
			return
		}
	case "enum":
		if node != nil {
			vals := make([]string, len(node.Enum))
			for i, v := range node.Enum {
				vals[i] = schemaValueText(v)
			}
			r.add(ptr, fmt.Sprintf("%s must be one of %s, not %s", name, strings.Join(vals, ", "), schemaValueText(value)))
			return
		}
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
		if node != nil {
			r.add(ptr, name+" must be "+schemaBound(node, kw))
			return
		}
	case "minItems":
		if node != nil && node.MinItems == 1 {
			r.add(ptr, name+" must not be an empty list; leave the property out instead")
		} else if node != nil {
			r.add(ptr, fmt.Sprintf("%s must have at least %d entries", name, node.MinItems))
		}
		return
	case "minProperties":
		if node != nil && node.MinProperties == 1 {
			r.add(ptr, name+" must not be empty; leave the property out instead")
		} else if node != nil {
			r.add(ptr, fmt.Sprintf("%s must have at least %d properties", name, node.MinProperties))
		}
		return
	case "minLength":
		if node != nil {
			r.add(ptr, fmt.Sprintf("%s must be at least %d characters long", name, node.MinLength))
			return
		}
	case "maxLength":
		if node != nil {
			r.add(ptr, fmt.Sprintf("%s must be at most %d characters long", name, node.MaxLength))
			return
		}
	case "pattern", "format":
		r.add(ptr, name+" is not in the required format")
		return
	case "", "not":
		r.add(ptr, name+" is not allowed here")
		return
	case "anyOf", "oneOf":
		r.add(ptr, name+" does not match any of the allowed forms")
		return
	}
	// A keyword our schemas do not use, or a node we could not find:
	// fall back to the validator's own words.
	r.add(ptr, name+": "+ve.Message)
}

// declared reports whether node defines property k by name or pattern.
func schemaDeclares(node *jsonschema.Schema, k string) bool {
	if _, ok := node.Properties[k]; ok {
		return true
	}
	for re := range node.PatternProperties {
		if re.MatchString(k) {
			return true
		}
	}
	return false
}

// bound renders the numeric limit behind kw, such as "<= 100".
func schemaBound(node *jsonschema.Schema, kw string) string {
	var op string
	var r *big.Rat
	switch kw {
	case "minimum":
		op, r = ">=", node.Minimum
	case "maximum":
		op, r = "<=", node.Maximum
	case "exclusiveMinimum":
		op, r = ">", node.ExclusiveMinimum
	default:
		op, r = "<", node.ExclusiveMaximum
	}
	if r == nil {
		return "within range"
	}
	if r.IsInt() {
		return op + " " + r.Num().String()
	}
	return op + " " + r.FloatString(6)
}

var schemaJSONTypes = map[string]string{
	"object": "an object", "array": "a list", "string": "a string", "integer": "an integer",
	"number": "a number", "boolean": "true or false", "null": "null",
}

func schemaTypeNames(types []string) string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = schemaJSONTypes[t]
	}
	return strings.Join(names, " or ")
}

func schemaJSONType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "true or false"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "an integer"
		}
		return "a number"
	default:
		return "a number"
	}
}

// jsonText renders v as short JSON for a message.
func schemaValueText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// pointer turns a jsonschema instance location, whose tokens are
// URL-path-escaped, into a plain RFC 6901 JSON pointer.
func schemaPointer(loc string) string {
	if loc == "" || !strings.Contains(loc, "%") {
		return loc
	}
	toks := strings.Split(loc, "/")
	for i, t := range toks {
		if u, err := url.PathUnescape(t); err == nil {
			toks[i] = u
		}
	}
	return strings.Join(toks, "/")
}

// tokens splits a JSON pointer into its unescaped reference tokens.
func pointerTokens(ptr string) []string {
	if ptr == "" {
		return nil
	}
	toks := strings.Split(ptr[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// subject names the value at ptr for a message: its property name, or
// "list[i]" for a list entry, or "object" for the object itself.
func schemaSubject(ptr string) string {
	toks := pointerTokens(ptr)
	if len(toks) == 0 {
		return "object"
	}
	last := toks[len(toks)-1]
	if _, err := strconv.Atoi(last); err == nil && len(toks) > 1 {
		return toks[len(toks)-2] + "[" + last + "]"
	}
	return last
}

// lookup returns the value at ptr in obj.
func schemaLookup(obj map[string]any, ptr string) (any, bool) {
	var v any = obj
	for _, t := range pointerTokens(ptr) {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[t]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func schemaSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
