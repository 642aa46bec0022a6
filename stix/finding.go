package stix

import (
	"strconv"
	"strings"
)

// A Finding is one reason an object is invalid.
type Finding struct {
	// Path is the JSON path of the offending property ("/pattern",
	// "/external_references/0/url"), "" for the object as a whole.
	Path string
	// Rule names the rule broken, short and stable ("required",
	// "timestamp", "id-type", "pattern"), so tools can group findings.
	Rule string
	// Message says what is wrong in words a publisher can act on.
	Message string
}

// String renders the finding as "path: message (rule)".
func (f Finding) String() string {
	var b strings.Builder
	if f.Path != "" {
		b.WriteString(f.Path)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	if f.Rule != "" {
		b.WriteString(" (")
		b.WriteString(f.Rule)
		b.WriteString(")")
	}
	return b.String()
}

// Summarize joins findings into one line for a TAXII status message,
// keeping at most max of them and saying how many were left out.
func Summarize(fs []Finding, max int) string {
	var b strings.Builder
	for i, f := range fs {
		if i == max {
			b.WriteString("; and ")
			b.WriteString(strconv.Itoa(len(fs) - max))
			b.WriteString(" more")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// withArticle returns word after "a" or "an", for messages such as
// "created is required on an indicator". The article follows the sound of
// the first letter: "an" before a, e, i and o, and before u except in
// "us", "ur" and "uni" (a user-account, a url, a unix-account); "an" before
// an x that is spoken as its letter name, as in the x- prefix of custom
// types and in x509-certificate; "a" otherwise.
func withArticle(word string) string {
	if word == "" {
		return word
	}
	an := false
	switch c := asciiLower(word[0]); c {
	case 'a', 'e', 'i', 'o':
		an = true
	case 'u':
		w := strings.ToLower(word)
		an = !strings.HasPrefix(w, "us") && !strings.HasPrefix(w, "ur") && !strings.HasPrefix(w, "uni")
	case 'x':
		an = len(word) == 1 || word[1] == '-' || word[1] == '_' || word[1] >= '0' && word[1] <= '9'
	}
	if an {
		return "an " + word
	}
	return "a " + word
}
