package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

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
	case db.Unavailable(err):
		logger(c).WarnContext(c.Request.Context(), "database unavailable", "error", err)
		c.Header("Retry-After", retryAfterSeconds)
		abortStatus(c, http.StatusServiceUnavailable, "the database is unavailable; retry shortly")
	default:
		logger(c).ErrorContext(c.Request.Context(), "request failed", "error", err)
		abortStatus(c, http.StatusInternalServerError, "an unexpected error occurred; quote the instance id when reporting it")
	}
}
