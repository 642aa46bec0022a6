package pattern

import (
	"strconv"
)

// MaxNesting is the deepest nesting of parentheses Parse accepts, counting
// observation and comparison parentheses together. Real patterns stay far
// below it; the limit keeps hostile input from recursing without bound.
const MaxNesting = 64

// Parse parses a STIX 2.1 pattern. It checks the grammar only, including
// the form of every literal; use Validate for the semantic rules as well.
// The error, if any, is a *SyntaxError for the first problem in the input.
func Parse(s string) (*Pattern, error) {
	p := parser{lex: lexer{src: s}}
	p.next()
	e, err := p.observations(OpFollowedBy)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected("end of pattern")
	}
	return &Pattern{Expr: e}, nil
}

// parser is a recursive-descent parser with one token of lookahead. Each
// grammar rule is one method; left-recursive rules become loops.
type parser struct {
	lex   lexer
	tok   token // the current, not yet consumed token
	depth int   // open parentheses
}

func (p *parser) next() { p.tok = p.lex.next() }

// unexpected reports the current token as not what the grammar wants. A
// malformed literal reports the lexer's more precise error instead.
func (p *parser) unexpected(expected string) error {
	t := p.tok
	if t.err != nil {
		return t.err
	}
	return &SyntaxError{Offset: t.pos, Expected: expected, Found: p.describe(t)}
}

// describe names a token for an error message: literals as written,
// everything else in single quotes.
func (p *parser) describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of pattern"
	case tIllegal:
		return t.val
	case tInt, tFloat, tString, tBinary, tHex, tTimestamp, tTrue, tFalse:
		return excerpt(p.lex.src[t.pos:t.end])
	}
	return "'" + excerpt(p.lex.src[t.pos:t.end]) + "'"
}

// expect consumes a token of kind k or reports what was expected.
func (p *parser) expect(k tokKind, expected string) error {
	if p.tok.kind != k {
		return p.unexpected(expected)
	}
	p.next()
	return nil
}

// parenthesized parses "(" inner ")", enforcing MaxNesting.
func parenthesized[E any](p *parser, inner func() (E, error)) (E, error) {
	var none E
	if p.depth >= MaxNesting {
		return none, &SyntaxError{Offset: p.tok.pos,
			Expected: "at most " + strconv.Itoa(MaxNesting) + " nested parentheses", Found: "'('"}
	}
	p.depth++
	p.next()
	e, err := inner()
	if err != nil {
		return none, err
	}
	if err := p.expect(tRParen, "')'"); err != nil {
		return none, err
	}
	p.depth--
	return e, nil
}

// tokenOp maps the keyword tokens of the observation and comparison
// operators to LogicalOp.
func tokenOp(k tokKind) LogicalOp {
	switch k {
	case tFollowedBy:
		return OpFollowedBy
	case tOr:
		return OpOr
	case tAnd:
		return OpAnd
	}
	return 0
}

// observations parses the observation expressions whose operators bind at
// least as tightly as op:
//
//	obs_exprs = obs_or { "FOLLOWEDBY" obs_or }
//	obs_or    = obs_and { "OR" obs_and }
//	obs_and   = obs_expr { "AND" obs_expr }
func (p *parser) observations(op LogicalOp) (ObservationExpr, error) {
	return joined(p, op, func() (ObservationExpr, error) {
		if op == OpAnd {
			return p.observation()
		}
		return p.observations(op + 1)
	}, func(list []ObservationExpr) ObservationExpr {
		return &CompoundObservation{Op: op, Operands: list}
	})
}

// observation parses
//
//	obs_expr = ( "[" comparison "]" | "(" obs_exprs ")" ) { qualifier }
func (p *parser) observation() (ObservationExpr, error) {
	pos := p.tok.pos
	switch p.tok.kind {
	case tLBrack:
		p.next()
		c, err := p.comparisons(OpOr)
		if err != nil {
			return nil, err
		}
		if err := p.expect(tRBrack, "']'"); err != nil {
			return nil, err
		}
		o := &Observation{Pos: pos, Comparison: c}
		o.Qualifiers, err = p.qualifiers()
		return o, err
	case tLParen:
		e, err := parenthesized(p, func() (ObservationExpr, error) {
			return p.observations(OpFollowedBy)
		})
		if err != nil {
			return nil, err
		}
		o := &ParenObservation{Pos: pos, Expr: e}
		o.Qualifiers, err = p.qualifiers()
		return o, err
	}
	return nil, p.unexpected("'[' or '('")
}

