package stix

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/eitaxii/eitaxii/stix/internal/jsonscan"
)

// TLP is a Traffic Light Protocol level. Levels are ordered from least to
// most restrictive, so "more restrictive" is ">" and the level of an object
// with several TLP markings is the largest of them. TLP 1.0 WHITE and
// TLP 2.0 CLEAR are the same level, TLPClear.
//
// Compare levels with < and >, but store them by name (String, ParseTLP):
// a level added later goes where its restrictiveness puts it, renumbering
// the levels above it.
type TLP int

const (
	TLPNone        TLP = iota // the object carries no TLP marking
	TLPClear                  // TLP:CLEAR, TLP 1.0 TLP:WHITE
	TLPGreen                  // TLP:GREEN
	TLPAmber                  // TLP:AMBER
	TLPAmberStrict            // TLP:AMBER+STRICT (TLP 2.0 only)
	TLPRed                    // TLP:RED
)

// ErrUnknownTLP reports a TLP level name ParseTLP does not know.
var ErrUnknownTLP = errors.New("unknown TLP level")

// tlpNames are the TLP 2.0 names, indexed by level.
var tlpNames = [...]string{
	TLPNone:        "none",
	TLPClear:       "TLP:CLEAR",
	TLPGreen:       "TLP:GREEN",
	TLPAmber:       "TLP:AMBER",
	TLPAmberStrict: "TLP:AMBER+STRICT",
	TLPRed:         "TLP:RED",
}

// String returns the TLP 2.0 name of the level ("TLP:CLEAR", "TLP:GREEN",
// "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"), "none" for TLPNone and
// "TLP(n)" for a value that is not a level. "none" is not accepted by
// ParseTLP: it names the absence of a marking, not a level to mark with.
func (l TLP) String() string {
	if l >= 0 && int(l) < len(tlpNames) {
		return tlpNames[l]
	}
	return "TLP(" + strconv.Itoa(int(l)) + ")"
}

// ParseTLP parses a TLP level name: "clear", "white" (TLP 1.0, the same
// level as CLEAR), "green", "amber", "amber+strict" or "red", in any case
// and with or without a "TLP:" prefix, so that both "amber" and the
// marking name "TLP:AMBER+STRICT" parse. Surrounding spaces are not
// trimmed. Any other string returns TLPNone and an error wrapping
// ErrUnknownTLP.
func ParseTLP(s string) (TLP, error) {
	name := s
	if len(name) >= 4 && strings.EqualFold(name[:4], "TLP:") {
		name = name[4:]
	}
	switch strings.ToLower(name) {
	case "clear", "white":
		return TLPClear, nil
	case "green":
		return TLPGreen, nil
	case "amber":
		return TLPAmber, nil
	case "amber+strict":
		return TLPAmberStrict, nil
	case "red":
		return TLPRed, nil
	}
	return TLPNone, fmt.Errorf("%w %q (want clear, white, green, amber, amber+strict or red)", ErrUnknownTLP, s)
}

// tlpKeys are the names a TLP level is stored and shown by in
// configuration and the admin API, indexed by level: the lower-case TLP
// 2.0 names without the "TLP:" prefix. TLPNone has none.
var tlpKeys = [...]string{
	TLPClear:       "clear",
	TLPGreen:       "green",
	TLPAmber:       "amber",
	TLPAmberStrict: "amber+strict",
	TLPRed:         "red",
}

// MarshalText returns the level's lower-case name ("clear", "green",
// "amber", "amber+strict", "red"), and an empty name for TLPNone. A value
// that is not a level is an error.
func (l TLP) MarshalText() ([]byte, error) {
	if l < 0 || int(l) >= len(tlpKeys) {
		return nil, fmt.Errorf("stix: %v is not a TLP level", l)
	}
	return []byte(tlpKeys[l]), nil
}

// UnmarshalText parses a name as ParseTLP does; an empty name is TLPNone.
func (l *TLP) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*l = TLPNone
		return nil
	}
	level, err := ParseTLP(string(b))
	if err != nil {
		return err
	}
	*l = level
	return nil
}

