package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// FindObjects returns a page of the collection's object versions (TAXII Get
// Objects, §5.4). Without match[version] only the latest version of each
// object is returned (REQ-62). Returns ErrCollectionNotFound or ErrBadCursor.
func (db *DB) FindObjects(ctx context.Context, collID string, q store.Query) (*store.Page, error) {
	return db.scanCollection(ctx, store.KindObjects, collID, q, true)
}

// FindManifest is FindObjects without the objects' bytes (TAXII Get Object
// Manifests, §5.3): one record per selected version (REQ-54..57).
func (db *DB) FindManifest(ctx context.Context, collID string, q store.Query) (*store.Page, error) {
	return db.scanCollection(ctx, store.KindManifest, collID, q, false)
}

// FindObject returns a page of the versions of one object (TAXII Get an
// Object, §5.6), the latest by default. match[id] and match[type] are
// ignored (REQ-78). Returns ErrNotFound when the collection holds no version
// of the object, whatever the filters (REQ-76), ErrCollectionNotFound or
// ErrBadCursor.
func (db *DB) FindObject(ctx context.Context, collID, objectID string, q store.Query) (*store.Page, error) {
	q.Filter.IDs, q.Filter.Types = nil, nil
	return db.scanObject(ctx, store.KindObject, collID, objectID, q, true)
}

// FindObjectVersions returns a page of every version of one object (TAXII
// Get Object Versions, §5.8): match[version] does not apply (REQ-84). Errors
// as FindObject.
func (db *DB) FindObjectVersions(ctx context.Context, collID, objectID string, q store.Query) (*store.Page, error) {
	q.Filter.IDs, q.Filter.Types = nil, nil
	q.Filter.Versions = store.VersionSet{All: true}
	return db.scanObject(ctx, store.KindVersions, collID, objectID, q, false)
}

// recordSize is what r counts against Query.MaxBytes (see Page): the
// object's bytes when the page carries them, else the record's text.
func recordSize(r *record, withRaw bool) int {
	if withRaw {
		return len(r.raw)
	}
	return len(r.id) + len(r.version) + len(r.specVersion) + len(store.MediaTypeSTIX21) + len(store.TimestampLayout)
}

// offer adds r as a Record if there is room for its size, cloning its raw
// bytes (which alias the transaction's memory) when withRaw. Otherwise it
// reports false so the scan can stop: a full page, by count or by bytes.
func offer(p *store.Pager, r *record, withRaw bool) bool {
	n := recordSize(r, withRaw)
	if !p.Fits(n) {
		return false
	}
	p.Add(toRecord(r, withRaw), r.dateAdded, n)
	return true
}

// scan reads one page of the collection collID, or of its object objectID
// when that is set: it resolves q, then in one read transaction hands the
// collection's version index and objects bucket to fill, which offers the
// records that f selects, added after after, to p.
func (db *DB) scan(ctx context.Context, kind, collID, objectID string, q *store.Query,
	fill func(p *store.Pager, f *store.Filter, after int64, versions, objects *bbolt.Bucket) error) (*store.Page, error) {
	f, after, err := db.tokens().Resolve(kind, collID, objectID, q)
	if err != nil {
		return nil, err
	}
	p := store.NewPager(q)
	err = db.view(ctx, func(tx *bbolt.Tx) error {
		_, versions, objects, err := collectionBuckets(tx, collID)
		if err != nil {
			return err
		}
		return fill(p, &f, after, versions, objects)
	})
	if err != nil {
		return nil, err
	}
	return p.Page(db.tokens(), kind, collID, objectID, &f), nil
}

