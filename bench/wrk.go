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
// anew cost wrk ~8 µs a request), and its done() hook prints the figures
// on one line. One wrk thread serves every connection: a second cost
// ~8 µs a request more and added no throughput.

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
  io.write(string.format("WRK %%d %%d %%d %%d %%d %%d %%d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.status, summary.errors.timeout))
end
`

// load runs the scenario with wrk at clients connections for d, and
// measures the server's CPU over it.
func load(ctx context.Context, srv *server, tokens []string, sc scenario, clients int, d time.Duration, dir string) (result, error) {
	quoted := make([]string, 0, len(sc.users))
	for _, u := range sc.users {
		quoted = append(quoted, strconv.Quote(tokens[u]))
	}
	script := filepath.Join(dir, "wrk.lua")
	if err := os.WriteFile(script, fmt.Appendf(nil, wrkScript, strings.Join(quoted, ","), sc.path), 0o600); err != nil {
		return result{}, err
	}
	cpu0, err := srv.cpu()
	if err != nil {
		return result{}, err
	}
	cmd := exec.CommandContext(ctx, "wrk", "-t", "1", "-c", strconv.Itoa(clients),
		"-d", strconv.Itoa(max(int(d.Seconds()), 1))+"s", "--timeout", "10s", "-s", script, srv.base)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("wrk: %w\n%s", err, out.String())
	}
	cpu1, err := srv.cpu()
	if err != nil {
		return result{}, err
	}
	r, err := parseWrk(out.String())
	if err != nil {
		return result{}, err
	}
	r.cpuPerReq = (cpu1 - cpu0) / time.Duration(max(r.requests, 1))
	return r, nil
}

// parseWrk reads the done() hook's line: requests, duration µs, p50 µs,
// p99 µs, socket errors, non-2xx answers, timeouts.
func parseWrk(out string) (result, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		fields, ok := strings.CutPrefix(sc.Text(), "WRK ")
		if !ok {
			continue
		}
		var n [7]int64
		for i, f := range strings.Fields(fields) {
			if i >= len(n) {
				break
			}
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return result{}, fmt.Errorf("wrk output %q: %w", sc.Text(), err)
			}
			n[i] = v
		}
		if n[4]+n[5]+n[6] > 0 {
			return result{}, fmt.Errorf("wrk saw %d socket errors, %d non-2xx answers and %d timeouts:\n%s", n[4], n[5], n[6], out)
		}
		if n[0] == 0 || n[1] == 0 {
			return result{}, fmt.Errorf("wrk made no requests:\n%s", out)
		}
		return result{
			requests: int(n[0]),
			rate:     float64(n[0]) / (time.Duration(n[1]) * time.Microsecond).Seconds(),
			p50:      time.Duration(n[2]) * time.Microsecond,
			p99:      time.Duration(n[3]) * time.Microsecond,
		}, nil
	}
	return result{}, errors.New("wrk printed no summary:\n" + out)
}
