package storetest

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/google/uuid"
)

// The fixtures of the suite: a frozen clock, sequential status ids, and
// valid STIX objects with deterministic ids and versions. Backends' own
// tests use them through the exported names at the end of this file.

// t0 is where every test clock starts.
var t0 = time.Date(2024, 11, 5, 12, 0, 0, 0, time.UTC)

const (
	apiRoot   = "election-isac"
	otherRoot = "vendors"
	collA     = "2f0d3c52-8a43-4c4e-9d5e-3b1f6a7c9e01"
	collB     = "7b1e4d2a-0c6f-4f8e-a1b2-c3d4e5f60718"
)

// testClock is an injectable clock. It returns the same instant until it is
// moved, which is the worst case for date_added uniqueness (INT-05).
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock on by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// seqIDs hands out UUIDv4-shaped ids 1, 2, 3, ... so statuses are predictable.
type seqIDs struct {
	mu sync.Mutex
	n  uint64
}

func (s *seqIDs) NewID() uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return seqUUID(s.n)
}

func seqUUID(n uint64) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[8:], n)
	u[6] = 0x40             // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

var validator = sync.OnceValue(func() *stix.Validator {
	v, err := stix.NewValidator()
	if err != nil {
		panic(err)
	}
	return v
})

// mustObject validates raw with the real STIX validator and returns it as a
// store object; the test fails on any finding.
func mustObject(tb testing.TB, raw string) store.Object {
	tb.Helper()
	h, findings := validator().Check([]byte(raw))
	if len(findings) > 0 {
		tb.Fatalf("test object is invalid: %s\n%s", stix.Summarize(findings, 5), raw)
	}
	return store.Object{Header: h, Raw: []byte(raw)}
}

// stixID returns a deterministic, valid STIX id of type typ.
func stixID(typ string, n int) string {
	return fmt.Sprintf("%s--%08x-0000-4000-8000-%012x", typ, n, n)
}

// stixTime formats t as a STIX timestamp with millisecond precision.
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// created is the created time of every test SDO; versions are created+N.
var created = time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)

// indicatorJSON is a valid STIX 2.1 indicator.
func indicatorJSON(id string, modified time.Time, name string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,`+
		`"name":%q,"indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.100.7']",`+
		`"pattern_type":"stix","valid_from":%q}`,
		id, stixTime(created), stixTime(modified), name, stixTime(created))
}

func indicator(tb testing.TB, id string, modified time.Time) store.Object {
	tb.Helper()
	return mustObject(tb, indicatorJSON(id, modified, "Voter registration portal phishing"))
}

func malware(tb testing.TB, id string, modified time.Time) store.Object {
	tb.Helper()
	return mustObject(tb, fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":%q,"created":%q,"modified":%q,`+
		`"name":"BallotLocker","is_family":true}`, id, stixTime(created), stixTime(modified)))
}

// ipv4 is an SCO: no created, no modified (REQ-107).
func ipv4(tb testing.TB, id, value string) store.Object {
	tb.Helper()
	return mustObject(tb, fmt.Sprintf(`{"type":"ipv4-addr","spec_version":"2.1","id":%q,"value":%q}`, id, value))
}

// dateAdded is the date_added the store hands the n-th version (0-based)
// added to a collection while the clock is frozen at t0: t0 + n µs (INT-05).
func dateAdded(n int) time.Time { return t0.Add(time.Duration(n) * time.Microsecond) }

// rv names one object version in expectations.
type rv struct{ ID, Version string }

func (r rv) String() string { return r.ID + "@" + r.Version }

func rvOf(o store.Object) rv {
	v := o.Header.Modified
	if v == "" {
		v = o.Header.Created
	}
	return rv{o.Header.ID, v}
}

func rvs(recs []store.Record) []rv {
	out := make([]rv, len(recs))
	for i, r := range recs {
		out[i] = rv{r.ID, r.Version}
	}
	return out
}

// benchIndicators returns n valid indicators numbered from first, each with
// its own id.
func benchIndicators(tb testing.TB, first, n int) []store.Object {
	tb.Helper()
	objs := make([]store.Object, n)
	for i := range objs {
		objs[i] = indicator(tb, stixID("indicator", first+i), created)
	}
	return objs
}

// Exported for backends' own tests, which build on the same fixtures.

// T0 is where every test clock starts.
var T0 = t0

// Created is the created time of every fixture SDO; versions are Created+N.
var Created = created

// The API roots and collections the fixtures use.
const (
	APIRoot   = apiRoot
	OtherRoot = otherRoot
	CollA     = collA
	CollB     = collB
)

// Clock is an injectable clock that returns the same instant until Set or
// Advance moves it; it is safe for concurrent use.
type Clock = testClock

// SeqIDs hands out UUIDv4-shaped ids 1, 2, 3, ...
type SeqIDs = seqIDs

// SeqUUID returns the n-th id SeqIDs hands out.
func SeqUUID(n uint64) uuid.UUID { return seqUUID(n) }

// MustObject validates raw with the real STIX validator and returns it as
// a store object; the test fails on any finding.
func MustObject(tb testing.TB, raw string) store.Object { tb.Helper(); return mustObject(tb, raw) }

// STIXID returns a deterministic, valid STIX id of type typ.
func STIXID(typ string, n int) string { return stixID(typ, n) }

// STIXTime formats t as a STIX timestamp with millisecond precision.
func STIXTime(t time.Time) string { return stixTime(t) }

// IndicatorJSON is a valid STIX 2.1 indicator.
func IndicatorJSON(id string, modified time.Time, name string) string {
	return indicatorJSON(id, modified, name)
}

// Indicator is a valid indicator version with the given id and modified.
func Indicator(tb testing.TB, id string, modified time.Time) store.Object {
	tb.Helper()
	return indicator(tb, id, modified)
}

// Malware is a valid malware version with the given id and modified.
func Malware(tb testing.TB, id string, modified time.Time) store.Object {
	tb.Helper()
	return malware(tb, id, modified)
}

// Indicators returns n valid indicators numbered from first.
func Indicators(tb testing.TB, first, n int) []store.Object {
	tb.Helper()
	return benchIndicators(tb, first, n)
}

// DateAdded is the date_added a store hands the n-th version (0-based)
// added to a collection while the clock is frozen at T0: T0 + n µs.
func DateAdded(n int) time.Time { return dateAdded(n) }

// AllVersions reads every version in coll (match[version]=all), in
// date_added order.
func AllVersions(tb testing.TB, db store.Store, coll string) []store.Record {
	tb.Helper()
	return allVersions(tb, db, coll)
}

// MustClose waits until the watch channel ch is closed, discarding hints;
// the test fails if it stays open (30 s guard against a hang).
func MustClose(tb testing.TB, ch <-chan time.Time) {
	tb.Helper()
	mustClose(tb, ch)
}

// NewClock returns a Clock stopped at t.
func NewClock(t time.Time) *Clock { return &testClock{now: t} }