func (db *DB) scanCollection(ctx context.Context, kind, collID string, q store.Query, withRaw bool) (*store.Page, error) {
	return db.scan(ctx, kind, collID, "", &q, func(p *store.Pager, f *store.Filter, after int64, versions, objects *bbolt.Bucket) error {
		sel := versionSelector{f: f, versions: versions.Cursor()}
		next := scanFrom(objects, after)
		if f.IDs != nil {
			// match[id] names the objects: read their versions from the
			// per-id index instead of scanning the whole collection.
			next = byIDs(versions, objects, f.IDs, after)
		}
		n := 0
		for k, v := next(); k != nil; k, v = next() {
			if n++; n&255 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			r, err := decodeRecord(int64(binary.BigEndian.Uint64(k)), v, false)
			if err != nil {
				return err
			}
			if !store.SelectsID(f, r.id) || !f.SelectsSpecVersion(r.specVersion) || !sel.selects(r.id, r.vkey[:]) {
				continue
			}
			if len(p.Records) == p.Limit {
				p.More = true
				break
			}
			if r, err = decodeRecord(r.dateAdded, v, true); err != nil {
				return err
			}
			if !offer(p, &r, withRaw) {
				break // full by bytes
			}
		}
		return nil
	})
}

// scanFrom iterates the objects added after the given date_added, in
// date_added order.
func scanFrom(objects *bbolt.Bucket, after int64) func() (k, v []byte) {
	c := objects.Cursor()
	started := false
	return func() ([]byte, []byte) {
		if !started {
			started = true
			return c.Seek(addedKey(after + 1))
		}
		return c.Next()
	}
}

// byIDs iterates, in date_added order, the versions of the given objects
// added after the given date_added.
func byIDs(versions, objects *bbolt.Bucket, ids []string, after int64) func() (k, v []byte) {
	var keys [][]byte
	c := versions.Cursor()
	for _, id := range ids {
		prefix := idPrefix(id)
		for vk, da := c.Seek(prefix); vk != nil && bytes.HasPrefix(vk, prefix); vk, da = c.Next() {
			if len(da) == 8 && int64(binary.BigEndian.Uint64(da)) > after {
				keys = append(keys, bytes.Clone(da))
			}
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	return func() ([]byte, []byte) {
		for len(keys) > 0 {
			k := keys[0]
			keys = keys[1:]
			if v := objects.Get(k); v != nil {
				return k, v
			}
		}
		return nil, nil
	}
}

// versionSelector decides match[version] for a collection-wide scan.
type versionSelector struct {
	f        *store.Filter
	versions *bbolt.Cursor
}

// selects reports whether the version vkey of object id is selected.
func (s *versionSelector) selects(id, vkey []byte) bool {
	v := &s.f.Versions
	if v.All {
		return true
	}
	for _, at := range v.At {
		if k := versionKey(at); bytes.Equal(vkey, k[:]) {
			return true
		}
	}
	if v.First || v.Last {
		first, last := s.bounds(id)
		if v.First && bytes.Equal(vkey, first) || v.Last && bytes.Equal(vkey, last) {
			return true
		}
	}
	return false
}

// bounds returns the smallest and greatest version keys stored for id.
func (s *versionSelector) bounds(id []byte) (first, last []byte) {
	prefix := idPrefix(string(id))
	k, _ := s.versions.Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return nil, nil
	}
	_, first = splitVersionsKey(k)
	first = bytes.Clone(first)
	// Every version key of id is prefix + 12 bytes, so prefix + 13 × 0xff
	// sorts after all of them and before the next id's.
	upper := append(prefix, bytes.Repeat([]byte{0xff}, vkeySize+1)...)
	if k, _ = s.versions.Seek(upper); k == nil {
		k, _ = s.versions.Last()
	} else {
		k, _ = s.versions.Prev()
	}
	_, last = splitVersionsKey(k)
	return first, bytes.Clone(last)
}

func toRecord(r *record, withRaw bool) store.Record {
	rec := store.Record{ID: string(r.id), Version: r.version, SpecVersion: r.specVersion,
		MediaType: store.MediaTypeSTIX21, DateAdded: microsToTime(r.dateAdded)}
	if withRaw {
		rec.Raw = bytes.Clone(r.raw)
	}
	return rec
}

// objectVersion is one stored version of an object, as per-object reads and
// deletes see it.
type objectVersion struct {
	key []byte // versions key
	rec record
}

// loadVersions reads every version of id in version-key order. The keys are
// copied; the records alias the transaction's memory, so that a page copies
// only the versions it serves.
func loadVersions(versions, objects *bbolt.Bucket, id string) ([]objectVersion, error) {
	var out []objectVersion
	prefix := idPrefix(id)
	c := versions.Cursor()
	for k, da := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, da = c.Next() {
		v := objects.Get(da)
		if v == nil || len(da) != 8 {
			return nil, fmt.Errorf("store: version %q without its object", k)
		}
		r, err := decodeRecord(int64(binary.BigEndian.Uint64(da)), v, true)
		if err != nil {
			return nil, err
		}
		out = append(out, objectVersion{key: bytes.Clone(k), rec: r})
	}
	return out, nil
}

// selectVersions keeps the versions f selects (store.SelectVersions).
func selectVersions(vs []objectVersion, f *store.Filter) []objectVersion {
	return store.SelectVersions(vs, f, func(v *objectVersion) string { return v.rec.specVersion },
		func(v *objectVersion, t time.Time) bool { return v.rec.vkey == versionKey(t) })
}

func (db *DB) scanObject(ctx context.Context, kind, collID, objectID string, q store.Query, withRaw bool) (*store.Page, error) {
	return db.scan(ctx, kind, collID, objectID, &q, func(p *store.Pager, f *store.Filter, after int64, versions, objects *bbolt.Bucket) error {
		vs, err := loadVersions(versions, objects, objectID)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return fmt.Errorf("object %s: %w", objectID, store.ErrNotFound)
		}
		vs = selectVersions(vs, f)
		slices.SortFunc(vs, func(a, b objectVersion) int { return cmp.Compare(a.rec.dateAdded, b.rec.dateAdded) })
		for i := range vs {
			if vs[i].rec.dateAdded <= after {
				continue
			}
			if !offer(p, &vs[i].rec, withRaw) {
				break
			}
		}
		return nil
	})
}

