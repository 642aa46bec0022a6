package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Pattern is a parsed STIX pattern: one observation expression.
//
// String reprints it in canonical form: single spaces between tokens, "="
// and "!=" for "==" and "<>", no '+' on numbers, property names quoted only
// when they must be, no comments, and the parentheses of the input kept.
// Parse(p.String()) yields a Pattern with the same String.
type Pattern struct {
	Expr ObservationExpr
}

// String returns the pattern in canonical form (see Pattern).
func (p *Pattern) String() string {
	var b strings.Builder
	b.Grow(64)
	p.Expr.write(&b)
	return b.String()
}

// ObservationExpr is an observation expression: *Observation,
// *ParenObservation or *CompoundObservation.
type ObservationExpr interface {
	String() string
	write(b *strings.Builder)
}

// ComparisonExpr is a comparison expression inside [ ]: *Comparison,
// *Exists, *ParenComparison or *CompoundComparison.
type ComparisonExpr interface {
	String() string
	write(b *strings.Builder)
}

// LogicalOp joins observation or comparison expressions.
type LogicalOp uint8

// Logical operators from loosest to tightest binding. OpFollowedBy joins
// observation expressions only.
const (
	OpFollowedBy LogicalOp = iota + 1
	OpOr
	OpAnd
)

// String returns the operator's keyword.
func (op LogicalOp) String() string { return enumText(logicalOpText[:], op, "LogicalOp") }

var logicalOpText = [...]string{OpFollowedBy: "FOLLOWEDBY", OpOr: "OR", OpAnd: "AND"}

// CompoundObservation is two or more observation expressions joined by one
// operator. A chain like "A AND B AND C" is a single node with three
// operands (the operators are associative in their meaning, and a flat
// list keeps the tree shallow however long the chain); the parser keeps
// the grammar's precedence, so operands are never compounds of the same
// or a looser operator unless parenthesized.
type CompoundObservation struct {
	Op       LogicalOp
	Operands []ObservationExpr
}

// Observation is "[ comparison ]" with the qualifiers that follow it.
type Observation struct {
	Pos        int // offset of '['
	Comparison ComparisonExpr
	Qualifiers []Qualifier // in source order
}

// ParenObservation is "( observation expression )" with the qualifiers
// that follow the closing parenthesis.
type ParenObservation struct {
	Pos        int // offset of '('
	Expr       ObservationExpr
	Qualifiers []Qualifier // in source order
}

// QualifierKind tells the qualifiers apart.
type QualifierKind uint8

// Qualifier kinds.
const (
	WithinQualifier    QualifierKind = iota + 1 // WITHIN n SECONDS
	RepeatsQualifier                            // REPEATS n TIMES
	StartStopQualifier                          // START t'...' STOP t'...'
)

// String returns the qualifier's keyword, "START/STOP" for StartStopQualifier.
func (k QualifierKind) String() string { return enumText(qualifierText[:], k, "QualifierKind") }

var qualifierText = [...]string{WithinQualifier: "WITHIN", RepeatsQualifier: "REPEATS", StartStopQualifier: "START/STOP"}

// Qualifier is one WITHIN, REPEATS or START/STOP qualifier.
type Qualifier struct {
	Kind QualifierKind
	Pos  int // offset of the keyword
	// Value is the WITHIN seconds (IntLiteral or FloatLiteral) or the
	// REPEATS count (IntLiteral); never negative after Parse, maybe zero.
	Value Literal
	// Start and Stop are the START/STOP timestamps (TimestampLiteral).
	Start, Stop Literal
}

// CompoundComparison is two or more comparison expressions joined by
// OpAnd or OpOr; see CompoundObservation for the flat shape.
type CompoundComparison struct {
	Op       LogicalOp
	Operands []ComparisonExpr
}

// ParenComparison is "( comparison expression )".
type ParenComparison struct {
	Pos  int // offset of '('
	Expr ComparisonExpr
}

// CompareOp is a comparison operator.
type CompareOp uint8

