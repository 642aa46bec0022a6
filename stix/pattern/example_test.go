package pattern_test

import (
	"fmt"

	"github.com/eitaxii/eitaxii/stix/pattern"
)

func ExampleParse() {
	p, err := pattern.Parse("[file:hashes.'SHA-256'=='aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] /* seen */ WITHIN +300 SECONDS")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p)
	o := p.Expr.(*pattern.Observation)
	c := o.Comparison.(*pattern.Comparison)
	fmt.Println(c.Path.Type, c.Path.Property, c.Path.Steps[0].Key, o.Qualifiers[0].Kind)
	// Output:
	// [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] WITHIN 300 SECONDS
	// file hashes SHA-256 WITHIN
}

func ExampleValidate() {
	for _, s := range []string{
		"[ipv4-addr:value = '198.51.100.1/32']",
		"[ipv4-addr:value = '198.51.100.1/32'",
		"[file:hashes.MD5 = 'abc']",
		"[file:name = 'x'] REPEATS 0 TIMES",
	} {
		fmt.Println(pattern.Validate(s))
	}
	// Output:
	// <nil>
	// offset 36: expected ']', found end of pattern
	// offset 19: "abc" is not a valid MD5 hash: want 32 hex digits
	// offset 26: REPEATS count must be positive, found 0
}
