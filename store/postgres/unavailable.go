package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/eitaxii/eitaxii/store"
	"github.com/jackc/pgx/v5/pgconn"
)

// unavailable wraps *err with store.ErrUnavailable when it says that the
// database could not be reached or went away: no connection could be made,
// the connection broke, or the server is shutting down or starting up. The
// server answers those 503 and retries; the pool reconnects by itself. An
// error of the caller's context stays as it is: the client left, the
// database did not.
func unavailable(err *error) {
	if *err == nil || errors.Is(*err, store.ErrUnavailable) ||
		errors.Is(*err, context.Canceled) || errors.Is(*err, context.DeadlineExceeded) {
		return
	}
	if lostDatabase(*err) {
		*err = fmt.Errorf("%w: %w", store.ErrUnavailable, *err)
	}
}

// lostDatabase reports whether err is a failure to reach the database
// rather than an answer from it.
func lostDatabase(err error) bool {
	var (
		connect *pgconn.ConnectError
		pgErr   *pgconn.PgError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &pgErr):
		// Class 08 is connection exception; 57P01-57P03 are the server
		// shutting down, crashed, or not yet accepting connections.
		return len(pgErr.Code) == 5 && pgErr.Code[:2] == "08" ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	case errors.As(err, &connect), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	// A statement that never reached the server (the pool had no live
	// connection to send it on).
	return pgconn.SafeToRetry(err)
}
