package migrations

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// GrantServing gives role what serve and worker need and nothing more:
// rows of every table and sequence in the schema (the job queue's too),
// read-only for the migrations' own version table, and no right to create,
// alter or drop anything, which stays with the schema's owner that runs
// the migrations. It runs after every `migrate up` (DATABASE_APP_ROLE), so
// tables a migration adds are granted too. The role must exist: a
// database administrator creates it (docs/operations.md).
func GrantServing(ctx context.Context, pool *pgxpool.Pool, role string) error {
	r := pgx.Identifier{role}.Sanitize()
	for _, stmt := range []string{
		"GRANT USAGE ON SCHEMA public TO " + r,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + r,
		"REVOKE INSERT, UPDATE, DELETE ON goose_db_version FROM " + r,
		"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO " + r,
		"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO " + r,
	} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("grant the serving role %s: %w", role, err)
		}
	}
	return nil
}
