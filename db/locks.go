package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// Session-level advisory-lock keys: every pg_advisory_lock the project
// takes is named here, so that no two uses share a key by accident.
const (
	// LockTestTemplate serialises building the migrated template database
	// the tests clone (db/dbtest); test binaries of several packages run at
	// once.
	LockTestTemplate int64 = 7_310_251_001
	// LockSeed serialises fixture runs on one database (fixtures.Seed).
	LockSeed int64 = 7_310_251_002
	// LockSharedDatabase serialises building the databases tests and
	// benchmarks share read-only (dbtest.SharedURL).
	LockSharedDatabase int64 = 7_310_251_003
	// LockJobQueueMigrations serialises the job queue's migrations
	// (migrations.Migrator): river's migrator takes no lock of its own, so
	// two services starting at once raced to create its functions.
	LockJobQueueMigrations int64 = 7_310_251_004
)

// LockLedgerSiblings is the first key of the transaction-level two-key
// lock (key, bucket) that migration 00012's trigger takes to keep
// ledger_entries.has_siblings exact. SQL cannot read this constant, so the
// trigger writes the number; it is listed here so that nothing else takes
// it.
const LockLedgerSiblings int32 = 1818584167

// LockUserRepeats is the first key of the transaction-level two-key lock
// (key, user id) that migration 00023's triggers take, in user order,
// before they move a user's stored repeats; like LockLedgerSiblings, the
// SQL writes the number.
const LockUserRepeats int32 = 1970496882

// Execer is a connection that can run a statement: a *pgx.Conn, a
// *pgxpool.Conn.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// AdvisoryLock waits for the session-level advisory lock key on conn and
// returns its release. The lock lives as long as conn's session, so conn
// must stay checked out until then.
func AdvisoryLock(ctx context.Context, conn Execer, key int64) (unlock func(), err error) {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return nil, fmt.Errorf("advisory lock %d: %w", key, err)
	}
	return func() { _, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", key) }, nil
}
