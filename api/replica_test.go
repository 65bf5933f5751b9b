package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cointracker/cointracker/api"
	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
	"github.com/cointracker/cointracker/migrations"
)

// ranOn records which server (by port) ran each named query.
type ranOn struct {
	mu   sync.Mutex
	runs []queryRun
}

type queryRun struct {
	port uint16
	name string
}

func (r *ranOn) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if rest, ok := strings.CutPrefix(data.SQL, "-- name: "); ok {
		name, _, _ := strings.Cut(rest, " ")
		r.mu.Lock()
		r.runs = append(r.runs, queryRun{conn.Config().Port, name})
		r.mu.Unlock()
	}
	return ctx
}

func (r *ranOn) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// since returns the ports that ran query since mark (an index into
// runs), in order.
func (r *ranOn) since(mark int, query string) []uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ports []uint16
	for _, run := range r.runs[mark:] {
		if run.name == query {
			ports = append(ports, run.port)
		}
	}
	return ports
}

func (r *ranOn) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

// replicaSetup is a primary, its streaming replica (pg_basebackup -R) and
// pools on both that record where each query ran.
type replicaSetup struct {
	primary, replica         *dbtest.Cluster
	primaryPool, replicaPool *pgxpool.Pool
	primaryPort, replicaPort uint16
	ran                      *ranOn
}

func newReplicaSetup(t *testing.T) *replicaSetup {
	t.Helper()
	r := &replicaSetup{primary: dbtest.NewCluster(t), ran: &ranOn{}}
	r.primaryPool = r.pool(t, r.primary)
	m, err := migrations.New(r.primaryPool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
	r.replica = r.primary.Replica(t)
	r.replicaPool = r.pool(t, r.replica)
	r.primaryPort, r.replicaPort = r.primaryPool.Config().ConnConfig.Port, r.replicaPool.Config().ConnConfig.Port
	var inRecovery bool
	if err := r.replicaPool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("the replica is not in recovery (%v): not a streaming replica", err)
	}
	return r
}

func (r *replicaSetup) pool(t *testing.T, c *dbtest.Cluster) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = r.ran
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// server serves the API over the primary with reads routed by a Reads
// that allows maxLag and checks the replica every checkInterval.
func (r *replicaSetup) server(t *testing.T, maxLag, checkInterval time.Duration) (*testServer, *db.Reads) {
	t.Helper()
	reads := db.NewReads(db.NewStore(r.primaryPool), r.replicaPool, db.ReadsOptions{
		MaxLag: maxLag, CheckInterval: checkInterval})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		reads.Run(runCtx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return newServerOpts(t, r.primaryPool, func(o *api.Options) { o.Reads = reads }), reads
}

// readsFrom fails unless GET path as the token's user answers 200 with
// query answered by the server at port (its last run was there: a read
// the replica failed runs again on the primary), within the wait (reads
// settle on the replica once its replay passes the user's last write).
func (r *replicaSetup) readsFrom(t *testing.T, s *testServer, token, path, query string, port uint16, wait time.Duration) response {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		mark := r.ran.mark()
		res := s.do(t, http.MethodGet, path, nil, "Authorization", "Bearer "+token)
		if res.status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, res.status, res.body)
		}
		ports := r.ran.since(mark, query)
		if len(ports) > 0 && ports[len(ports)-1] == port {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s ran %s on %v, want it answered by %d (primary %d, replica %d)",
				path, query, ports, port, r.primaryPort, r.replicaPort)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitUsable(t *testing.T, reads *db.Reads, want bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); reads.Usable() != want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("replica usable = %v after 10 s, want %v", !want, want)
		}
	}
}

