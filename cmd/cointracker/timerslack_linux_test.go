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
)

// TestTimerSlack starts the real binary and reads every thread's timer
// slack from /proc: with TIMER_SLACK set, all of them (the runtime's own
// threads too) carry it, in the process the test started; with 0 they
// keep what they inherited. The database URL comes from DATABASE_URL_FILE,
// which the re-executed process must resolve afresh.
func TestTimerSlack(t *testing.T) {
	inherited := readSlack(t, "self")
	for _, tc := range []struct {
		setting string
		want    int64
	}{
		{"2ms", 2_000_000},
		{"0", inherited},
	} {
		t.Run(tc.setting, func(t *testing.T) {
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
			t.Setenv("TIMER_SLACK", tc.setting)
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
				if got := readSlack(t, th.Name()); got != tc.want {
					t.Errorf("thread %s of %d: timer slack %dns, want %dns", th.Name(), len(threads), got, tc.want)
				}
			}
		})
	}
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
