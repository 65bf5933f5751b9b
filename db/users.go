package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// UpsertUser runs UserUpsert, retrying once when a concurrent first request
// for the same user hid the new row from both parts of the query.
func (s *Store) UpsertUser(ctx context.Context, arg UserUpsertParams) (UserUpsertRow, error) {
	u, err := s.UserUpsert(ctx, arg)
	if errors.Is(err, pgx.ErrNoRows) {
		u, err = s.UserUpsert(ctx, arg)
	}
	return u, err
}