// Comparison operators. "==" parses as OpEqual and "<>" as OpNotEqual.
const (
	OpEqual        CompareOp = iota + 1 // =, ==
	OpNotEqual                          // !=, <>
	OpLess                              // <
	OpLessEqual                         // <=
	OpGreater                           // >
	OpGreaterEqual                      // >=
	OpIn                                // IN ( ... )
	OpLike                              // LIKE '...'
	OpMatches                           // MATCHES '...'
	OpIsSubset                          // ISSUBSET '...'
	OpIsSuperset                        // ISSUPERSET '...'
)

var compareOpText = [...]string{
	OpEqual: "=", OpNotEqual: "!=", OpLess: "<", OpLessEqual: "<=", OpGreater: ">",
	OpGreaterEqual: ">=", OpIn: "IN", OpLike: "LIKE", OpMatches: "MATCHES",
	OpIsSubset: "ISSUBSET", OpIsSuperset: "ISSUPERSET",
}

// String returns the operator as written in canonical patterns.
func (op CompareOp) String() string { return enumText(compareOpText[:], op, "CompareOp") }

// Comparison is "path [NOT] op value".
type Comparison struct {
	Path ObjectPath
	Not  bool
	Op   CompareOp
	// Value is the right-hand side for every operator except OpIn. For
	// OpLike, OpMatches, OpIsSubset and OpIsSuperset it is a StringLiteral;
	// for the ordering operators it is never a BoolLiteral.
	Value Literal
	// Set holds the members of an OpIn set; it is empty for "IN ()".
	Set []Literal
}

// Exists is "[NOT] EXISTS path".
type Exists struct {
	Pos  int // offset of NOT or EXISTS
	Not  bool
	Path ObjectPath
}

// ObjectPath is "type:property" followed by any number of steps, e.g.
// file:extensions.'windows-pebinary-ext'.sections[*].name.
type ObjectPath struct {
	Pos         int    // offset of the object type
	Type        string // object type, e.g. "ipv4-addr"
	Property    string // first-level property name, unquoted
	PropertyPos int    // offset of the property name
	Steps       []PathStep
}

// StepKind tells path steps apart.
type StepKind uint8

// Path step kinds.
const (
	KeyStep      StepKind = iota + 1 // .name or .'quoted name'
	IndexStep                        // [n], n may be negative
	AnyIndexStep                     // [*]
)

// PathStep is one step of an object path after the first-level property.
type PathStep struct {
	Kind  StepKind
	Pos   int    // offset of the key, or of '['
	Key   string // for KeyStep, unquoted
	Index int    // for IndexStep
}

// LiteralKind tells literals apart.
type LiteralKind uint8

// Literal kinds.
const (
	IntLiteral       LiteralKind = iota + 1 // 42, +42, -42
	FloatLiteral                            // 1.5, .5, -0.5
	StringLiteral                           // 'text'
	BoolLiteral                             // true, false
	BinaryLiteral                           // b'base64'
	HexLiteral                              // h'hex'
	TimestampLiteral                        // t'2016-01-01T00:00:00Z'
)

var literalKindText = [...]string{
	IntLiteral: "integer", FloatLiteral: "float", StringLiteral: "string", BoolLiteral: "boolean",
	BinaryLiteral: "binary", HexLiteral: "hex", TimestampLiteral: "timestamp",
}

// String names the kind in lower case, e.g. "timestamp".
func (k LiteralKind) String() string { return enumText(literalKindText[:], k, "LiteralKind") }

// Literal is a constant in a pattern. Text holds its value without syntax:
//
//	IntLiteral, FloatLiteral  the number as written, minus a leading '+' ("-0", ".5")
//	StringLiteral             the decoded string (escapes resolved)
//	BoolLiteral               "true" or "false"
//	BinaryLiteral             the base64 text between the quotes
//	HexLiteral                the hex digits between the quotes
//	TimestampLiteral          the timestamp between the quotes
//
// After Parse, Text is always valid for Kind. Integers are not limited in
// size by the grammar; Int reports those that do not fit an int64.
type Literal struct {
	Kind LiteralKind
	Pos  int // offset of the literal's first byte
	Text string
}

