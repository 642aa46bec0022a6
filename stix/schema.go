package stix

import "io/fs"

// schemaSet holds the compiled per-type schemas.
// PLACEHOLDER until the schemas land (issue 3): it checks nothing.
type schemaSet struct{}

func compileSchemas(fsys fs.FS) (*schemaSet, error) { return &schemaSet{}, nil }

// check validates obj against the schema of its type.
func (s *schemaSet) check(typ string, obj map[string]any) []Finding { return nil }
