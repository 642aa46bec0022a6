package taxii

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// Error is an error with the HTTP status and the text the client is shown.
// Handlers return it for every refusal they decide themselves; the one
// mapping in writeError turns any other error into a status.
type Error struct {
	Status      int
	Title       string
	Description string
	Err         error // cause, logged, never sent
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Title + ": " + e.Description + ": " + e.Err.Error()
	}
	return e.Title + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(status int, title, description string) *Error {
	return &Error{Status: status, Title: title, Description: description}
}

// Errors every route may answer. Their texts are generic on purpose: a
// hidden API root or collection must look exactly like a missing one
// (REQ-26).
var (
	errUnauthorized  = errorf(http.StatusUnauthorized, "Unauthorized", "valid credentials are required: HTTP Basic or an API token (Authorization: Bearer <token>)")
	errNotFound      = errorf(http.StatusNotFound, "Not Found", "no such resource")
	errNotAcceptable = errorf(http.StatusNotAcceptable, "Not Acceptable",
		"this server answers with application/taxii+json;version=2.1; the Accept header allows nothing it can send")
	errUnsupportedMedia = errorf(http.StatusUnsupportedMediaType, "Unsupported Media Type",
		"send the envelope as Content-Type: application/taxii+json;version=2.1")
	errCannotWrite = errorf(http.StatusForbidden, "Forbidden", "your account may read this collection but not write to it")
	errCannotRead  = errorf(http.StatusForbidden, "Forbidden", "your account may not read this collection")
)

// errorResource is the TAXII error resource (§3.6.1). http_status is a
// string (REQ-21).
type errorResource struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	HTTPStatus  string `json:"http_status"`
}

// writeError answers err as a TAXII error resource with the TAXII content
// type (REQ-09, REQ-20). Errors the server did not mean to show become a
// generic 500; their details go to the log only.
func (s *Server) writeError(c *gin.Context, err error) {
	te := asError(err)
	if te.Status == http.StatusServiceUnavailable && errors.Is(err, store.ErrUnavailable) {
		// The client may retry, and the store reconnects by itself.
		c.Header("Retry-After", "5")
	}
	if te.Status >= 500 {
		s.log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	}
	if te.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="eitaxii", charset="UTF-8"`)
	}
	writeJSON(c, te.Status, &errorResource{Title: te.Title, Description: te.Description, HTTPStatus: strconv.Itoa(te.Status)})
	c.Abort()
}

// asError is the one mapping of an error to the status and text a client
// is shown: an *Error as it is, the typed errors of access, store, stix and
// delivery by kind, anything else a 500 that says nothing of its cause.
func asError(err error) *Error {
	var (
		te       *Error
		refusal  access.Refusal
		field    *access.FieldError
		conflict *store.ConflictError
		cursor   *store.CursorError
	)
	switch {
	case errors.As(err, &te):
	case errors.Is(err, access.ErrHidden):
		te = errNotFound
	case errors.As(err, &refusal):
		te = forbidden("%s", refusal)
	case errors.As(err, &field):
		te = badRequest("%s", field)
	case errors.As(err, &conflict):
		// Its text names only what the client sent (never Holder).
		te = &Error{Status: http.StatusConflict, Title: "Conflict", Description: conflict.Error(), Err: err}
	case errors.Is(err, store.ErrConflict):
		te = &Error{Status: http.StatusConflict, Title: "Conflict", Description: "the change conflicts with the directory", Err: err}
	case errors.Is(err, store.ErrNotFound):
		te = errNotFound
	case errors.As(err, &cursor):
		te = &Error{Status: http.StatusBadRequest, Title: "Bad Request", Description: "next: invalid token: " + cursor.Problem, Err: err}
	case errors.Is(err, stix.ErrBadEnvelope):
		te = &Error{Status: http.StatusUnprocessableEntity, Title: "Unprocessable Entity", Description: err.Error(), Err: err}
	case errors.Is(err, delivery.ErrClosed):
		te = errStreamsEnded
	case errors.Is(err, store.ErrUnavailable):
		// The database is down or restarting.
		te = &Error{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", Description: "the store is unavailable; try again shortly", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client went away or the server is shutting down.
		te = &Error{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", Description: "the request was cancelled", Err: err}
	default:
		te = &Error{Status: http.StatusInternalServerError, Title: "Internal Server Error", Description: "the server failed to process the request; the problem has been logged", Err: err}
	}
	return te
}
