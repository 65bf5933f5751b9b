package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// readyTimeout bounds the readiness checks so /readyz answers promptly
// while the database is down.
const readyTimeout = 2 * time.Second

// Health is the body of /healthz and /readyz.
type Health struct {
	// Status is "ok", or "unavailable" when not ready.
	Status string `json:"status" example:"ok" enums:"ok,unavailable"`
	// Checks names each readiness check and its outcome.
	Checks map[string]string `json:"checks,omitempty"`
}

// healthz answers 200 while the process runs.
//
//	@Summary	Liveness
//	@ID			healthz
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	Health
//	@Router		/healthz [get]
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, Health{Status: "ok"})
}

// readyz answers 200 when the database answers and its schema matches this
// binary's migrations, 503 otherwise.
//
//	@Summary	Readiness
//	@ID			readyz
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	Health
//	@Failure	503	{object}	Health
//	@Router		/readyz [get]
func (s *Server) readyz(c *gin.Context) {
	h, status := s.ready.get(c.Request.Context(), s.checkReady)
	if status != http.StatusOK {
		c.Header("Retry-After", retryAfterSeconds)
	}
	c.JSON(status, h)
}

// checkReady runs the readiness checks: a ping and the schema check.
func (s *Server) checkReady(ctx context.Context) (Health, int) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	h := Health{Status: "ok", Checks: map[string]string{"database": "ok", "migrations": "ok"}}
	status := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		h.Checks["database"] = "unreachable"
		h.Checks["migrations"] = "unknown"
		status = http.StatusServiceUnavailable
	} else if err := s.schemaCheck(ctx); err != nil {
		h.Checks["migrations"] = err.Error()
		status = http.StatusServiceUnavailable
	}
	if status != http.StatusOK {
		h.Status = "unavailable"
	}
	return h, status
}

// readyFor is how long a readiness answer is reused: /readyz is public and
// unauthenticated, so a flood of it must not take the pool from the API.
const readyFor = time.Second

// readyCache keeps the last readiness answer for readyFor. Requests that
// arrive while a check runs wait for it rather than start their own.
type readyCache struct {
	mu     sync.Mutex
	at     time.Time
	health Health
	status int
}

func (r *readyCache) get(ctx context.Context, check func(context.Context) (Health, int)) (Health, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 || time.Since(r.at) >= readyFor {
		// The check outlives one caller giving up: others wait for it.
		r.health, r.status = check(context.WithoutCancel(ctx))
		r.at = time.Now()
	}
	return r.health, r.status
}
