package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"
)

// PoolOptions tunes a connection pool.
type PoolOptions struct {
	// MaxConns caps the pool; 0 keeps pgx's default.
	MaxConns int32
	// ApplicationName shows in pg_stat_activity.
	ApplicationName string
	// StatementTimeout cancels any statement running longer (server side);
	// 0 leaves the server's setting.
	StatementTimeout time.Duration
	// ConnectTimeout bounds each connection attempt, so an unreachable
	// database fails fast instead of hanging requests; 0 means 5 s.
	ConnectTimeout time.Duration
	// Logger, when set, receives each query's name and duration at debug
	// level.
	Logger *slog.Logger
	// TracerProvider, when set, gets a span per query (otelpgx), a child
	// of the span in the query's context.
	TracerProvider trace.TracerProvider
	// Lazy skips the check that the database answers, for one that may be
	// down at start (a replica): connections are made when needed.
	Lazy bool
}

// Connect opens a pool to the database at url and checks that it answers.
// Errors never quote the URL, which may hold a password.
func Connect(ctx context.Context, url string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.ApplicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = opts.ApplicationName
	}
	if opts.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	var tracers []pgx.QueryTracer
	if opts.Logger != nil {
		tracers = append(tracers, queryLogger{opts.Logger})
	}
	if opts.TracerProvider != nil {
		tracers = append(tracers, otelpgx.NewTracer(otelpgx.WithTracerProvider(opts.TracerProvider),
			// Spans are named by the sqlc query, never by its arguments.
			otelpgx.WithSpanNameFunc(queryName)))
	}
	switch len(tracers) {
	case 1:
		cfg.ConnConfig.Tracer = tracers[0]
	case 2:
		cfg.ConnConfig.Tracer = multitracer.New(tracers...)
	}
	cfg.ConnConfig.BuildContextWatcherHandler = keepOnCancel
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if opts.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	if opts.Lazy {
		return pool, nil
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s:%d/%s: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// keepOnCancel is how a connection answers a context that ends while a
// statement runs (see cancelWatcher).
func keepOnCancel(c *pgconn.PgConn) ctxwatch.Handler {
	return &cancelWatcher{
		keep: &pgconn.CancelRequestContextWatcherHandler{Conn: c, CancelRequestDelay: cancelDelay, DeadlineDelay: closeDelay},
		cut:  &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()},
	}
}

const (
	cancelDelay = 50 * time.Millisecond
	closeDelay  = time.Second
)

// cancelWatcher answers a context that ended by how it ended. A deadline
// (a request's query timeout) says the database is slow or hung: the
// connection is cut at once, as pgx does by default, so the request gets
// its 503 on time. Anything else (a client that went away) asks
// PostgreSQL to cancel the statement, after cancelDelay, and keeps the
// connection: cutting it costs the database a new backend for the next
// request, and a fresh backend runs slowly until its caches fill. With
// wrk's connections cut every 2 s, the filtered history page fell to a
// fifth of its throughput in some intervals (issue 25). Most statements
// end within cancelDelay and never need the cancel request (which costs
// the postmaster a process of its own); a server that does not answer it
// is cut off at closeDelay.
type cancelWatcher struct {
	keep, cut ctxwatch.Handler
	// active is the handler HandleCancel chose; HandleUnwatchAfterCancel
	// runs after it returns (ctxwatch orders the two).
	active ctxwatch.Handler
}

// HandleCancel implements ctxwatch.Handler.
func (w *cancelWatcher) HandleCancel(ctx context.Context) {
	w.active = w.keep
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		w.active = w.cut
	}
	w.active.HandleCancel(ctx)
}

// HandleUnwatchAfterCancel implements ctxwatch.Handler.
func (w *cancelWatcher) HandleUnwatchAfterCancel() { w.active.HandleUnwatchAfterCancel() }
