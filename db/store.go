package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the database as the rest of the service sees it: every generated
// query, plus transactions.
type Store struct {
	*Queries
	pool *pgxpool.Pool
}

// NewStore wraps a connection pool. Its queries return the domain errors
// of errors.go.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{Queries: New(mapped{pool}), pool: pool}
}

// WithTx returns the queries run inside tx, returning the domain errors of
// errors.go like the Store's own.
func (s *Store) WithTx(tx pgx.Tx) *Queries {
	return New(mapped{tx})
}

// Pool returns the underlying pool, for health checks and metrics.
func (s *Store) Pool() *pgxpool.Pool {
	return s.pool
}

// maxTxAttempts bounds how often ExecTx retries a serialization failure.
const maxTxAttempts = 3

// ExecTx runs fn inside one database transaction and commits it when fn
// returns nil. A serialization failure or deadlock (SQLSTATE 40001, 40P01)
// is retried with a fresh transaction, so fn must be safe to run again.
func (s *Store) ExecTx(ctx context.Context, fn func(*Queries) error) error {
	return s.InTx(ctx, func(tx pgx.Tx) error { return fn(s.WithTx(tx)) })
}

// InTx is ExecTx for code that needs the pgx transaction itself, such as
// the job queue inserting jobs in the same transaction.
func (s *Store) InTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for range maxTxAttempts {
		err = s.inTxOnce(ctx, fn)
		if !isRetryable(err) {
			return err
		}
	}
	return err
}

func (s *Store) inTxOnce(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	// Rollback after a successful commit is a harmless no-op.
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "40001" || pgErr.Code == "40P01"
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}
