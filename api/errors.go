package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
)

// statusClientClosed is logged and counted for a request whose client
// went away before the answer (nginx's 499).
const statusClientClosed = 499

// retryAfterSeconds is what a 503 asks clients to wait.
const retryAfterSeconds = "5"

// abortError maps an error from the store (its domain errors, see
// db/errors.go) to its problem, in one place: not found → 404, conflict →
// 409, invalid → 422, the client gone → 499 (no body), database
// unreachable or too slow → 503 with Retry-After. Anything else is a bug:
// it is logged with the request id and answered 500 without internals.
func abortError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, db.ErrNotFound):
		abortStatus(c, http.StatusNotFound, "no such resource")
	case errors.Is(err, db.ErrConflict):
		abortStatus(c, http.StatusConflict, "the resource already exists")
	case errors.Is(err, db.ErrInvalid):
		abortStatus(c, http.StatusUnprocessableEntity, "the request breaks a data rule")
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil,
		db.Unavailable(err) && errors.Is(c.Request.Context().Err(), context.Canceled):
		// The client went away (closed the connection, gave up): nobody
		// reads an answer, and it is no fault of the server's. 499, as
		// nginx logs it, keeps it out of the 5xx error budget. A statement
		// running when the client left ends as PostgreSQL's "canceled"
		// (the pool asks the server to cancel it, db.Connect), which is
		// the client's doing then, not an unavailable database.
		logger(c).InfoContext(c.Request.Context(), "client closed the request", "error", err)
		c.AbortWithStatus(statusClientClosed)
	case db.Unavailable(err):
		logger(c).WarnContext(c.Request.Context(), "database unavailable", "error", err)
		c.Header("Retry-After", retryAfterSeconds)
		abortStatus(c, http.StatusServiceUnavailable, "the database is unavailable; retry shortly")
	default:
		logger(c).ErrorContext(c.Request.Context(), "request failed", "error", err)
		abortStatus(c, http.StatusInternalServerError, "an unexpected error occurred; quote the instance id when reporting it")
	}
}
