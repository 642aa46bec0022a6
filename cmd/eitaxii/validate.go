package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/eitaxii/eitaxii/stix"
)

// errInvalid makes `eitaxii validate` exit with status 1 after it has
// printed its findings.
var errInvalid = errors.New("invalid STIX content")

// maxValidateFile bounds one file read by validate.
const maxValidateFile = 1 << 30

// runValidate implements `eitaxii validate FILE...`: offline validation of
// STIX JSON files, each an object, a bundle or a TAXII envelope ("-" reads
// standard input). It prints one line per finding and returns errInvalid if
// anything is invalid.
func runValidate(args []string, e *env) error {
	if len(args) == 0 {
		return errors.New("validate: name at least one file (- for standard input)")
	}
	v, err := stix.NewValidator()
	if err != nil {
		return err
	}
	bad := false
	for _, name := range args {
		data, err := readInput(name, e.stdin, maxValidateFile)
		if err != nil {
			fmt.Fprintf(e.stdout, "%s: %v\n", name, err)
			bad = true
			continue
		}
		n, problems := validateDocument(v, data)
		for _, p := range problems {
			fmt.Fprintf(e.stdout, "%s: %s\n", name, p)
		}
		if len(problems) > 0 {
			bad = true
		} else {
			fmt.Fprintf(e.stderr, "%s: %d objects, all valid\n", name, n)
		}
	}
	if bad {
		return errInvalid
	}
	return nil
}

// readInput reads the file name ("-" for stdin) of at most max bytes.
func readInput(name string, stdin io.Reader, max int64) ([]byte, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err == nil && int64(len(data)) > max {
		err = fmt.Errorf("larger than %d bytes", max)
	}
	return data, err
}

// validateDocument checks one file: a single object, a bundle or an
// envelope (stix.FileObjects). It returns the number of objects and one
// line per finding, prefixed with the object's id (or its place in the
// list when it has none).
func validateDocument(v *stix.Validator, data []byte) (int, []string) {
	raws, err := stix.FileObjects(data, stix.EnvelopeLimits{})
	if err != nil {
		return 0, []string{err.Error()}
	}
	var out []string
	for i, raw := range raws {
		h, findings := v.Check(raw)
		who := h.ID
		if who == "" {
			who = fmt.Sprintf("objects[%d]", i)
		}
		for _, f := range findings {
			out = append(out, who+": "+f.String())
		}
	}
	return len(raws), out
}
