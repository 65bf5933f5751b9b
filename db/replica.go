package db

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ReadsOptions tune Reads.
type ReadsOptions struct {
	// MaxLag is how far behind the primary the replica may be and still
	// serve reads; 0 means 5 s.
	MaxLag time.Duration
	// CheckInterval is how often the replica's state is read; 0 means 1 s.
	CheckInterval time.Duration
	// Logger hears when reads move between the replica and the primary.
	Logger *slog.Logger
}

// Reads routes read-only queries to a streaming replica while it answers
// and is within MaxLag of the primary, and to the primary otherwise.
// Reads of a client that has just written go to the primary until the
// replica has replayed that write, so a client always reads its own
// writes. A query the replica fails to answer (it went down since the
// last check) is run again on the primary, so clients see no error.
//
// Read-your-writes is per process: behind a load balancer, route a user
// to one instance, or accept that another instance may serve them up to
// MaxLag behind.
type Reads struct {
	primary *Store
	replica *Queries
	pool    *pgxpool.Pool
	opts    ReadsOptions

	usable   atomic.Bool
	replayed atomic.Int64 // replica's replay position, bytes of WAL
	lag      atomic.Int64 // milliseconds; -1 when unknown
	written  sync.Map     // client id -> primary's WAL position after its last write
	served   [2]atomic.Uint64
}

// Where a read went, indexing Reads.served.
const (
	toPrimary = 0
	toReplica = 1
)

// NewReads routes reads between primary and the replica pool. Call Run to
// start checking the replica; until the first check, reads go to the
// primary.
func NewReads(primary *Store, replica *pgxpool.Pool, opts ReadsOptions) *Reads {
	if opts.MaxLag <= 0 {
		opts.MaxLag = 5 * time.Second
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Reads{primary: primary, pool: replica, opts: opts}
	r.replica = New(mapped{fallback{r}})
	r.lag.Store(-1)
	return r
}

// Run checks the replica every CheckInterval until ctx ends.
func (r *Reads) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.CheckInterval)
	defer t.Stop()
	for {
		r.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check reads the replica's state and decides whether it serves reads.
func (r *Reads) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.CheckInterval)
	defer cancel()
	st, err := New(r.pool).ReplicaState(ctx)
	var why string
	switch {
	case err != nil:
		why = "unreachable: " + err.Error()
		r.lag.Store(-1)
	case !st.InRecovery:
		why = "not in recovery (promoted, or not a replica)"
		r.lag.Store(-1)
	case time.Duration(st.LagMs)*time.Millisecond > r.opts.MaxLag:
		why = "lagging " + (time.Duration(st.LagMs) * time.Millisecond).String()
		r.lag.Store(st.LagMs)
	default:
		r.lag.Store(st.LagMs)
	}
	if err == nil {
		r.replayed.Store(st.Replayed)
		r.forget(st.Replayed)
	}
	r.setUsable(why == "", why)
}

func (r *Reads) setUsable(usable bool, why string) {
	if r.usable.Swap(usable) == usable {
		return
	}
	if usable {
		r.opts.Logger.Info("reads go to the replica again")
	} else {
		r.opts.Logger.Warn("reads go to the primary: the replica is "+why, "max_lag", r.opts.MaxLag.String())
	}
}

// forget drops the writes the replica has replayed.
func (r *Reads) forget(replayed int64) {
	r.written.Range(func(k, v any) bool {
		if v.(int64) <= replayed {
			r.written.CompareAndDelete(k, v)
		}
		return true
	})
}

// Wrote records that client has just written on the primary: its reads go
// to the primary until the replica has replayed that far.
func (r *Reads) Wrote(ctx context.Context, client int64) error {
	pos, err := r.primary.WALPosition(ctx)
	if err != nil {
		return err
	}
	r.written.Store(client, pos)
	return nil
}

// For returns the queries client's reads should use now.
func (r *Reads) For(client int64) *Queries {
	if !r.usable.Load() {
		return r.fromPrimary()
	}
	if pos, ok := r.written.Load(client); ok && pos.(int64) > r.replayed.Load() {
		return r.fromPrimary()
	}
	r.served[toReplica].Add(1)
	return r.replica
}

func (r *Reads) fromPrimary() *Queries {
	r.served[toPrimary].Add(1)
	return r.primary.Queries
}

