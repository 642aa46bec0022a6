package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// allVersions reads every version in coll (match[version]=all), in
// date_added order.
func allVersions(tb testing.TB, db store.Store, coll string) []store.Record {
	tb.Helper()
	pg, err := db.FindObjects(context.Background(), coll, store.Query{Filter: store.Filter{Versions: store.VersionSet{All: true}}, Limit: 1 << 20})
	if err != nil {
		tb.Fatalf("FindObjects: %v", err)
	}
	return pg.Records
}

// checkCounts checks REQ-44/45/68: total = success + failure + pending, each
// list as long as its count.
func checkCounts(tb testing.TB, st *store.Status, total, success, failure int) {
	tb.Helper()
	if st.Status != "complete" {
		tb.Errorf("status = %q, want complete (REQ-72)", st.Status)
	}
	if st.TotalCount != total || st.SuccessCount != success || st.FailureCount != failure || st.PendingCount != 0 {
		tb.Errorf("counts total/success/failure/pending = %d/%d/%d/%d, want %d/%d/%d/0",
			st.TotalCount, st.SuccessCount, st.FailureCount, st.PendingCount, total, success, failure)
	}
	if st.TotalCount != st.SuccessCount+st.FailureCount+st.PendingCount {
		tb.Errorf("total_count %d != success+failure+pending", st.TotalCount)
	}
	if len(st.Successes) != st.SuccessCount || len(st.Failures) != st.FailureCount || len(st.Pendings) != st.PendingCount {
		tb.Errorf("list lengths %d/%d/%d do not match counts %d/%d/%d", len(st.Successes), len(st.Failures), len(st.Pendings),
			st.SuccessCount, st.FailureCount, st.PendingCount)
	}
}

