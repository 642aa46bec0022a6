package pattern

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse and Validate never panic, that errors point
// into the input, and that every accepted pattern round-trips through
// String.
func FuzzParse(f *testing.F) {
	for _, s := range validPatterns {
		f.Add(s)
	}
	for _, test := range invalidPatterns {
		if len(test.in) < 1000 {
			f.Add(test.in)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Validate(s)
		var syn *SyntaxError
		var sem *SemanticError
		switch {
		case err == nil:
		case errors.As(err, &syn):
			if syn.Offset < 0 || syn.Offset > len(s) {
				t.Fatalf("Validate(%q): offset %d outside the input", s, syn.Offset)
			}
		case errors.As(err, &sem):
			if sem.Offset < 0 || sem.Offset >= len(s) {
				t.Fatalf("Validate(%q): offset %d outside the input", s, sem.Offset)
			}
		default:
			t.Fatalf("Validate(%q) = %T %v", s, err, err)
		}
		if _, perr := Parse(s); (perr == nil) != (syn == nil) {
			t.Fatalf("Parse(%q) = %v but Validate = %v", s, perr, err)
		}
		checkRoundTrip(t, s)
	})
}
