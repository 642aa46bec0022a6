package store

import "time"

// MaxChanges is the most changes one ReadChanges call returns; a limit
// below 1 or above it reads MaxChanges.
const MaxChanges = 1000

// Change is one entry of a collection's change feed: a version added or a
// version deleted, at a cursor.
//
// A cursor is a position in one collection's change order, a time.Time at
// µs precision in UTC. Every change to a collection draws its cursor from
// the collection's date_added sequence (unique and strictly increasing:
// max(clock, last + 1µs)): an added version's cursor is its date_added,
// and a deletion gets a fresh value of its own for each version it
// deletes. Additions and deletions therefore interleave in one order, the
// order in which they were committed, and a version deleted and added
// again appears as its deletion, then a new addition with a new
// date_added. (An addition whose version was deleted since is no longer
// read: only its deletion is.) The zero time is the position before every
// change.
type Change struct {
	// Cursor is the change's position: the version's date_added for an
	// addition, the deletion's own value for a deletion.
	Cursor time.Time
	// Deleted is set for a deletion.
	Deleted bool
	// Record is the version added (ID, Version, SpecVersion, MediaType,
	// DateAdded equal to Cursor, and Raw, the exact bytes stored) or, for a
	// deletion, the version deleted: ID and Version only.
	Record Record
}

// ChangePage is one read of a change feed, ascending by cursor.
type ChangePage struct {
	Changes []Change
	// More is set when changes later than the last one of the page exist.
	More bool
	// Newest is the collection's high-water mark when the page was read:
	// every change with a cursor up to it is readable, and every later
	// change gets a greater cursor. It may exceed the last change's cursor
	// (a pruned deletion, a value drawn by a request that stored nothing),
	// so a reader that has read everything may move its position to
	// Newest. Zero for a collection that never changed.
	Newest time.Time
	// Gap is set when deletions after the position read from have been
	// pruned (see Store.PruneDeletions): a reader that kept state from that
	// position may have missed deletions and should read again from the
	// zero cursor. Never set when reading from the zero cursor.
	Gap bool
}