func (s *suite) TestDB_AddObjects(t *testing.T) {
	ctx := context.Background()

	// REQ-44, REQ-45, REQ-68, REQ-74: one entry per posted object, counts
	// that add up, request_timestamp in µs UTC.
	t.Run("OK", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		objs := []store.Object{
			indicator(t, stixID("indicator", 1), created.Add(time.Hour)),
			malware(t, stixID("malware", 2), created),
			ipv4(t, stixID("ipv4-addr", 3), "198.51.100.7"),
		}
		bad := store.StatusDetail{ID: stixID("indicator", 9), Version: stixTime(created), Message: "/pattern: not a STIX pattern (pattern)"}
		received := time.Date(2024, 11, 5, 7, 0, 0, 123456789, time.FixedZone("EST", -5*3600))
		st, err := db.AddObjects(ctx, &store.Submission{
			APIRoot: apiRoot, Collection: collA, Received: received, Objects: objs, Failures: []store.StatusDetail{bad},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkCounts(t, st, 4, 3, 1)
		if want := seqUUID(1).String(); st.ID != want {
			t.Errorf("status id = %q, want %q from Options.NewID", st.ID, want)
		}
		if want := "2024-11-05T12:00:00.123456Z"; st.RequestTimestamp != want {
			t.Errorf("request_timestamp = %q, want %q", st.RequestTimestamp, want)
		}
		wantSucc := []store.StatusDetail{
			{ID: objs[0].Header.ID, Version: objs[0].Header.Modified},
			{ID: objs[1].Header.ID, Version: objs[1].Header.Modified},
			// An SCO is versioned by its date_added (REQ-107, REQ-46).
			{ID: objs[2].Header.ID, Version: dateAdded(2).Format(store.TimestampLayout)},
		}
		for i := range wantSucc {
			if i >= len(st.Successes) || st.Successes[i] != wantSucc[i] {
				t.Errorf("successes = %+v, want %+v", st.Successes, wantSucc)
				break
			}
		}
		if len(st.Failures) != 1 || st.Failures[0] != bad {
			t.Errorf("failures = %+v, want %+v", st.Failures, bad)
		}

		recs := allVersions(t, db, collA)
		if len(recs) != len(objs) {
			t.Fatalf("%d versions stored, want %d", len(recs), len(objs))
		}
		for i, r := range recs {
			if r.ID != objs[i].Header.ID || !bytes.Equal(r.Raw, objs[i].Raw) {
				t.Errorf("stored[%d] = %s %s, want %s", i, r.ID, r.Raw, objs[i].Header.ID)
			}
			if r.SpecVersion != "2.1" || r.MediaType != store.MediaTypeSTIX21 {
				t.Errorf("stored[%d] spec_version %q media_type %q", i, r.SpecVersion, r.MediaType)
			}
		}
	})

	t.Run("OnlyFailures", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		fail := store.StatusDetail{ID: stixID("indicator", 1), Version: stixTime(created), Message: "bad"}
		st, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collA, Received: t0, Failures: []store.StatusDetail{fail}})
		if err != nil {
			t.Fatal(err)
		}
		checkCounts(t, st, 1, 0, 1)
		// Empty lists are omitted from the TAXII form (REQ-44).
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(`"successes"`)) || bytes.Contains(b, []byte(`"pendings"`)) {
			t.Errorf("status JSON has an empty list: %s", b)
		}
		if got := allVersions(t, db, collA); len(got) != 0 {
			t.Errorf("%d objects stored from an all-failures request", len(got))
		}
	})

	// INT-05, REQ-106: with a clock that never moves, every new version
	// still gets a unique date_added, strictly increasing in envelope order
	// and across requests; µs precision.
	t.Run("DateAddedUniqueWithFrozenClock", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		var posted []rv
		for req := range 3 {
			var objs []store.Object
			for i := range 4 {
				o := indicator(t, stixID("indicator", req*10+i), created)
				objs = append(objs, o)
				posted = append(posted, rvOf(o))
			}
			db.MustAdd(t, collA, objs...)
		}
		recs := allVersions(t, db, collA)
		if got := rvs(recs); !slices.Equal(got, posted) {
			t.Fatalf("order = %v, want envelope order %v", got, posted)
		}
		for i, r := range recs {
			if !r.DateAdded.Equal(dateAdded(i)) {
				t.Errorf("date_added[%d] = %s, want %s (clock + %d µs)", i, r.DateAdded.Format(time.RFC3339Nano), dateAdded(i).Format(time.RFC3339Nano), i)
			}
			if r.DateAdded.Location() != time.UTC {
				t.Errorf("date_added[%d] not UTC: %v", i, r.DateAdded.Location())
			}
		}
	})

	// A clock that goes backwards does not make date_added go backwards.
	t.Run("DateAddedClockBackwards", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		db.Clock.Set(t0.Add(time.Hour))
		db.MustAdd(t, collA, indicator(t, stixID("indicator", 1), created))
		db.Clock.Set(t0)
		db.MustAdd(t, collA, indicator(t, stixID("indicator", 2), created))
		recs := allVersions(t, db, collA)
		if len(recs) != 2 || !recs[1].DateAdded.After(recs[0].DateAdded) {
			t.Fatalf("date_added not increasing after the clock went back: %+v", recs)
		}
		if want := t0.Add(time.Hour + time.Microsecond); !recs[1].DateAdded.Equal(want) {
			t.Errorf("date_added = %s, want %s", recs[1].DateAdded, want)
		}
	})

	// REQ-106: date_added is the clock's time, at µs precision, separate per
	// collection.
	t.Run("DateAddedPerCollection", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		db.MustCollection(t, apiRoot, collB)
		db.Clock.Set(t0.Add(1500 * time.Nanosecond))
		o := indicator(t, stixID("indicator", 1), created)
		db.MustAdd(t, collA, o, indicator(t, stixID("indicator", 2), created))
		db.MustAdd(t, collB, o)
		a, b := allVersions(t, db, collA), allVersions(t, db, collB)
		want := t0.Add(time.Microsecond) // truncated to µs
		if !a[0].DateAdded.Equal(want) || !b[0].DateAdded.Equal(want) {
			t.Errorf("date_added A=%s B=%s, want both %s", a[0].DateAdded, b[0].DateAdded, want)
		}
	})

	// Unknown collection: the error, and nothing stored anywhere, not even
	// the status.
	t.Run("ErrCollectionNotFound", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		st, err := db.AddObjects(ctx, &store.Submission{APIRoot: apiRoot, Collection: collB, Received: t0,
			Objects: []store.Object{indicator(t, stixID("indicator", 1), created)}})
		if !errors.Is(err, store.ErrCollectionNotFound) {
			t.Fatalf("AddObjects = %v, want ErrCollectionNotFound", err)
		}
		if st != nil {
			t.Errorf("status %+v returned with an error", st)
		}
		if _, err := findStatusByID(ctx, db, apiRoot, seqUUID(1).String()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("status of a refused request stored: %v", err)
		}
		if got := allVersions(t, db, collA); len(got) != 0 {
			t.Errorf("objects leaked into another collection: %v", rvs(got))
		}
		if _, err := db.FindObjects(ctx, collB, store.Query{Limit: 1}); !errors.Is(err, store.ErrCollectionNotFound) {
			t.Errorf("AddObjects created the collection: %v", err)
		}
	})

	// REQ-67, REQ-104, REQ-106: an exact duplicate is a success, stores
	// nothing and keeps the original date_added.
	t.Run("ExactDuplicate", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		o := indicator(t, stixID("indicator", 1), created.Add(time.Hour))
		db.MustAdd(t, collA, o)
		db.Clock.Set(t0.Add(time.Minute))
		st := db.MustAdd(t, collA, o)
		checkCounts(t, st, 1, 1, 0)
		want := store.StatusDetail{ID: o.Header.ID, Version: o.Header.Modified, Message: "already present"}
		if st.Successes[0] != want {
			t.Errorf("duplicate detail = %+v, want %+v", st.Successes[0], want)
		}
		recs := allVersions(t, db, collA)
		if len(recs) != 1 || !recs[0].DateAdded.Equal(t0) {
			t.Errorf("after duplicate: %+v; want one version at %s", recs, t0)
		}
	})

	// AMB-04: same id and modified, different bytes: success with a message,
	// the first copy is kept. A re-serialised timestamp is the common case.
	t.Run("SameVersionOtherContent", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		id := stixID("indicator", 1)
		orig := mustObject(t, `{"type":"indicator","spec_version":"2.1","id":"`+id+`","created":"2024-10-01T08:00:00.000Z",`+
			`"modified":"2024-10-01T09:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix",`+
			`"valid_from":"2024-10-01T08:00:00Z"}`)
		again := mustObject(t, `{"type":"indicator","spec_version":"2.1","id":"`+id+`","created":"2024-10-01T08:00:00.0000Z",`+
			`"modified":"2024-10-01T09:00:00.000000Z","pattern":"[ipv4-addr:value = '203.0.113.9']","pattern_type":"stix",`+
			`"valid_from":"2024-10-01T08:00:00Z"}`)
		db.MustAdd(t, collA, orig)
		st := db.MustAdd(t, collA, again)
		checkCounts(t, st, 1, 1, 0)
		d := st.Successes[0]
		if d.ID != id || d.Version != orig.Header.Modified || !strings.Contains(d.Message, "content not replaced") {
			t.Errorf("detail = %+v, want the stored version %q and a 'content not replaced' message", d, orig.Header.Modified)
		}
		recs := allVersions(t, db, collA)
		if len(recs) != 1 || !bytes.Equal(recs[0].Raw, orig.Raw) || !recs[0].DateAdded.Equal(t0) {
			t.Errorf("stored = %+v, want only the original bytes at %s", recs, t0)
		}
	})

	// The same object twice in one envelope: one version, the second entry
	// a duplicate success; the bump counter is not advanced by it.
	t.Run("SameObjectTwiceInEnvelope", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		o := indicator(t, stixID("indicator", 1), created)
		next := indicator(t, stixID("indicator", 2), created)
		st := db.MustAdd(t, collA, o, o, next)
		checkCounts(t, st, 3, 3, 0)
		if st.Successes[0].Message != "" || st.Successes[1].Message != "already present" {
			t.Errorf("successes = %+v, want the second entry reported as already present", st.Successes)
		}
		recs := allVersions(t, db, collA)
		if got, want := rvs(recs), []rv{rvOf(o), rvOf(next)}; !slices.Equal(got, want) {
			t.Fatalf("stored = %v, want %v", got, want)
		}
		if !recs[1].DateAdded.Equal(dateAdded(1)) {
			t.Errorf("date_added of the object after the duplicate = %s, want %s", recs[1].DateAdded, dateAdded(1))
		}
	})

	// REQ-107: an SCO without created/modified is versioned by its first
	// date_added; posting it again, even with other bytes, is a duplicate.
	t.Run("SCOVersionedByDateAdded", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		id := stixID("ipv4-addr", 1)
		first := ipv4(t, id, "198.51.100.7")
		db.Clock.Set(t0.Add(42 * time.Microsecond))
		st := db.MustAdd(t, collA, first)
		wantVersion := "2024-11-05T12:00:00.000042Z"
		if st.Successes[0].Version != wantVersion {
			t.Errorf("SCO version = %q, want its date_added %q", st.Successes[0].Version, wantVersion)
		}

		db.Clock.Set(t0.Add(time.Hour))
		// No spec_version: an SCO may omit it; it is still 2.1.
		st = db.MustAdd(t, collA, first, mustObject(t, `{"type":"ipv4-addr","id":"`+id+`","value":"198.51.100.7"}`))
		checkCounts(t, st, 2, 2, 0)
		for i, d := range st.Successes {
			if d.Version != wantVersion || d.Message == "" {
				t.Errorf("re-post[%d] = %+v, want a duplicate of version %q", i, d, wantVersion)
			}
		}
		if st.Successes[0].Message != "already present" || !strings.Contains(st.Successes[1].Message, "content not replaced") {
			t.Errorf("messages = %q, %q", st.Successes[0].Message, st.Successes[1].Message)
		}
		recs := allVersions(t, db, collA)
		if len(recs) != 1 || recs[0].Version != wantVersion || !bytes.Equal(recs[0].Raw, first.Raw) {
			t.Errorf("stored = %+v, want one version %q", recs, wantVersion)
		}

		// An SCO posted without spec_version is stored as 2.1.
		bare := mustObject(t, `{"type":"ipv4-addr","id":"`+stixID("ipv4-addr", 2)+`","value":"203.0.113.9"}`)
		db.MustAdd(t, collA, bare)
		recs = allVersions(t, db, collA)
		if len(recs) != 2 || recs[1].SpecVersion != "2.1" {
			t.Errorf("SCO without spec_version stored as %+v, want spec_version 2.1", recs)
		}
	})

	// REQ-105: an older modified posted later is stored (after the newer one
	// in date_added order) but last stays the greatest modified.
	t.Run("OlderVersionPostedLater", func(t *testing.T) {
		db := s.MustOpenDB(t)
		db.MustCollection(t, apiRoot, collA)
		id := stixID("indicator", 1)
		newer := indicator(t, id, created.Add(2*time.Hour))
		older := indicator(t, id, created.Add(time.Hour))
		db.MustAdd(t, collA, newer)
		st := db.MustAdd(t, collA, older)
		if st.Successes[0].Message != "" {
			t.Errorf("older version reported as %q, want stored", st.Successes[0].Message)
		}
		if got, want := rvs(allVersions(t, db, collA)), []rv{rvOf(newer), rvOf(older)}; !slices.Equal(got, want) {
			t.Errorf("all = %v, want %v", got, want)
		}
		pg, err := db.FindObjects(ctx, collA, store.Query{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rvs(pg.Records), []rv{rvOf(newer)}; !slices.Equal(got, want) {
			t.Errorf("latest = %v, want %v", got, want)
		}
		pg, err = db.FindObjects(ctx, collA, store.Query{Filter: store.Filter{Versions: store.VersionSet{First: true}}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rvs(pg.Records), []rv{rvOf(older)}; !slices.Equal(got, want) {
			t.Errorf("first = %v, want %v", got, want)
		}
	})
}
