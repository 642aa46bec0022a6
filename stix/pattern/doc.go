// Package pattern parses and validates STIX 2.1 patterns (STIX 2.1 §9), the
// language of an indicator's "pattern" property when pattern_type is "stix".
//
// The lexer and the recursive-descent parser are written by hand from the
// OASIS ANTLR grammar (STIXPattern.g4); no generated code is involved. Parse
// accepts exactly the grammar and builds an AST; Validate adds the semantic
// rules the grammar cannot express (positive qualifier values, no duplicate
// qualifiers, STIX naming of object types and properties, hash formats).
//
// Every error carries a byte offset into the input. Nesting of parentheses is
// limited to MaxNesting levels, so parsing, printing and validating never
// recurse deeper than a small constant times that limit; the time taken is
// linear in the length of the pattern, which callers should bound.
//
// This package imports only the standard library, so that package stix can
// use it without an import cycle.
package pattern
