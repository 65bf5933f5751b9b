package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The contract check: every request the API tests send through a test
// server, and the server's answer, is validated against the committed
// OpenAPI description (api/openapi.json) with kin-openapi's openapi3filter.
// A response that breaks its documented schema or status, or a request
// the description forbids that the server accepted (a 2xx), fails the
// test that sent it: the description cannot drift from the code.

// contractPairs counts the request/response pairs validated, for the
// summary a verbose run prints.
var contractPairs atomic.Int64

// contractBodyLimit bounds the body a response is validated with; a
// longer one (a big export) is checked for status and headers only.
const contractBodyLimit = 4 << 20

var loadContract = sync.OnceValues(func() (routers.Router, error) {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	// The router matches requests to any host: the description's server
	// is relative.
	doc.Servers = nil
	return legacy.NewRouter(doc)
})

// withContract wraps h so that every documented request through it is
// validated, with its response, reporting mismatches on t.
func withContract(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	router, err := loadContract()
	if err != nil {
		t.Fatalf("load api/openapi.json: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, params, err := router.FindRoute(r)
		if err != nil {
			// Not a documented operation: the docs' files, an unknown
			// route or method (their 404 and 405 are tested as such).
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		tee := &teeWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(tee, r)

		check := r.Clone(context.WithoutCancel(r.Context()))
		check.Body = io.NopCloser(bytes.NewReader(body))
		if problem := validatePair(check, route, params, tee); problem != "" {
			t.Errorf("contract: %s %s → %d: %s", r.Method, r.URL.RequestURI(), tee.status, problem)
		}
		contractPairs.Add(1)
	})
}

// validatePair checks one request and the response it got, and says what
// does not match the description ("" when all does).
func validatePair(r *http.Request, route *routers.Route, params map[string]string, res *teeWriter) string {
	ctx := r.Context()
	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, // the tests check auth for real
		MultiError:         true,
		// IncludeResponseStatus: a status the operation does not list is a
		// mismatch, not a fall-through to "default".
		IncludeResponseStatus: true,
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && res.status < 300 {
		return fmt.Sprintf("the server accepted a request the description forbids: %v", reqErr)
	}
	// A read that tags its answer is a conditional one: its description
	// must list the 304 an If-None-Match gets (conditionalReads).
	if res.status == http.StatusOK && res.Header().Get("ETag") != "" && route.Operation.Responses.Status(http.StatusNotModified) == nil {
		return "the response carries an ETag, but the description lists no 304 for it"
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.status, Header: res.Header(), Options: opts,
	}
	if res.overflow {
		opts.ExcludeResponseBody = true
	} else {
		out.SetBodyBytes(res.body.Bytes())
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		var me openapi3.MultiError
		if errors.As(err, &me) {
			return "the response breaks the description: " + me.Error()
		}
		return "the response breaks the description: " + err.Error()
	}
	return ""
}

// teeWriter passes a response through, keeping its status and (up to
// contractBodyLimit) its body.
type teeWriter struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	overflow bool
}

func (t *teeWriter) WriteHeader(status int) {
	t.status = status
	t.ResponseWriter.WriteHeader(status)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if !t.overflow {
		if t.body.Len()+len(p) > contractBodyLimit {
			t.overflow = true
			t.body.Reset()
		} else {
			t.body.Write(p)
		}
	}
	return t.ResponseWriter.Write(p)
}

// Flush keeps streaming (the export) streaming.
func (t *teeWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// TestMain prints, in a verbose run, how many pairs the contract check
// validated.
func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		fmt.Printf("contract: %d request/response pairs validated against api/openapi.json\n", contractPairs.Load())
	}
	os.Exit(code)
}