// Usable reports whether the replica serves reads now.
func (r *Reads) Usable() bool { return r.usable.Load() }

// Lag is the replica's replay lag at the last check, or -1 when unknown.
func (r *Reads) Lag() time.Duration {
	ms := r.lag.Load()
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

// Served counts the reads routed to the primary and to the replica (each
// For, and each read the replica failed and the primary ran again).
func (r *Reads) Served() (primary, replica uint64) {
	return r.served[toPrimary].Load(), r.served[toReplica].Load()
}

// fallback runs queries on the replica and, when the replica cannot be
// reached, on the primary (and stops using the replica until the next
// check finds it well).
type fallback struct{ r *Reads }

func (f fallback) retry(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || !unreachable(err) {
		return false
	}
	f.r.setUsable(false, "unreachable: "+err.Error())
	return true
}

// Exec is not used for reads, but DBTX needs it.
func (f fallback) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := f.r.pool.Exec(ctx, sql, args...)
	if f.retry(ctx, err) {
		return f.r.fromPrimary().db.Exec(ctx, sql, args...)
	}
	return tag, err
}

// BeginTx starts a read transaction (db.HistoryEach's cursors) on the
// replica, or on the primary when the replica cannot be reached. Once
// begun, the transaction stays where it is: a replica lost mid-export
// breaks the download, which the client sees.
func (f fallback) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	tx, err := f.r.pool.BeginTx(ctx, opts)
	if f.retry(ctx, err) {
		return f.r.primary.Pool().BeginTx(ctx, opts)
	}
	return tx, err
}

func (f fallback) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := f.r.pool.Query(ctx, sql, args...)
	if f.retry(ctx, err) {
		return f.r.fromPrimary().db.Query(ctx, sql, args...)
	}
	if err != nil {
		return nil, err
	}
	return &fallbackRows{Rows: rows, f: f, ctx: ctx, sql: sql, args: args}, nil
}

// fallbackRows reads the replica's rows; when the replica fails before
// the first row (pgx reports a broken connection there, not from Query),
// it runs the query again on the primary and reads those instead.
type fallbackRows struct {
	pgx.Rows
	f       fallback
	ctx     context.Context
	sql     string
	args    []any
	started bool
	err     error
}

func (r *fallbackRows) Next() bool {
	if r.err != nil {
		return false
	}
	if r.Rows.Next() {
		r.started = true
		return true
	}
	if r.started || !r.f.retry(r.ctx, r.Rows.Err()) {
		return false
	}
	r.started = true
	r.Close() // the replica's rows, replaced below
	rows, err := r.f.r.fromPrimary().db.Query(r.ctx, r.sql, r.args...)
	if err != nil {
		r.err = err
		return false
	}
	r.Rows = rows
	return r.Rows.Next()
}

func (r *fallbackRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.Rows.Err()
}

func (f fallback) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return fallbackRow{f: f, ctx: ctx, sql: sql, args: args}
}

// fallbackRow runs its query when scanned, where pgx reports errors.
type fallbackRow struct {
	f    fallback
	ctx  context.Context
	sql  string
	args []any
}

func (row fallbackRow) Scan(dest ...any) error {
	err := row.f.r.pool.QueryRow(row.ctx, row.sql, row.args...).Scan(dest...)
	if row.f.retry(row.ctx, err) {
		return row.f.r.fromPrimary().db.QueryRow(row.ctx, row.sql, row.args...).Scan(dest...)
	}
	return err
}

// unreachable reports whether err means the database could not be
// reached or went away (a refused or broken connection, a shutdown),
// rather than that the query was refused or too slow.
func unreachable(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) {
		return true
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && !netErr.Timeout() {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code[:2] == "08", // connection exception
			pgErr.Code == "57P01", // admin shutdown
			pgErr.Code == "57P02", // crash shutdown
			pgErr.Code == "57P03": // cannot connect now
			return true
		}
	}
	return false
}

// Unavailable reports whether err means the database could not serve the
// query now: unreachable, or too slow (a deadline, a statement timeout),
// or out of connections. Clients may retry such a query later.
func Unavailable(err error) bool {
	if unreachable(err) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "53300" || // too many connections
		pgErr.Code == "57014") // statement timeout
}
