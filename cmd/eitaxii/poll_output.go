package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/eitaxii/eitaxii/stix/pattern"
)

// The output formats of `eitaxii poll` and `eitaxii watch`.
const (
	formatSTIX   = "stix"   // one TAXII envelope {"objects":[...]} per run
	formatJSONL  = "jsonl"  // one object per line
	formatCSV    = "csv"    // type,id,modified,value rows for indicators and observables
	formatValues = "values" // indicator values, one a line, each once
)

var formats = []string{formatSTIX, formatJSONL, formatCSV, formatValues}

// maxSeenValues bounds the values a long-running watch remembers to
// de-duplicate: past it the memory starts afresh, so a value may be
// written again (a blocklist tolerates a repeat; it must not lose one).
const maxSeenValues = 1 << 20

// objectWriter writes objects in one format. begin is called once before
// the first object, end once after the last (poll only: watch never
// ends). Objects are the server's bytes; an object the format cannot use
// (not JSON, or for csv and values a type without indicator values) is
// skipped, never an error, so that one odd object does not stop a feed.
type objectWriter struct {
	format string
	w      *bufio.Writer
	csv    *csv.Writer
	n      int             // objects written since begin
	seen   map[string]bool // values written (values format)
	header bool            // write the csv header in begin
}

// newObjectWriter returns a writer of format to w. seen holds values
// already in the output (an appended blocklist), or nil; header tells the
// csv format to start with its header line.
func newObjectWriter(format string, w io.Writer, seen map[string]bool, header bool) *objectWriter {
	o := &objectWriter{format: format, w: bufio.NewWriter(w), seen: seen, header: header}
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	o.csv = csv.NewWriter(o.w)
	return o
}

func (o *objectWriter) begin() error {
	switch o.format {
	case formatSTIX:
		_, err := o.w.WriteString(`{"objects":[`)
		return err
	case formatCSV:
		if o.header {
			return o.csv.Write([]string{"type", "id", "modified", "value"})
		}
	}
	return nil
}

// object writes one object.
func (o *objectWriter) object(raw []byte) error {
	var obj stixObject
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil
	}
	switch o.format {
	case formatSTIX, formatJSONL:
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil
		}
		if o.format == formatSTIX && o.n > 0 {
			o.w.WriteByte(',')
		}
		o.w.Write(buf.Bytes())
		if o.format == formatJSONL {
			o.w.WriteByte('\n')
		}
	case formatCSV:
		vals, ok := obj.values()
		if !ok {
			return nil
		}
		if len(vals) == 0 {
			// An indicator whose pattern is not a simple list of values
			// is still listed, so that nothing new goes unseen.
			vals = []string{""}
		}
		for _, v := range vals {
			if err := o.csv.Write([]string{obj.Type, obj.ID, obj.Modified, v}); err != nil {
				return err
			}
		}
	case formatValues:
		vals, _ := obj.values()
		for _, v := range vals {
			if o.seen[v] {
				continue
			}
			if len(o.seen) >= maxSeenValues {
				clear(o.seen)
			}
			o.seen[v] = true
			o.w.WriteString(v)
			o.w.WriteByte('\n')
		}
	}
	o.n++
	return nil
}

// end closes the stix envelope.
func (o *objectWriter) end() error {
	if o.format == formatSTIX {
		_, err := o.w.WriteString("]}\n")
		return err
	}
	return nil
}

// flush writes out what is buffered and reports any write error so far.
func (o *objectWriter) flush() error {
	o.csv.Flush()
	if err := o.csv.Error(); err != nil {
		return err
	}
	return o.w.Flush()
}

// stixObject is what the csv and values formats read of an object.
type stixObject struct {
	Type     string            `json:"type"`
	ID       string            `json:"id"`
	Modified string            `json:"modified"`
	Revoked  bool              `json:"revoked"`
	Pattern  string            `json:"pattern"`
	PType    string            `json:"pattern_type"`
	Value    string            `json:"value"`
	Hashes   map[string]string `json:"hashes"`
}

// valueTypes are the cyber-observable types whose "value" is something a
// firewall, proxy, mail or DNS filter blocks.
var valueTypes = map[string]bool{"ipv4-addr": true, "ipv6-addr": true, "domain-name": true, "url": true, "email-addr": true}

