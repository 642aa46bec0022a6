package bolt

import (
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/google/uuid"
)

// stixMillisLayout is how most STIX producers write modified and created;
// a version sent exactly so is stored without its text (see record).
const stixMillisLayout = "2006-01-02T15:04:05.000Z"

// vkeySize is the size of a version key: the version instant as 8 bytes of
// seconds (sign bit flipped, so keys sort as time across the epoch) and 4
// bytes of nanoseconds, big-endian.
const vkeySize = 12

func versionKey(t time.Time) [vkeySize]byte {
	var k [vkeySize]byte
	binary.BigEndian.PutUint64(k[:8], uint64(t.Unix())^1<<63)
	binary.BigEndian.PutUint32(k[8:], uint32(t.Nanosecond()))
	return k
}

func versionKeyTime(k []byte) time.Time {
	return time.Unix(int64(binary.BigEndian.Uint64(k[:8])^1<<63), int64(binary.BigEndian.Uint32(k[8:]))).UTC()
}

// versionsKey is the key of one version in c/<coll>/versions/: the id's
// prefix (idPrefix), then the version key.
func versionsKey(id string, vkey [vkeySize]byte) []byte {
	return append(idPrefix(id), vkey[:]...)
}

// idPrefix is the key prefix shared by every version of id: the type, 0x00
// (never in a type), and the UUID's 16 bytes. Half the size of the id's
// text, which matters in an index with one entry per version. An id that
// is not <type>--<uuid> gets a prefix that no stored id has (0x01 cannot
// follow a type).
func idPrefix(id string) []byte {
	typ, u, ok := strings.Cut(id, "--")
	k := make([]byte, 0, len(typ)+1+16+vkeySize)
	k = append(k, typ...)
	if parsed, err := uuid.Parse(u); ok && err == nil && len(u) == 36 {
		k = append(k, 0)
		return append(k, parsed[:]...)
	}
	k = append(k, 1)
	return append(k, id...)
}

// splitVersionsKey splits a versions key into id and version key.
func splitVersionsKey(k []byte) (id, vkey []byte) {
	if len(k) < vkeySize+1 {
		return k, nil
	}
	return k[:len(k)-vkeySize-1], k[len(k)-vkeySize:]
}

func addedKey(dateAdded int64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(dateAdded))
	return k[:]
}

// Forms of the version text in a record.
const (
	versionMillis   = 0 // the version instant in stixMillisLayout
	versionAssigned = 1 // the date_added in TimestampLayout (unversioned SCOs)
	versionText     = 2 // the text follows
)

// record is one stored object version, the value of c/<coll>/objects/
// under its date_added. Encoded as
//
//	uvarint len(id) | id | version key (12) | len(spec_version) (1) |
//	spec_version | version form (1) | [uvarint len | version text] | raw
//
// version is the string reported to clients (the object's modified or
// created as sent, or the server-assigned date_added for unversioned SCOs);
// it is kept as text only when it cannot be rebuilt from the version key.
type record struct {
	id          []byte // aliases the stored value after decodeRecord
	vkey        [vkeySize]byte
	specVersion string
	version     string
	dateAdded   int64 // the record's key, not encoded in it
	raw         []byte
}

func (r *record) encode() []byte {
	form := versionText
	vt := versionKeyTime(r.vkey[:])
	switch r.version {
	case vt.Format(stixMillisLayout):
		form = versionMillis
	case microsToTime(r.dateAdded).Format(store.TimestampLayout):
		form = versionAssigned
	}
	b := make([]byte, 0, binary.MaxVarintLen32+len(r.id)+vkeySize+2+len(r.specVersion)+binary.MaxVarintLen32+len(r.version)+len(r.raw))
	b = binary.AppendUvarint(b, uint64(len(r.id)))
	b = append(b, r.id...)
	b = append(b, r.vkey[:]...)
	b = append(b, byte(len(r.specVersion)))
	b = append(b, r.specVersion...)
	b = append(b, byte(form))
	if form == versionText {
		b = binary.AppendUvarint(b, uint64(len(r.version)))
		b = append(b, r.version...)
	}
	return append(b, r.raw...)
}

var errCorruptRecord = errors.New("store: corrupt object record")

// decodeRecord parses the record stored under date_added. The returned raw
// aliases v: copy it before the transaction ends. With withVersion false
// the version text is not rebuilt (scans that filter first need not pay
// for it).
func decodeRecord(dateAdded int64, v []byte, withVersion bool) (record, error) {
	r := record{dateAdded: dateAdded}
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n+vkeySize+2 {
		return r, errCorruptRecord
	}
	v = v[w:]
	r.id, v = v[:n:n], v[n:]
	copy(r.vkey[:], v)
	v = v[vkeySize:]
	svLen := int(v[0])
	if len(v) < 1+svLen+1 {
		return r, errCorruptRecord
	}
	if sv := v[1 : 1+svLen]; string(sv) == "2.1" {
		r.specVersion = "2.1" // the usual case, without an allocation
	} else {
		r.specVersion = string(sv)
	}
	v = v[1+svLen:]
	form := v[0]
	v = v[1:]
	switch form {
	case versionMillis:
		if withVersion {
			r.version = versionKeyTime(r.vkey[:]).Format(stixMillisLayout)
		}
	case versionAssigned:
		if withVersion {
			r.version = microsToTime(dateAdded).Format(store.TimestampLayout)
		}
	case versionText:
		m, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < m {
			return r, errCorruptRecord
		}
		r.version, v = string(v[w:w+int(m)]), v[w+int(m):]
	default:
		return r, errCorruptRecord
	}
	r.raw = v
	return r, nil
}

func microsToTime(us int64) time.Time { return time.UnixMicro(us).UTC() }
