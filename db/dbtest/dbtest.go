// Package dbtest gives each test its own PostgreSQL database, cloned from a
// template migrated once per migrations version, so tests run in parallel
// against a real server and never see each other's rows.
//
// The server is TEST_DATABASE_URL when set, otherwise the one
// scripts/start_db.sh starts (and reuses) for the project.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/migrations"
)

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error

	templateOnce sync.Once
	templateName string
	templateErr  error
)

// ServerURL returns the URL of the test PostgreSQL server (any database on
// it), starting the project's local server if needed.
func ServerURL(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() {
		if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
			serverURL = u
			return
		}
		root, err := repoRoot()
		if err != nil {
			serverErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "start_db.sh"))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			serverErr = fmt.Errorf("scripts/start_db.sh: %w", err)
			return
		}
		serverURL = strings.TrimSpace(string(out))
	})
	if serverErr != nil {
		t.Fatalf("test database server: %v", serverErr)
	}
	return serverURL
}

// NewEmptyURL creates an empty database (no schema) for the test, dropped when
// the test ends, and returns its URL.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	return createDatabase(t, "template0")
}

// NewURL creates a migrated database for the test, dropped when the test
// ends, and returns its URL.
func NewURL(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(base) })
	if templateErr != nil {
		t.Fatalf("migrated template database: %v", templateErr)
	}
	u := createDatabase(t, templateName)
	// Registered after the drop, so it runs before it (and after the
	// test's own cleanups, which close its pools).
	t.Cleanup(func() { verifyAggregates(t, u) })
	return u
}

// verifyAggregates fails the test when the database's stored ledger
// aggregates (address totals and days, migration 00018) differ from its
// ledger: every test that writes the ledger checks them so, whatever
// sync, reorg or fixture scenario it played.
func verifyAggregates(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("verify the ledger aggregates: %v", err)
		return
	}
	defer func() { _ = conn.Close(ctx) }()
	diffs, err := aggregateDifferences(ctx, conn)
	if err != nil {
		t.Errorf("verify the ledger aggregates: %v", err)
	}
	for _, d := range diffs {
		t.Error(d)
	}
}

// aggregateDifferences describes up to ten differences between the
// stored ledger aggregates and the ledger: none when they are exact, or
// when the database has none (migrated below them).
func aggregateDifferences(ctx context.Context, conn db.DBTX) ([]string, error) {
	var present bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('ledger_aggregate_differences') IS NOT NULL").Scan(&present); err != nil || !present {
		return nil, err
	}
	diffs, err := db.New(conn).LedgerAggregateDifferences(ctx, 10)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(diffs))
	for i, d := range diffs {
		out[i] = "ledger aggregates of " + d.String()
	}
	return out, nil
}

// NewStore creates a migrated database for the test and returns a store on
// it; both are closed and dropped when the test ends.
func NewStore(t testing.TB) *db.Store {
	t.Helper()
	return db.NewStore(NewPool(t, NewURL(t)))
}

// NewPool opens a pool on url, closed when the test ends.
func NewPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := db.Connect(ctx, url, db.PoolOptions{MaxConns: 4, ApplicationName: "cointracker-test"})
	if err != nil {
		t.Fatalf("connect to test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func createDatabase(t testing.TB, template string) string {
	t.Helper()
	base := ServerURL(t)
	name := "test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := adminExec(ctx, base, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize())); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, base, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)",
			pgx.Identifier{name}.Sanitize())); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ensureTemplate builds the migrated template for this set of migrations
// once per server (see buildOnce); a new template replaces those of
// earlier migrations.
func ensureTemplate(base string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "cointracker_template_" + hash
	return name, buildOnce(ctx, base, db.LockTestTemplate, name, "template0", dropStaleTemplates, migrate)
}

