package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5"
)

// FindObjects returns a page of the collection's object versions (TAXII Get
// Objects, §5.4), ascending by date_added: a keyset query on (collection,
// date_added). Without match[version] only the latest version of each
// object is returned (REQ-62). Returns ErrCollectionNotFound or
// ErrBadCursor.
func (db *DB) FindObjects(ctx context.Context, collID string, q store.Query) (_ *store.Page, err error) {
	defer unavailable(&err)
	return db.scanCollection(ctx, store.KindObjects, collID, q, true)
}

// FindManifest is FindObjects without the objects' bytes (TAXII Get Object
// Manifests, §5.3). Returns ErrCollectionNotFound or ErrBadCursor.
func (db *DB) FindManifest(ctx context.Context, collID string, q store.Query) (_ *store.Page, err error) {
	defer unavailable(&err)
	return db.scanCollection(ctx, store.KindManifest, collID, q, false)
}

// FindObject returns a page of the versions of one object (TAXII Get an
// Object, §5.6), the latest by default; match[id] and match[type] are
// ignored (REQ-78). Returns ErrNotFound when the collection holds no
// version of the object, whatever the filters (REQ-76),
// ErrCollectionNotFound or ErrBadCursor.
func (db *DB) FindObject(ctx context.Context, collID, objectID string, q store.Query) (_ *store.Page, err error) {
	defer unavailable(&err)
	q.Filter.IDs, q.Filter.Types = nil, nil
	return db.scanObject(ctx, store.KindObject, collID, objectID, q, true)
}

// FindObjectVersions returns a page of every version of one object (TAXII
// Get Object Versions, §5.8); match[version] does not apply (REQ-84).
// Returns ErrNotFound, ErrCollectionNotFound or ErrBadCursor, as
// FindObject.
func (db *DB) FindObjectVersions(ctx context.Context, collID, objectID string, q store.Query) (_ *store.Page, err error) {
	defer unavailable(&err)
	q.Filter.IDs, q.Filter.Types = nil, nil
	q.Filter.Versions = store.VersionSet{All: true}
	return db.scanObject(ctx, store.KindVersions, collID, objectID, q, false)
}

// recordSize is what r counts against Query.MaxBytes (see store.Page).
func recordSize(r *store.Record, withRaw bool, rawLen int) int {
	if withRaw {
		return rawLen
	}
	return len(r.ID) + len(r.Version) + len(r.SpecVersion) + len(store.MediaTypeSTIX21) + len(store.TimestampLayout)
}

// args collects the parameters of a query being built.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

func (db *DB) scanCollection(ctx context.Context, kind, collID string, q store.Query, withRaw bool) (*store.Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, after, err := db.tokens().Resolve(kind, collID, "", &q)
	if err != nil {
		return nil, err
	}
	p := store.NewPager(&q)
	a := args{}
	sql := pageSQL(&a, &f, collID, after, p.Limit+1, withRaw)
	// The collection check and the page travel in one round trip. They
	// are separate statements, so a collection deleted in between reads
	// as an empty page of a collection that existed, which it was.
	b := &pgx.Batch{}
	var exists bool
	b.Queue("SELECT EXISTS (SELECT 1 FROM collections WHERE id = $1)", collID).QueryRow(func(row pgx.Row) error {
		return row.Scan(&exists)
	})
	b.Queue(sql, a...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var r store.Record
			var da int64
			var raw []byte
			if err := rows.Scan(&da, &r.ID, &r.Version, &r.SpecVersion, &raw); err != nil {
				return err
			}
			r.MediaType, r.DateAdded = store.MediaTypeSTIX21, microsToTime(da)
			if withRaw {
				r.Raw = raw
			}
			if !p.Offer(r, da, recordSize(&r, withRaw, len(raw))) {
				break
			}
		}
		return rows.Err()
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("%s: %w", collID, store.ErrCollectionNotFound)
	}
	return p.Page(db.tokens(), kind, collID, "", &f), nil
}

// maxTypeBranches bounds the match[type] values read as one ordered
// index range each; more are read through one range of the whole
// collection.
const maxTypeBranches = 16

