package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceRequests starts a server span per request, named by method and
// route template and continuing the caller's trace (W3C traceparent).
// Queries made with the request's context become its children. (otelgin
// does the same; it is not available from this module proxy.)
func traceRequests(tp trace.TracerProvider) gin.HandlerFunc {
	tracer := tp.Tracer("github.com/cointracker/cointracker/api")
	return func(c *gin.Context) {
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		ctx := otel.GetTextMapPropagator().Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
		method := methodLabel(c.Request.Method)
		ctx, span := tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", method),
				attribute.String("http.route", route)))
		defer span.End()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		if id := c.GetInt64(userIDKey); id != 0 {
			span.SetAttributes(attribute.Int64("enduser.id", id))
		}
	}
}
