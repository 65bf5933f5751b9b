// Command bench measures the API on a seeded database with the real
// server binary. First it times the summary reads for the heavy user and a
// typical one (one client, median of a few: the history page, balances,
// the watch-list, both balance series, the export's rows per second) and
// a 304 against the full page. Then it load-tests GET /v1/transactions
// with wrk (random users' tokens from a Lua script) and runs pgbench with
// the handler's exact SQL on the same database, both warmed up before
// anything is counted, and prints throughput, latency, server CPU per
// request, peak RSS and the API/pgbench ratio, leaving out rounds that
// cannot be right. `make bench` seeds the fixtures of a scale (bench by
// default, or large) into their own database and runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
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
	var o options
	flag.StringVar(&o.dbURL, "database-url", os.Getenv("DATABASE_URL"), "the seeded bench database")
	flag.StringVar(&o.binary, "binary", "bin/cointracker", "the server binary")
	flag.DurationVar(&o.run.length, "duration", 10*time.Second, "the measured window of each run")
	flag.DurationVar(&o.run.interval, "interval", 2*time.Second, "the window is counted in intervals this long (whole seconds); the range of their throughputs is the run's spread")
	flag.DurationVar(&o.pgWarmup, "warmup", 10*time.Second, "pgbench's warm-up within each run, on its own fresh connections, and each server's warm-up when it starts")
	flag.DurationVar(&o.apiWarmup, "api-warmup", 4*time.Second, "the warm-up before each API run (the server's connections are warm already)")
	flag.Float64Var(&o.steady, "steady", 0.20, "the largest spread a run may have and count: a run whose throughput still moved more was not measuring the steady state")
	flag.Float64Var(&o.tolerance, "tolerance", 0.05, "noise tolerance: a round whose API/pgbench ratio is above 1 by more is impossible (a server cannot outrun its own SQL) and is left out")
	concurrency := flag.String("concurrency", "1,8,16,64", "client counts to run")
	pools := flag.String("pools", "0", "the servers' pool sizes (DATABASE_MAX_CONNS); 0 is the server's own default")
	procs := flag.String("server-procs", "0", "the servers' GOMAXPROCS; 0 is Go's default (every core), 1 what a one-CPU container limit gives")
	flag.IntVar(&o.pgClients, "pgbench-clients", 0, "pgbench's connections; 0: the first server's pool size")
	only := flag.String("scenarios", "", "run only these scenarios (comma-separated names); empty: all")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds per scenario, each pgbench then the API at every concurrency; figures are medians over the valid rounds")
	flag.BoolVar(&o.verbose, "v", false, "print every run's interval throughputs as it ends (to choose a warm-up: -warmup 0 -duration 90s)")
	flag.IntVar(&o.reads, "reads", 5, "time each summary read (page, filtered page, balances, watch-list, both histories, export) this many times for user-1 and user-2 with one client, and report medians, plus a 304 against the full page; 0: skip")
	flag.BoolVar(&o.load, "load", true, "run the load rounds against pgbench (false: the reads alone)")
	flag.StringVar(&o.prof.path, "cpuprofile", "", "write the first server's CPU profile during -profile-scenario at the highest concurrency, last round, here")
	flag.StringVar(&o.prof.scenario, "profile-scenario", "page 1", "the scenario -cpuprofile profiles")
	flag.Parse()
	if err := o.parse(*concurrency, *pools, *procs, *only); err != nil {
		log.Fatalf("bench: %v", err)
	}
	if err := run(o); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

// options are the benchmark's settings.
type options struct {
	dbURL, binary       string
	run                 window // the measured window; warm-ups come from below
	pgWarmup, apiWarmup time.Duration
	steady, tolerance   float64
	levels              []int
	configs             []serverConfig
	pgClients, rounds   int
	reads               int
	load                bool
	only                []string
	prof                profile
	verbose             bool
}

