package access_test

import (
	"testing"

	"github.com/eitaxii/eitaxii/access"
)

// Ensure that a collection's role thresholds decide who reads, writes and
// sees it, with reader and publisher as the defaults (REQ-51, INT-11).
func TestCanReadCanWrite(t *testing.T) {
	for _, tt := range []struct {
		readRole, writeRole access.Role
		role                access.Role
		read, write         bool
	}{
		{"", "", access.RoleReader, true, false},
		{"", "", access.RolePublisher, true, true},
		{"", "", access.RoleAdmin, true, true},
		{"", "", "", false, false},
		{"", "", "owner", false, false},
		// A submissions collection: members write, only admins read.
		{access.RoleAdmin, access.RoleReader, access.RoleReader, false, true},
		{access.RoleAdmin, access.RoleReader, access.RoleAdmin, true, true},
		{access.RolePublisher, access.RoleAdmin, access.RolePublisher, true, false},
		// An unknown threshold ranks 0: any valid role passes it.
		{"bogus", "bogus", access.RoleReader, true, true},
	} {
		if got := access.CanRead(tt.readRole, tt.role); got != tt.read {
			t.Errorf("CanRead(%q, %q) = %v, want %v", tt.readRole, tt.role, got, tt.read)
		}
		if got := access.CanWrite(tt.writeRole, tt.role); got != tt.write {
			t.Errorf("CanWrite(%q, %q) = %v, want %v", tt.writeRole, tt.role, got, tt.write)
		}
		if got := access.CanSee(tt.readRole, tt.writeRole, tt.role); got != (tt.read || tt.write) {
			t.Errorf("CanSee(%q, %q, %q) = %v", tt.readRole, tt.writeRole, tt.role, got)
		}
	}
}

// Ensure that roles rank reader < publisher < admin, and nothing else is
// a role.
func TestRole_Rank(t *testing.T) {
	if !(access.RoleReader.Rank() < access.RolePublisher.Rank() && access.RolePublisher.Rank() < access.RoleAdmin.Rank()) {
		t.Fatal("roles out of order")
	}
	for _, r := range []access.Role{"", "Reader", "owner"} {
		if r.Valid() || r.Rank() != 0 {
			t.Errorf("%q: valid %v rank %d", r, r.Valid(), r.Rank())
		}
	}
}

// REQ-26: a status is its publisher's, and readable collection members';
// to anyone else it does not exist.
func TestMaySeeStatus(t *testing.T) {
	for _, tc := range []struct {
		name              string
		caller, publisher string
		gone              bool
		readRole, role    access.Role
		want              bool
	}{
		{"publisher", "alice", "alice", false, access.RoleAdmin, access.RoleReader, true},
		{"publisher of a deleted collection", "alice", "alice", true, "", access.RoleReader, true},
		{"reader of the collection", "bob", "alice", false, "", access.RoleReader, true},
		{"member below the read role", "bob", "alice", false, access.RoleAdmin, access.RolePublisher, false},
		{"collection deleted", "bob", "alice", true, "", access.RoleAdmin, false},
		{"not a member", "bob", "alice", false, "", "", false},
	} {
		if got := access.MaySeeStatus(tc.caller, tc.publisher, tc.gone, tc.readRole, tc.role); got != tc.want {
			t.Errorf("%s: MaySeeStatus = %v, want %v", tc.name, got, tc.want)
		}
	}
}
