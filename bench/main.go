// Command bench load-tests GET /v1/transactions on the real server binary
// with wrk (random users' tokens from a Lua script) and runs pgbench with
// the handler's exact SQL on the same database, then
// prints throughput, latency, server CPU per request, peak RSS and the
// API/pgbench ratio. `make bench` seeds the bench-scale fixtures into
// their own database and runs it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cointracker/cointracker/db"
)

func main() {
	dbURL := flag.String("database-url", os.Getenv("DATABASE_URL"), "the seeded bench database")
	binary := flag.String("binary", "bin/cointracker", "the server binary")
	duration := flag.Duration("duration", 10*time.Second, "length of each load run")
	concurrency := flag.String("concurrency", "1,8,16,64", "client counts to run (8: pgbench's, for comparing p99 at equal concurrency)")
	poolSize := flag.Int("pool", 8, "the server's connection pool size, and pgbench's client count")
	rounds := flag.Int("rounds", 3, "rounds per scenario, each pgbench then the API at every concurrency; figures are medians over rounds")
	procs := flag.Int("server-procs", 1, "the server's GOMAXPROCS: the cores it may use (a container's CPU limit sets the same); the rest of the machine is PostgreSQL's and wrk's")
	cpuProfile := flag.String("cpuprofile", "", "write the server's CPU profile during -profile-scenario at the highest concurrency, last round, here")
	profiled := flag.String("profile-scenario", "page 1", "the scenario -cpuprofile profiles")
	flag.Parse()
	if *dbURL == "" {
		log.Fatal("bench: -database-url (or DATABASE_URL) is required")
	}
	var levels []int
	for _, s := range strings.Split(*concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("bench: bad -concurrency %q", *concurrency)
		}
		levels = append(levels, n)
	}
	if *rounds < 1 {
		log.Fatalf("bench: bad -rounds %d", *rounds)
	}
	if err := run(*dbURL, *binary, *duration, levels, *rounds, *poolSize, *procs, profile{*cpuProfile, *profiled}); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

// scenario is one kind of request.
type scenario struct {
	name string
	path string
	// users are the subject numbers whose tokens the requests pick from
	// at random.
	users []int
}

// profile says where to save a CPU profile of the server, and during
// which scenario.
type profile struct{ path, scenario string }

func run(dbURL, binary string, duration time.Duration, levels []int, rounds, poolSize, procs int, prof profile) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "cointracker-bench")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	keyFile := filepath.Join(tmp, "dev-key.pem")

	users, err := countUsers(ctx, dbURL)
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, binary, dbURL, keyFile, poolSize, procs, prof.path != "")
	if err != nil {
		return err
	}
	defer srv.stop()
	tokens, err := devTokens(keyFile, users)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}

	deep, deepPos, err := deepCursor(ctx, client, srv.base, tokens[1], 200)
	if err != nil {
		return fmt.Errorf("reach the deep page: %w", err)
	}
	everyone := make([]int, users)
	for i := range everyone {
		everyone[i] = i + 1
	}
	scenarios := []scenario{
		{"page 1", "/v1/transactions?limit=50", everyone},
		{"filtered", "/v1/transactions?limit=50&direction=outgoing&from=2019-01-01T00:00:00Z", everyone},
		{"user-1 page 1", "/v1/transactions?limit=50", []int{1}},
		{"page 2,000", "/v1/transactions?limit=50&cursor=" + url.QueryEscape(deep), []int{1}},
	}
	pg, err := newPgbench(ctx, dbURL, tmp, deepPos, users)
	if err != nil {
		return err
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\tclients\tAPI req/s\tp50 ms\tp99 ms\tCPU µs/req\tpgbench tps\tp50 ms\tp99 ms\tAPI/pgbench\t(rounds)\tp99 ×pgbench\t(rounds)\t")
	var pgbenchRates []string
	for _, sc := range scenarios {
		// Each round runs pgbench, then the API at every concurrency, and
		// each ratio is the median over rounds of the ratio within one
		// round: the shared machine's speed drifts by several percent from
		// one 10 s run to the next, and a ratio of runs close in time
		// cancels most of it.
		dbRuns := make([]result, rounds)
		apiRuns := make([][]result, len(levels))
		for i := range apiRuns {
			apiRuns[i] = make([]result, rounds)
		}
		for round := range rounds {
			if dbRuns[round], err = pg.run(ctx, sc.name, poolSize, duration); err != nil {
				return err
			}
			for i, c := range levels {
				// The profile, if asked for, covers the last round's
				// highest concurrency.
				profiled := prof.path != "" && sc.name == prof.scenario && c == slices.Max(levels) && round == rounds-1
				if apiRuns[i][round], err = loadProfiled(ctx, srv, tokens, sc, c, duration, tmp, profiled, prof.path); err != nil {
					return err
				}
			}
		}
		db := median(dbRuns)
		rates := make([]string, rounds)
		for i, r := range dbRuns {
			rates[i] = fmt.Sprintf("%.0f", r.rate)
		}
		pgbenchRates = append(pgbenchRates, fmt.Sprintf("%s %s", sc.name, strings.Join(rates, "/")))
		for i, runs := range apiRuns {
			api := median(runs)
			ratio := make([]float64, rounds)
			p99 := make([]float64, rounds)
			for round, r := range runs {
				ratio[round] = r.rate / dbRuns[round].rate
				p99[round] = float64(r.p99) / float64(dbRuns[round].p99)
			}
			fmt.Fprintf(w, "%s\t%d\t%.0f\t%.2f\t%.2f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%s\t%.2f\t%s\t\n", sc.name, levels[i],
				api.rate, ms(api.p50), ms(api.p99), api.cpuPerReq.Seconds()*1e6,
				db.rate, ms(db.p50), ms(db.p99), middle(ratio), spread(ratio), middle(p99), spread(p99))
		}
	}
	_ = w.Flush()
	rss, err := srv.peakRSS()
	if err != nil {
		return err
	}
	fmt.Printf("\nserver peak RSS: %.1f MiB; server GOMAXPROCS=%d of %d cores; pgbench ran %d clients (the server's pool size) with -M prepared\n",
		float64(rss)/(1<<20), procs, runtime.NumCPU(), poolSize)
	fmt.Printf("figures are medians over %d rounds (of an even count, the upper middle), each pgbench then the API at every concurrency; the ratios are medians of each round's own, their range over the rounds beside them; pgbench tps of each round: %s\n",
		rounds, strings.Join(pgbenchRates, "; "))
	fmt.Println("latencies are the requests' own on both sides: wrk's coordinated-omission correction is taken back out (bench/wrk.go), as pgbench's log has none")
	return nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// result is one load run's outcome.
type result struct {
	requests  int
	rate      float64
	p50, p99  time.Duration
	cpuPerReq time.Duration
}

// median is the median of each figure over runs, taken separately.
func median(runs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return middle(v)
	}
	return result{
		rate:      pick(func(r result) float64 { return r.rate }),
		p50:       time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99:       time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
		cpuPerReq: time.Duration(pick(func(r result) float64 { return float64(r.cpuPerReq) })),
	}
}

