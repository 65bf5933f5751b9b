package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serverConfig is how one server under test runs. Zero values leave the
// server at a default deployment's settings: the pool size it chooses
// itself and every core.
type serverConfig struct {
	pool  int // DATABASE_MAX_CONNS; 0: the server's default
	procs int // GOMAXPROCS; 0: Go's default (every core)
}

// server is a cointracker process under test.
type server struct {
	cmd   *exec.Cmd
	base  string
	admin string // the admin listener: /metrics and pprof
	// asked is the configuration it was started with; pool and procs are
	// what it reports it runs with (its /metrics).
	asked       serverConfig
	pool, procs int
}

// label names the server in the printout.
func (s *server) label() string {
	return fmt.Sprintf("pool %d, %d cores", s.pool, s.procs)
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

func startServer(ctx context.Context, binary, dbURL, keyFile string, sc serverConfig) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	adminAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, binary, "serve")
	// No sync workers: the fixtures are made up, and syncing them against
	// a real provider would only add load the measurement should not see.
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "AUTH_MODE=dev", "HTTP_ADDR="+addr,
		"DEV_KEY_FILE="+keyFile, "RATE_LIMIT_RPS=0", "ADMIN_ADDR="+adminAddr, "LOG_LEVEL=warn", "SYNC_WORKERS=0",
		// The export is timed whole, whatever the user's history size.
		"EXPORT_MAX_ROWS=0", "EXPORT_MAX_DURATION=0")
	// Whatever the bench's own environment says, the server gets only
	// the settings asked for: unset is a default deployment.
	env = withoutVars(env, "DATABASE_MAX_CONNS", "GOMAXPROCS")
	if sc.pool > 0 {
		env = append(env, "DATABASE_MAX_CONNS="+strconv.Itoa(sc.pool))
	}
	if sc.procs > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(sc.procs))
	}
	cmd.Env = env
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, admin: adminAddr, asked: sc}
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	if s.pool, s.procs, err = s.settings(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// withoutVars is env without the named variables.
func withoutVars(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}

func (s *server) waitReady(ctx context.Context) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("the server did not become ready in 30 s")
}

// settings reads the pool size and GOMAXPROCS the server runs with from
// its metrics (db_pool_max_connections, and the Go collector's
// go_sched_gomaxprocs_threads).
func (s *server) settings(ctx context.Context) (pool, procs int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.admin+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("read the server's metrics: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	values := map[string]int{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if name == "db_pool_max_connections" || name == "go_sched_gomaxprocs_threads" {
			v, perr := strconv.ParseFloat(value, 64)
			if !ok || perr != nil {
				return 0, 0, fmt.Errorf("metric line %q", sc.Text())
			}
			values[name] = int(v)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	pool, procs = values["db_pool_max_connections"], values["go_sched_gomaxprocs_threads"]
	if pool == 0 || procs == 0 {
		return 0, 0, errors.New("the server's metrics name no pool size or GOMAXPROCS")
	}
	return pool, procs, nil
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