// DeleteObject deletes the versions of an object that f selects (TAXII
// Delete an Object, §5.7): match[version] and match[spec_version] apply;
// with no match[version] every version is deleted (AMB-03). It returns the
// number of versions deleted. ErrNotFound when the object is absent or the
// filters select none of its versions (REQ-83); ErrCollectionNotFound.
func (db *DB) DeleteObject(ctx context.Context, collID, objectID string, f store.Filter) (int, error) {
	f.NormalizeDelete()
	n := 0
	var last int64
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		coll, versions, objects, err := collectionBuckets(tx, collID)
		if err != nil {
			return err
		}
		vs, err := loadVersions(versions, objects, objectID)
		if err != nil {
			return err
		}
		vs = selectVersions(vs, &f)
		if len(vs) == 0 {
			return fmt.Errorf("object %s: %w", objectID, store.ErrNotFound)
		}
		// Each deleted version leaves a tombstone in the change feed, under
		// a cursor of the date_added sequence (store.Change).
		deleted, err := coll.CreateBucketIfNotExists(bucketDeleted)
		if err != nil {
			return err
		}
		deleted.FillPercent = 0.95 // keys only grow, as in objects/
		last = getMicros(coll, keyLastAdded)
		now := db.now().UnixMicro()
		// The tombstones are encoded before anything changes: the records
		// alias the transaction's memory.
		stones := make([][]byte, len(vs))
		for i, v := range vs {
			ts := tombstone{id: v.rec.id, vkey: v.rec.vkey, version: v.rec.version}
			stones[i] = ts.encode()
		}
		for i, v := range vs {
			last = max(now, last+1)
			if err := deleted.Put(addedKey(last), stones[i]); err != nil {
				return err
			}
			if err := versions.Delete(v.key); err != nil {
				return err
			}
			if err := objects.Delete(addedKey(v.rec.dateAdded)); err != nil {
				return err
			}
		}
		n = len(vs)
		if err := addVersionCount(coll, -int64(n)); err != nil {
			return err
		}
		return coll.Put(keyLastAdded, addedKey(last))
	})
	if err != nil {
		return 0, err
	}
	db.feed.Notify(collID, last)
	return n, nil
}