// qualifiers parses any qualifiers following an observation expression:
//
//	qualifier = "WITHIN" (IntPos | FloatPos) "SECONDS"
//	          | "REPEATS" IntPos "TIMES"
//	          | "START" Timestamp "STOP" Timestamp
func (p *parser) qualifiers() ([]Qualifier, error) {
	var qs []Qualifier
	for {
		q := Qualifier{Pos: p.tok.pos}
		switch p.tok.kind {
		case tWithin:
			q.Kind = WithinQualifier
			p.next()
			if (p.tok.kind != tInt && p.tok.kind != tFloat) || p.tok.val[0] == '-' {
				return nil, p.unexpected("number of seconds")
			}
			q.Value = p.literal()
			if err := p.expect(tSeconds, "'SECONDS'"); err != nil {
				return nil, err
			}
		case tRepeats:
			q.Kind = RepeatsQualifier
			p.next()
			if p.tok.kind != tInt || p.tok.val[0] == '-' {
				return nil, p.unexpected("number of times")
			}
			q.Value = p.literal()
			if err := p.expect(tTimes, "'TIMES'"); err != nil {
				return nil, err
			}
		case tStart:
			q.Kind = StartStopQualifier
			p.next()
			if p.tok.kind != tTimestamp {
				return nil, p.unexpected("timestamp literal")
			}
			q.Start = p.literal()
			if err := p.expect(tStop, "'STOP'"); err != nil {
				return nil, err
			}
			if p.tok.kind != tTimestamp {
				return nil, p.unexpected("timestamp literal")
			}
			q.Stop = p.literal()
		default:
			return qs, nil
		}
		qs = append(qs, q)
	}
}

// comparisons parses the comparison expressions whose operators bind at
// least as tightly as op:
//
//	comparison = comp_and { "OR" comp_and }
//	comp_and   = prop_test { "AND" prop_test }
func (p *parser) comparisons(op LogicalOp) (ComparisonExpr, error) {
	return joined(p, op, func() (ComparisonExpr, error) {
		if op == OpAnd {
			return p.propTest()
		}
		return p.comparisons(OpAnd)
	}, func(list []ComparisonExpr) ComparisonExpr {
		return &CompoundComparison{Op: op, Operands: list}
	})
}

// joined parses operands joined by op: a lone operand as itself, two or
// more as the compound that compound makes of them.
func joined[E any](p *parser, op LogicalOp, operand func() (E, error), compound func([]E) E) (E, error) {
	first, err := operand()
	if err != nil || tokenOp(p.tok.kind) != op {
		return first, err
	}
	list := make([]E, 1, 2)
	list[0] = first
	for tokenOp(p.tok.kind) == op {
		p.next()
		e, err := operand()
		if err != nil {
			var none E
			return none, err
		}
		list = append(list, e)
	}
	return compound(list), nil
}

// propTest parses
//
//	prop_test = "(" comparison ")"
//	          | [ "NOT" ] "EXISTS" path
//	          | path [ "NOT" ] operator value
func (p *parser) propTest() (ComparisonExpr, error) {
	pos := p.tok.pos
	switch p.tok.kind {
	case tLParen:
		c, err := parenthesized(p, func() (ComparisonExpr, error) {
			return p.comparisons(OpOr)
		})
		if err != nil {
			return nil, err
		}
		return &ParenComparison{Pos: pos, Expr: c}, nil
	case tNot, tExists:
		e := &Exists{Pos: pos, Not: p.tok.kind == tNot}
		if e.Not {
			p.next()
		}
		if err := p.expect(tExists, "'EXISTS'"); err != nil {
			return nil, err
		}
		if err := p.path(&e.Path); err != nil {
			return nil, err
		}
		return e, nil
	case tIdent, tIdentHyphen:
		c := &Comparison{}
		if err := p.path(&c.Path); err != nil {
			return nil, err
		}
		if p.tok.kind == tNot {
			c.Not = true
			p.next()
		}
		if p.tok.kind != tCompare {
			return nil, p.unexpected("comparison operator")
		}
		c.Op = p.tok.op
		p.next()
		return c, p.value(c)
	}
	return nil, p.unexpected("comparison expression")
}

