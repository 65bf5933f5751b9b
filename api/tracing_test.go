package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

// TestRequestSpanParentsQuerySpans records spans in memory: a request
// gets a server span named by its route template, and each query it makes
// is a child span of it.
func TestRequestSpanParentsQuerySpans(t *testing.T) {
	t.Parallel()
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := db.Connect(ctx, dbtest.NewURL(t), db.PoolOptions{MaxConns: 4, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := newServerOpts(t, pool, func(o *api.Options) { o.TracerProvider = tp })

	if r := s.get(t, "/v1/addresses"); r.status != http.StatusOK {
		t.Fatalf("GET /v1/addresses = %d %s", r.status, r.body)
	}
	var request trace.SpanContext
	for _, sp := range recorder.Ended() {
		if sp.Name() == "GET /v1/addresses" && sp.SpanKind() == trace.SpanKindServer {
			request = sp.SpanContext()
		}
	}
	if !request.IsValid() {
		t.Fatalf("no server span named by the route among %d spans", len(recorder.Ended()))
	}
	var queries []string
	for _, sp := range recorder.Ended() {
		if sp.Parent().SpanID() == request.SpanID() && sp.SpanContext().TraceID() == request.TraceID() {
			queries = append(queries, sp.Name())
		}
	}
	joined := strings.Join(queries, ", ")
	if !strings.Contains(joined, "UserAddressList") {
		t.Fatalf("the request span's children are [%s], want the UserAddressList query among them", joined)
	}
}