// parse checks the options and reads the list flags.
func (o *options) parse(concurrency, pools, procs, only string) error {
	if o.dbURL == "" {
		return errors.New("-database-url (or DATABASE_URL) is required")
	}
	if o.reads < 0 {
		return fmt.Errorf("bad -reads %d", o.reads)
	}
	if o.rounds < 1 {
		return fmt.Errorf("bad -rounds %d", o.rounds)
	}
	if o.run.interval < time.Second || o.run.interval%time.Second != 0 || o.run.length < o.run.interval {
		return errors.New("-interval must be whole seconds, and -duration at least one interval")
	}
	var err error
	if o.levels, err = positiveInts("concurrency", concurrency, 1); err != nil {
		return err
	}
	poolSizes, err := positiveInts("pools", pools, 0)
	if err != nil {
		return err
	}
	cores, err := positiveInts("server-procs", procs, 0)
	if err != nil {
		return err
	}
	for _, p := range poolSizes {
		for _, c := range cores {
			o.configs = append(o.configs, serverConfig{pool: p, procs: c})
		}
	}
	if only != "" {
		o.only = strings.Split(only, ",")
	}
	return nil
}

// positiveInts reads a comma-separated list of integers of at least least.
func positiveInts(name, list string, least int) ([]int, error) {
	var v []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < least {
			return nil, fmt.Errorf("bad -%s %q", name, list)
		}
		v = append(v, n)
	}
	return v, nil
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

// bench is one benchmark's running state.
type bench struct {
	options
	servers []*server
	tokens  []string
	pg      *pgbench
	tmp     string
}

func run(o options) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "cointracker-bench")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	b := &bench{options: o, tmp: tmp}
	defer b.stop()
	scenarios, err := b.start(ctx)
	if err != nil {
		return err
	}
	if o.reads > 0 {
		if err := b.readsReport(ctx, o.reads); err != nil {
			return fmt.Errorf("reads: %w", err)
		}
	}
	if !o.load {
		return nil
	}
	return b.measure(ctx, scenarios)
}

// start starts and warms the servers, signs the users' tokens, and
// prepares the scenarios and their pgbench scripts.
func (b *bench) start(ctx context.Context) ([]scenario, error) {
	users, err := countUsers(ctx, b.dbURL)
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(b.tmp, "dev-key.pem")
	for _, sc := range b.configs {
		srv, err := startServer(ctx, b.binary, b.dbURL, keyFile, sc)
		if err != nil {
			return nil, err
		}
		b.servers = append(b.servers, srv)
	}
	if b.tokens, err = devTokens(keyFile, users); err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}
	deep, deepPos, err := deepCursor(ctx, client, b.servers[0].base, b.tokens[1], 200)
	if err != nil {
		return nil, fmt.Errorf("reach the deep page: %w", err)
	}
	everyone := make([]int, users)
	for i := range everyone {
		everyone[i] = i + 1
	}
	var scenarios []scenario
	for _, sc := range []scenario{
		{"page 1", "/v1/transactions?limit=50", everyone},
		{"filtered", "/v1/transactions?limit=50&direction=outgoing&from=2019-01-01T00:00:00Z", everyone},
		{"user-1 page 1", "/v1/transactions?limit=50", []int{1}},
		{"page 2,000", "/v1/transactions?limit=50&cursor=" + url.QueryEscape(deep), []int{1}},
	} {
		if b.only == nil || slices.Contains(b.only, sc.name) {
			scenarios = append(scenarios, sc)
		}
	}
	if len(scenarios) == 0 {
		return nil, errors.New("-scenarios names none of the scenarios")
	}
	if b.pg, err = newPgbench(ctx, b.dbURL, b.tmp, deepPos, users); err != nil {
		return nil, err
	}
	if b.pgClients == 0 {
		b.pgClients = b.servers[0].pool
	}
	// Each server's pool opens its connections under load; a run at the
	// highest concurrency opens every one and warms it as pgbench's
	// warm-up warms its own.
	for _, srv := range b.servers {
		if b.pgWarmup == 0 {
			break
		}
		warm := window{length: b.pgWarmup, interval: b.pgWarmup}
		if _, err := load(ctx, srv, b.tokens, scenarios[0], slices.Max(b.levels), warm, b.tmp); err != nil {
			return nil, fmt.Errorf("warm the server: %w", err)
		}
	}
	return scenarios, nil
}

func (b *bench) stop() {
	for _, srv := range b.servers {
		srv.stop()
	}
}

