package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The API load comes from wrk (Debian's package; make bench installs it):
// a C event loop costs the shared two cores a few µs a request, where a Go
// HTTP client cost about 190 µs, CPU that pgbench's own C client never
// takes from the database. A Lua script picks a random user's request for
// each one, from requests it formats once per thread (formatting each
// anew cost wrk ~8 µs a request), and its done() hook prints the summary
// and the latency histogram. One wrk thread serves every connection: a
// second cost ~8 µs a request more and added no throughput.
//
// wrk's own percentiles are not what pgbench reports. Before printing them
// (and before the done() hook runs), wrk applies a coordinated-omission
// correction (stats_correct in its stats.c): for every request that took
// at least twice the mean interval between one connection's requests, it
// adds made-up samples at that latency less one, two, ... intervals, as if
// an open-loop client had kept sending on schedule. pgbench's log holds only
// the requests it made. To compare like with like, done() prints wrk's
// whole histogram and uncorrect takes the made-up samples back out; the
// raw sample count must then equal the requests wrk counted, or the run
// fails. On one 10 s run at 8 clients (filtered history) this gave a p99
// of 20.7 ms against wrk's corrected 22.9 ms, and a packet capture on the
// loopback put the requests' own p99 at 20.3 ms.

// wrkScript is the Lua script for one scenario.
const wrkScript = `local tokens = {%s}
local path = %q
local n = #tokens
local prepared = {}
init = function(args)
  for i = 1, n do
    prepared[i] = wrk.format("GET", path, {["Authorization"] = "Bearer " .. tokens[i]})
  end
end
request = function()
  return prepared[math.random(n)]
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %%d %%d %%d %%d %%d\n", summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  local hist = {}
  for i = 1, #latency do
    local v, c = latency(i)
    hist[i] = string.format("%%d %%d", v, c)
  end
  io.write("WRKHIST ", table.concat(hist, " "), "\n")
end
`

// load runs the scenario with wrk at clients connections: a warm-up run,
// then the window as one wrk run per interval, whose samples and counts
// together are the window's. The server's connections to PostgreSQL are
// its pool's, open and warm from run to run; the warm-up settles wrk's
// own new connections and the scenario's pages in the caches. It
// measures the server's CPU over the window.
func load(ctx context.Context, srv *server, tokens []string, sc scenario, clients int, w window, dir string) (result, error) {
	quoted := make([]string, 0, len(sc.users))
	for _, u := range sc.users {
		quoted = append(quoted, strconv.Quote(tokens[u]))
	}
	script := filepath.Join(dir, "wrk.lua")
	if err := os.WriteFile(script, fmt.Appendf(nil, wrkScript, strings.Join(quoted, ","), sc.path), 0o600); err != nil {
		return result{}, err
	}
	if w.warmup > 0 {
		if _, err := runWrk(ctx, srv.base, script, clients, w.warmup); err != nil {
			return result{}, err
		}
	}
	cpu0, err := srv.cpu()
	if err != nil {
		return result{}, err
	}
	var lat []time.Duration
	var counts []int
	var lengths []time.Duration
	for range w.intervals() {
		run, err := runWrk(ctx, srv.base, script, clients, w.interval)
		if err != nil {
			return result{}, err
		}
		lat = append(lat, run.hist.samples()...)
		counts = append(counts, int(run.requests))
		lengths = append(lengths, run.duration)
	}
	cpu1, err := srv.cpu()
	if err != nil {
		return result{}, err
	}
	r := measured(lat, counts, lengths)
	r.cpuPerReq = (cpu1 - cpu0) / time.Duration(max(r.requests, 1))
	return r, nil
}

// wrkRun is one wrk run's outcome: its requests, how long it ran, and the
// requests' own latencies.
type wrkRun struct {
	requests int64
	duration time.Duration
	hist     histogram
}

// runWrk runs wrk with the script at clients connections for d (whole
// seconds, as wrk takes them).
func runWrk(ctx context.Context, base, script string, clients int, d time.Duration) (wrkRun, error) {
	cmd := exec.CommandContext(ctx, "wrk", "-t", "1", "-c", strconv.Itoa(clients),
		"-d", strconv.Itoa(max(int(d.Seconds()), 1))+"s", "--timeout", "10s", "-s", script, base)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return wrkRun{}, fmt.Errorf("wrk: %w\n%s", err, out.String())
	}
	return parseWrk(out.String(), clients)
}