// middle is the median of v (of an even count, the upper middle).
func middle(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

// spread shows v's range, as "min–max".
func spread(v []float64) string {
	return fmt.Sprintf("%.2f–%.2f", slices.Min(v), slices.Max(v))
}

func percentiles(lat []time.Duration, elapsed time.Duration) result {
	slices.Sort(lat)
	if len(lat) == 0 {
		return result{}
	}
	return result{
		rate: float64(len(lat)) / elapsed.Seconds(),
		p50:  lat[len(lat)*50/100],
		p99:  lat[min(len(lat)-1, len(lat)*99/100)],
	}
}

// loadProfiled is load, saving the server's CPU profile to path over the
// run when profiled.
func loadProfiled(ctx context.Context, srv *server, tokens []string, sc scenario, clients int, d time.Duration, dir string, profiled bool, path string) (result, error) {
	if !profiled {
		return load(ctx, srv, tokens, sc, clients, d, dir)
	}
	done := make(chan error, 1)
	go func() { done <- srv.profile(ctx, path, d-time.Second) }()
	r, err := load(ctx, srv, tokens, sc, clients, d, dir)
	if perr := <-done; err == nil {
		err = perr
	}
	return r, err
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr() (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// server is the cointracker process under test.
type server struct {
	cmd   *exec.Cmd
	base  string
	admin string // pprof listener, "" when off
}

func startServer(ctx context.Context, binary, dbURL, keyFile string, poolSize, procs int, admin bool) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	adminAddr := ""
	if admin {
		if adminAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, binary, "serve")
	// No sync workers: the fixtures are made up, and syncing them against
	// a real provider would only add load the measurement should not see.
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "AUTH_MODE=dev", "HTTP_ADDR="+addr,
		"DEV_KEY_FILE="+keyFile, "RATE_LIMIT_RPS=0", "ADMIN_ADDR="+adminAddr, "LOG_LEVEL=warn", "SYNC_WORKERS=0",
		"DATABASE_MAX_CONNS="+strconv.Itoa(poolSize), "GOMAXPROCS="+strconv.Itoa(procs))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, admin: adminAddr}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
	}
	s.stop()
	return nil, errors.New("the server did not become ready in 30 s")
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

// cpu is the server's user + system CPU time so far (/proc/PID/stat).
func (s *server) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are
	// the 14th and 15th fields overall, in clock ticks (100 per second).
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// peakRSS is the server's high-water resident set (VmHWM).
func (s *server) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// deepCursor follows pages of 500 as a user and returns the cursor after
// pages of them (200 × 500 = row 100,000: the 2,000th page of 50), and
// the keyset position of that page's last row, which the cursor carries
// (pgbench needs it as query arguments; the cursor itself is opaque).
func deepCursor(ctx context.Context, client *http.Client, base, token string, pages int) (string, db.HistoryPosition, error) {
	cursor, last := "", item{}
	for range pages {
		u := base + "/v1/transactions?limit=500"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return "", db.HistoryPosition{}, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			return "", db.HistoryPosition{}, err
		}
		var page struct {
			Items      []item  `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		_ = res.Body.Close()
		if err != nil {
			return "", db.HistoryPosition{}, err
		}
		if page.NextCursor == nil || len(page.Items) == 0 {
			return "", db.HistoryPosition{}, errors.New("user-1's history ends before the deep page")
		}
		cursor, last = *page.NextCursor, page.Items[len(page.Items)-1]
	}
	pos, err := last.position()
	return cursor, pos, err
}

// profile writes the server's CPU profile over the next d (pprof on the
// admin listener).
func (s *server) profile(ctx context.Context, path string, d time.Duration) error {
	u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.admin, max(int(d.Seconds()), 1))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	return f.Close()
}
