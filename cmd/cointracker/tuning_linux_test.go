package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointracker/cointracker/db/dbtest"
	"golang.org/x/sys/unix"
)

// TestRuntimeTuning starts the real binary and checks, in the process the
// test started, what TIMER_SLACK, SYSMON_POLL and SCHED_BATCH asked for:
//   - every thread's timer slack and scheduling policy (the runtime's own
//     threads too), read from /proc; with 0 and false the threads keep what
//     they inherited;
//   - GODEBUG in the environment the process image started with; an
//     operator's schedtrace wins, other settings are kept;
//   - whether the idle process still wakes: a polling sysmon makes ~90
//     context switches a second, a parked one none.
//
// The database URL comes from DATABASE_URL_FILE, which the re-executed
// process must resolve afresh.
func TestRuntimeTuning(t *testing.T) {
	inheritedSlack, inheritedPolicy := readSlack(t, "self"), readPolicy(t, "self")
	if inheritedPolicy != unix.SCHED_NORMAL {
		t.Skipf("the test runs under scheduling policy %d, not SCHED_OTHER", inheritedPolicy)
	}
	for _, tc := range []struct {
		slack, poll, batch, godebug string
		wantSlack                   int64
		wantPolicy                  int
		wantGodebug                 string
		wantPolling                 bool
	}{
		{"2ms", "true", "true", "", 2_000_000, unix.SCHED_BATCH, sysmonPollDebug, true},
		{"0", "false", "false", "", inheritedSlack, inheritedPolicy, "", false},
		{"0", "false", "true", "", inheritedSlack, unix.SCHED_BATCH, "", false},
		{"0", "true", "false", "madvdontneed=1", inheritedSlack, inheritedPolicy, "madvdontneed=1," + sysmonPollDebug, true},
		{"2ms", "true", "false", "schedtrace=0", 2_000_000, inheritedPolicy, "schedtrace=0", false},
	} {
		t.Run(strings.Join([]string{tc.slack, tc.poll, tc.batch, tc.godebug}, ","), func(t *testing.T) {
			clearEnv(t)
			urlFile := filepath.Join(t.TempDir(), "database-url")
			if err := os.WriteFile(urlFile, []byte(dbtest.NewURL(t)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			addr := freeAddr(t)
			t.Setenv("DATABASE_URL_FILE", urlFile)
			t.Setenv("AUTH_MODE", "dev")
			t.Setenv("HTTP_ADDR", addr)
			t.Setenv("SYNC_WORKERS", "0")
			t.Setenv("TIMER_SLACK", tc.slack)
			t.Setenv("SYSMON_POLL", tc.poll)
			t.Setenv("SCHED_BATCH", tc.batch)
			t.Setenv("GODEBUG", tc.godebug)
			if tc.godebug == "" {
				_ = os.Unsetenv("GODEBUG") // t.Setenv restores it afterwards
			}
			serve := exec.CommandContext(context.Background(), buildBinary(t), "serve")
			var logs strings.Builder
			serve.Stdout, serve.Stderr = &logs, &logs
			if err := serve.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = serve.Process.Kill()
				_ = serve.Wait()
			}()
			waitReady(t, "http://"+addr, &logs)

			pid := strconv.Itoa(serve.Process.Pid)
			threads, err := os.ReadDir(filepath.Join("/proc", pid, "task"))
			if err != nil {
				t.Fatal(err)
			}
			if len(threads) < 2 {
				t.Fatalf("%d threads: the runtime's own are missing", len(threads))
			}
			for _, th := range threads {
				if got := readSlack(t, th.Name()); got != tc.wantSlack {
					t.Errorf("thread %s of %d: timer slack %dns, want %dns", th.Name(), len(threads), got, tc.wantSlack)
				}
				if got := readPolicy(t, th.Name()); got != tc.wantPolicy {
					t.Errorf("thread %s of %d: scheduling policy %d, want %d", th.Name(), len(threads), got, tc.wantPolicy)
				}
			}
			if got := startEnv(t, pid, "GODEBUG"); got != tc.wantGodebug {
				t.Errorf("GODEBUG %q, want %q", got, tc.wantGodebug)
			}
			time.Sleep(500 * time.Millisecond) // start-up's own work settles
			before := switches(t, pid)
			time.Sleep(time.Second)
			idle := switches(t, pid) - before
			if polling := idle > 20; polling != tc.wantPolling {
				t.Errorf("idle for 1s the process made %d voluntary context switches: polling %v, want %v", idle, polling, tc.wantPolling)
			}
		})
	}
}

// readPolicy returns a thread's scheduling policy (SCHED_OTHER 0,
// SCHED_BATCH 3, …), the 41st field of /proc/TID/stat.
func readPolicy(t *testing.T, tid string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", tid, "stat"))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) may hold spaces; fields count from after it.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	policy, err := strconv.Atoi(fields[41-3])
	if err != nil {
		t.Fatal(err)
	}
	return policy
}

// startEnv returns the value of name in the environment process pid's
// image started with ("" when absent).
func startEnv(t *testing.T, pid, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", pid, "environ"))
	if err != nil {
		t.Fatal(err)
	}
	for kv := range strings.SplitSeq(string(b), "\x00") {
		if value, ok := strings.CutPrefix(kv, name+"="); ok {
			return value
		}
	}
	return ""
}

// switches returns the voluntary context switches of all of process pid's
// threads so far.
func switches(t *testing.T, pid string) int {
	t.Helper()
	statuses, err := filepath.Glob(filepath.Join("/proc", pid, "task", "*", "status"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, path := range statuses {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					t.Fatal(err)
				}
				total += n
			}
		}
	}
	return total
}

// readSlack returns a thread's timer slack in nanoseconds.
func readSlack(t *testing.T, tid string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", tid, "timerslack_ns"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitReady waits until the server at base answers /readyz.
func waitReady(t *testing.T, base string, logs *strings.Builder) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := get(context.Background(), base+"/readyz"); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never came up:\n%s", logs.String())
		}
	}
}