// measure runs every scenario's rounds and prints the table; it fails
// when some row has no valid round.
func (b *bench) measure(ctx context.Context, scenarios []scenario) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "server\tscenario\tclients\tAPI req/s\tp50 ms\tp99 ms\tCPU µs/req\tpgbench tps\tp50 ms\tp99 ms\tAPI/pgbench\t(valid rounds)\tp99 ×pgbench\tvalid\t")
	var notes []string
	empty := 0
	for _, sc := range scenarios {
		pgRuns, apiRuns, err := b.scenarioRounds(ctx, sc)
		if err != nil {
			return err
		}
		notes = append(notes, pgbenchNote(sc.name, pgRuns))
		for s, srv := range b.servers {
			for i, c := range b.levels {
				r := rowOf(b.limits(), pgRuns, apiRuns[s][i])
				notes = append(notes, r.invalid(fmt.Sprintf("%s, %s, %d clients", srv.label(), sc.name, c))...)
				if len(r.valid) == 0 {
					empty++
					fmt.Fprintf(w, "%s\t%s\t%d\tINVALID\t\t\t\t\t\t\t\t\t\t0/%d\t\n", srv.label(), sc.name, c, b.rounds)
					continue
				}
				api, pg := median(r.pick(apiRuns[s][i])), median(r.pick(pgRuns))
				fmt.Fprintf(w, "%s\t%s\t%d\t%.0f\t%.2f\t%.2f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%s\t%.2f\t%d/%d\t\n", srv.label(), sc.name, c,
					api.rate, ms(api.p50), ms(api.p99), api.cpuPerReq.Seconds()*1e6,
					pg.rate, ms(pg.p50), ms(pg.p99), middle(r.ratios), span(r.ratios), middle(r.p99s), len(r.valid), b.rounds)
			}
		}
	}
	_ = w.Flush()
	if err := b.footer(notes); err != nil {
		return err
	}
	if empty > 0 {
		return fmt.Errorf("%d rows had no valid round: their figures are not a measurement", empty)
	}
	return nil
}

// scenarioRounds runs one scenario's rounds: pgbench, then every server at every
// concurrency. apiRuns[server][level][round] are the API's runs. Figures
// compared are of one round: the shared machine's speed drifts by several
// percent over minutes, and runs close in time drift together.
func (b *bench) scenarioRounds(ctx context.Context, sc scenario) (pgRuns []result, apiRuns [][][]result, err error) {
	pgRuns = make([]result, b.rounds)
	apiRuns = make([][][]result, len(b.servers))
	for s := range apiRuns {
		apiRuns[s] = make([][]result, len(b.levels))
		for i := range apiRuns[s] {
			apiRuns[s][i] = make([]result, b.rounds)
		}
	}
	pgWindow := b.run
	pgWindow.warmup = b.pgWarmup
	apiWindow := b.run
	apiWindow.warmup = b.apiWarmup
	for round := range b.rounds {
		if pgRuns[round], err = b.pg.run(ctx, sc.name, b.pgClients, pgWindow); err != nil {
			return nil, nil, err
		}
		b.trace("pgbench", sc.name, b.pgClients, pgRuns[round])
		for s, srv := range b.servers {
			for i, c := range b.levels {
				// The profile, if asked for, covers the first server's
				// last round at the highest concurrency.
				profiled := b.prof.path != "" && s == 0 && sc.name == b.prof.scenario && c == slices.Max(b.levels) && round == b.rounds-1
				if apiRuns[s][i][round], err = loadProfiled(ctx, srv, b.tokens, sc, c, apiWindow, b.tmp, profiled, b.prof.path); err != nil {
					return nil, nil, err
				}
				b.trace(srv.label(), sc.name, c, apiRuns[s][i][round])
			}
		}
	}
	return pgRuns, apiRuns, nil
}

// trace prints a run's interval throughputs, with -v.
func (b *bench) trace(who, scenario string, clients int, r result) {
	if !b.verbose {
		return
	}
	rates := make([]string, len(r.rates))
	for i, v := range r.rates {
		rates[i] = fmt.Sprintf("%.0f", v)
	}
	fmt.Fprintf(os.Stderr, "%s, %s, %d clients: %s per second (spread %.0f%%)\n", who, scenario, clients, strings.Join(rates, " "), r.spread*100)
}

