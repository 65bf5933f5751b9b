package db

import (
	"context"
	"errors"
)

// UpsertUser runs UserUpsert, retrying once when a concurrent first request
// for the same user hid the new row from both parts of the query.
func (s *Store) UpsertUser(ctx context.Context, arg UserUpsertParams) (UserUpsertRow, error) {
	u, err := s.UserUpsert(ctx, arg)
	if errors.Is(err, ErrNotFound) {
		u, err = s.UserUpsert(ctx, arg)
	}
	return u, err
}