// values returns the indicator values of the object and whether it is an
// indicator or an observable at all. An indicator gives the values of its
// STIX pattern (patternValues); a revoked one counts as neither. An ipv4-addr,
// ipv6-addr, domain-name, url or email-addr gives its value, a file its
// hashes.
func (o *stixObject) values() ([]string, bool) {
	var vals []string
	switch {
	case o.Type == "indicator":
		if o.Revoked {
			// Revoked: its values must not be added to a blocklist, and a
			// row for it would read as a live indicator.
			return nil, false
		}
		if o.PType != "" && o.PType != "stix" {
			return nil, true
		}
		vals = patternValues(o.Pattern)
	case valueTypes[o.Type]:
		vals = []string{o.Value}
	case o.Type == "file":
		for _, alg := range slices.Sorted(maps.Keys(o.Hashes)) {
			vals = append(vals, o.Hashes[alg])
		}
	default:
		return nil, false
	}
	out := vals[:0]
	for _, v := range vals {
		if v = strings.TrimSpace(v); safeValue(v) {
			out = append(out, v)
		}
	}
	return out, true
}

// safeValue refuses a value that would not be one line of a blocklist:
// empty, or holding white space or control characters (a value with a
// newline would add a line of the publisher's choosing to the list).
func safeValue(v string) bool {
	if v == "" || len(v) > 2048 {
		return false
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// errNotSimple stops the walk of a pattern that is not a plain list of
// values.
var errNotSimple = errors.New("not a simple pattern")

// patternValues returns the values of a simple STIX pattern, in pattern
// order: comparisons "=" or "IN" of a value property (ipv4-addr:value,
// domain-name:value, url:value, email-addr:value, ipv6-addr:value) or of a
// file hash (file:hashes.'SHA-256'), joined by OR, inside observations
// joined by OR and without qualifiers. Anything else ("AND", NOT, LIKE,
// FOLLOWEDBY, WITHIN, a file name) describes something that one value
// alone does not match, and gives no values; so does a pattern that does
// not parse.
func patternValues(s string) []string {
	p, err := pattern.Parse(s)
	if err != nil {
		return nil
	}
	var vals []string
	if walkObservation(p.Expr, &vals) != nil {
		return nil
	}
	return vals
}

func walkObservation(e pattern.ObservationExpr, vals *[]string) error {
	switch e := e.(type) {
	case *pattern.Observation:
		if len(e.Qualifiers) > 0 {
			return errNotSimple
		}
		return walkComparison(e.Comparison, vals)
	case *pattern.ParenObservation:
		if len(e.Qualifiers) > 0 {
			return errNotSimple
		}
		return walkObservation(e.Expr, vals)
	case *pattern.CompoundObservation:
		if e.Op != pattern.OpOr {
			return errNotSimple
		}
		for _, x := range e.Operands {
			if err := walkObservation(x, vals); err != nil {
				return err
			}
		}
		return nil
	}
	return errNotSimple
}

func walkComparison(e pattern.ComparisonExpr, vals *[]string) error {
	switch e := e.(type) {
	case *pattern.Comparison:
		if e.Not || !valuePath(&e.Path) {
			return errNotSimple
		}
		switch e.Op {
		case pattern.OpEqual:
			if e.Value.Kind != pattern.StringLiteral {
				return errNotSimple
			}
			*vals = append(*vals, e.Value.Text)
		case pattern.OpIn:
			for _, l := range e.Set {
				if l.Kind != pattern.StringLiteral {
					return errNotSimple
				}
				*vals = append(*vals, l.Text)
			}
		default:
			return errNotSimple
		}
		return nil
	case *pattern.ParenComparison:
		return walkComparison(e.Expr, vals)
	case *pattern.CompoundComparison:
		if e.Op != pattern.OpOr {
			return errNotSimple
		}
		for _, x := range e.Operands {
			if err := walkComparison(x, vals); err != nil {
				return err
			}
		}
		return nil
	}
	return errNotSimple
}

// valuePath reports whether p is the value of a blockable observable or a
// file hash.
func valuePath(p *pattern.ObjectPath) bool {
	switch {
	case valueTypes[p.Type]:
		return p.Property == "value" && len(p.Steps) == 0
	case p.Type == "file":
		return p.Property == "hashes" && len(p.Steps) == 1 && p.Steps[0].Kind == pattern.KeyStep
	}
	return false
}

// checkFormat returns a usage error unless f is one of formats.
func checkFormat(f string) error {
	for _, g := range formats {
		if f == g {
			return nil
		}
	}
	return usagef("", "--format: %q is not one of %s", f, strings.Join(formats, ", "))
}