// footer prints how the figures were taken, and the invalid rounds.
func (b *bench) footer(notes []string) error {
	fmt.Println()
	for _, srv := range b.servers {
		rss, err := srv.peakRSS()
		if err != nil {
			return err
		}
		fmt.Printf("server %q: DATABASE_MAX_CONNS %s, GOMAXPROCS %s; peak RSS %.1f MiB\n", srv.label(),
			settingOf(srv.asked.pool, srv.pool), settingOf(srv.asked.procs, srv.procs), float64(rss)/(1<<20))
	}
	fmt.Printf("pgbench: %d clients, -M prepared, the handler's statement; the machine has %d cores\n", b.pgClients, runtime.NumCPU())
	fmt.Printf("warm-up: pgbench %v within each run, on its connections; each server %v at %d clients when it starts, then %v before each run\n",
		b.pgWarmup, b.pgWarmup, slices.Max(b.levels), b.apiWarmup)
	fmt.Printf("measured: %v per run, in %v intervals; spread is the intervals' throughput range over their median\n", b.run.length, b.run.interval)
	fmt.Printf("a round is valid when both runs' spread is at most %.0f%% and API/pgbench at most %.2f (1 plus the noise tolerance); figures are medians over valid rounds (of an even count, the upper middle)\n",
		b.steady*100, 1+b.tolerance)
	fmt.Println("latencies are the requests' own on both sides: wrk's coordinated-omission correction is taken back out (bench/wrk.go), as pgbench's log has none")
	for _, n := range notes {
		fmt.Println(n)
	}
	return nil
}

// settingOf shows a setting: the value the server runs with, and whether
// it was its default.
func settingOf(asked, got int) string {
	if asked == 0 {
		return fmt.Sprintf("%d (default)", got)
	}
	return strconv.Itoa(got)
}

// pgbenchNote lists a scenario's pgbench rounds: throughput and spread.
func pgbenchNote(name string, runs []result) string {
	parts := make([]string, len(runs))
	for i, r := range runs {
		parts[i] = fmt.Sprintf("%.0f tps (spread %.0f%%)", r.rate, r.spread*100)
	}
	return fmt.Sprintf("pgbench %s: %s", name, strings.Join(parts, ", "))
}

// limits decide which rounds count.
type limits struct{ steady, tolerance float64 }

func (b *bench) limits() limits { return limits{b.steady, b.tolerance} }

// verdict says why a round does not count, or "" when it does: both runs
// were steady, and the API was no faster than its own SQL beyond the
// noise tolerance (no server can outrun the statement it sends, so such
// a round measured something else).
func (l limits) verdict(api, pg result) string {
	ratio := api.rate / pg.rate
	switch {
	case ratio > 1+l.tolerance:
		return fmt.Sprintf("API/pgbench %.2f: faster than its own SQL", ratio)
	case pg.spread > l.steady:
		return fmt.Sprintf("pgbench unsteady (spread %.0f%%)", pg.spread*100)
	case api.spread > l.steady:
		return fmt.Sprintf("API unsteady (spread %.0f%%)", api.spread*100)
	}
	return ""
}

// row is one server's rounds at one scenario and concurrency, judged.
type row struct {
	valid        []int    // the valid rounds
	verdicts     []string // each round's verdict
	ratios, p99s []float64
}

func rowOf(l limits, pg, api []result) row {
	var r row
	for round := range api {
		v := l.verdict(api[round], pg[round])
		r.verdicts = append(r.verdicts, v)
		if v != "" {
			continue
		}
		r.valid = append(r.valid, round)
		r.ratios = append(r.ratios, api[round].rate/pg[round].rate)
		r.p99s = append(r.p99s, float64(api[round].p99)/float64(pg[round].p99))
	}
	return r
}

// pick is the valid rounds' runs.
func (r row) pick(runs []result) []result {
	var v []result
	for _, i := range r.valid {
		v = append(v, runs[i])
	}
	return v
}

// invalid describes the invalid rounds.
func (r row) invalid(what string) []string {
	var s []string
	for round, v := range r.verdicts {
		if v != "" {
			s = append(s, fmt.Sprintf("invalid: %s, round %d: %s", what, round+1, v))
		}
	}
	return s
}

// loadProfiled is load, saving the server's CPU profile to path over the
// measured window when profiled.
func loadProfiled(ctx context.Context, srv *server, tokens []string, sc scenario, clients int, w window, dir string, profiled bool, path string) (result, error) {
	if !profiled {
		return load(ctx, srv, tokens, sc, clients, w, dir)
	}
	done := make(chan error, 1)
	go func() {
		time.Sleep(w.warmup)
		done <- srv.profile(ctx, path, w.length-time.Second)
	}()
	r, err := load(ctx, srv, tokens, sc, clients, w, dir)
	if perr := <-done; err == nil {
		err = perr
	}
	return r, err
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
		res, err := do(ctx, client, u, token, "")
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
