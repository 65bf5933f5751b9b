package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/logging"
)

// Context keys set by the middleware.
const (
	requestIDKey = "request_id"
	loggerKey    = "logger"
)

// maxBodyBytes caps request bodies (SPEC §4: larger ones get 413).
const maxBodyBytes = 1 << 20

// requestIDHeader carries the request id both ways.
const requestIDHeader = "X-Request-ID"

// validRequestID accepts a caller's id only when it is short and plain, so
// it cannot forge log lines.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID takes the caller's X-Request-ID when sane or makes one, puts it
// in the response header and in the request context for every log line.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		c.Set(requestIDKey, id)
		c.Header(requestIDHeader, id)
		c.Request = c.Request.WithContext(logging.WithRequestID(c.Request.Context(), id))
		c.Next()
	}
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// accessLog writes one line per request: method, route template (never
// the raw path, which may hold ids), status, duration and request id.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(loggerKey, log)
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		attrs := []slog.Attr{
			slog.String("method", methodLabel(c.Request.Method)),
			slog.String("route", route),
			slog.Int("status", c.Writer.Status()),
			slog.Duration("duration", time.Since(start)),
			slog.Int("bytes", c.Writer.Size()),
		}
		if uid, ok := c.Get(userIDKey); ok {
			attrs = append(attrs, slog.Any("user_id", uid))
		}
		level := slog.LevelInfo
		if c.Writer.Status() >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		log.LogAttrs(c.Request.Context(), level, "request", attrs...)
	}
}

// logger returns the request's logger.
func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(loggerKey); ok {
		if log, ok := l.(*slog.Logger); ok {
			return log
		}
	}
	return slog.Default()
}

// recovery turns a panic into a logged 500 problem instead of a dropped
// connection. A panic is always a bug.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				logger(c).ErrorContext(c.Request.Context(), "panic", "panic", r)
				abortStatus(c, http.StatusInternalServerError, "an unexpected error occurred; quote the instance id when reporting it")
			}
		}()
		c.Next()
	}
}

// limitBody caps the request body. Reading past the cap fails with
// *http.MaxBytesError, which the JSON binder turns into 413.
func limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBodyBytes {
			abortStatus(c, http.StatusRequestEntityTooLarge, "request bodies are limited to 1 MiB")
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes)
		c.Next()
	}
}

// bounded gives a /v1 request's database work the query timeout as a
// deadline: a database that hangs (a partition, a stalled disk) costs a
// 503 then, as a server-side statement timeout cannot when the server
// itself does not answer.
func (s *Server) bounded() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := s.bound(c.Request.Context())
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// bound is ctx with the query timeout, for one step of a long request.
func (s *Server) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return db.WithStep(ctx, s.queryTimeout)
}

// reader is where a GET handler reads: the replica when one serves the
// user now, the primary otherwise. Handlers that write read from the
// primary (s.store) throughout.
func (s *Server) reader(c *gin.Context) *db.Queries {
	if q, ok := c.Get(readerKey); ok {
		return q.(*db.Queries) // pinned by conditional
	}
	if s.reads == nil {
		return s.store.Queries
	}
	return s.reads.For(currentUserID(c))
}

// trackWrites notes each successful write of a user, so their next reads
// wait for a replica to replay it (or go to the primary).
func (s *Server) trackWrites() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if c.Request.Method != http.MethodGet && c.Writer.Status() < http.StatusBadRequest {
			s.wrote(c, currentUserID(c))
		}
	}
}

// wrote records that the user has just written on the primary.
func (s *Server) wrote(c *gin.Context, uid int64) {
	if s.reads == nil {
		return
	}
	ctx, cancel := s.bound(context.WithoutCancel(c.Request.Context()))
	defer cancel()
	if err := s.reads.Wrote(ctx, uid); err != nil {
		logger(c).WarnContext(ctx, "could not note the write's WAL position; reads may lag it", "error", err)
	}
}
