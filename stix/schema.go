package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/big"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
// the analyst-facing message used when a value constraint of that node fails
// (type, pattern, format, enum, const, not, anyOf, oneOf, contains, length
// or range), with "{name}" standing for the offending property. Keywords
// whose message is generic (required, dependentRequired,
// additionalProperties, minItems, minProperties) are worded here.
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
	for _, loc := range slices.Sorted(maps.Keys(s.nodes)) {
		if kw := fastUnsupported(s.nodes[loc]); kw != "" {
			return nil, fmt.Errorf("schema %s uses %s, which stix.fastValid does not implement", loc, kw)
		}
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
//
// jsonschema/v5 allocates at every schema node it visits (about 40µs and
// 340 allocations for a typical indicator), so check first runs fastValid,
// an allocation-free walk of the same compiled schemas, and calls the full
// validator only for objects that fastValid cannot vouch for.
func (s *schemaSet) check(typ string, obj map[string]any) []Finding {
	sch := s.byType[typ]
	if sch == nil {
		if _, ok := obj["created"]; ok {
			sch = s.core
		} else {
			sch = s.observable
		}
	}
	if fastValid(sch, obj) == certainlyValid {
		return nil
	}
	// Invalid, or not certain: let the full validator decide and explain.
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
	if n, ok := r.set.nodes[loc]; ok && n.Always != nil {
		// A false schema fails as a whole, without a keyword.
		return "", n
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
		for _, dep := range slices.Sorted(maps.Keys(node.DependentRequired)) {
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
		for _, k := range slices.Sorted(maps.Keys(m)) {
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
		if node != nil {
			r.add(ptr, schemaAtLeast(name, node.MinItems, "an empty list", "entries"))
			return
		}
	case "minProperties":
		if node != nil {
			r.add(ptr, schemaAtLeast(name, node.MinProperties, "empty", "properties"))
			return
		}
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

// schemaDeclares reports whether node defines property k by name or pattern.
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

// schemaAtLeast says that name, a list or an object, needs at least n
// things ("entries", "properties"). At n 1 it says instead that name must
// not be empty (in the words of empty) and may be left out.
func schemaAtLeast(name string, n int, empty, things string) string {
	if n == 1 {
		return name + " must not be " + empty + "; leave the property out instead"
	}
	return fmt.Sprintf("%s must have at least %d %s", name, n, things)
}

// schemaBound renders the numeric limit behind kw, such as "<= 100".
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

// schemaJSONTypes words the JSON Schema type names for messages.
var schemaJSONTypes = map[string]string{
	"object": "an object", "array": "a list", "string": "a string", "integer": "an integer",
	"number": "a number", "boolean": "true or false", "null": "null",
}

// schemaTypeNames words a type list, such as "a string or a list".
func schemaTypeNames(types []string) string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = schemaJSONTypes[t]
	}
	return strings.Join(names, " or ")
}

// schemaJSONType words the JSON type of a decoded value.
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

// schemaValueText renders v as short JSON for a message.
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

// schemaPointer turns a jsonschema instance location, whose tokens are
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

// pointerTokens splits a JSON pointer into its unescaped reference tokens.
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

// pointerEscape escapes one JSON pointer reference token (RFC 6901).
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// schemaSubject names the value at ptr for a message: its property name, or
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

// schemaLookup returns the value at ptr in obj.
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

// fastResult is the answer of fastValid: an object is certainly valid,
// certainly invalid, or fastValid cannot tell (then the full validator
// decides).
type fastResult int8

const (
	certainlyInvalid fastResult = iota
	certainlyValid
	unsure
)

// or is the answer of "x or y": certainly valid if either is, else unsure
// if either is, else certainly invalid.
func (x fastResult) or(y fastResult) fastResult {
	switch {
	case x == certainlyValid || y == certainlyValid:
		return certainlyValid
	case x == unsure || y == unsure:
		return unsure
	}
	return certainlyInvalid
}

// fastUnsupported names the first keyword of sch that fastValid does not
// implement, or returns "". compileSchemas refuses schemas that use one, so
// that fastValid never silently skips a constraint.
func fastUnsupported(sch *jsonschema.Schema) string {
	switch {
	case sch.RecursiveRef != nil || sch.DynamicRef != nil:
		return "$recursiveRef/$dynamicRef"
	case len(sch.Dependencies) > 0:
		return "dependencies"
	case sch.UnevaluatedProperties != nil || sch.UnevaluatedItems != nil:
		return "unevaluatedProperties/unevaluatedItems"
	case sch.UniqueItems:
		return "uniqueItems"
	case sch.Items != nil || sch.AdditionalItems != nil:
		return "items (draft 7 form)/additionalItems"
	case sch.ContentEncoding != "" || sch.ContentMediaType != "" || sch.ContentSchema != nil:
		return "contentEncoding/contentMediaType/contentSchema"
	case sch.MultipleOf != nil || sch.ExclusiveMinimum != nil || sch.ExclusiveMaximum != nil:
		return "multipleOf/exclusiveMinimum/exclusiveMaximum"
	case sch.RegexProperties:
		return "regexProperties"
	case len(sch.Extensions) > 0:
		return "a custom keyword"
	}
	return ""
}

// fastValid evaluates sch against v with the keywords our schemas use,
// following jsonschema/v5's semantics, without allocating. Where exactness
// would need the validator's big.Rat arithmetic (numbers written as
// decimals or exponents, numeric const or enum values, or values not decoded
// as json.Number) it answers unsure, and an unsure part makes the whole
// answer unsure unless the rest already decides it.
func fastValid(sch *jsonschema.Schema, v any) fastResult {
	return fastCheck(sch, v, "", false)
}

// fastCheck is fastValid for v, or, when isName is set, for the string
// name (a property name), which is passed apart so that it is not boxed
// into an interface value at every property.
func fastCheck(sch *jsonschema.Schema, v any, name string, isName bool) fastResult {
	if isName {
		v = nil
	}
	if sch.Always != nil {
		if *sch.Always {
			return certainlyValid
		}
		return certainlyInvalid
	}
	r := certainlyValid
	// and folds one more conjunct into r; it returns false once r is
	// certainly invalid, so that the caller can stop.
	and := func(x fastResult) bool {
		switch {
		case x == certainlyInvalid:
			r = certainlyInvalid
			return false
		case x == unsure:
			r = unsure
		}
		return true
	}
	if len(sch.Types) > 0 {
		t := fastType(sch.Types, v)
		if isName {
			t = certainlyInvalid
			if slices.Contains(sch.Types, "string") {
				t = certainlyValid
			}
		}
		if !and(t) {
			return r
		}
	}
	equal := func(c any) fastResult {
		if isName {
			cs, ok := c.(string)
			if ok && cs == name {
				return certainlyValid
			}
			return certainlyInvalid
		}
		return fastEqual(v, c)
	}
	if len(sch.Constant) > 0 && !and(equal(sch.Constant[0])) {
		return r
	}
	if len(sch.Enum) > 0 {
		e := certainlyInvalid
		for _, x := range sch.Enum {
			if e = e.or(equal(x)); e == certainlyValid {
				break
			}
		}
		if !and(e) {
			return r
		}
	}
	if sch.Format != "" {
		fv := v
		if isName {
			fv = name
		}
		if f := jsonschema.Formats[sch.Format]; f != nil && !f(fv) {
			return certainlyInvalid
		}
	}

	if isName {
		if !fastString(sch, name) {
			return certainlyInvalid
		}
	}
	switch v := v.(type) {
	case map[string]any:
		if sch.MinProperties >= 0 && len(v) < sch.MinProperties ||
			sch.MaxProperties >= 0 && len(v) > sch.MaxProperties {
			return certainlyInvalid
		}
		for _, p := range sch.Required {
			if _, ok := v[p]; !ok {
				return certainlyInvalid
			}
		}
		for name, pv := range v {
			evaluated := false
			if ps, ok := sch.Properties[name]; ok {
				evaluated = true
				if !and(fastValid(ps, pv)) {
					return r
				}
			}
			for re, ps := range sch.PatternProperties {
				if re.MatchString(name) {
					evaluated = true
					if !and(fastValid(ps, pv)) {
						return r
					}
				}
			}
			if !evaluated && sch.AdditionalProperties != nil {
				switch ap := sch.AdditionalProperties.(type) {
				case bool:
					if !ap {
						return certainlyInvalid
					}
				case *jsonschema.Schema:
					if !and(fastValid(ap, pv)) {
						return r
					}
				}
			}
			if sch.PropertyNames != nil && !and(fastCheck(sch.PropertyNames, nil, name, true)) {
				return r
			}
		}
		for dep, reqs := range sch.DependentRequired {
			if _, ok := v[dep]; ok {
				for _, p := range reqs {
					if _, ok := v[p]; !ok {
						return certainlyInvalid
					}
				}
			}
		}
		for dep, ds := range sch.DependentSchemas {
			if _, ok := v[dep]; ok && !and(fastValid(ds, v)) {
				return r
			}
		}
	case []any:
		if sch.MinItems >= 0 && len(v) < sch.MinItems || sch.MaxItems >= 0 && len(v) > sch.MaxItems {
			return certainlyInvalid
		}
		for i, item := range v {
			if i < len(sch.PrefixItems) {
				if !and(fastValid(sch.PrefixItems[i], item)) {
					return r
				}
			} else if sch.Items2020 != nil && !and(fastValid(sch.Items2020, item)) {
				return r
			}
		}
		if sch.Contains != nil && (sch.MinContains != -1 || sch.MaxContains != -1) {
			matched, doubt := 0, false
			for _, item := range v {
				switch fastValid(sch.Contains, item) {
				case certainlyValid:
					matched++
				case unsure:
					doubt = true
				}
			}
			if doubt {
				r = unsure
			} else if sch.MinContains != -1 && matched < sch.MinContains ||
				sch.MaxContains != -1 && matched > sch.MaxContains {
				return certainlyInvalid
			}
		}
	case string:
		if !fastString(sch, v) {
			return certainlyInvalid
		}
	case json.Number:
		if sch.Minimum != nil && !and(fastCompare(v, sch.Minimum, 1)) ||
			sch.Maximum != nil && !and(fastCompare(v, sch.Maximum, -1)) {
			return r
		}
	default:
		if sch.Minimum != nil || sch.Maximum != nil {
			if _, isNum := v.(float64); isNum {
				r = unsure
			}
		}
	}

	if sch.Ref != nil && !and(fastCheck(sch.Ref, v, name, isName)) {
		return r
	}
	if sch.Not != nil {
		switch fastCheck(sch.Not, v, name, isName) {
		case certainlyValid:
			return certainlyInvalid
		case unsure:
			r = unsure
		}
	}
	for _, sub := range sch.AllOf {
		if !and(fastCheck(sub, v, name, isName)) {
			return r
		}
	}
	if len(sch.AnyOf) > 0 {
		a := certainlyInvalid
		for _, sub := range sch.AnyOf {
			if a = a.or(fastCheck(sub, v, name, isName)); a == certainlyValid {
				break
			}
		}
		if !and(a) {
			return r
		}
	}
	if len(sch.OneOf) > 0 {
		matched, doubt := 0, false
		for _, sub := range sch.OneOf {
			switch fastCheck(sub, v, name, isName) {
			case certainlyValid:
				matched++
			case unsure:
				doubt = true
			}
		}
		switch {
		case matched > 1:
			return certainlyInvalid
		case doubt:
			r = unsure
		case matched == 0:
			return certainlyInvalid
		}
	}
	if sch.If != nil {
		switch fastCheck(sch.If, v, name, isName) {
		case certainlyValid:
			if sch.Then != nil && !and(fastCheck(sch.Then, v, name, isName)) {
				return r
			}
		case certainlyInvalid:
			if sch.Else != nil && !and(fastCheck(sch.Else, v, name, isName)) {
				return r
			}
		default:
			r = unsure
		}
	}
	return r
}

// fastString checks the string keywords: length and pattern.
func fastString(sch *jsonschema.Schema, s string) bool {
	if sch.MinLength >= 0 || sch.MaxLength >= 0 {
		n := utf8.RuneCountInString(s)
		if sch.MinLength >= 0 && n < sch.MinLength || sch.MaxLength >= 0 && n > sch.MaxLength {
			return false
		}
	}
	return sch.Pattern == nil || sch.Pattern.MatchString(s)
}

// fastType checks v against a list of JSON types.
func fastType(types []string, v any) fastResult {
	var t string
	switch x := v.(type) {
	case nil:
		t = "null"
	case bool:
		t = "boolean"
	case string:
		t = "string"
	case []any:
		t = "array"
	case map[string]any:
		t = "object"
	case json.Number:
		if plainInteger(string(x)) {
			t = "integer"
		} else {
			t = "number"
		}
	default:
		return unsure
	}
	r := certainlyInvalid
	for _, want := range types {
		switch {
		case want == t, want == "number" && t == "integer":
			return certainlyValid
		case want == "integer" && t == "number":
			// 1.0 and 1e2 are integers too; only big.Rat knows.
			r = unsure
		}
	}
	return r
}

// plainInteger reports whether a JSON number literal is written as an
// integer (optional minus, digits only).
func plainInteger(s string) bool {
	return allDigits(strings.TrimPrefix(s, "-"))
}

// fastEqual compares v with a schema constant. Numbers are equal only when
// both are written as the same plain integer; any other numeric comparison
// is unsure.
func fastEqual(v, c any) fastResult {
	yes := func(b bool) fastResult {
		if b {
			return certainlyValid
		}
		return certainlyInvalid
	}
	switch c := c.(type) {
	case nil:
		return yes(v == nil)
	case bool:
		b, ok := v.(bool)
		return yes(ok && b == c)
	case string:
		s, ok := v.(string)
		return yes(ok && s == c)
	case []any:
		a, ok := v.([]any)
		if !ok {
			return fastEqualKind(v)
		}
		if len(a) != len(c) {
			return certainlyInvalid
		}
		r := certainlyValid
		for i := range a {
			switch fastEqual(a[i], c[i]) {
			case certainlyInvalid:
				return certainlyInvalid
			case unsure:
				r = unsure
			}
		}
		return r
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			return fastEqualKind(v)
		}
		if len(m) != len(c) {
			return certainlyInvalid
		}
		r := certainlyValid
		for k, cv := range c {
			mv, ok := m[k]
			if !ok {
				return certainlyInvalid
			}
			switch fastEqual(mv, cv) {
			case certainlyInvalid:
				return certainlyInvalid
			case unsure:
				r = unsure
			}
		}
		return r
	default: // a number in the schema
		n, ok := v.(json.Number)
		if !ok {
			return fastEqualKind(v)
		}
		cs := fmt.Sprint(c)
		if plainInteger(string(n)) && plainInteger(cs) && string(n) != "-0" && cs != "-0" {
			return yes(string(n) == cs)
		}
		return unsure
	}
}

// fastEqualKind is the answer of fastEqual for a value of another kind than
// the constant: unequal, unless v is not a plain decoded JSON value.
func fastEqualKind(v any) fastResult {
	switch v.(type) {
	case nil, bool, string, []any, map[string]any, json.Number:
		return certainlyInvalid
	}
	return unsure
}

// fastCompare reports whether the number n is on the side sign of limit
// (sign 1: n >= limit, sign -1: n <= limit). Rounding to float64 is
// monotonic, so a strict float64 inequality holds exactly too; equal floats
// are settled with big.Rat.
func fastCompare(n json.Number, limit *big.Rat, sign int) fastResult {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return unsure
	}
	var lf float64
	if limit.IsInt() && limit.Num().IsInt64() {
		lf = float64(limit.Num().Int64()) // no allocation, unlike Float64
	} else {
		lf, _ = limit.Float64()
	}
	c := 0
	switch {
	case f < lf:
		c = -1
	case f > lf:
		c = 1
	default:
		x, ok := new(big.Rat).SetString(string(n))
		if !ok {
			return unsure
		}
		c = x.Cmp(limit)
	}
	if c == 0 || c == sign {
		return certainlyValid
	}
	return certainlyInvalid
}
