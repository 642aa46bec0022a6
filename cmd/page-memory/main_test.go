package main

import (
	"testing"

	"github.com/eitaxii/eitaxii/stix"
)

// Ensure that the benchmark's indicators are valid STIX of the asked size,
// so that the server stores every one of them.
func TestIndicator(t *testing.T) {
	v, err := stix.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1000, 1001, 180000} {
		b := indicator(7, size)
		if len(b) != size {
			t.Errorf("indicator of %d bytes, asked %d", len(b), size)
		}
		if _, findings := v.Check(b); len(findings) > 0 {
			t.Errorf("size %d: %s", size, stix.Summarize(findings, 5))
		}
	}
}
