package console

import (
	"html/template"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/stix"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	// utc shows a time in UTC; the page's script adds the browser's zone
	// next to every <time> element.
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	// iso is a time for a datetime attribute.
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	// stamp is a time as TAXII and the filters write it.
	"stamp": func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") },
	"tlpName": func(l stix.TLP) string {
		if l == stix.TLPNone {
			return "no TLP"
		}
		return l.String()
	},
	// tlpClass is the CSS class of a TLP level's colours.
	"tlpClass": func(l stix.TLP) string {
		if l == stix.TLPNone {
			return "tlp-none"
		}
		return "tlp-" + strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(l.String(), "TLP:")), "+", "-")
	},
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
}
