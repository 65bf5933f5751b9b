package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// problemContentType is the media type of every error body (RFC 9457).
const problemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details body.
type Problem struct {
	// Type is a URI naming the kind of problem.
	Type string `json:"type" example:"https://cointracker.dev/problems/validation"`
	// Title is a short, fixed summary of the kind of problem.
	Title string `json:"title" example:"Invalid request"`
	// Status repeats the HTTP status code.
	Status int `json:"status" example:"400"`
	// Detail explains this occurrence.
	Detail string `json:"detail" example:"limit: must be between 1 and 500"`
	// Instance is the request id, to quote when asking for help.
	Instance string `json:"instance,omitempty" example:"req_5f2b7c1e9a"`
	// Errors lists per-field problems for validation failures.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names one invalid input and why it is invalid.
type FieldError struct {
	// Field is the query parameter, JSON field or path parameter.
	Field string `json:"field" example:"limit"`
	// Message says what is wrong with it.
	Message string `json:"message" example:"must be between 1 and 500"`
	// Code classifies the problem where clients may act on it, e.g.
	// bad_checksum or wrong_network for addresses.
	Code string `json:"code,omitempty" example:"bad_checksum"`
}

// problemTypeBase prefixes every problem type URI.
const problemTypeBase = "https://cointracker.dev/problems/"

// problemTypes maps statuses to the type slug and title clients see.
var problemTypes = map[int][2]string{
	http.StatusBadRequest:            {"bad-request", "Bad request"},
	http.StatusUnauthorized:          {"unauthorized", "Unauthorized"},
	http.StatusForbidden:             {"quota-exceeded", "Quota exceeded"},
	http.StatusNotFound:              {"not-found", "Not found"},
	http.StatusMethodNotAllowed:      {"method-not-allowed", "Method not allowed"},
	http.StatusConflict:              {"conflict", "Conflict"},
	http.StatusGone:                  {"gone", "Gone"},
	http.StatusRequestEntityTooLarge: {"too-large", "Request body too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "Unsupported media type"},
	http.StatusUnprocessableEntity:   {"unprocessable", "Unprocessable entity"},
	http.StatusTooManyRequests:       {"rate-limited", "Too many requests"},
	http.StatusInternalServerError:   {"internal", "Internal server error"},
	http.StatusServiceUnavailable:    {"unavailable", "Service unavailable"},
	http.StatusNotImplemented:        {"not-implemented", "Not implemented"},
}

// newProblem builds the problem for a status with a detail message.
func newProblem(status int, detail string) Problem {
	kind, ok := problemTypes[status]
	if !ok {
		kind = [2]string{"error", http.StatusText(status)}
	}
	return Problem{
		Type:   problemTypeBase + kind[0],
		Title:  kind[1],
		Status: status,
		Detail: detail,
	}
}

// abortProblem writes p as the response and stops the handler chain.
func abortProblem(c *gin.Context, p Problem) {
	p.Instance = c.GetString(requestIDKey)
	c.Header("Content-Type", problemContentType)
	c.AbortWithStatusJSON(p.Status, p)
}

// abortStatus writes a problem for status with detail.
func abortStatus(c *gin.Context, status int, detail string) {
	abortProblem(c, newProblem(status, detail))
}

// abortValidation writes a 400 listing every invalid field.
func abortValidation(c *gin.Context, errs []FieldError) {
	p := newProblem(http.StatusBadRequest, validationDetail(errs))
	p.Type = problemTypeBase + "validation"
	p.Title = "Invalid request"
	p.Errors = errs
	abortProblem(c, p)
}

// abortUnprocessable writes a 422 for a well-formed request whose content
// is refused, naming the field and why.
func abortUnprocessable(c *gin.Context, e FieldError) {
	p := newProblem(http.StatusUnprocessableEntity, e.Field+": "+e.Message)
	p.Type = problemTypeBase + "invalid-" + e.Field
	p.Title = "Invalid " + e.Field
	p.Errors = []FieldError{e}
	abortProblem(c, p)
}

func validationDetail(errs []FieldError) string {
	if len(errs) == 1 {
		return errs[0].Field + ": " + errs[0].Message
	}
	return "several inputs are invalid: see errors"
}