// buildOnce creates database name on the server at base once: test
// binaries of several packages run at once, so it waits for the advisory
// lock key, and when name does not exist yet it runs prepare (if any),
// copies template under a temporary name, fills that, and only then gives
// it its name, so a database that carries the name is complete.
func buildOnce(ctx context.Context, base string, key int64, name, template string,
	prepare func(context.Context, *pgx.Conn) error, fill func(ctx context.Context, url string) error) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	unlock, err := db.AdvisoryLock(ctx, conn, key)
	if err != nil {
		return err
	}
	defer unlock()

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look for %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if prepare != nil {
		if err := prepare(ctx, conn); err != nil {
			return err
		}
	}
	building := "cointracker_building_" + randomHex(6)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{building}.Sanitize(), pgx.Identifier{template}.Sanitize())); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	buildingURL, err := withDatabase(base, building)
	if err == nil {
		err = fill(ctx, buildingURL)
	}
	if err != nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)")
		return fmt.Errorf("build %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s",
		pgx.Identifier{building}.Sanitize(), pgx.Identifier{name}.Sanitize())); err != nil {
		return fmt.Errorf("name %s: %w", name, err)
	}
	return nil
}

// dropStaleTemplates removes templates of earlier migration versions and
// half-built ones left by a crash.
func dropStaleTemplates(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database
		WHERE datname LIKE 'cointracker\_template\_%' OR datname LIKE 'cointracker\_building\_%'
		   OR datname LIKE 'cointracker\_shared\_%'`)
	if err != nil {
		return fmt.Errorf("list stale templates: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list stale templates: %w", err)
	}
	for _, n := range names {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop stale template %s: %w", n, err)
		}
	}
	return nil
}

func migrate(ctx context.Context, url string) error {
	pool, err := db.Connect(ctx, url, db.PoolOptions{MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := migrations.New(pool)
	if err != nil {
		return err
	}
	defer func() { _ = m.Close() }()
	_, err = m.Up(ctx)
	return err
}

// migrationsHash names the template after the migrations' contents, so a
// changed migration gets a fresh template.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	fmt.Fprintf(h, "river\x00%d", migrations.RiverLatest())
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func adminExec(ctx context.Context, base, sql string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns the server URL pointing at database name.
func withDatabase(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("the test database URL must be a postgres:// URL")
	}
	u.Path = "/" + name
	return u.String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// repoRoot finds the checkout's top directory from the working directory
// (go test runs in the package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "start_db.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("scripts/start_db.sh not found above the working directory: set TEST_DATABASE_URL")
		}
		dir = parent
	}
}

// SharedURL returns a database that build filled once, shared read-only by
// every test (and benchmark) that asks for the same key. It is built on the
// first request (see buildOnce) and kept on the server until the
// migrations change, so large fixtures cost their seeding time once.
// Callers must not write to it.
func SharedURL(t testing.TB, key string, build func(ctx context.Context, s *db.Store) error) string {
	t.Helper()
	base := ServerURL(t)
	hash, err := migrationsHash()
	if err != nil {
		t.Fatal(err)
	}
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(base) })
	if templateErr != nil {
		t.Fatalf("migrated template database: %v", templateErr)
	}
	sum := sha256.Sum256([]byte(hash + "|" + key))
	name := "cointracker_shared_" + hex.EncodeToString(sum[:8])
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	err = buildOnce(ctx, base, db.LockSharedDatabase, name, templateName, nil, func(ctx context.Context, url string) error {
		pool, err := db.Connect(ctx, url, db.PoolOptions{MaxConns: 4, ApplicationName: "cointracker-test-build"})
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := build(ctx, db.NewStore(pool)); err != nil {
			return err
		}
		// Its tests only read it: its aggregates are checked once, here.
		diffs, err := aggregateDifferences(ctx, pool)
		if err == nil && len(diffs) > 0 {
			err = errors.New(strings.Join(diffs, "\n"))
		}
		return err
	})
	if err != nil {
		t.Fatalf("shared database %s: %v", key, err)
	}
	url, err := withDatabase(base, name)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// Track puts w's address on its user's watch-list through db.Track, the
// path the API takes, and returns the shared address id and the new
// watch-list entry's id.
func Track(t testing.TB, s *db.Store, w db.Watch) (addressID, entryID int64) {
	t.Helper()
	ids, created, err := s.Track(context.Background(), []db.Watch{w})
	if err != nil {
		t.Fatalf("track %s: %v", w.Address, err)
	}
	if len(created) != 1 {
		t.Fatalf("track %s: the user already tracks it", w.Address)
	}
	return ids[0], created[0].ID
}
