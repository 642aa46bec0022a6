package store

import "time"

// AuditEvent is one row of the append-only audit log: who did what, to
// which collection, when.
type AuditEvent struct {
	Time time.Time `json:"time"`
	// Action is "publish", "read" (objects, manifest, object, versions:
	// see Detail), "delete", "auth.refused", "ratelimit", or
	// "admin.<resource>.<verb>".
	Action       string      `json:"action"`
	Account      string      `json:"account,omitempty"`
	Organization string      `json:"organization,omitempty"`
	Group        string      `json:"group,omitempty"`
	Collection   string      `json:"collection,omitempty"`
	StatusID     string      `json:"status_id,omitempty"`
	Objects      []ObjectRef `json:"objects,omitempty"`
	// Count is the number of objects read, stored or deleted; for
	// auth.refused, the number of refusals from RemoteAddr naming Account
	// that the row stands for (they are written at most once a minute per
	// address and account: the first at once, the rest in one row a
	// minute or more later, with the time and request of the latest).
	Count          int    `json:"count,omitempty"`
	DateAddedFirst string `json:"date_added_first,omitempty"`
	DateAddedLast  string `json:"date_added_last,omitempty"`
	// Target names what an admin change changed ("account alice").
	Target     string `json:"target,omitempty"`
	Detail     string `json:"detail,omitempty"`
	RemoteAddr string `json:"remote_addr,omitempty"`
}

// ObjectRef names one object version.
type ObjectRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// AuditQuery selects audit events; zero fields do not filter.
type AuditQuery struct {
	Since, Until time.Time // Since inclusive, Until exclusive
	Account      string
	Collection   string
	Group        string // the group the event concerns
	Action       string // exact, or a prefix ending in "." ("admin.")
	Limit        int    // at most this many, oldest first; 0 means 10,000
	// Newest selects the newest Limit events instead of the oldest, and
	// returns them newest first.
	Newest bool
}
