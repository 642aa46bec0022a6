package store

import "time"

// Collection activity, for the console's home page: what a collection
// holds and how fast it grows, read from counters each backend keeps in
// the transactions that change the collection, never by counting its
// objects.

// ActivityWindow is how far back, before the newest hour a collection had
// an addition, a backend keeps its hour counts: a write drops the counts of
// older hours. CollectionActivity cannot report hours beyond it.
const ActivityWindow = 48 * time.Hour

// Activity summarizes a collection: how many object versions it holds now,
// its newest date_added, and how many versions were added in each UTC hour
// since a time.
type Activity struct {
	Versions int64
	// Newest is the date_added of the newest version the collection holds;
	// zero when it holds none (a deleted newest version is not reported,
	// so that Newest always names a version a reader can find).
	Newest time.Time
	// Hours are ascending by Hour; only hours with Added > 0 and Hour >=
	// since truncated to the hour, within ActivityWindow of the newest
	// hour with an addition.
	Hours []HourCount
}

// HourCount is how many versions were added to a collection in one UTC
// hour, by the hour of their date_added. Additions only: a version deleted
// later still counts in the hour it was added. (A store migrated from a
// build without these counts, and the destination of Copy, count the
// versions present at the time, which lacks those deleted before.)
type HourCount struct {
	Hour  time.Time // the hour's start, UTC
	Added int64
}

// HourMicros is an hour in µs, the unit backends key hour counts by.
const HourMicros = int64(time.Hour / time.Microsecond)

// HourOf returns the start of the hour of us (µs since the Unix epoch), in
// µs.
func HourOf(us int64) int64 {
	h := us - us%HourMicros
	if us < 0 && us%HourMicros != 0 {
		h -= HourMicros // floor, not towards zero
	}
	return h
}
