package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

// vkey is a version instant: seconds and nanoseconds since the epoch.
type vkey struct {
	s  int64
	ns int32
}

func vkeyOf(t time.Time) vkey { return vkey{t.Unix(), int32(t.Nanosecond())} }

func (a vkey) less(b vkey) bool { return a.s < b.s || a.s == b.s && a.ns < b.ns }

// version is one stored or about-to-be-stored version of an object, as
// AddObjects tracks it.
type version struct {
	key       vkey
	dateAdded int64
	text      string // the version as reported
	raw       []byte // nil for a stored version until fetched
	stored    bool   // already in the database before this request
	latest    bool   // flags as stored (for stored versions)
	first     bool
}

// objectState is what AddObjects knows of one object id: its versions
// that matter (stored latest and first, stored ones the request repeats,
// and the new ones), and which are greatest and smallest.
type objectState struct {
	versions      map[vkey]*version
	latest, first *version
}

// add records v, a new version, among o's versions, as its latest or
// first if it is.
func (o *objectState) add(v *version) {
	o.versions[v.key] = v
	if o.latest == nil || o.latest.key.less(v.key) {
		o.latest = v
	}
	if o.first == nil || v.key.less(o.first.key) {
		o.first = v
	}
}

// specVersion is the spec_version stored for an object whose
// spec_version property is spec: an SCO without one is 2.1 (§3.2).
func specVersion(spec string) string {
	if spec == "" {
		return "2.1"
	}
	return spec
}

// newRow is one version to insert.
type newRow struct {
	id, typ, specVersion string
	v                    *version
}

// AddObjects stores the objects of s in one transaction together with the
// status that reports them (and s.Audit), and returns that status
// (complete, REQ-72). Concurrent requests may share a transaction (group
// commit, see committer); each is stored entirely or not at all.
//
// The transaction locks the collection's row first, so publishers of one
// collection, on any node, run one after the other: each new version gets
// a date_added that is unique and strictly increasing within the
// collection at µs precision, in envelope order (INT-05), and a poller
// never sees a smaller date_added appear after a greater one. A version
// already present (same id and version instant) is a success that stores
// nothing and keeps the original date_added (REQ-67, REQ-106); if its
// bytes differ, the message says the content was not replaced (AMB-04).
// Objects without created or modified (SCOs) are versioned by their first
// date_added (REQ-107). Returns ErrCollectionNotFound for an unknown
// collection, in which case nothing is stored.
func (db *DB) AddObjects(ctx context.Context, s *store.Submission) (_ *store.Status, err error) {
	defer unavailable(&err)
	// The id is drawn once: the write may run twice (see committer).
	w := &write{s: s, id: db.newID().String()}
	if err := db.commits.Commit(ctx, w); err != nil {
		return nil, err
	}
	if w.newest > 0 {
		// This node's watchers hear before the call returns; others
		// through the notification.
		db.feed.notify(s.Collection, w.newest)
	}
	return w.st, nil
}

// addVersions decides w's part of its group: the date_added of each new
// version, drawn from coll, the versions it repeats, and the rows to
// insert, against the object states the group has read and changed so
// far (a version an earlier request of the group added counts as
// present). It fills in w.rows, w.dups, w.added and w.assigned.
func (db *DB) addVersions(coll *lockedCollection, w *write) {
	s := w.s
	now := db.now().UnixMicro()
	w.rows, w.newest = nil, 0 // a rerun starts over
	w.dups = make([]*version, len(s.Objects))
	w.added = make([]*version, len(s.Objects))
	w.assigned = make([]int64, len(s.Objects))
	for i := range s.Objects {
		h := &s.Objects[i].Header
		o := coll.objects[h.ID]
		vt, versioned := h.Version()
		var present *version
		if versioned {
			present = o.versions[vkeyOf(vt)]
		} else {
			present = o.first // any version of an unversioned id is it
		}
		// A blind duplicate is answered as a new version would be, so it
		// takes a date_added too (Submission.Blind).
		if present != nil && !s.Blind {
			w.dups[i] = present
			continue
		}
		da := max(now, coll.last+1)
		coll.last, w.assigned[i] = da, da
		if present != nil {
			w.dups[i] = present
			continue
		}
		v := &version{dateAdded: da, raw: s.Objects[i].Raw}
		if versioned {
			v.key, v.text = vkeyOf(vt), store.DetailFor(h, "").Version
		} else {
			t := microsToTime(da)
			v.key, v.text = vkeyOf(t), t.Format(store.TimestampLayout)
		}
		o.add(v)
		w.added[i] = v
		w.rows = append(w.rows, newRow{id: h.ID, typ: typeOf(h.ID), specVersion: specVersion(h.SpecVersion), v: v})
	}
	coll.added = append(coll.added, w.rows...)
	if len(w.rows) > 0 {
		w.newest = coll.last
	}
}

