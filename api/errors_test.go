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
)

// A query cancelled because the client went away is not a server error:
// 499, never a 500 that would burn the error budget. A cancellation the
// client did not cause stays a 500.
func TestClientGoneIs499(t *testing.T) {
	for _, c := range []struct {
		name       string
		clientGone bool
		want       int
	}{{"client gone", true, statusClientClosed}, {"cancelled otherwise", false, http.StatusInternalServerError}} {
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
			abortError(gc, fmt.Errorf("read history: %w", context.Canceled))
			if got := gc.Writer.Status(); got != c.want {
				t.Fatalf("status %d, want %d", got, c.want)
			}
		})
	}
}
