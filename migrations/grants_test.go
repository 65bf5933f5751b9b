package migrations_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/migrations"
)

// TestServingRoleHasOnlyRows connects as the role serve and worker use
// once `migrate up` granted it (DATABASE_APP_ROLE), and tries what an
// injection would: it reads and writes rows through the real paths
// (tracking, the sync's trigger, history), but cannot create, alter or
// drop a table, rewrite the migrations' version, or run a program.
func TestServingRoleHasOnlyRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	role := "serving_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	admin := dbtest.NewPool(t, dbtest.ServerURL(t))
	if _, err := admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN PASSWORD 'serving-password'"); err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the test database is dropped.
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize())
	})
	url := dbtest.NewURL(t)
	owner := dbtest.NewPool(t, url)
	if err := migrations.GrantServing(ctx, owner, role); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.User, cfg.ConnConfig.Password = role, "serving-password"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	store := db.NewStore(pool)
	u, err := store.UpsertUser(ctx, db.UserUpsertParams{Issuer: "https://issuer.test", Subject: "alice"})
	if err != nil {
		t.Fatalf("the serving role cannot write a user: %v", err)
	}
	ids, _, err := store.Track(ctx, []db.Watch{{UserID: u.ID, Network: "mainnet",
		Address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", ScriptType: "p2wpkh"}})
	if err != nil {
		t.Fatalf("the serving role cannot track an address: %v", err)
	}
	if err := store.SyncStatesMarkDone(ctx, db.SyncStatesMarkDoneParams{AddressIds: ids, Height: 1, FinishedAt: time.Now()}); err != nil {
		t.Fatalf("the serving role cannot finish a sync (and its trigger): %v", err)
	}
	f := db.HistoryFilter{UserID: u.ID, Statuses: []string{"confirmed"}, From: db.MinTime, To: db.MaxTime, MaxAmount: 1 << 62}
	if _, _, err := store.History(ctx, f, f.Start(), 50); err != nil {
		t.Fatalf("the serving role cannot read history: %v", err)
	}
	for _, stmt := range []string{
		"CREATE TABLE stolen (id int)",
		"DROP TABLE users",
		"ALTER TABLE users ADD COLUMN evil text",
		"TRUNCATE ledger_entries",
		"DELETE FROM goose_db_version",
		"CREATE FUNCTION evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
		"COPY (SELECT 1) TO PROGRAM 'true'",
	} {
		_, err := pool.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as the serving role: %v, want permission denied (42501)", stmt, err)
		}
	}
}
