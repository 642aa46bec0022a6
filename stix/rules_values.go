package stix

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// jsonInt returns v as an integer when it is a JSON integer.
func jsonInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	}
	return 0, false
}

// jsonFloat returns v as a float64 when it is a finite JSON number.
func jsonFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}

// jsonText describes a decoded JSON value briefly, for messages.
func jsonText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(clip(x))
	case json.Number:
		return clip(string(x))
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "an unexpected value"
}

// clip shortens s for a message, so that a hostile megabyte-long value is
// not echoed back in a status.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func itoa(i int) string { return strconv.Itoa(i) }

// validCustomName reports whether s is a valid custom property name (§11.1):
// 3 to 250 characters of a-z, 0-9 and underscore. Every property name the
// specification defines also passes (except "id", handled by callers), so
// checking all names checks exactly the custom ones without a table of the
// predefined ones.
func validCustomName(s string) bool {
	if len(s) < 3 || len(s) > 250 {
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

// dictKeyChars reports whether s uses only the characters §2.7 allows in
// dictionary keys: ASCII letters, digits, hyphen and underscore.
func dictKeyChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validExtensionName reports whether s may be a key of "extensions": an
// extension-definition id or a predefined (or deprecated custom) extension
// name such as "ntfs-ext", which follows the type-name rule.
func validExtensionName(s string) bool {
	if typ, _, err := SplitID(s); err == nil {
		return typ == "extension-definition"
	}
	return ValidTypeName(s)
}

// validLangTag reports whether s is a well-formed RFC 5646 language tag.
// It checks the syntax (subtag lengths and characters), not the IANA
// registry: "en", "pt-BR", "zh-Hant-TW", "x-klingon" pass, "english" with a
// 7-letter primary subtag passes too (RFC 5646 reserves 5-8 letters for
// registered languages), "en_US" and "e" do not.
func validLangTag(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	first := true
	singleton := false // the previous subtag was a singleton: one must follow
	private := false   // after "x": any 1-8 alphanumerics
	for s != "" {
		tag, rest, more := strings.Cut(s, "-")
		if len(tag) == 0 || len(tag) > 8 || more && rest == "" {
			return false
		}
		for i := 0; i < len(tag); i++ {
			c := tag[i] | 0x20
			alpha := c >= 'a' && c <= 'z'
			if !alpha && !(tag[i] >= '0' && tag[i] <= '9') {
				return false
			}
			if first && !alpha {
				return false
			}
		}
		switch {
		case private:
			singleton = false
		case len(tag) == 1:
			c := tag[0] | 0x20
			// Only private use ("x-...") and the grandfathered "i-..."
			// tags start with a singleton.
			if first && c != 'x' && c != 'i' || singleton {
				return false
			}
			singleton = true
			private = c == 'x'
		default:
			singleton = false
		}
		first = false
		s = rest
	}
	return !singleton
}

// isLowerHex reports whether s is an even number of lowercase hex digits,
// the hex type of §2.6.
func isLowerHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// validBase64 reports whether s is padded standard base64 (RFC 4648 §4)
// with no line breaks or other characters, the binary type of §2.3.
func validBase64(s string) bool {
	if len(s)%4 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isBase64Char(c) {
			continue
		}
		// '=' only as the last one or two characters of the last quantum.
		if c != '=' || i < len(s)-2 || i == len(s)-2 && s[i+1] != '=' {
			return false
		}
	}
	return true
}

// A hashAlg is one of hash-algorithm-ov (§10.11) whose values have a form.
type hashAlg struct {
	name  string // as the vocabulary writes it
	form  string // for messages
	valid func(string) bool
}

func hexDigits(n int) func(string) bool {
	return func(s string) bool { return len(s) == n && isHex(s) }
}

// hashAlgs is keyed by the name in upper case without hyphens.
var hashAlgs = map[string]*hashAlg{
	"MD5":     {"MD5", "32 hex digits", hexDigits(32)},
	"SHA1":    {"SHA-1", "40 hex digits", hexDigits(40)},
	"SHA256":  {"SHA-256", "64 hex digits", hexDigits(64)},
	"SHA512":  {"SHA-512", "128 hex digits", hexDigits(128)},
	"SHA3256": {"SHA3-256", "64 hex digits", hexDigits(64)},
	"SHA3512": {"SHA3-512", "128 hex digits", hexDigits(128)},
	"SSDEEP":  {"SSDEEP", "blocksize:hash:hash (digits, then two base64 parts)", validSSDEEP},
	"TLSH":    {"TLSH", "70 hex digits (72 with the T1 version prefix)", validTLSH},
}

// checkHash checks value against the algorithm named by key, if it is one of
// hash-algorithm-ov. Keys are matched ignoring case, hyphens and
// underscores, so that "sha256" is held to SHA-256's form too. alg is nil
// for other keys, which may hold anything.
func checkHash(key, value string) (alg *hashAlg, ok bool) {
	var buf [16]byte
	n := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '-' || c == '_' {
			continue
		}
		if n == len(buf) {
			return nil, true // longer than any known name
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	alg = hashAlgs[string(buf[:n])]
	if alg == nil {
		return nil, true
	}
	return alg, alg.valid(value)
}

// validSSDEEP checks the form blocksize:hash1:hash2 of a spamsum hash; the
// hash parts may be empty (the ssdeep of empty input is "3::").
func validSSDEEP(s string) bool {
	block, rest, ok := strings.Cut(s, ":")
	if !ok || block == "" {
		return false
	}
	for i := 0; i < len(block); i++ {
		if block[i] < '0' || block[i] > '9' {
			return false
		}
	}
	h1, h2, ok := strings.Cut(rest, ":")
	if !ok {
		return false
	}
	for _, h := range [...]string{h1, h2} {
		for i := 0; i < len(h); i++ {
			if !isBase64Char(h[i]) {
				return false
			}
		}
	}
	return true
}

// validTLSH accepts the TLSH digests in use: 70 hex digits (128 buckets,
// 1-byte checksum) or the longer 74, 134 and 138 digit variants, each with
// or without the "T1" version prefix.
func validTLSH(s string) bool {
	if len(s) > 2 && s[0] == 'T' && s[1] == '1' {
		s = s[2:]
	}
	switch len(s) {
	case 70, 74, 134, 138:
		return isHex(s)
	}
	return false
}

// capecID reports whether s has the form CAPEC-<digits>.
func capecID(s string) bool {
	rest, ok := strings.CutPrefix(s, "CAPEC-")
	return ok && allDigits(rest)
}

// cveID reports whether s has the form CVE-YYYY-NNNN (four or more digits).
func cveID(s string) bool {
	rest, ok := strings.CutPrefix(s, "CVE-")
	if !ok || len(rest) < 9 || rest[4] != '-' {
		return false
	}
	return allDigits(rest[:4]) && allDigits(rest[5:])
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