// errKind is returned by the Literal accessors called on the wrong kind.
var errKind = errors.New("pattern: wrong literal kind")

// Int returns the value of an IntLiteral.
func (l Literal) Int() (int64, error) {
	if l.Kind != IntLiteral {
		return 0, errKind
	}
	return strconv.ParseInt(l.Text, 10, 64)
}

// Float returns the value of a FloatLiteral or IntLiteral.
func (l Literal) Float() (float64, error) {
	if l.Kind != FloatLiteral && l.Kind != IntLiteral {
		return 0, errKind
	}
	return strconv.ParseFloat(l.Text, 64)
}

// Bytes returns the decoded bytes of a BinaryLiteral or HexLiteral.
func (l Literal) Bytes() ([]byte, error) {
	switch l.Kind {
	case BinaryLiteral:
		return base64.StdEncoding.DecodeString(l.Text)
	case HexLiteral:
		return hex.DecodeString(l.Text)
	}
	return nil, errKind
}

// Time returns the instant of a TimestampLiteral, in UTC. A leap second
// (second 60) reads as the first instant of the next minute, and digits
// beyond nanoseconds are dropped.
func (l Literal) Time() (time.Time, error) {
	if l.Kind != TimestampLiteral {
		return time.Time{}, errKind
	}
	if err := checkTimestamp(l.Text, 0); err != nil {
		return time.Time{}, err
	}
	s := l.Text
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	nanos := 0
	if s[19] == '.' {
		digits := s[20 : len(s)-1]
		for i := 0; i < 9; i++ {
			nanos *= 10
			if i < len(digits) {
				nanos += int(digits[i] - '0')
			}
		}
	}
	return time.Date(num(0, 4), time.Month(num(5, 7)), num(8, 10),
		num(11, 13), num(14, 16), num(17, 19), nanos, time.UTC), nil
}

// String returns the literal as written in canonical patterns.
func (l Literal) String() string { return stringOf(l) }

func (l Literal) write(b *strings.Builder) {
	switch l.Kind {
	case StringLiteral:
		writeQuoted(b, l.Text)
	case BinaryLiteral:
		b.WriteString("b'")
		b.WriteString(l.Text)
		b.WriteByte('\'')
	case HexLiteral:
		b.WriteString("h'")
		b.WriteString(l.Text)
		b.WriteByte('\'')
	case TimestampLiteral:
		b.WriteString("t'")
		b.WriteString(l.Text)
		b.WriteByte('\'')
	default:
		b.WriteString(l.Text)
	}
}

