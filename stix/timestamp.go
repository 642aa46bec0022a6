package stix

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidTimestamp reports a string that is not a STIX 2.1 timestamp.
var ErrInvalidTimestamp = errors.New("invalid STIX timestamp")

// ParseTimestamp parses a STIX 2.1 timestamp (§3.2): YYYY-MM-DDTHH:MM:SS with
// an optional fraction of one or more digits and a mandatory upper-case "Z".
// Offsets other than Z are refused. The date must exist in the calendar; a
// leap second (second 60) is accepted and read as the first instant of the
// next minute, which keeps ordering correct. Digits beyond nanoseconds are
// ignored for the instant (the caller keeps the original string).
func ParseTimestamp(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%w: %q: %s", ErrInvalidTimestamp, s, why)
	}
	if len(s) < 20 || s[len(s)-1] != 'Z' {
		return bad("want YYYY-MM-DDTHH:MM:SS[.fraction]Z")
	}
	for i, want := range []byte("dddd-dd-ddTdd:dd:dd") {
		c := s[i]
		if want == 'd' {
			if c < '0' || c > '9' {
				return bad("want YYYY-MM-DDTHH:MM:SS[.fraction]Z")
			}
		} else if c != want {
			return bad("want YYYY-MM-DDTHH:MM:SS[.fraction]Z")
		}
	}
	frac := s[19 : len(s)-1]
	nanos := 0
	if frac != "" {
		if frac[0] != '.' || len(frac) < 2 {
			return bad("a fraction needs at least one digit after the dot")
		}
		for i := 1; i < len(frac); i++ {
			c := frac[i]
			if c < '0' || c > '9' {
				return bad("fraction must be digits")
			}
			if i <= 9 {
				nanos = nanos*10 + int(c-'0')
			}
		}
		for i := len(frac); i <= 9; i++ {
			nanos *= 10
		}
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return bad("no such date")
	}
	if hour > 23 || minute > 59 || sec > 60 {
		return bad("no such time of day")
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC), nil
}

func daysIn(year, month int) int {
	// Day 0 of the next month is the last day of this one.
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// MillisecondPrecision reports whether the STIX timestamp string s carries at
// least three fractional digits, as §3.2 requires of created and modified.
// s must already have passed ParseTimestamp.
func MillisecondPrecision(s string) bool {
	return len(s) >= 24 && s[19] == '.'
}
