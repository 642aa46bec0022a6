package access

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/google/uuid"
)

// The validation rules of the directory: one rule set for the
// configuration file (through taxii.Options), bootstrap and the admin API,
// so that all three refuse the same inputs with the same messages. Each
// rule returns nil or a *FieldError naming the field at fault as the admin
// API and the configuration file both spell it; a caller puts its own
// path in front (the configuration file's "groups[0].collections[1].").

// FieldError is an input refused by a validation rule.
type FieldError struct {
	// Field is the key at fault, e.g. "alias" or "certificates[2]".
	Field string
	// Problem says what is wrong with it.
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func fieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Limits of the directory's text fields, in bytes.
const (
	MaxTitle       = 256
	MaxDescription = 4096
	MaxTokenName   = 128
)

// Password lengths in bytes: bcrypt uses at most the first 72.
const (
	MinPassword = 12
	MaxPassword = 72
)

var (
	namePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	accountPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
	// reservedRootNames are paths the server uses or will use itself.
	reservedRootNames = map[string]bool{"taxii2": true, "admin": true, "console": true, "metrics": true, "healthz": true, "readyz": true}
)

// OrganizationName checks the name of an organization (field "name").
func OrganizationName(name string) error {
	if !namePattern.MatchString(name) {
		return fieldErrorf("name", "%q is not a valid organization name (lowercase letters, digits, . _ -; at most 63, starting with a letter or digit)", name)
	}
	return nil
}

// AccountName checks the name of an account (field "name").
func AccountName(name string) error {
	if !accountPattern.MatchString(name) {
		return fieldErrorf("name", "%q is not a valid account name (letters, digits, . _ @ -; at most 128, starting with a letter or digit)", name)
	}
	return nil
}

// GroupName checks the name of a sharing group, which is its API root's
// path (field "name").
func GroupName(name string) error {
	if !namePattern.MatchString(name) || reservedRootNames[name] {
		return fieldErrorf("name", "%q cannot name an API root (lowercase letters, digits, . _ -; at most 63, starting with a letter or digit; not taxii2, admin, console, metrics, healthz, readyz)", name)
	}
	return nil
}

// ReservedRootName reports whether name is a path the server keeps for
// itself (taxii2, admin, console, ...), which no sharing group may take.
func ReservedRootName(name string) bool { return reservedRootNames[name] }

// Kind checks an account's kind (field "kind"): person or machine.
func Kind(kind string) error {
	if kind != "person" && kind != "machine" {
		return fieldErrorf("kind", "%q is neither person nor machine", kind)
	}
	return nil
}

// CollectionID checks a collection id (field "id"): a lowercase UUIDv4.
func CollectionID(id string) error {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || id != u.String() {
		return fieldErrorf("id", "%q is not a lowercase UUIDv4", id)
	}
	return nil
}

// Alias checks a collection alias (field "alias"); "" is no alias.
func Alias(alias string) error {
	if alias == "" {
		return nil
	}
	if !namePattern.MatchString(alias) {
		return fieldErrorf("alias", "%q is not a valid alias (lowercase letters, digits, . _ -; at most 63, starting with a letter or digit)", alias)
	}
	if _, err := uuid.Parse(alias); err == nil {
		// TAXII URLs name a collection by id or alias: an alias that
		// reads as an id would shadow or be shadowed.
		return fieldErrorf("alias", "%q reads as a collection id; choose a name", alias)
	}
	return nil
}

// Title checks the title of a group or a collection (field "title"):
// required, so not blank, and one line of at most MaxTitle bytes.
func Title(title string) error {
	if strings.TrimSpace(title) == "" {
		return fieldErrorf("title", "must not be empty")
	}
	return Text("title", title, MaxTitle)
}

// OrganizationTitle checks an organization's title, which may be empty.
func OrganizationTitle(title string) error { return Text("title", title, MaxTitle) }

// Description checks a description (field "description"): at most
// MaxDescription bytes; line breaks and tabs are its only control
// characters.
func Description(s string) error {
	if len(s) > MaxDescription {
		return fieldErrorf("description", "at most %d bytes", MaxDescription)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0 {
		return fieldErrorf("description", "control characters other than line breaks and tabs are not allowed")
	}
	return nil
}

// TokenName checks the name of an API token (field "name"): what the
// token is for, one line of at most MaxTokenName bytes.
func TokenName(name string) error {
	if err := Text("name", name, MaxTokenName); err != nil {
		return err
	}
	if strings.TrimSpace(name) == "" {
		return fieldErrorf("name", "required (say what the token is for, e.g. \"siem feed\")")
	}
	return nil
}

// Text checks a one-line text field: at most max bytes and no control
// characters (they would garble CLI tables and logs).
func Text(field, s string, max int) error {
	if len(s) > max {
		return fieldErrorf(field, "at most %d bytes", max)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fieldErrorf(field, "control characters are not allowed")
	}
	return nil
}

// Password checks a password before it is hashed (field "password"):
// MinPassword to MaxPassword bytes.
func Password(p string) error {
	if n := len(p); n < MinPassword || n > MaxPassword {
		return fieldErrorf("password", "must be %d to %d bytes long (bcrypt uses at most %d), not %d", MinPassword, MaxPassword, MaxPassword, n)
	}
	return nil
}

// Certificates checks a list of client certificate fingerprints (field
// "certificates[i]": hex SHA-256, colons and upper case allowed, each
// once) and returns them normalized to lowercase hex without colons.
func Certificates(fps []string) ([]string, error) {
	seen := map[string]bool{}
	norm := make([]string, 0, len(fps))
	for i, fp := range fps {
		k, ok := HashKey(fp)
		if !ok {
			return nil, fieldErrorf(fmt.Sprintf("certificates[%d]", i), "not a hex SHA-256 certificate fingerprint")
		}
		n := fmt.Sprintf("%x", k[:])
		if seen[n] {
			return nil, fieldErrorf(fmt.Sprintf("certificates[%d]", i), "listed twice")
		}
		seen[n] = true
		norm = append(norm, n)
	}
	return norm, nil
}

// MaxOwnDomains bounds a group's own_domains list.
const MaxOwnDomains = 100

// domainLabel is one label of a DNS name: letters, digits and inner
// hyphens, at most 63 bytes.
var domainLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// OwnDomains checks a group's own domains (field "own_domains[i]"): DNS
// names of at least two labels, at most 253 bytes, each once, at most
// MaxOwnDomains. It returns them normalized to lower case without a
// trailing dot. What the console and `eitaxii publish` extract from
// pasted text is flagged when it is one of them or below one.
func OwnDomains(domains []string) ([]string, error) {
	if len(domains) > MaxOwnDomains {
		return nil, fieldErrorf("own_domains", "at most %d domains", MaxOwnDomains)
	}
	seen := map[string]bool{}
	norm := make([]string, 0, len(domains))
	for i, d := range domains {
		field := fmt.Sprintf("own_domains[%d]", i)
		n := strings.TrimSuffix(strings.ToLower(d), ".")
		labels := strings.Split(n, ".")
		if len(n) > 253 || len(labels) < 2 || slices.ContainsFunc(labels, func(l string) bool { return !domainLabel.MatchString(l) }) {
			return nil, fieldErrorf(field, "%q is not a domain name (labels of letters, digits and hyphens, at least two, e.g. \"elections.example.gov\")", d)
		}
		if seen[n] {
			return nil, fieldErrorf(field, "%q is listed twice", n)
		}
		seen[n] = true
		norm = append(norm, n)
	}
	return norm, nil
}

// RateLimit checks a request rate (field "rate_limit"): perSecond and
// burst not negative, and a burst of at least 1 when perSecond limits.
func RateLimit(perSecond float64, burst int) error {
	if perSecond < 0 || burst < 0 {
		return fieldErrorf("rate_limit", "per_second and burst must not be negative")
	}
	if perSecond > 0 && burst < 1 {
		return fieldErrorf("rate_limit", "burst must be at least 1")
	}
	return nil
}

// MaxContentLength checks a group's max_content_length: a positive number
// of bytes that JSON numbers hold exactly.
func MaxContentLength(n int64) error {
	if n <= 0 || n > 1<<53-1 {
		return fieldErrorf("max_content_length", "must be a positive number of bytes")
	}
	return nil
}

// MemberRole checks the role given to a member of a group (field "role").
func MemberRole(r Role) error {
	if !r.Valid() {
		return fieldErrorf("role", "%q is not a role (reader, publisher or admin)", r)
	}
	return nil
}
