package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

// A statement whose context is cancelled (a client that went away)
// leaves its connection in the pool: a short one finishes, a long one is
// cancelled on the server, and the next query runs on the same backend.
// pgx's default closes the connection, and the next query would need a
// new backend. A deadline (the request's query timeout: the database is
// slow or hung) still cuts the connection at once.
func TestCancelledStatementKeepsItsConnection(t *testing.T) {
	t.Parallel()
	pool, err := db.Connect(ctx, dbtest.NewEmptyURL(t), db.PoolOptions{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	backend := func() int32 {
		t.Helper()
		var pid int32
		if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	first := backend()
	for _, c := range []struct {
		name  string
		sleep string
	}{{"ends before the cancel is sent", "0.02"}, {"cancelled on the server", "30"}} {
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(5*time.Millisecond, cancel)
		start := time.Now()
		_, err := pool.Exec(cctx, "SELECT pg_sleep("+c.sleep+")")
		if took := time.Since(start); took > 20*time.Second {
			t.Fatalf("%s: the statement ran %v after its context ended", c.name, took)
		}
		t.Logf("%s: %v", c.name, err)
		if pid := backend(); pid != first {
			t.Fatalf("%s: the next query ran on backend %d, not %d: the connection was closed", c.name, pid, first)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer cancel()
	if _, err := pool.Exec(dctx, "SELECT pg_sleep(30)"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past its deadline: %v, want context.DeadlineExceeded", err)
	}
	if pid := backend(); pid == first {
		t.Fatalf("past its deadline the statement's connection (backend %d) was kept, not cut", first)
	}
}
