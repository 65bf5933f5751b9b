package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cointracker/cointracker/db"
)

// retryAfterSeconds is what a 503 asks clients to wait.
const retryAfterSeconds = "5"

// abortError maps an error from the store to its problem, in one place:
// not found → 404, conflict → 409, invalid → 422, database unreachable or
// too slow → 503 with Retry-After. Anything else is a bug: it is logged
// with the request id and answered 500 without internals.
func abortError(c *gin.Context, err error) {
	err = db.MapError(err)
	switch {
	case errors.Is(err, db.ErrNotFound):
		abortStatus(c, http.StatusNotFound, "no such resource")
	case errors.Is(err, db.ErrConflict):
		abortStatus(c, http.StatusConflict, "the resource already exists")
	case errors.Is(err, db.ErrInvalid):
		abortStatus(c, http.StatusUnprocessableEntity, "the request breaks a data rule")
	case isUnavailable(err):
		logger(c).WarnContext(c.Request.Context(), "database unavailable", "error", err)
		c.Header("Retry-After", retryAfterSeconds)
		abortStatus(c, http.StatusServiceUnavailable, "the database is unavailable; retry shortly")
	default:
		logger(c).ErrorContext(c.Request.Context(), "request failed", "error", err)
		abortStatus(c, http.StatusInternalServerError, "an unexpected error occurred; quote the instance id when reporting it")
	}
}

// isUnavailable reports whether err means the database could not be
// reached or did not answer in time, rather than that the query was wrong.
func isUnavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) {
		return true
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code[:2] == "08", // connection exception
			pgErr.Code == "57P01", // admin shutdown
			pgErr.Code == "57P02", // crash shutdown
			pgErr.Code == "57P03", // cannot connect now
			pgErr.Code == "53300", // too many connections
			pgErr.Code == "57014": // statement timeout
			return true
		}
	}
	return false
}
