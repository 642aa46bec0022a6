// Package access is eitaxii's trust model, pure: roles and the permission
// decisions made with them, the validation rules that the configuration
// file, bootstrap and the admin API share, the API token format, and the
// publishing policy applied to objects. It knows neither storage nor HTTP:
// its functions take plain values and return decisions and errors, which
// the store persists and the HTTP layer maps to responses.
package access

// Role is an account's role in a sharing group.
type Role string

// Roles, from least to most privileged.
const (
	RoleReader    Role = "reader"    // reads the group's collections
	RolePublisher Role = "publisher" // reads and publishes
	RoleAdmin     Role = "admin"     // publishes, and manages the group
)

// Roles lists the roles, from least to most privileged.
func Roles() []Role { return []Role{RoleReader, RolePublisher, RoleAdmin} }

// Rank orders roles; an unknown role ranks 0, below reader.
func (r Role) Rank() int {
	switch r {
	case RoleReader:
		return 1
	case RolePublisher:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.Rank() > 0 }

// CanRead reports whether a member with role may read a collection whose
// least reading role is readRole ("" means reader) (REQ-51, INT-11).
func CanRead(readRole, role Role) bool {
	if readRole == "" {
		readRole = RoleReader
	}
	return role.Valid() && role.Rank() >= readRole.Rank()
}

// CanWrite reports whether a member with role may publish to a collection
// whose least writing role is writeRole ("" means publisher).
func CanWrite(writeRole, role Role) bool {
	if writeRole == "" {
		writeRole = RolePublisher
	}
	return role.Valid() && role.Rank() >= writeRole.Rank()
}

// CanSee reports whether a collection exists for a member with role: one
// it may neither read nor write is hidden, as if it did not exist (REQ-26).
func CanSee(readRole, writeRole, role Role) bool {
	return CanRead(readRole, role) || CanWrite(writeRole, role)
}

// MaySeeStatus reports whether caller may see the status of a request that
// publisher sent to a collection whose least reading role is readRole: a
// status names objects and failure reasons, so only its publisher and
// those who may read the collection see it (to anyone else it does not
// exist). collectionGone is set when the collection was deleted since.
func MaySeeStatus(caller, publisher string, collectionGone bool, readRole, role Role) bool {
	return caller == publisher || (!collectionGone && CanRead(readRole, role))
}
