package stix

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// ErrInvalidID reports an identifier that is not of the form <type>--<uuid>.
var ErrInvalidID = errors.New("invalid STIX identifier")

// SplitID splits a STIX identifier "<type>--<uuid>" into its type and UUID.
// It returns an error wrapping ErrInvalidID when the type is not a valid type
// name or the UUID part is not in the canonical 8-4-4-4-12 lowercase-or-uppercase
// hex form of RFC 4122 (variant bits included).
func SplitID(id string) (typ string, u uuid.UUID, err error) {
	typ, rest, ok := strings.Cut(id, "--")
	if !ok {
		return "", uuid.Nil, fmt.Errorf("%w: %q has no \"--\" separator", ErrInvalidID, id)
	}
	if !ValidTypeName(typ) {
		return "", uuid.Nil, fmt.Errorf("%w: %q: type part %q is not a valid type name", ErrInvalidID, id, typ)
	}
	// uuid.Parse also accepts urn: and braced forms; STIX wants exactly 36 characters.
	if len(rest) != 36 {
		return "", uuid.Nil, fmt.Errorf("%w: %q: %q is not a UUID", ErrInvalidID, id, rest)
	}
	u, perr := uuid.Parse(rest)
	if perr != nil || u.Variant() != uuid.RFC4122 {
		return "", uuid.Nil, fmt.Errorf("%w: %q: %q is not an RFC 4122 UUID", ErrInvalidID, id, rest)
	}
	return typ, u, nil
}

// ValidTypeName reports whether s follows the STIX 2.1 naming rule for object
// types (§3.1): 3 to 250 characters of lowercase ASCII letters, digits and
// hyphens, starting with a letter, with no two consecutive hyphens and no
// trailing hyphen.
func ValidTypeName(s string) bool {
	if len(s) < 3 || len(s) > 250 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if s[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// ValidPropertyName reports whether s follows the STIX 2.1 naming rule for
// property names (§3.1): 3 to 250 characters of lowercase ASCII letters,
// digits and underscores, starting with a letter. "id" and "x" prefixes are
// not special here; the caller decides about reserved names.
func ValidPropertyName(s string) bool {
	if s == "id" {
		return true
	}
	if len(s) < 3 || len(s) > 250 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