func TestReadsGoToTheReplicaAndFallBack(t *testing.T) {
	t.Parallel()
	r := newReplicaSetup(t)
	s, reads := r.server(t, time.Hour, 50*time.Millisecond)
	alice, bob := s.token, tokenFor(t, "bob")
	waitUsable(t, reads, true)

	// Reads reach the replica (once it has replayed the users' creation).
	r.readsFrom(t, s, alice, "/v1/transactions", "TransactionHistoryNewest", r.replicaPort, 5*time.Second)
	r.readsFrom(t, s, bob, "/v1/addresses", "UserAddressList", r.replicaPort, 5*time.Second)
	// The export's cursors too, in a transaction of their own.
	r.readsFrom(t, s, bob, "/v1/transactions/export.csv", "HistoryExportEntries", r.replicaPort, 5*time.Second)

	// Read-your-writes: with the replica's replay paused, alice tracks an
	// address and reads it back at once (from the primary); the replica
	// has not got it, and bob still reads there.
	if _, err := r.replicaPool.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	created := s.postJSON(t, http.MethodPost, "/v1/addresses", `{"address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}`)
	if created.status != http.StatusCreated {
		t.Fatalf("POST /v1/addresses = %d %s", created.status, created.body)
	}
	list := decode[api.AddressList](t, r.readsFrom(t, s, alice, "/v1/addresses", "UserAddressList", r.primaryPort, 0))
	if len(list.Items) != 1 {
		t.Fatalf("alice's list right after her write has %d addresses, want 1", len(list.Items))
	}
	var onReplica int
	if err := r.replicaPool.QueryRow(ctx, "SELECT count(*) FROM user_addresses").Scan(&onReplica); err != nil || onReplica != 0 {
		t.Fatalf("the paused replica has %d watch-list rows (%v): the test proves nothing", onReplica, err)
	}
	r.readsFrom(t, s, bob, "/v1/addresses", "UserAddressList", r.replicaPort, 0)

	// Lag: a second service allowing 300 ms stops reading the paused
	// replica once the write it has not replayed is older than that, and
	// reads from it again when replay resumes.
	strict, strictReads := r.server(t, 300*time.Millisecond, 50*time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); strictReads.Lag() <= 300*time.Millisecond; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the paused replica's lag is %s after 10 s", strictReads.Lag())
		}
	}
	waitUsable(t, strictReads, false)
	r.readsFrom(t, strict, bob, "/v1/addresses", "UserAddressList", r.primaryPort, 0)
	if _, err := r.replicaPool.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	waitUsable(t, strictReads, true)
	r.readsFrom(t, strict, bob, "/v1/addresses", "UserAddressList", r.replicaPort, 5*time.Second)
	// Alice's write is replayed now: her reads return to the replica.
	r.readsFrom(t, s, alice, "/v1/addresses", "UserAddressList", r.replicaPort, 5*time.Second)

	// Down: reads carry on at the primary without an error. A service
	// whose next check is an hour away finds out from a failed read and
	// runs it again on the primary; the checking one stops using the
	// replica; both return to it when it is back.
	unchecked, uncheckedReads := r.server(t, time.Hour, time.Hour)
	waitUsable(t, uncheckedReads, true)
	r.readsFrom(t, unchecked, bob, "/v1/addresses", "UserAddressList", r.replicaPort, 5*time.Second)
	r.replica.Stop(t)
	// The first read after the loss is an export: its transaction begins
	// on the primary instead.
	r.readsFrom(t, unchecked, bob, "/v1/transactions/export.csv", "HistoryExportEntries", r.primaryPort, 0)
	for range 5 {
		r.readsFrom(t, unchecked, bob, "/v1/balances", "UserAddressList", r.primaryPort, 0)
	}
	if uncheckedReads.Usable() {
		t.Fatal("a read the replica failed left the replica in use")
	}
	waitUsable(t, reads, false)
	r.readsFrom(t, s, alice, "/v1/transactions", "TransactionHistoryNewest", r.primaryPort, 0)
	r.replica.Start(t)
	waitUsable(t, reads, true)
	r.readsFrom(t, s, alice, "/v1/transactions", "TransactionHistoryNewest", r.replicaPort, 5*time.Second)

	metrics := string(s.metrics(t).body)
	allDocumented(t, metrics)
	for _, m := range []string{"db_replica_usable 1", `db_reads_total{target="replica"}`, `db_reads_total{target="primary"}`, "db_replica_lag_seconds"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}
