package store

import (
	"time"

	"github.com/eitaxii/eitaxii/stix"
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
	// completed with the status id, the stored objects and their count
	// (AuditEvent).
	Audit *AuditEvent
}

// NewStatus returns the status id of s as a backend starts it: complete
// (REQ-72), with the request's time and the objects refused before
// storage counted in the totals. The backend adds the successes and sets
// SuccessCount.
func (s *Submission) NewStatus(id string) *Status {
	return &Status{
		ID:               id,
		Status:           "complete",
		RequestTimestamp: s.Received.UTC().Format(TimestampLayout),
		TotalCount:       len(s.Objects) + len(s.Failures) + s.Unlisted,
		Failures:         s.Failures,
		FailureCount:     len(s.Failures) + s.Unlisted,
	}
}

// AuditEvent returns s.Audit completed for the request whose status is
// st, as a backend appends it: the request's time, the status id, and the
// versions stored with their count. It returns nil when s has no audit
// row.
func (s *Submission) AuditEvent(st *Status, stored []ObjectRef) *AuditEvent {
	if s.Audit == nil {
		return nil
	}
	ev := *s.Audit
	ev.Time, ev.StatusID, ev.Count = s.Received, st.ID, st.SuccessCount
	ev.Objects = stored
	return &ev
}

// Query is one paged read: the filters, the page size and the next token of
// the previous page ("" for the first page).
type Query struct {
	Filter Filter
	// Limit is the page size; the caller clamps it to the server's cap.
	Limit int
	// MaxBytes caps the bytes a page holds, as counted by the record sizes
	// (see Page); 0 means no cap. A page always holds at least one record,
	// however large, so paging always makes progress. A page cut by the cap
	// has More and a Next that continues right after its last record, like
	// one cut by Limit (REQ-96, REQ-97).
	MaxBytes int
	Next     string
}

// Record is one object version as read from a collection.
type Record struct {
	ID          string
	Version     string // modified, else created, else the server-assigned version
	SpecVersion string
	MediaType   string
	DateAdded   time.Time
	// Raw is the object as stored; nil for manifest reads. The caller owns it.
	Raw []byte
}

// Page is one page of records, ascending by date_added (REQ-63, REQ-102).
// When More is true, Next is a non-empty token for the following page
// (INT-06).
//
// Against Query.MaxBytes a record counts its object's bytes (Raw) on the
// object endpoints; on the manifest and versions endpoints, which hold no
// object bytes, it counts its text fields (id, version, spec_version, media
// type and a date_added), so the cap bounds the memory a page holds rather
// than the size of the objects a manifest describes.
type Page struct {
	Records []Record
	More    bool
	Next    string
}

// Filter selects object versions (TAXII §3.4). A nil list or zero value
// means "not given"; values within one list are OR'ed, fields are AND'ed
// (REQ-88).
type Filter struct {
	// AddedAfter keeps versions whose date_added is strictly later
	// (REQ-87); zero means no bound.
	AddedAfter   time.Time
	IDs          []string
	Types        []string
	SpecVersions []string
	Versions     VersionSet
}

// VersionSet is match[version]: a union of first, last, all and instants.
// The zero value means "not given"; each endpoint applies its own default.
type VersionSet struct {
	All   bool
	First bool
	Last  bool
	At    []time.Time
}

// IsZero reports whether no version selector was given.
func (v VersionSet) IsZero() bool { return !v.All && !v.First && !v.Last && len(v.At) == 0 }

// MediaTypeSTIX21 is the media type of every object version stored.
const MediaTypeSTIX21 = "application/stix+json;version=2.1"

// TimestampLayout is the TAXII timestamp format (µs, UTC), used for
// date_added and for versions the server assigns (conformance REQ-27).
const TimestampLayout = "2006-01-02T15:04:05.000000Z"