// writeQuoted writes s as a StringLiteral.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for {
		i := strings.IndexAny(s, `'\`)
		if i < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteByte('\\')
		b.WriteByte(s[i])
		s = s[i+1:]
	}
	b.WriteString(s)
	b.WriteByte('\'')
}

// writeKey writes a property name or dictionary key, quoted only when the
// grammar needs it: keys that are not plain identifiers, and keywords.
func writeKey(b *strings.Builder, key string) {
	if isPlainIdent(key) {
		if _, kw := keywords[key]; !kw {
			b.WriteString(key)
			return
		}
	}
	writeQuoted(b, key)
}

func isPlainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// String returns the path as written in canonical patterns.
func (p *ObjectPath) String() string { return stringOf(p) }

func (p *ObjectPath) write(b *strings.Builder) {
	b.WriteString(p.Type)
	b.WriteByte(':')
	writeKey(b, p.Property)
	for _, s := range p.Steps {
		switch s.Kind {
		case KeyStep:
			b.WriteByte('.')
			writeKey(b, s.Key)
		case IndexStep:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.Index))
			b.WriteByte(']')
		case AnyIndexStep:
			b.WriteString("[*]")
		}
	}
}

// String returns the qualifier as written in canonical patterns.
func (q Qualifier) String() string { return stringOf(q) }

func (q Qualifier) write(b *strings.Builder) {
	switch q.Kind {
	case WithinQualifier:
		b.WriteString("WITHIN ")
		q.Value.write(b)
		b.WriteString(" SECONDS")
	case RepeatsQualifier:
		b.WriteString("REPEATS ")
		q.Value.write(b)
		b.WriteString(" TIMES")
	case StartStopQualifier:
		b.WriteString("START ")
		q.Start.write(b)
		b.WriteString(" STOP ")
		q.Stop.write(b)
	}
}

func writeQualifiers(b *strings.Builder, qs []Qualifier) {
	for _, q := range qs {
		b.WriteByte(' ')
		q.write(b)
	}
}

// String returns the expression in canonical form.
func (o *Observation) String() string { return stringOf(o) }

func (o *Observation) write(b *strings.Builder) {
	b.WriteByte('[')
	o.Comparison.write(b)
	b.WriteByte(']')
	writeQualifiers(b, o.Qualifiers)
}

// String returns the expression in canonical form.
func (o *ParenObservation) String() string { return stringOf(o) }

func (o *ParenObservation) write(b *strings.Builder) {
	b.WriteByte('(')
	o.Expr.write(b)
	b.WriteByte(')')
	writeQualifiers(b, o.Qualifiers)
}

// String returns the expression in canonical form.
func (o *CompoundObservation) String() string { return stringOf(o) }

func (o *CompoundObservation) write(b *strings.Builder) {
	writeCompound(b, o.Op, o.Operands, func(e ObservationExpr) bool {
		c, ok := e.(*CompoundObservation)
		return ok && c.Op <= o.Op
	})
}

// String returns the expression in canonical form.
func (c *CompoundComparison) String() string { return stringOf(c) }

func (c *CompoundComparison) write(b *strings.Builder) {
	writeCompound(b, c.Op, c.Operands, func(e ComparisonExpr) bool {
		cc, ok := e.(*CompoundComparison)
		return ok && cc.Op <= c.Op
	})
}

// writeCompound writes operands joined by op, parenthesizing those for
// which nested reports true. The parser never nests a compound directly in
// one of the same or a tighter operator; a hand-built tree that does needs
// the parentheses to print as the same tree.
func writeCompound[E interface{ write(*strings.Builder) }](b *strings.Builder, op LogicalOp, operands []E, nested func(E) bool) {
	for i, e := range operands {
		if i > 0 {
			b.WriteByte(' ')
			b.WriteString(op.String())
			b.WriteByte(' ')
		}
		if nested(e) {
			b.WriteByte('(')
			e.write(b)
			b.WriteByte(')')
			continue
		}
		e.write(b)
	}
}

// String returns the expression in canonical form.
func (c *ParenComparison) String() string { return stringOf(c) }

func (c *ParenComparison) write(b *strings.Builder) {
	b.WriteByte('(')
	c.Expr.write(b)
	b.WriteByte(')')
}

// String returns the expression in canonical form.
func (c *Comparison) String() string { return stringOf(c) }

func (c *Comparison) write(b *strings.Builder) {
	c.Path.write(b)
	if c.Not {
		b.WriteString(" NOT")
	}
	b.WriteByte(' ')
	b.WriteString(c.Op.String())
	b.WriteByte(' ')
	if c.Op != OpIn {
		c.Value.write(b)
		return
	}
	b.WriteByte('(')
	for i, v := range c.Set {
		if i > 0 {
			b.WriteString(", ")
		}
		v.write(b)
	}
	b.WriteByte(')')
}

// String returns the expression in canonical form.
func (e *Exists) String() string { return stringOf(e) }

func (e *Exists) write(b *strings.Builder) {
	if e.Not {
		b.WriteString("NOT ")
	}
	b.WriteString("EXISTS ")
	e.Path.write(b)
}

// enumText returns the name texts holds for v, or typ(v) for a value
// without one (zero is never a valid value).
func enumText[T ~uint8](texts []string, v T, typ string) string {
	if v == 0 || int(v) >= len(texts) {
		return typ + "(" + strconv.Itoa(int(v)) + ")"
	}
	return texts[v]
}

func stringOf(n interface{ write(*strings.Builder) }) string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}
