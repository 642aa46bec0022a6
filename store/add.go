package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/stix"
	bolt "go.etcd.io/bbolt"
)

// Object is one validated STIX object to store: its header and its bytes,
// stored and served verbatim.
type Object struct {
	Header stix.Header
	Raw    []byte
}

// Submission is one Add Objects request after validation.
type Submission struct {
	APIRoot    string
	Collection string
	// Account is the publisher; only it and the collection's readers may
	// see the status.
	Account string
	// Blind is set when the publisher may write to the collection but not
	// read it. Its status must not tell what the collection holds, so a
	// version already present is reported exactly as a new one would be: no
	// message, and for an unversioned object (an SCO) the version this
	// request would have given it, not the date it was first added.
	Blind bool
	// Received is when the request arrived (the status's request_timestamp).
	Received time.Time
	// Objects are the valid objects, in envelope order.
	Objects []Object
	// Failures are the objects refused before storage, one entry each, or
	// the first of them when there are too many to list.
	Failures []StatusDetail
	// Unlisted counts the objects refused before storage that Failures
	// leaves out; failure_count and total_count include them.
	Unlisted int
	// Audit, if set, is appended to the audit log in the same transaction,
	// completed with the status id, the stored objects and their count.
	Audit *AuditEvent
}

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
func (db *DB) AddObjects(ctx context.Context, s *Submission) (*Status, error) {
	st := &Status{
		ID:               db.newID().String(),
		Status:           "complete",
		RequestTimestamp: s.Received.UTC().Format(TimestampLayout),
		TotalCount:       len(s.Objects) + len(s.Failures) + s.Unlisted,
		Failures:         s.Failures,
		FailureCount:     len(s.Failures) + s.Unlisted,
	}
	err := db.commits.commit(ctx, func(tx *bolt.Tx) error {
		coll, versions, objects, err := collectionBuckets(tx, s.Collection)
		if err != nil {
			return err
		}
		// Successes are rebuilt on each run: a failed group commit runs
		// this again, and nothing may survive from the aborted attempt.
		st.Successes = st.Successes[:0]
		var stored []ObjectRef // the versions as stored, for the audit row
		last := int64(0)
		if v := coll.Get(keyLastAdded); len(v) == 8 {
			last = int64(binary.BigEndian.Uint64(v))
		}
		now := db.now().UnixMicro()
		// objects/ is keyed by date_added, which only grows: pages split
		// full, not half full (bbolt's default suits random keys).
		objects.FillPercent = 0.95
		for i := range s.Objects {
			o := &s.Objects[i]
			detail, real, err := addOne(versions, objects, o, &last, now, s.Blind)
			if err != nil {
				return err
			}
			st.Successes = append(st.Successes, detail)
			stored = append(stored, ObjectRef{ID: real.ID, Version: real.Version})
		}
		if err := coll.Put(keyLastAdded, binary.BigEndian.AppendUint64(nil, uint64(last))); err != nil {
			return err
		}
		st.SuccessCount = len(st.Successes)
		if len(st.Successes) == 0 {
			st.Successes = nil
		}
		if s.Audit != nil {
			ev := *s.Audit
			ev.Time, ev.StatusID, ev.Count = s.Received, st.ID, st.SuccessCount
			ev.Objects = stored
			if err := appendAudit(tx, &ev); err != nil {
				return err
			}
		}
		return putStatus(tx, &StatusRecord{APIRoot: s.APIRoot, Collection: s.Collection, Account: s.Account, Status: *st}, s.Received)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// addOne stores one object version unless it is a duplicate, advancing
// *last when it hands out a date_added. It returns the status detail to
// report and the detail of the version as stored; they differ only for a
// duplicate when blind (Submission.Blind), whose report must not tell the
// stored version while the audit row must.
func addOne(versions, objects *bolt.Bucket, o *Object, last *int64, now int64, blind bool) (report, stored StatusDetail, err error) {
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
			return dup, dup, err
		}
		stored = StatusDetail{ID: dup.ID, Version: dup.Version}
	}

	dateAdded := now
	if dateAdded <= *last {
		dateAdded = *last + 1
	}
	*last = dateAdded
	if present != nil {
		// Blind: answer as for a new version, store nothing.
		if versioned {
			return DetailFor(h, ""), stored, nil
		}
		return StatusDetail{ID: h.ID, Version: microsToTime(dateAdded).Format(TimestampLayout)}, stored, nil
	}

	rec := record{id: []byte(h.ID), dateAdded: dateAdded, specVersion: specVersion, raw: o.Raw}
	if versioned {
		rec.vkey = versionKey(vt)
		rec.version = DetailFor(h, "").Version
	} else {
		t := microsToTime(dateAdded)
		rec.vkey = versionKey(t)
		rec.version = t.Format(TimestampLayout)
	}
	da := addedKey(dateAdded)
	if err := objects.Put(da, rec.encode()); err != nil {
		return report, stored, err
	}
	if err := versions.Put(versionsKey(h.ID, rec.vkey), da); err != nil {
		return report, stored, err
	}
	report = StatusDetail{ID: h.ID, Version: rec.version}
	return report, report, nil
}

// duplicateDetail reports a version already stored under date_added da.
func duplicateDetail(h *stix.Header, objects *bolt.Bucket, da, raw []byte) (StatusDetail, error) {
	v := objects.Get(da)
	if v == nil || len(da) != 8 {
		return StatusDetail{}, fmt.Errorf("store: version of %s without its object", h.ID)
	}
	r, err := decodeRecord(int64(binary.BigEndian.Uint64(da)), v, true)
	if err != nil {
		return StatusDetail{}, err
	}
	msg := "already present"
	if !bytes.Equal(r.raw, raw) {
		msg = "version already present; content not replaced"
	}
	return StatusDetail{ID: h.ID, Version: r.version, Message: msg}, nil
}
