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
// It returns an error wrapping ErrInvalidID, saying what is wrong, unless
// the type is a valid type name and the UUID is in the canonical 8-4-4-4-12
// form of RFC 9562, in lower case, with the RFC 9562 (formerly RFC 4122)
// variant bits and a version from 1 to 8, the versions RFC 9562 defines.
//
// Lower case: STIX 2.1 §2.9 asks for an RFC 4122 UUID, and RFC 4122 §3 (as
// RFC 9562 §4) writes UUIDs in lower case while reading either case. An id
// is a string to every STIX consumer (TAXII match[id], python-stix2,
// object_marking_refs lookups), so "indicator--ABC..." and
// "indicator--abc..." would be two objects to some readers and one to
// others; only the form every writer produces is accepted.
func SplitID(id string) (typ string, u uuid.UUID, err error) {
	typ, u, problem, _ := splitID(id)
	if problem != "" {
		return "", uuid.Nil, fmt.Errorf("%w: %q: %s", ErrInvalidID, clip(id), problem)
	}
	return typ, u, nil
}

// splitID is SplitID with the problem in words instead of an error, ""
// when the id is sound; inUUID tells a problem of the UUID part from one of
// the form or the type part.
func splitID(id string) (typ string, u uuid.UUID, problem string, inUUID bool) {
	typ, rest, ok := strings.Cut(id, "--")
	if !ok {
		return "", uuid.Nil, "an identifier is <type>--<UUID>, such as indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f; there is no \"--\"", false
	}
	if !ValidTypeName(typ) {
		return "", uuid.Nil, fmt.Sprintf("the type part %q is not a STIX type name (3-250 characters: lower-case a-z, 0-9, '-')", clip(typ)), false
	}
	// uuid.Parse also accepts urn: and braced forms; STIX wants exactly 36 characters.
	u, perr := uuid.Parse(rest)
	if len(rest) != 36 || perr != nil {
		return "", uuid.Nil, fmt.Sprintf("the UUID part %q is malformed: a UUID is 32 hexadecimal digits grouped 8-4-4-4-12, such as 8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", clip(rest)), true
	}
	if strings.ContainsAny(rest, "ABCDEF") {
		return "", uuid.Nil, fmt.Sprintf("the UUID part must be lower case: write %s--%s", typ, strings.ToLower(rest)), true
	}
	if u.Variant() != uuid.RFC4122 {
		return "", uuid.Nil, fmt.Sprintf("the UUID part %q does not have the RFC 9562 variant: its 17th hexadecimal digit must be 8, 9, a or b", rest), true
	}
	if v := u.Version(); v < 1 || v > 8 {
		return "", uuid.Nil, fmt.Sprintf("the UUID part %q has version %x, which does not exist: RFC 9562 defines versions 1 to 8 (the 13th hexadecimal digit)", rest, int(v)), true
	}
	return typ, u, "", false
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
	return s == "id" || validCustomName(s) && s[0] >= 'a' && s[0] <= 'z'
}