// parseWrk reads the done() hook's lines: requests, duration µs, socket
// errors, non-2xx answers and timeouts, then wrk's latency histogram, whose
// correction it undoes (clients is the connection count wrk ran with).
func parseWrk(out string, clients int) (wrkRun, error) {
	var summary []int64
	var hist histogram
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20) // the histogram is one long line
	for sc.Scan() {
		line := sc.Text()
		if fields, ok := strings.CutPrefix(line, "WRK "); ok {
			var err error
			if summary, err = parseInts(fields); err != nil {
				return wrkRun{}, fmt.Errorf("wrk summary %q: %w", line, err)
			}
			if len(summary) != 5 {
				return wrkRun{}, fmt.Errorf("wrk summary %q: want 5 numbers", line)
			}
		}
		if fields, ok := strings.CutPrefix(line, "WRKHIST "); ok {
			pairs, err := parseInts(fields)
			if err != nil {
				return wrkRun{}, fmt.Errorf("wrk histogram: %w", err)
			}
			if len(pairs)%2 != 0 {
				return wrkRun{}, fmt.Errorf("wrk histogram: %d numbers, not value-count pairs", len(pairs))
			}
			for i := 0; i < len(pairs); i += 2 {
				hist.values = append(hist.values, pairs[i])
				hist.counts = append(hist.counts, pairs[i+1])
			}
		}
	}
	if err := sc.Err(); err != nil {
		return wrkRun{}, fmt.Errorf("wrk output: %w", err)
	}
	if summary == nil {
		return wrkRun{}, errors.New("wrk printed no summary:\n" + out)
	}
	requests, duration := summary[0], summary[1]
	if summary[2]+summary[3]+summary[4] > 0 {
		return wrkRun{}, fmt.Errorf("wrk saw %d socket errors, %d non-2xx answers and %d timeouts:\n%s", summary[2], summary[3], summary[4], out)
	}
	if requests == 0 || duration == 0 {
		return wrkRun{}, fmt.Errorf("wrk made no requests:\n%s", out)
	}
	raw := hist
	if perConn := requests / int64(clients); perConn > 0 {
		// wrk's own expected interval: runtime over requests per connection.
		var err error
		if raw, err = uncorrect(hist, duration/perConn); err != nil {
			return wrkRun{}, err
		}
	}
	if n := raw.total(); n != requests {
		return wrkRun{}, fmt.Errorf("wrk's histogram holds %d requests once its correction is undone, not the %d it made", n, requests)
	}
	return wrkRun{requests: requests, duration: time.Duration(duration) * time.Microsecond, hist: raw}, nil
}

// parseInts reads space-separated integers.
func parseInts(s string) ([]int64, error) {
	fields := strings.Fields(s)
	n := make([]int64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	return n, nil
}

// histogram is a latency histogram as wrk keeps it: distinct latencies
// in µs, ascending, and how many requests took each.
type histogram struct{ values, counts []int64 }

// total is the number of samples.
func (h histogram) total() int64 {
	var n int64
	for _, c := range h.counts {
		n += c
	}
	return n
}

// samples lists every sample, ascending, for percentiles (which takes
// pgbench's figures the same way).
func (h histogram) samples() []time.Duration {
	s := make([]time.Duration, 0, h.total())
	for i, v := range h.values {
		for range h.counts[i] {
			s = append(s, time.Duration(v)*time.Microsecond)
		}
	}
	return s
}

// uncorrect undoes wrk's coordinated-omission correction with the given
// interval: wrk added, for each recorded latency n of at least twice the
// interval, one sample at each of n−interval, n−2·interval, ... above
// the interval, as many as were recorded at n. Those come only from
// recorded samples at higher latencies, so walking down from the top
// tells the recorded from the added at each latency. A latency with fewer
// samples than were added there means h was not corrected this way.
func uncorrect(h histogram, interval int64) (histogram, error) {
	present := make(map[int64]bool, len(h.values))
	for _, v := range h.values {
		present[v] = true
	}
	added := map[int64]int64{}
	counts := make([]int64, len(h.counts))
	for i := len(h.values) - 1; i >= 0; i-- {
		v := h.values[i]
		counts[i] = h.counts[i] - added[v]
		if counts[i] < 0 {
			return histogram{}, fmt.Errorf("wrk's histogram has %d samples at %d µs, fewer than its correction added there", h.counts[i], v)
		}
		if counts[i] == 0 || v < 2*interval {
			continue
		}
		for m := v - interval; m > interval; m -= interval {
			if !present[m] {
				return histogram{}, fmt.Errorf("wrk's histogram has no samples at %d µs, where its correction adds some for %d µs", m, v)
			}
			added[m] += counts[i]
		}
	}
	raw := histogram{}
	for i, c := range counts {
		if c > 0 {
			raw.values = append(raw.values, h.values[i])
			raw.counts = append(raw.counts, c)
		}
	}
	return raw, nil
}
