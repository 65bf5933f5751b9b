package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// mapped runs the generated queries and hands back their errors as the
// domain errors of errors.go, once, where the queries run (as lnd's sqldb
// executor does): every caller can test errors.Is(err, ErrNotFound) or
// ErrConflict, and nothing outside this package classifies a driver error.
// A QueryRow's error only appears at Scan, and a Query's at Scan or Err,
// so their results are wrapped too.
type mapped struct{ db DBTX }

func (m mapped) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := m.db.Exec(ctx, sql, args...)
	return tag, mapError(err)
}

func (m mapped) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := m.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapError(err)
	}
	return mappedRows{rows}, nil
}

func (m mapped) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return mappedRow{m.db.QueryRow(ctx, sql, args...)}
}

type mappedRow struct{ pgx.Row }

func (r mappedRow) Scan(dest ...any) error { return mapError(r.Row.Scan(dest...)) }

type mappedRows struct{ pgx.Rows }

func (r mappedRows) Scan(dest ...any) error { return mapError(r.Rows.Scan(dest...)) }
func (r mappedRows) Err() error             { return mapError(r.Rows.Err()) }

// BeginTx starts a transaction on the pool beneath, for the few reads that
// need one of their own (db.HistoryEach's cursors).
func (m mapped) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	b, ok := m.db.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	})
	if !ok {
		return nil, errors.New("not on a pool: cannot begin a transaction")
	}
	return b.BeginTx(ctx, opts)
}