// pageSQL builds the keyset query of one page: the versions of collID
// that f selects with a date_added above after, ascending, at most limit.
// Every value is a parameter added to a.
//
// A list of values compared with = ANY cannot be read from an index in
// date_added order (before PostgreSQL 17), so the page would sort every
// match before taking its first rows. A single match[type] or
// match[spec_version] is therefore an equality, and several match[type]
// values are one ordered range of (collection, type, date_added) each,
// merged: every branch reads at most limit rows.
func pageSQL(a *args, f *store.Filter, collID string, after int64, limit int, withRaw bool) string {
	cols := "date_added, object_id, version, spec_version, NULL::bytea"
	if withRaw {
		cols = "date_added, object_id, version, spec_version, raw"
	}
	var where strings.Builder
	where.WriteString("collection = " + a.add(collID) + " AND date_added > " + a.add(after))
	if f.IDs != nil {
		// Each id's few versions come from the (collection, object_id)
		// index; sorting them is cheap.
		where.WriteString(" AND object_id = ANY(" + a.add(f.IDs) + ")")
	}
	switch len(f.SpecVersions) {
	case 0:
	case 1:
		where.WriteString(" AND spec_version = " + a.add(f.SpecVersions[0]))
	default:
		where.WriteString(" AND spec_version = ANY(" + a.add(f.SpecVersions) + ")")
	}
	if v := f.Versions; !v.All {
		var or []string
		if v.Last {
			or = append(or, "is_latest")
		}
		if v.First {
			or = append(or, "is_first")
		}
		if len(v.At) > 0 {
			ss, nss := make([]int64, len(v.At)), make([]int32, len(v.At))
			for i, t := range v.At {
				k := vkeyOf(t)
				ss[i], nss[i] = k.s, k.ns
			}
			or = append(or, "(version_s, version_ns) IN (SELECT * FROM unnest("+a.add(ss)+"::bigint[], "+a.add(nss)+"::integer[]))")
		}
		where.WriteString(" AND (" + strings.Join(or, " OR ") + ")")
	}
	lim := a.add(limit)
	branch := func(typ string) string {
		return "SELECT " + cols + " FROM object_versions WHERE " + where.String() + typ + " ORDER BY date_added LIMIT " + lim
	}
	switch n := len(f.Types); {
	case n == 0:
		return branch("")
	case n == 1:
		return branch(" AND type = " + a.add(f.Types[0]))
	case n <= maxTypeBranches:
		parts := make([]string, n)
		for i, typ := range f.Types {
			parts[i] = "(" + branch(" AND type = "+a.add(typ)) + ")"
		}
		return "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") page ORDER BY date_added LIMIT " + lim
	default:
		return branch(" AND type = ANY(" + a.add(f.Types) + ")")
	}
}

// storedVersion is one version of an object as the per-object reads and
// deletes see it, without its bytes.
type storedVersion struct {
	dateAdded   int64
	key         vkey
	version     string
	specVersion string
	rawLen      int
}

// loadVersions reads every version of objectID, in version order, and
// whether the collection exists.
func loadVersions(ctx context.Context, q interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}, collID, objectID string) (bool, []storedVersion, error) {
	b := &pgx.Batch{}
	var exists bool
	b.Queue("SELECT EXISTS (SELECT 1 FROM collections WHERE id = $1)", collID).QueryRow(func(row pgx.Row) error { return row.Scan(&exists) })
	var vs []storedVersion
	b.Queue(`SELECT date_added, version_s, version_ns, version, spec_version, octet_length(raw)
		FROM object_versions WHERE collection = $1 AND object_id = $2 ORDER BY version_s, version_ns`,
		collID, objectID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var v storedVersion
			if err := rows.Scan(&v.dateAdded, &v.key.s, &v.key.ns, &v.version, &v.specVersion, &v.rawLen); err != nil {
				return err
			}
			vs = append(vs, v)
		}
		return rows.Err()
	})
	err := q.SendBatch(ctx, b).Close()
	return exists, vs, err
}

// selectVersions keeps the versions f selects (store.SelectVersions).
func selectVersions(vs []storedVersion, f *store.Filter) []storedVersion {
	return store.SelectVersions(vs, f, func(v *storedVersion) string { return v.specVersion },
		func(v *storedVersion, t time.Time) bool { return v.key == vkeyOf(t) })
}

