package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointracker/cointracker/chain/chaintest"
	"github.com/cointracker/cointracker/db/dbtest"
)

// TestDatabaseOutage stops the service's PostgreSQL under it and starts it
// again: while it is down, /v1 answers 503 problem+json with Retry-After
// within 5 s, /readyz 503 and /healthz 200; once it is back, the same
// process serves again and works sync jobs within 10 s, no restart.
func TestDatabaseOutage(t *testing.T) {
	cluster := dbtest.NewCluster(t)
	s := onCluster(t, cluster, "1")
	fake := chaintest.New()
	defer fake.Close()
	const before, after = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l"
	fake.History(before, 10, 2)
	fake.History(after, 10, 2)
	t.Setenv("CHAIN_PROVIDER_URL", fake.URL)
	stop := s.serve()
	s.waitSynced(s.track(before), 20*time.Second)

	reads := []request{
		{http.MethodGet, "/v1/addresses", ""},
		{http.MethodGet, "/v1/transactions", ""},
		{http.MethodGet, "/v1/balances", ""},
		{http.MethodGet, "/v1/transactions/export.csv", ""},
	}
	// A database that hangs (its processes stopped, connections open):
	// deadlines, not the server, end each request.
	cluster.Freeze(t)
	s.unavailable(reads)
	cluster.Thaw(t)
	thawed := time.Now()
	s.waitFor(10*time.Second, "serving after the freeze", s.serving)
	t.Logf("after PostgreSQL thawed: serving in %s", time.Since(thawed))

	// A database that is down (stopped: connections refused).
	cluster.Stop(t)
	s.unavailable(append(reads, request{http.MethodPost, "/v1/addresses", `{"address": "` + after + `"}`}))
	cluster.Start(t)
	back := time.Now()
	s.waitFor(10*time.Second, "serving again", s.serving)
	served := time.Since(back)
	// Jobs too: a sync queued now is worked within the 10 s.
	s.waitSynced(s.track(after), 10*time.Second-time.Since(back))
	t.Logf("after PostgreSQL returned: serving in %s, a new sync done in %s", served, time.Since(back))
	stop()
}

// onCluster points the environment at a migrated database on cluster,
// with sync workers as given, and returns a client for the service serve
// will run there, acting as alice.
func onCluster(t *testing.T, cluster *dbtest.Cluster, workers string) outageClient {
	t.Helper()
	clearEnv(t)
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", cluster.URL("postgres"))
	t.Setenv("AUTH_MODE", "dev")
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("RATE_LIMIT_RPS", "0")
	t.Setenv("SYNC_WORKERS", workers)
	t.Setenv("METRICS_TOKEN", outageMetricsToken)
	if code, _, errOut := runCmd(context.Background(), "migrate", "up"); code != 0 {
		t.Fatalf("migrate up: %s", errOut)
	}
	_, token, _ := runCmd(context.Background(), "dev-token", "--subject", "alice")
	return outageClient{t: t, base: "http://" + addr, token: strings.TrimSpace(token)}
}

// serve runs the serve command until the returned stop, which checks it
// exited 0, and waits until it is ready.
func (s outageClient) serve() (stop func()) {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, io.Discard, io.Discard) }()
	s.t.Cleanup(cancel)
	s.waitFor(20*time.Second, "ready", func() bool { return s.status(http.MethodGet, "/readyz", "") == http.StatusOK })
	return func() {
		cancel()
		if code := <-done; code != 0 {
			s.t.Fatalf("serve exited %d", code)
		}
	}
}

type request struct{ method, path, body string }

