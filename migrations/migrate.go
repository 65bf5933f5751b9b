package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/cointracker/cointracker/db"
)

// Migrator applies the embedded migrations to one database, then the job
// queue's (river's own, versioned by river). Two migrators on the same
// database take turns: goose holds a PostgreSQL session lock while it
// works, and river's migrations run inside it.
type Migrator struct {
	provider *goose.Provider
	river    *rivermigrate.Migrator[pgx.Tx]
	db       *sql.DB
	pool     *pgxpool.Pool
}

// RiverLatest is the newest job-queue migration this binary applies; it
// names test templates together with the SQL files.
func RiverLatest() int {
	m, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		return 0
	}
	all := m.AllVersions()
	return all[len(all)-1].Version
}

// ErrSchemaTooNew means the database has migrations this binary does not
// know: a newer binary migrated it, so this one must not serve it.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// New returns a Migrator over the pool's database. Close releases it; the
// pool stays open.
func New(pool *pgxpool.Pool) (*Migrator, error) {
	// Retry the lock every second (goose waits 5 s by default) for up to
	// five minutes, so a second migrate waits for the first to finish.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, FS,
		goose.WithSessionLocker(locker))
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	riverMigrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("load job queue migrations: %w", err)
	}
	return &Migrator{provider: provider, river: riverMigrator, db: sqlDB, pool: pool}, nil
}

// lockedRiver runs a job-queue migration under db.LockJobQueueMigrations,
// so concurrent migrators take turns (goose's own lock covers only the
// SQL files).
func (m *Migrator) lockedRiver(ctx context.Context, migrate func() error) error {
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire lock connection: %w", err)
	}
	defer conn.Release()
	unlock, err := db.AdvisoryLock(ctx, conn, db.LockJobQueueMigrations)
	if err != nil {
		return err
	}
	defer unlock()
	return migrate()
}

// Close releases the migrator's database handle.
func (m *Migrator) Close() error {
	return m.db.Close()
}

// Latest is the highest migration version this binary carries.
func (m *Migrator) Latest() int64 {
	sources := m.provider.ListSources()
	if len(sources) == 0 {
		return 0
	}
	return sources[len(sources)-1].Version
}

// Up applies every pending migration and returns the versions applied.
func (m *Migrator) Up(ctx context.Context) ([]int64, error) {
	if err := m.checkNotTooNew(ctx); err != nil {
		return nil, err
	}
	results, err := m.provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	err = m.lockedRiver(ctx, func() error {
		_, err := m.river.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("migrate job queue up: %w", err)
	}
	return versions(results), nil
}

// Down rolls back the most recent migration or, when to is not nil, every
// migration above version to (0 rolls back everything, the job queue's
// tables included).
func (m *Migrator) Down(ctx context.Context, to *int64) ([]int64, error) {
	if to != nil {
		results, err := m.provider.DownTo(ctx, *to)
		if err != nil {
			return nil, fmt.Errorf("migrate down to %d: %w", *to, err)
		}
		if *to == 0 {
			err := m.lockedRiver(ctx, func() error {
				_, err := m.river.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: -1})
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("migrate job queue down: %w", err)
			}
		}
		return versions(results), nil
	}
	result, err := m.provider.Down(ctx)
	if err != nil {
		if errors.Is(err, goose.ErrNoNextVersion) {
			return nil, nil
		}
		return nil, fmt.Errorf("migrate down: %w", err)
	}
	return []int64{result.Source.Version}, nil
}

// Status describes one migration: its version, file and whether the
// database has it.
type Status struct {
	Version int64
	Name    string
	Applied bool
}

// Status lists every known migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	statuses, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]Status, 0, len(statuses))
	for _, s := range statuses {
		out = append(out, Status{
			Version: s.Source.Version,
			Name:    filepath.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied,
		})
	}
	return out, nil
}

// Current returns the database's schema version.
func (m *Migrator) Current(ctx context.Context) (int64, error) {
	v, err := m.provider.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Check returns nil when the database has exactly this binary's migrations,
// ErrSchemaTooNew when it has more, and an error naming the count of
// pending migrations when it has fewer.
func (m *Migrator) Check(ctx context.Context) error {
	if err := m.checkNotTooNew(ctx); err != nil {
		return err
	}
	pending, err := m.provider.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check pending migrations: %w", err)
	}
	if pending {
		current, err := m.Current(ctx)
		if err != nil {
			return err
		}
		return fmt.Errorf("database schema is at version %d, this binary needs %d: run `cointracker migrate up`", current, m.Latest())
	}
	res, err := m.river.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check job queue migrations: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("job queue schema is behind (%s): run `cointracker migrate up`", strings.Join(res.Messages, "; "))
	}
	return nil
}

func (m *Migrator) checkNotTooNew(ctx context.Context) error {
	current, err := m.Current(ctx)
	if err != nil {
		return err
	}
	if latest := m.Latest(); current > latest {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d; upgrade the binary", ErrSchemaTooNew, current, latest)
	}
	return nil
}

func versions(results []*goose.MigrationResult) []int64 {
	out := make([]int64, 0, len(results))
	for _, r := range results {
		out = append(out, r.Source.Version)
	}
	return out
}

var migrationName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Create writes a new, empty migration into dir, numbered one past the
// highest migration there, and returns its path.
func Create(dir, name string) (string, error) {
	if !migrationName.MatchString(name) {
		return "", fmt.Errorf("migration name %q: use lower-case letters, digits and underscores, starting with a letter", name)
	}
	entries, err := fs.Glob(os.DirFS(dir), "*.sql")
	if err != nil {
		return "", fmt.Errorf("list migrations: %w", err)
	}
	var next int64 = 1
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e, "%05d_", &v); err == nil && v >= next {
			next = v + 1
		}
	}
	path := filepath.Join(dir, fmt.Sprintf("%05d_%s.sql", next, name))
	body := strings.Join([]string{
		"-- +goose Up",
		"-- Say what this migration changes and why.",
		"",
		"-- +goose Down",
		"",
	}, "\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("create migration: %w", err)
	}
	if _, err := f.WriteString(body); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("write migration: %w", err)
	}
	return path, f.Close()
}
