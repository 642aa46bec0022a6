package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
)

// AddObjects stores the objects of s in one write transaction together with
// the status that reports them, and returns that status (complete, REQ-72).
//
// Each new version gets a date_added that is unique and strictly increasing
// within the collection at µs precision, in envelope order (INT-05). A
// version already present (same id and version instant) is a success that
// stores nothing and keeps the original date_added (REQ-67, REQ-106); if its
// bytes differ, the message says the content was not replaced (AMB-04).
// Objects without created or modified (SCOs) are versioned by their first
// date_added, and any later post of the same id is such a duplicate
// (REQ-107). Returns ErrCollectionNotFound for an unknown collection, in
// which case nothing is stored.
func (db *DB) AddObjects(ctx context.Context, s *store.Submission) (*store.Status, error) {
	st := s.NewStatus(db.newID().String())
	err := db.commits.Commit(ctx, func(tx *bbolt.Tx) error {
		coll, versions, objects, err := collectionBuckets(tx, s.Collection)
		if err != nil {
			return err
		}
		// Successes are rebuilt on each run: a failed group commit runs
		// this again, and nothing may survive from the aborted attempt.
		st.Successes = st.Successes[:0]
		var stored []store.ObjectRef // the versions as stored, for the audit row
		last := int64(0)
		if v := coll.Get(keyLastAdded); len(v) == 8 {
			last = int64(binary.BigEndian.Uint64(v))
		}
		now := db.now().UnixMicro()
		// objects/ is keyed by date_added, which only grows: pages split
		// full, not half full (bbolt's default suits random keys).
		objects.FillPercent = 0.95
		changed := false
		var act activity
		for i := range s.Objects {
			o := &s.Objects[i]
			detail, real, added, err := addOne(versions, objects, o, &last, now, s.Blind)
			if err != nil {
				return err
			}
			if added {
				act.added(last)
			}
			changed = changed || added
			st.Successes = append(st.Successes, detail)
			stored = append(stored, store.ObjectRef{ID: real.ID, Version: real.Version})
		}
		if err := coll.Put(keyLastAdded, binary.BigEndian.AppendUint64(nil, uint64(last))); err != nil {
			return err
		}
		if err := act.apply(coll); err != nil {
			return err
		}
		if changed {
			// Only if this transaction commits (a failed group commit runs
			// fn again in another), and only once it has.
			tx.OnCommit(func() { db.feed.Notify(s.Collection, last) })
		}
		st.SuccessCount = len(st.Successes)
		if len(st.Successes) == 0 {
			st.Successes = nil
		}
		if ev := s.AuditEvent(st, stored); ev != nil {
			if err := appendAudit(tx, ev); err != nil {
				return err
			}
		}
		return putStatus(tx, &store.StatusRecord{APIRoot: s.APIRoot, Collection: s.Collection, Account: s.Account, Status: *st}, s.Received)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// addOne stores one object version unless it is a duplicate, advancing
// *last when it hands out a date_added. It returns the status detail to
// report, the detail of the version as stored, and whether it stored one;
// the details differ only for a duplicate when blind (Submission.Blind),
// whose report must not tell the stored version while the audit row must.
func addOne(versions, objects *bbolt.Bucket, o *store.Object, last *int64, now int64, blind bool) (report, stored store.StatusDetail, added bool, err error) {
	h := &o.Header
	specVersion := h.SpecVersion
	if specVersion == "" {
		specVersion = "2.1" // an SCO without spec_version is 2.1 (§3.2)
	}
	vt, versioned := h.Version()
	var present []byte // date_added key of the version already present
	if versioned {
		present = versions.Get(versionsKey(h.ID, versionKey(vt)))
	} else {
		// Unversioned: any stored version of this id is the same object.
		c := versions.Cursor()
		prefix := idPrefix(h.ID)
		if k, da := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
			present = da
		}
	}
	if present != nil {
		dup, err := duplicateDetail(h, objects, present, o.Raw)
		if err != nil || !blind {
			return dup, dup, false, err
		}
		stored = store.StatusDetail{ID: dup.ID, Version: dup.Version}
	}

	dateAdded := now
	if dateAdded <= *last {
		dateAdded = *last + 1
	}
	*last = dateAdded
	if present != nil {
		// Blind: answer as for a new version, store nothing.
		if versioned {
			return store.DetailFor(h, ""), stored, false, nil
		}
		return store.StatusDetail{ID: h.ID, Version: microsToTime(dateAdded).Format(store.TimestampLayout)}, stored, false, nil
	}

	rec := record{id: []byte(h.ID), dateAdded: dateAdded, specVersion: specVersion, raw: o.Raw}
	if versioned {
		rec.vkey = versionKey(vt)
		rec.version = store.DetailFor(h, "").Version
	} else {
		t := microsToTime(dateAdded)
		rec.vkey = versionKey(t)
		rec.version = t.Format(store.TimestampLayout)
	}
	da := addedKey(dateAdded)
	if err := objects.Put(da, rec.encode()); err != nil {
		return report, stored, false, err
	}
	if err := versions.Put(versionsKey(h.ID, rec.vkey), da); err != nil {
		return report, stored, false, err
	}
	report = store.StatusDetail{ID: h.ID, Version: rec.version}
	return report, report, true, nil
}

// duplicateDetail reports a version already stored under date_added da.
func duplicateDetail(h *stix.Header, objects *bbolt.Bucket, da, raw []byte) (store.StatusDetail, error) {
	v := objects.Get(da)
	if v == nil || len(da) != 8 {
		return store.StatusDetail{}, fmt.Errorf("store: version of %s without its object", h.ID)
	}
	r, err := decodeRecord(int64(binary.BigEndian.Uint64(da)), v, true)
	if err != nil {
		return store.StatusDetail{}, err
	}
	msg := "already present"
	if !bytes.Equal(r.raw, raw) {
		msg = "version already present; content not replaced"
	}
	return store.StatusDetail{ID: h.ID, Version: r.version, Message: msg}, nil
}
