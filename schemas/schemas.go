// Package schemas holds eitaxii's own STIX 2.1 JSON schemas (draft 2020-12),
// embedded in the binary. It has no logic; package stix compiles them.
package schemas

import "embed"

// FS holds every schema file, under common/, sdos/, sros/, observables/ and
// meta/ (marking-definition, language-content, extension-definition).
//
//go:embed common sdos sros observables meta
var FS embed.FS