// queueStatus builds w's status from the versions addVersions decided
// (the bytes of the stored ones it repeats read by then) and queues in b
// its insert and the request's audit row.
func queueStatus(b *pgx.Batch, w *write) error {
	s := w.s
	st := s.NewStatus(w.id)
	var stored []store.ObjectRef // as stored, for the audit row
	for i := range s.Objects {
		h := &s.Objects[i].Header
		d := w.dups[i]
		switch {
		case d == nil:
			st.Successes = append(st.Successes, store.StatusDetail{ID: h.ID, Version: w.added[i].text})
			stored = append(stored, store.ObjectRef{ID: h.ID, Version: w.added[i].text})
		case s.Blind:
			report := store.DetailFor(h, "")
			if _, versioned := h.Version(); !versioned {
				report = store.StatusDetail{ID: h.ID, Version: microsToTime(w.assigned[i]).Format(store.TimestampLayout)}
			}
			st.Successes = append(st.Successes, report)
			stored = append(stored, store.ObjectRef{ID: h.ID, Version: d.text})
		default:
			msg := "already present"
			if !bytes.Equal(d.raw, s.Objects[i].Raw) {
				msg = "version already present; content not replaced"
			}
			st.Successes = append(st.Successes, store.StatusDetail{ID: h.ID, Version: d.text, Message: msg})
			stored = append(stored, store.ObjectRef{ID: h.ID, Version: d.text})
		}
	}
	st.SuccessCount = len(st.Successes)
	rec := store.StatusRecord{APIRoot: s.APIRoot, Collection: s.Collection, Account: s.Account, Status: *st}
	doc, err := json.Marshal(&rec)
	if err != nil {
		return err
	}
	b.Queue("INSERT INTO statuses (api_root, id, collection, account, received, doc) VALUES ($1, $2, $3, $4, $5, $6)",
		s.APIRoot, st.ID, s.Collection, s.Account, s.Received.UnixMicro(), string(doc))
	if ev := s.AuditEvent(st, stored); ev != nil {
		if err := queueAudit(b, ev); err != nil {
			return err
		}
	}
	w.st = st
	return nil
}

// queueLoadStates queues in b the read of the stored versions, without
// their bytes, of the object ids coll's requests name; readStates reads
// its answer into coll.objects. An object has few versions, and reading
// them all is cheaper than picking out the flagged and repeated ones in
// SQL.
func queueLoadStates(b *pgx.Batch, collID string, ids []string) {
	b.Queue(`
		SELECT object_id, version_s, version_ns, date_added, version, is_latest, is_first
		FROM object_versions WHERE collection = $1 AND object_id = ANY($2)`,
		collID, ids)
}

// readStates reads the answer of queueLoadStates into objects, which holds
// an empty state for every id asked.
func readStates(br pgx.BatchResults, objects map[string]*objectState) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		v := &version{stored: true}
		if err := rows.Scan(&id, &v.key.s, &v.key.ns, &v.dateAdded, &v.text, &v.latest, &v.first); err != nil {
			return err
		}
		o := objects[id]
		o.versions[v.key] = v
		if v.latest {
			o.latest = v
		}
		if v.first {
			o.first = v
		}
	}
	return rows.Err()
}

// loadStates reads the stored versions of every object id of s, in their
// own round trip.
func loadStates(ctx context.Context, tx pgx.Tx, s *store.Submission) (map[string]*objectState, error) {
	objects, ids := newStates(s, nil)
	if len(ids) == 0 {
		return objects, nil
	}
	b := &pgx.Batch{}
	queueLoadStates(b, s.Collection, ids)
	br := tx.SendBatch(ctx, b)
	if err := readStates(br, objects); err != nil {
		br.Close()
		return nil, err
	}
	return objects, br.Close()
}

// newStates adds to objects (a new map when nil) an empty state for each
// object id of s it lacks, and returns it with those ids.
func newStates(s *store.Submission, objects map[string]*objectState) (map[string]*objectState, []string) {
	if objects == nil {
		objects = make(map[string]*objectState, len(s.Objects))
	}
	var ids []string
	for i := range s.Objects {
		h := &s.Objects[i].Header
		if objects[h.ID] == nil {
			objects[h.ID] = &objectState{versions: map[vkey]*version{}}
			ids = append(ids, h.ID)
		}
	}
	return objects, ids
}

