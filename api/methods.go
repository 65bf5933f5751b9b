package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// otherMethod stands for every method outside knownMethods in metric
// labels, log fields and span names: Go's server accepts any token as a
// method, and a label taken from client input verbatim would let anyone
// create series without end.
const otherMethod = "OTHER"

// knownMethods are HTTP's registered methods (RFC 9110 §9, PATCH from
// RFC 5789): a fixed set.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodConnect: true, http.MethodOptions: true,
	http.MethodTrace: true,
}

// methodLabel is the request's method as metrics, logs and traces record
// it: one of knownMethods, or OTHER.
func methodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return otherMethod
}

// rejectUnknownMethods answers 501 to a method outside knownMethods
// before any other work (RFC 9110 §15.6.2: a method the server does not
// recognise), without echoing the method back.
func rejectUnknownMethods() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !knownMethods[c.Request.Method] {
			abortStatus(c, http.StatusNotImplemented, "the request method is not one this API implements")
		}
	}
}
