package api

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
)

// queryParams reads a request's query string strictly: unknown and repeated
// parameters are errors, and every problem found is collected so one 400
// can name them all.
type queryParams struct {
	values url.Values
	errs   []FieldError
}

// parseQuery parses a raw query string and checks that it is well formed
// and that only the allowed parameters appear, once each.
func parseQuery(rawQuery string, allowed ...string) *queryParams {
	values, err := url.ParseQuery(rawQuery)
	q := &queryParams{values: values}
	if err != nil {
		q.fail("query", "is not a well-formed query string: "+err.Error())
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case !slices.Contains(allowed, k):
			q.fail(k, "unknown query parameter")
		case len(values[k]) > 1:
			q.fail(k, "given more than once")
		}
	}
	return q
}

func (q *queryParams) fail(field, msg string) {
	q.errs = append(q.errs, FieldError{Field: field, Message: msg})
}

// String returns the parameter's value, or def when absent.
func (q *queryParams) String(name, def string) string {
	if v, ok := q.values[name]; ok {
		return v[0]
	}
	return def
}

// Int returns the parameter as an integer in [lo, hi], or def when absent.
func (q *queryParams) Int(name string, def, lo, hi int64) int64 {
	v, ok := q.values[name]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		q.fail(name, "must be an integer")
		return def
	}
	if n < lo || n > hi {
		q.fail(name, fmt.Sprintf("must be between %d and %d", lo, hi))
		return def
	}
	return n
}

// Time returns the parameter as an RFC 3339 time, or def when absent.
func (q *queryParams) Time(name string, def time.Time) time.Time {
	v, ok := q.values[name]
	if !ok {
		return def
	}
	t, err := time.Parse(time.RFC3339Nano, v[0])
	if err != nil {
		q.fail(name, "must be an RFC 3339 time, e.g. 2024-01-31T00:00:00Z")
		return def
	}
	if t.Before(db.MinTime) || t.After(db.MaxTime) {
		q.fail(name, "must be between years 1 and 9999")
		return def
	}
	return t.UTC()
}

// Errors returns the problems found so far.
func (q *queryParams) Errors() []FieldError {
	return q.errs
}

// pathID reads the {id} path parameter, a positive integer; otherwise it
// writes a 400 naming the field.
func pathID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		abortValidation(c, []FieldError{{Field: "id", Message: "must be a positive integer"}})
		return 0, false
	}
	return id, true
}

// noQuery refuses query parameters on routes that take none.
func noQuery(c *gin.Context) bool {
	q := parseQuery(c.Request.URL.RawQuery)
	if errs := q.Errors(); len(errs) > 0 {
		abortValidation(c, errs)
		return false
	}
	return true
}
