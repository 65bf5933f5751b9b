package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrCaptured stops a generated query method once Capture has its SQL.
var ErrCaptured = errors.New("captured")

// Capture is a DBTX that records the SQL and arguments a generated method
// sends instead of running it, so tests can EXPLAIN, and the load
// benchmark replays, exactly what the code sends:
//
//	c := &db.Capture{}
//	_, err := db.New(c).SomeQuery(ctx, params) // err is ErrCaptured
type Capture struct {
	SQL  string
	Args []any
}

// Exec records the statement.
func (c *Capture) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.SQL, c.Args = sql, args
	return pgconn.CommandTag{}, ErrCaptured
}

// Query records the statement.
func (c *Capture) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.SQL, c.Args = sql, args
	return nil, ErrCaptured
}

// QueryRow records the statement; scanning the row returns ErrCaptured.
func (c *Capture) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	c.SQL, c.Args = sql, args
	return capturedRow{}
}

type capturedRow struct{}

func (capturedRow) Scan(...any) error { return ErrCaptured }