// TLP 2.0 marking-definition ids (oasis-open/cti-stix-common-objects),
// indexed by level. New markings are written with these; the TLP 1.0 ids
// are only recognised.
var tlp2MarkingIDs = [...]string{
	TLPClear:       "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	TLPGreen:       "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	TLPAmber:       "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	TLPAmberStrict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	TLPRed:         "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

// tlpMarkingDefs are the nine predefined TLP marking definitions: the four
// of TLP 1.0 (STIX 2.1 §7.2.1.4) and the five of TLP 2.0, ids in lowercase.
// There are at most 16 (ObjectTLP keeps a bit per entry).
var tlpMarkingDefs = [...]struct {
	id    string
	level TLP
}{
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", TLPClear}, // TLP 1.0 WHITE
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", TLPGreen},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", TLPAmber},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", TLPRed},

	{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", TLPClear},
	{"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", TLPGreen},
	{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", TLPAmber},
	{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", TLPAmberStrict},
	{"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", TLPRed},
}

// tlpIDLen is the length of every marking-definition id.
const tlpIDLen = len("marking-definition--") + 36

// tlpIndex returns the index in tlpMarkingDefs of the marking id, -1 if it
// is none of them. The UUID is matched without regard to case: UUIDs are
// case-insensitive, and an uppercase copy of TLP:RED must not read as
// unmarked. It does not allocate.
func tlpIndex(id []byte) int {
	if len(id) != tlpIDLen {
		return -1
	}
	var lower [tlpIDLen]byte
	for i, c := range id {
		lower[i] = asciiLower(c)
	}
	for i := range tlpMarkingDefs {
		if string(lower[:]) == tlpMarkingDefs[i].id {
			return i
		}
	}
	return -1
}

// TLPMarkingID returns the id of the TLP 2.0 marking definition for level,
// or "" for TLPNone and values that are not levels. TLP 2.0 is used even
// for CLEAR, GREEN, AMBER and RED so that one collection's markings come
// from one scheme; TLPOfMarking reads both.
func TLPMarkingID(level TLP) string {
	if level > TLPNone && int(level) < len(tlp2MarkingIDs) {
		return tlp2MarkingIDs[level]
	}
	return ""
}

// TLPOfMarking returns the TLP level of a marking-definition id and true if
// id is one of the nine predefined TLP markings (TLP 1.0 or 2.0), else
// TLPNone and false. The UUID is matched without regard to case.
func TLPOfMarking(id string) (TLP, bool) {
	if i := tlpIndex([]byte(id)); i >= 0 {
		return tlpMarkingDefs[i].level, true
	}
	return TLPNone, false
}

// ObjectTLP returns the most restrictive TLP level among the markings of
// the object raw: its object_marking_refs and the marking_ref of each of
// its granular_markings, whatever their selectors (a TLP:RED description
// makes the object TLP:RED as far as sharing goes). It returns TLPNone if
// none of them is a predefined TLP marking. A reference to the object's own
// id is ignored, so the TLP marking definitions themselves are TLPNone.
// Only the top level counts: objects embedded in other properties are not
// markings of this one. If a key is duplicated, every occurrence counts,
// so a later empty list cannot hide an earlier TLP:RED.
//
// It returns TLPNone and an error when raw is not a single JSON object or
// the marking properties do not have their STIX shape (lists of strings,
// objects in granular_markings; null is taken as absent). Callers deciding
// who may read an object must treat an error as "most restrictive", not as
// "unmarked".
func ObjectTLP(raw []byte) (level TLP, err error) {
	s := newJSONScan(raw, false, nil, nil)
	if s.peek() != '{' {
		return TLPNone, errNotObject
	}
	var seen uint16 // bit i: tlpMarkingDefs[i] is referenced
	own := -1       // index of the object's own id in tlpMarkingDefs
	ref := func(what string) {
		switch s.peek() {
		case '"':
			if i := tlpIndex(s.str(s.next())); i >= 0 {
				seen |= 1 << i
			}
		case 'n':
			s.next()
		default:
			s.typeError(what)
		}
	}
	// list reads a list (or null), elem reading each element.
	list := func(what string, elem func()) {
		switch s.peek() {
		case '[':
			s.elements(elem)
		case 'n':
			s.next()
		default:
			s.typeError(what)
		}
	}
	s.members(func(key jsonscan.Token) {
		switch {
		case s.keyIs(key, "object_marking_refs"):
			const msg = "object_marking_refs must be a list of identifiers"
			list(msg, func() { ref(msg) })
		case s.keyIs(key, "granular_markings"):
			const msg = "granular_markings must be a list of objects"
			list(msg, func() {
				switch s.peek() {
				case '{':
					s.members(func(key jsonscan.Token) {
						if s.keyIs(key, "marking_ref") {
							ref("marking_ref must be an identifier")
						} else {
							s.skip()
						}
					})
				case 'n':
					s.next()
				default:
					s.typeError(msg)
				}
			})
		case s.keyIs(key, "id"):
			own = -1 // of a duplicated id the last counts, as for encoding/json
			if id := s.stringValue(s.value()); id != nil {
				own = tlpIndex(id)
			}
		default:
			s.skip()
		}
	})
	s.end()
	if s.err != nil {
		return TLPNone, s.err
	}
	if own >= 0 {
		seen &^= 1 << own
	}
	for i := range tlpMarkingDefs {
		if seen&(1<<i) != 0 && tlpMarkingDefs[i].level > level {
			level = tlpMarkingDefs[i].level
		}
	}
	return level, nil
}
