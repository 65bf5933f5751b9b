package migrations_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/migrations"
)

func newMigrator(t *testing.T, pool *pgxpool.Pool) *migrations.Migrator {
	t.Helper()
	m, err := migrations.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// schema describes every table, column, index, constraint and trigger in
// the public schema, so two states can be compared.
func schema(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var out string
	err := pool.QueryRow(context.Background(), `
		SELECT coalesce(string_agg(item, E'\n' ORDER BY item), '') FROM (
			SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS item
			FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name <> 'goose_db_version'
			UNION ALL
			SELECT 'index ' || indexdef FROM pg_indexes
			WHERE schemaname = 'public' AND tablename <> 'goose_db_version'
			UNION ALL
			SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid)
			FROM pg_constraint WHERE connamespace = 'public'::regnamespace
				AND conrelid <> 'goose_db_version'::regclass
			UNION ALL
			SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
			UNION ALL
			SELECT 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
			FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f'
		) s`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t, dbtest.NewEmptyURL(t))
	m := newMigrator(t, pool)

	applied, err := m.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if int64(len(applied)) != m.Latest() {
		t.Fatalf("up applied %d migrations, want %d", len(applied), m.Latest())
	}
	first := schema(t, pool)
	for _, table := range []string{"users", "addresses", "xpubs", "xpub_addresses", "user_addresses",
		"transactions", "ledger_entries", "sync_states", "chain_tips", "prices"} {
		if !strings.Contains(first, "column "+table+".") {
			t.Errorf("table %s missing after up", table)
		}
	}
	if err := m.Check(ctx); err != nil {
		t.Errorf("check after up: %v", err)
	}

	zero := int64(0)
	if _, err := m.Down(ctx, &zero); err != nil {
		t.Fatalf("down to 0: %v", err)
	}
	if got := schema(t, pool); strings.Contains(got, "column users.") || strings.Contains(got, "trigger ") {
		t.Fatalf("schema left after down to 0:\n%s", got)
	}
	if v, err := m.Current(ctx); err != nil || v != 0 {
		t.Fatalf("version after down = %d, %v; want 0", v, err)
	}

	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if again := schema(t, pool); again != first {
		t.Fatalf("schema after up → down → up differs from the first up")
	}
}

// maintenance are the migrations that change data or statistics only (no
// schema), so their down has nothing to undo.
var maintenance = map[int64]bool{
	13: true, // VACUUM (ANALYZE) ledger_entries after 00012's backfill
	20: true, // VACUUM (ANALYZE) ledger_entries after 00019's backfill
}

// TestEachDownUndoesItsUp walks down one version at a time, checking that
// re-applying each migration after rolling it back restores the schema.
func TestEachDownUndoesItsUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t, dbtest.NewEmptyURL(t))
	m := newMigrator(t, pool)
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	for v := m.Latest(); v >= 1; v-- {
		at := schema(t, pool)
		if _, err := m.Down(ctx, nil); err != nil {
			t.Fatalf("down from %d: %v", v, err)
		}
		if changed := schema(t, pool) != at; changed == maintenance[v] {
			t.Fatalf("migration %d: down changed the schema: %t, want %t", v, changed, !maintenance[v])
		}
		// Up re-applies everything above; rolling back to v again must
		// leave exactly the schema version v had.
		if _, err := m.Up(ctx); err != nil {
			t.Fatalf("up after rolling back %d: %v", v, err)
		}
		if _, err := m.Down(ctx, &v); err != nil {
			t.Fatal(err)
		}
		if schema(t, pool) != at {
			t.Fatalf("migration %d: up after down does not restore the schema", v)
		}
		to := v - 1
		if _, err := m.Down(ctx, &to); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.NewEmptyURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			m := newMigrator(t, dbtest.NewPool(t, url))
			_, errs[i] = m.Up(ctx)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent up: %v", err)
		}
	}
	m := newMigrator(t, dbtest.NewPool(t, url))
	if err := m.Check(ctx); err != nil {
		t.Fatalf("after concurrent up: %v", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("pending", func(t *testing.T) {
		t.Parallel()
		m := newMigrator(t, dbtest.NewPool(t, dbtest.NewEmptyURL(t)))
		err := m.Check(ctx)
		if err == nil || errors.Is(err, migrations.ErrSchemaTooNew) {
			t.Fatalf("check on an empty database = %v, want a pending-migrations error", err)
		}
	})

	t.Run("too new", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.NewPool(t, dbtest.NewURL(t))
		m := newMigrator(t, pool)
		if _, err := pool.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
			t.Fatal(err)
		}
		if err := m.Check(ctx); !errors.Is(err, migrations.ErrSchemaTooNew) {
			t.Fatalf("check = %v, want ErrSchemaTooNew", err)
		}
		if _, err := m.Up(ctx); !errors.Is(err, migrations.ErrSchemaTooNew) {
			t.Fatalf("up = %v, want ErrSchemaTooNew", err)
		}
	})
}

func TestCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"00001_a.sql", "00007_b.sql"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path, err := migrations.Create(dir, "add_notes")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "00008_add_notes.sql" {
		t.Fatalf("created %s, want 00008_add_notes.sql", path)
	}
	body, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(body), "-- +goose Up") || !strings.Contains(string(body), "-- +goose Down") {
		t.Fatalf("created migration lacks goose markers: %q, %v", body, err)
	}
	for _, bad := range []string{"", "Add", "1x", "a b", "../x", strings.Repeat("a", 64)} {
		if _, err := migrations.Create(dir, bad); err == nil {
			t.Errorf("Create(%q) succeeded, want an error", bad)
		}
	}
	if _, err := migrations.Create(dir, "add_notes"); err != nil {
		t.Fatalf("a second migration of the same name gets the next number: %v", err)
	}
}
