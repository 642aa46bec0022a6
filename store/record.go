package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// MediaTypeSTIX21 is the media type of every object version stored.
const MediaTypeSTIX21 = "application/stix+json;version=2.1"

// versionKeyLayout renders a version instant as a fixed-width UTC string so
// that keys sort as time (RFC3339Nano is not fixed-width).
const versionKeyLayout = "2006-01-02T15:04:05.000000000Z"

// TimestampLayout is the TAXII timestamp format (µs, UTC), used for
// date_added and for versions the server assigns (conformance REQ-27).
const TimestampLayout = "2006-01-02T15:04:05.000000Z"

func versionKey(t time.Time) string { return t.UTC().Format(versionKeyLayout) }

// versionsKey is the key of one version in c/<coll>/versions/.
func versionsKey(id, vkey string) []byte {
	k := make([]byte, 0, len(id)+1+len(vkey))
	k = append(k, id...)
	k = append(k, 0)
	return append(k, vkey...)
}

// idPrefix is the key prefix shared by every version of id.
func idPrefix(id string) []byte {
	k := make([]byte, 0, len(id)+1)
	k = append(k, id...)
	return append(k, 0)
}

// splitVersionsKey splits a versions key into id and version key.
func splitVersionsKey(k []byte) (id, vkey []byte) {
	for i, c := range k {
		if c == 0 {
			return k[:i], k[i+1:]
		}
	}
	return k, nil
}

func addedKey(dateAdded int64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(dateAdded))
	return k[:]
}

// record is one stored object version. Encoded as
//
//	date_added µs (8, big-endian) | len(spec_version) (1) | spec_version |
//	len(version) (2, big-endian) | version | raw object
//
// version is the string reported to clients (the object's modified or
// created as sent, or the server-assigned date_added for unversioned SCOs).
type record struct {
	dateAdded   int64
	specVersion string
	version     string
	raw         []byte
}

func (r *record) encode() []byte {
	b := make([]byte, 0, 8+1+len(r.specVersion)+2+len(r.version)+len(r.raw))
	b = binary.BigEndian.AppendUint64(b, uint64(r.dateAdded))
	b = append(b, byte(len(r.specVersion)))
	b = append(b, r.specVersion...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.version)))
	b = append(b, r.version...)
	return append(b, r.raw...)
}

var errCorruptRecord = errors.New("store: corrupt object record")

// decodeRecord parses v. The returned raw aliases v: copy it before the
// transaction ends.
func decodeRecord(v []byte) (record, error) {
	var r record
	if len(v) < 11 {
		return r, errCorruptRecord
	}
	r.dateAdded = int64(binary.BigEndian.Uint64(v))
	n := int(v[8])
	if len(v) < 9+n+2 {
		return r, errCorruptRecord
	}
	r.specVersion = string(v[9 : 9+n])
	rest := v[9+n:]
	m := int(binary.BigEndian.Uint16(rest))
	if len(rest) < 2+m {
		return r, errCorruptRecord
	}
	r.version = string(rest[2 : 2+m])
	r.raw = rest[2+m:]
	return r, nil
}

func microsToTime(us int64) time.Time { return time.UnixMicro(us).UTC() }