// unavailable checks that each request gets a 503 problem with
// Retry-After within 5 s, /readyz 503 and /healthz 200.
func (s outageClient) unavailable(requests []request) {
	s.t.Helper()
	var slowest time.Duration
	for _, r := range requests {
		start := time.Now()
		res := s.do(r.method, r.path, r.body)
		took := time.Since(start)
		slowest = max(slowest, took)
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
			res.Header.Get("Content-Type") != "application/problem+json" || took > 5*time.Second {
			s.t.Errorf("%s %s with the database away = %d (Retry-After %q, %s) in %s; want a 503 problem within 5 s",
				r.method, r.path, res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Content-Type"), took)
		}
	}
	s.t.Logf("%d requests answered 503, the slowest in %s", len(requests), slowest.Round(time.Millisecond))
	// /readyz reuses its answer for a second (a flood costs one check a
	// second), so it may say ready for up to that long after the outage.
	start := time.Now()
	got := s.status(http.MethodGet, "/readyz", "")
	for got == http.StatusOK && time.Since(start) < 2*time.Second {
		time.Sleep(100 * time.Millisecond)
		got = s.status(http.MethodGet, "/readyz", "")
	}
	if got != http.StatusServiceUnavailable || time.Since(start) > 5*time.Second {
		s.t.Errorf("/readyz with the database away = %d in %s, want 503 within 5 s", got, time.Since(start))
	}
	if got := s.status(http.MethodGet, "/healthz", ""); got != http.StatusOK {
		s.t.Errorf("/healthz with the database away = %d, want 200", got)
	}
}

// serving says /readyz and a /v1 read both answer 200.
func (s outageClient) serving() bool {
	return s.status(http.MethodGet, "/readyz", "") == http.StatusOK &&
		s.status(http.MethodGet, "/v1/addresses", "") == http.StatusOK
}

// outageClient calls the served API as one user.
type outageClient struct {
	t     *testing.T
	base  string
	token string
}

// answer is a response's status and header (the body is read and dropped).
type answer struct {
	StatusCode int
	Header     http.Header
}

func (s outageClient) do(method, path, body string) answer {
	s.t.Helper()
	res, err := s.try(method, path, body)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

// try makes a request and reads its answer whole.
func (s outageClient) try(method, path, body string) (answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	res, err := send(ctx, method, s.base+path, body, "Authorization", "Bearer "+s.token, "Content-Type", "application/json")
	if err != nil {
		return answer{}, err
	}
	defer func() { _ = res.Body.Close() }()
	_, err = io.Copy(io.Discard, res.Body)
	return answer{res.StatusCode, res.Header}, err
}

// status is the answer's status, 0 when there is none (not listening yet).
func (s outageClient) status(method, path, body string) int {
	res, _ := s.try(method, path, body)
	return res.StatusCode
}

func (s outageClient) waitFor(limit time.Duration, what string, ok func() bool) {
	s.t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("not %s after %s", what, limit)
		}
	}
}

// track adds an address to the watch-list and returns its id.
func (s outageClient) track(address string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	res, err := post(ctx, s.base+"/v1/addresses", `{"address": "`+address+`"}`, "Authorization", "Bearer "+s.token)
	if err != nil || res.StatusCode != http.StatusCreated {
		s.t.Fatalf("POST /v1/addresses = %v %v", res, err)
	}
	defer func() { _ = res.Body.Close() }()
	var created struct {
		ID int64 `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil {
		s.t.Fatal(err)
	}
	return strconv.FormatInt(created.ID, 10)
}

// waitSynced waits for the address's sync to be done.
func (s outageClient) waitSynced(id string, limit time.Duration) {
	s.t.Helper()
	s.waitFor(limit, "synchronised", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		res, err := get(ctx, s.base+"/v1/addresses/"+id, "Authorization", "Bearer "+s.token)
		if err != nil {
			return false
		}
		defer func() { _ = res.Body.Close() }()
		var got struct {
			Sync struct {
				Status string `json:"status"`
			} `json:"sync"`
		}
		return json.NewDecoder(res.Body).Decode(&got) == nil && got.Sync.Status == "done"
	})
}

// TestServeReadsFromTheReplica runs serve with DATABASE_REPLICA_URL set
// to a streaming replica and sees reads reach it on /metrics, and a
// replica that is down at start change nothing but where reads go.
func TestServeReadsFromTheReplica(t *testing.T) {
	primary := dbtest.NewCluster(t)
	s := onCluster(t, primary, "0")
	replica := primary.Replica(t)
	replica.Stop(t)
	t.Setenv("DATABASE_REPLICA_URL", replica.URL("postgres"))
	stop := s.serve()
	if got := s.status(http.MethodGet, "/v1/addresses", ""); got != http.StatusOK {
		t.Fatalf("GET /v1/addresses with the replica down = %d", got)
	}
	replica.Start(t)
	s.waitFor(10*time.Second, "reading from the replica", func() bool {
		if s.status(http.MethodGet, "/v1/addresses", "") != http.StatusOK {
			t.Fatal("a read failed")
		}
		metrics := s.metrics()
		return strings.Contains(metrics, "db_replica_usable 1") && replicaReads.MatchString(metrics)
	})
	stop()
}

// replicaReads matches a /metrics line counting one or more reads routed
// to the replica.
var replicaReads = regexp.MustCompile(`(?m)^db_reads_total\{target="replica"\} [1-9]`)

// body fetches path and returns its body.
// outageMetricsToken is the METRICS_TOKEN the outage tests' servers take.
const outageMetricsToken = "metrics-token-for-the-outage-tests-0123"

// metrics scrapes /metrics with the metrics token.
func (s outageClient) metrics() string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	res, err := send(ctx, http.MethodGet, s.base+"/metrics", "", "Authorization", "Bearer "+outageMetricsToken)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}