// fetchDuplicateRaws reads the bytes of the stored versions that ws
// repeat, for the duplicates' messages.
func fetchDuplicateRaws(ctx context.Context, tx pgx.Tx, collID string, ws []*write) error {
	byAdded := map[int64]*version{}
	var das []int64
	for _, w := range ws {
		for _, d := range w.dups {
			if d != nil && d.stored && d.raw == nil && byAdded[d.dateAdded] == nil {
				byAdded[d.dateAdded] = d
				das = append(das, d.dateAdded)
			}
		}
	}
	if len(das) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, "SELECT date_added, raw FROM object_versions WHERE collection = $1 AND date_added = ANY($2)", collID, das)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var da int64
		var raw []byte
		if err := rows.Scan(&da, &raw); err != nil {
			return err
		}
		byAdded[da].raw = raw
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range byAdded {
		if d.raw == nil {
			return fmt.Errorf("store: version at date_added %d vanished under the collection lock", d.dateAdded)
		}
	}
	return nil
}

// copyThreshold is the number of new versions from which COPY beats a
// multi-row INSERT (COPY costs an extra round trip, and pays back in
// per-row work).
const copyThreshold = 16

// insertVersions inserts the new versions with their final flags: by COPY
// at once from copyThreshold rows, else queued in b.
func insertVersions(ctx context.Context, tx pgx.Tx, b *pgx.Batch, collID string, rows []newRow, objects map[string]*objectState) error {
	if len(rows) == 0 {
		return nil
	}
	flags := func(r newRow) (latest, first bool) {
		o := objects[r.id]
		return o.latest == r.v, o.first == r.v
	}
	if len(rows) >= copyThreshold {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"object_versions"},
			[]string{"collection", "date_added", "object_id", "type", "version_s", "version_ns", "version", "spec_version", "is_latest", "is_first", "raw"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := rows[i]
				latest, first := flags(r)
				return []any{collID, r.v.dateAdded, r.id, r.typ, r.v.key.s, r.v.key.ns, r.v.text, r.specVersion, latest, first, r.v.raw}, nil
			}))
		return err
	}
	var (
		das        []int64
		ids, types []string
		ss         []int64
		nss        []int32
		texts, svs []string
		lat, fir   []bool
		raws       [][]byte
	)
	for _, r := range rows {
		latest, first := flags(r)
		das, ids, types = append(das, r.v.dateAdded), append(ids, r.id), append(types, r.typ)
		ss, nss = append(ss, r.v.key.s), append(nss, r.v.key.ns)
		texts, svs = append(texts, r.v.text), append(svs, r.specVersion)
		lat, fir, raws = append(lat, latest), append(fir, first), append(raws, r.v.raw)
	}
	b.Queue(`
		INSERT INTO object_versions (collection, date_added, object_id, type, version_s, version_ns, version, spec_version, is_latest, is_first, raw)
		SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::integer[], $7::text[], $8::text[], $9::boolean[], $10::boolean[], $11::bytea[])`,
		collID, das, ids, types, ss, nss, texts, svs, lat, fir, raws)
	return nil
}

// queueClearFlags queues in b the clearing of is_latest and is_first on
// the stored versions that a new version displaced.
func queueClearFlags(b *pgx.Batch, collID string, objects map[string]*objectState) {
	// Empty, not nil: pgx sends a nil slice as NULL, and = ANY(NULL) is NULL.
	noLatest, noFirst := []int64{}, []int64{}
	for _, o := range objects {
		for _, v := range o.versions {
			if !v.stored {
				continue
			}
			if v.latest && o.latest != v {
				noLatest = append(noLatest, v.dateAdded)
			}
			if v.first && o.first != v {
				noFirst = append(noFirst, v.dateAdded)
			}
		}
	}
	if len(noLatest)+len(noFirst) == 0 {
		return
	}
	b.Queue(`
		UPDATE object_versions SET
			is_latest = is_latest AND NOT date_added = ANY($2),
			is_first = is_first AND NOT date_added = ANY($3)
		WHERE collection = $1 AND (date_added = ANY($2) OR date_added = ANY($3))`,
		collID, noLatest, noFirst)
}

// typeOf is the STIX type of an id: the text before "--" (the whole id if
// there is none, which matches no real type).
func typeOf(id string) string {
	typ, _, _ := strings.Cut(id, "--")
	return typ
}
