package taxii

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// checkMembers walks one JSON value of an admin body against the Go type it
// is decoded into and refuses what encoding/json would let through: a
// member named twice in one object (encoding/json keeps the last, so
// {"org_admin":false,"org_admin":true} would depend on the parser) and a
// member whose name matches a field only when case is ignored
// ({"Org_Admin":true} sets OrgAdmin in encoding/json). Member names of the
// admin API are exact, like those of TAXII and STIX.
//
// raw must already have decoded into a value of type t without error
// (decodeBody checks syntax and types first); checkMembers then reports
// the first problem as a 400 naming the member by its path
// ("rate_limit.Rate"). Types with their own decoding (time.Time, access.Role)
// are leaves; client.Optional[T] is looked through to T.
func checkMembers(raw []byte, t reflect.Type) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return walkMembers(d, t, "")
}

// lookThrough is implemented by wrapper types whose JSON is that of
// another type (client.Optional[T]).
type lookThrough interface{ JSONType() reflect.Type }

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shape returns the type whose members a JSON value for t has, or nil when
// t decodes itself (a leaf whose members are not ours to check).
func shape(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
			continue
		}
		if lt, ok := reflect.Zero(t).Interface().(lookThrough); ok {
			t = lt.JSONType()
			continue
		}
		if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
			return nil
		}
		return t
	}
	return nil
}

func walkMembers(d *json.Decoder, t reflect.Type, path string) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	t = shape(t)
	switch delim {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; d.More(); i++ {
			if err := walkMembers(d, elem, join(path, strconv.Itoa(i))); err != nil {
				return err
			}
		}
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for d.More() {
			tok, err := d.Token()
			if err != nil {
				return err
			}
			name := tok.(string) // object keys are always strings
			at := join(path, name)
			if seen[name] {
				return badRequest("body: member %q appears twice; name each member once", at)
			}
			seen[name] = true
			next := elem
			if fields != nil {
				ft, ok := fields[name]
				if !ok {
					for exact := range fields {
						if strings.EqualFold(exact, name) {
							return badRequest("body: unknown field %q: member names are case-sensitive, write %q", at, join(path, exact))
						}
					}
					return badRequest("body: unknown field %q", at)
				}
				next = ft
			}
			if err := walkMembers(d, next, at); err != nil {
				return err
			}
		}
	}
	_, err = d.Token() // the closing delimiter
	return err
}

// jsonFields maps the JSON member names of struct type t to their types,
// as encoding/json names them (tag name, else field name; embedded structs
// flattened; "-" and unexported fields skipped).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if et := shape(f.Type); et != nil && et.Kind() == reflect.Struct {
				for n, ft := range jsonFields(et) {
					if _, ok := fields[n]; !ok {
						fields[n] = ft
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func join(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}
