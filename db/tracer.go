package db

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// queryLogger logs each query's name (from sqlc's "-- name:" line) and
// duration at debug level; it costs nothing when debug is off. Arguments
// are never logged: they may hold personal data.
type queryLogger struct{ log *slog.Logger }

type queryStartKey struct{}

type queryStart struct {
	name  string
	start time.Time
}

// TraceQueryStart notes the query's name and start.
func (q queryLogger) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !q.log.Enabled(ctx, slog.LevelDebug) {
		return ctx
	}
	return context.WithValue(ctx, queryStartKey{}, queryStart{name: queryName(data.SQL), start: time.Now()})
}

// TraceQueryEnd logs the query's name, duration and outcome.
func (q queryLogger) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	s, ok := ctx.Value(queryStartKey{}).(queryStart)
	if !ok {
		return
	}
	attrs := []any{"query", s.name, "duration", time.Since(s.start), "rows", data.CommandTag.RowsAffected()}
	if data.Err != nil {
		attrs = append(attrs, "error", data.Err.Error())
	}
	q.log.DebugContext(ctx, "query", attrs...)
}

// queryName is the sqlc query name, or the statement's first word.
func queryName(sql string) string {
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		name, _, _ := strings.Cut(rest, " ")
		return name
	}
	first, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
	return first
}
