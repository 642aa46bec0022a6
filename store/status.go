package store

import "github.com/eitaxii/eitaxii/stix"

// Status is the TAXII status resource of one Add Objects request (§4.3.1).
// Its JSON form is the TAXII one; empty lists are omitted (REQ-29).
type Status struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings,omitempty"`
}

// StatusDetail reports one object of an Add Objects request.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// StatusRecord is a status with what it belongs to.
type StatusRecord struct {
	APIRoot    string `json:"api_root"`
	Collection string `json:"collection"`
	// Account published the request ("" for statuses written before it
	// was recorded).
	Account string `json:"account,omitempty"`
	Status  Status `json:"status"`
}

// DetailFor returns the status detail naming the object h: its id and its
// version (modified, else created, as sent; REQ-46).
func DetailFor(h *stix.Header, message string) StatusDetail {
	v := h.Modified
	if v == "" {
		v = h.Created
	}
	return StatusDetail{ID: h.ID, Version: v, Message: message}
}
