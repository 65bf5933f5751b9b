package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"
)

// A query cancelled because the client went away is not a server error:
// 499, never a 500 that would burn the error budget. A cancellation the
// client did not cause stays a 500.
func TestClientGoneIs499(t *testing.T) {
	canceled := fmt.Errorf("read history: %w", context.Canceled)
	// What a statement running when the context ended returns: the pool
	// asks PostgreSQL to cancel it (db.keepOnCancel).
	serverCanceled := fmt.Errorf("read history: %w", &pgconn.PgError{Code: "57014", Message: "canceling statement due to user request"})
	for _, c := range []struct {
		name       string
		err        error
		clientGone bool
		want       int
	}{
		{"client gone", canceled, true, statusClientClosed},
		{"cancelled otherwise", canceled, false, http.StatusInternalServerError},
		{"client gone, statement cancelled", serverCanceled, true, statusClientClosed},
		{"statement timeout", serverCanceled, false, http.StatusServiceUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if c.clientGone {
				cancel()
			} else {
				defer cancel()
			}
			gc, _ := gin.CreateTestContext(httptest.NewRecorder())
			gc.Request = httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/transactions", nil)
			gc.Set(loggerKey, slog.New(slog.NewTextHandler(io.Discard, nil)))
			abortError(gc, c.err)
			if got := gc.Writer.Status(); got != c.want {
				t.Fatalf("status %d, want %d", got, c.want)
			}
		})
	}
}