func (db *DB) scanObject(ctx context.Context, kind, collID, objectID string, q store.Query, withRaw bool) (*store.Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, after, err := db.tokens().Resolve(kind, collID, objectID, &q)
	if err != nil {
		return nil, err
	}
	exists, vs, err := loadVersions(ctx, db.pool, collID, objectID)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("%s: %w", collID, store.ErrCollectionNotFound)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("object %s: %w", objectID, store.ErrNotFound)
	}
	vs = selectVersions(vs, &f)
	slices.SortFunc(vs, func(a, b storedVersion) int { return cmp.Compare(a.dateAdded, b.dateAdded) })
	p := store.NewPager(&q)
	var page []int64
	for _, v := range vs {
		if v.dateAdded <= after {
			continue
		}
		r := store.Record{ID: objectID, Version: v.version, SpecVersion: v.specVersion,
			MediaType: store.MediaTypeSTIX21, DateAdded: microsToTime(v.dateAdded)}
		if !p.Offer(r, v.dateAdded, recordSize(&r, withRaw, v.rawLen)) {
			break
		}
		page = append(page, v.dateAdded)
	}
	if withRaw && len(page) > 0 {
		raws := make(map[int64][]byte, len(page))
		rows, err := db.pool.Query(ctx, "SELECT date_added, raw FROM object_versions WHERE collection = $1 AND date_added = ANY($2)", collID, page)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var da int64
			var raw []byte
			if err := rows.Scan(&da, &raw); err != nil {
				rows.Close()
				return nil, err
			}
			raws[da] = raw
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		// A version deleted between the two reads drops out of the page.
		kept := p.Records[:0]
		for _, r := range p.Records {
			if raw, ok := raws[r.DateAdded.UnixMicro()]; ok {
				r.Raw = raw
				kept = append(kept, r)
			}
		}
		p.Records = kept
	}
	return p.Page(db.tokens(), kind, collID, objectID, &f), nil
}

// DeleteObject deletes the versions of an object that f selects (TAXII
// Delete an Object, §5.7); with no match[version] every version is deleted
// (AMB-03). It returns the number of versions deleted. Each deleted
// version gets a tombstone in the change feed under a cursor drawn from
// the collection's date_added sequence, and this node's watchers are told
// before it returns. The transaction locks the collection's row, as
// publishing does, so the cursors and the latest and first flags it
// recomputes cannot race a publisher. Returns ErrNotFound when
// the object is absent or the filters select none of its versions
// (REQ-83), ErrCollectionNotFound for an unknown collection.
func (db *DB) DeleteObject(ctx context.Context, collID, objectID string, f store.Filter) (_ int, err error) {
	defer unavailable(&err)
	f.NormalizeDelete()
	n := 0
	var newest int64
	err = db.begin(ctx, func(tx pgx.Tx) error {
		last, err := lockCollection(ctx, tx, collID)
		if err != nil {
			return err
		}
		_, vs, err := loadVersions(ctx, tx, collID, objectID)
		if err != nil {
			return err
		}
		vs = selectVersions(vs, &f)
		if len(vs) == 0 {
			return fmt.Errorf("object %s: %w", objectID, store.ErrNotFound)
		}
		// Each deleted version leaves a tombstone in the change feed under
		// a cursor of its own, drawn from the date_added sequence.
		now := db.now().UnixMicro()
		das, ats := make([]int64, len(vs)), make([]int64, len(vs))
		versions := make([]string, len(vs))
		for i, v := range vs {
			last = max(now, last+1)
			das[i], ats[i], versions[i] = v.dateAdded, last, v.version
		}
		b := &pgx.Batch{}
		b.Queue("DELETE FROM object_versions WHERE collection = $1 AND date_added = ANY($2)", collID, das)
		b.Queue(`INSERT INTO deletions (collection, change_at, object_id, version)
			SELECT $1, a, $2, v FROM unnest($3::bigint[], $4::text[]) AS x (a, v)`, collID, objectID, ats, versions)
		b.Queue("UPDATE collections SET last_added = $2, versions = versions - $3 WHERE id = $1", collID, last, len(vs))
		b.Queue(refreshFlags, collID, objectID)
		queueNotify(b, collID, last)
		n, newest = len(vs), last
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, err
	}
	db.feed.notify(collID, newest)
	return n, nil
}

// refreshFlags sets is_latest and is_first of one object's remaining
// versions ($1 collection, $2 object id), writing only rows that change.
const refreshFlags = `
	WITH r AS (
		SELECT date_added,
			row_number() OVER (ORDER BY version_s DESC, version_ns DESC) = 1 AS latest,
			row_number() OVER (ORDER BY version_s, version_ns) = 1 AS first
		FROM object_versions WHERE collection = $1 AND object_id = $2)
	UPDATE object_versions v SET is_latest = r.latest, is_first = r.first
	FROM r
	WHERE v.collection = $1 AND v.date_added = r.date_added
		AND (v.is_latest, v.is_first) IS DISTINCT FROM (r.latest, r.first)`