// value parses the right-hand side of c, which depends on its operator:
// any literal for = and !=, no boolean for ordering, a set for IN, a string
// for LIKE, MATCHES, ISSUBSET and ISSUPERSET.
func (p *parser) value(c *Comparison) error {
	switch c.Op {
	case OpEqual, OpNotEqual:
		if !isLiteral(p.tok.kind) {
			return p.unexpected("literal")
		}
	case OpLess, OpLessEqual, OpGreater, OpGreaterEqual:
		if !isLiteral(p.tok.kind) || p.tok.kind == tTrue || p.tok.kind == tFalse {
			return p.unexpected("orderable literal (number, string, binary, hex or timestamp)")
		}
	case OpIn:
		return p.set(c)
	default:
		if p.tok.kind != tString {
			return p.unexpected("string literal")
		}
	}
	c.Value = p.literal()
	return nil
}

// set parses
//
//	set = "(" [ primitive { "," primitive } ] ")"
func (p *parser) set(c *Comparison) error {
	if err := p.expect(tLParen, "'('"); err != nil {
		return err
	}
	if p.tok.kind == tRParen {
		p.next()
		return nil
	}
	for {
		if !isLiteral(p.tok.kind) {
			return p.unexpected("literal")
		}
		c.Set = append(c.Set, p.literal())
		switch p.tok.kind {
		case tComma:
			p.next()
		case tRParen:
			p.next()
			return nil
		default:
			return p.unexpected("',' or ')'")
		}
	}
}

func isLiteral(k tokKind) bool {
	return k >= tInt && k <= tFalse
}

// literal consumes the current token, which must be a literal.
func (p *parser) literal() Literal {
	t := p.tok
	p.next()
	l := Literal{Pos: t.pos, Text: t.val}
	switch t.kind {
	case tInt:
		l.Kind = IntLiteral
	case tFloat:
		l.Kind = FloatLiteral
	case tString:
		l.Kind = StringLiteral
	case tBinary:
		l.Kind = BinaryLiteral
	case tHex:
		l.Kind = HexLiteral
	case tTimestamp:
		l.Kind = TimestampLiteral
	case tTrue, tFalse:
		l.Kind = BoolLiteral
	}
	return l
}

// path parses into dst
//
//	path = type ":" key { "." key | "[" (IntPos | IntNeg | "*") "]" }
//
// where a key is an identifier without hyphens or a string literal.
func (p *parser) path(dst *ObjectPath) error {
	if p.tok.kind != tIdent && p.tok.kind != tIdentHyphen {
		return p.unexpected("object type")
	}
	dst.Pos, dst.Type = p.tok.pos, p.tok.val
	p.next()
	if err := p.expect(tColon, "':'"); err != nil {
		return err
	}
	if !p.key() {
		return p.unexpected(p.keyExpected())
	}
	dst.PropertyPos, dst.Property = p.tok.pos, p.tok.val
	p.next()
	for {
		step := PathStep{Pos: p.tok.pos}
		switch p.tok.kind {
		case tDot:
			p.next()
			if !p.key() {
				return p.unexpected(p.keyExpected())
			}
			step.Kind, step.Pos, step.Key = KeyStep, p.tok.pos, p.tok.val
			p.next()
		case tLBrack:
			p.next()
			switch p.tok.kind {
			case tStar:
				step.Kind = AnyIndexStep
			case tInt:
				n, err := strconv.Atoi(p.tok.val)
				if err != nil {
					return p.unexpected("list index that fits in an int")
				}
				step.Kind, step.Index = IndexStep, n
			default:
				return p.unexpected("list index or '*'")
			}
			p.next()
			if err := p.expect(tRBrack, "']'"); err != nil {
				return err
			}
		default:
			return nil
		}
		if dst.Steps == nil {
			dst.Steps = make([]PathStep, 0, 2)
		}
		dst.Steps = append(dst.Steps, step)
	}
}

// key reports whether the current token can be a property name or
// dictionary key. Names with hyphens must be quoted.
func (p *parser) key() bool {
	return p.tok.kind == tIdent || p.tok.kind == tString
}

// keyExpected says what the grammar wants instead of a key, with a hint
// for the common mistake of an unquoted name containing '-'.
func (p *parser) keyExpected() string {
	if p.tok.kind == tIdentHyphen {
		return "property name (quote names containing '-')"
	}
	return "property name"
}
