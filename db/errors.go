package db

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Domain errors that database failures are mapped to, once, here. The API
// maps these to HTTP statuses in one table (api/errors.go).
var (
	// ErrNotFound means no row matched (pgx.ErrNoRows).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique natural key already holds the value
	// (SQLSTATE 23505).
	ErrConflict = errors.New("already exists")
	// ErrInvalid means the row broke a foreign key or CHECK constraint
	// (SQLSTATE 23503, 23514, 22001, 22003).
	ErrInvalid = errors.New("invalid")
)

// ConstraintError carries the constraint a write broke, so callers can say
// which field was at fault.
type ConstraintError struct {
	// Kind is ErrConflict or ErrInvalid.
	Kind error
	// Constraint is the name of the constraint, as in the migrations.
	Constraint string
	err        error
}

func (e *ConstraintError) Error() string {
	return fmt.Sprintf("%s: constraint %s: %v", e.Kind, e.Constraint, e.err)
}

// Is lets errors.Is(err, ErrConflict) and friends match.
func (e *ConstraintError) Is(target error) bool { return target == e.Kind }

// Unwrap exposes the driver error.
func (e *ConstraintError) Unwrap() error { return e.err }

// mapError turns driver errors into the domain errors above and leaves
// every other error, and one already mapped, as it is. Queries run through
// it (mapped.go).
func mapError(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalid) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "23505":
		return &ConstraintError{Kind: ErrConflict, Constraint: pgErr.ConstraintName, err: err}
	case "23503", "23514", "22001", "22003":
		return &ConstraintError{Kind: ErrInvalid, Constraint: pgErr.ConstraintName, err: err}
	}
	return err
}
