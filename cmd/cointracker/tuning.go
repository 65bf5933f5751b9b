package main

import (
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cointracker/cointracker/config"
)

// The long-running commands (serve, worker) tune three things that Linux
// and the Go runtime settle before main runs, so the binary executes
// itself again (same pid) with all of them in place. Each cut the server's
// CPU per request in make bench (page 1, 16 clients), where PostgreSQL
// shares the two cores and every context switch is costly on the virtual
// machine.
//
//   - TIMER_SLACK: how late the kernel may fire a thread's timers so that
//     wake-ups coalesce. While any goroutine runs, the runtime's monitor
//     thread (sysmon) sleeps 20µs at a time, starting over at 20µs each
//     time the process comes back from idle: it woke ~4,000 times a second
//     at the kernel's default slack of 50µs and ~1,400 at 1ms, and CPU per
//     request fell from ~290 to ~215µs. Nothing the service times is that
//     fine: deadlines and back-offs are milliseconds or more.
//   - SYSMON_POLL: sysmon parks whenever every P is idle, and the first
//     system call after idle wakes it with a futex. A server waiting on
//     PostgreSQL goes idle between most requests, so that was ~1,250
//     wake-ups a second, ~18µs of CPU per request (~8%). Polling, sysmon
//     backs off to one wake-up every 10ms (~100 a second, busy or idle).
//     Go's only switch for this is its scheduler trace: with
//     GODEBUG=schedtrace=N sysmon never parks, and prints one line to
//     standard error each time the time since boot passes a multiple of N
//     milliseconds; the largest N puts those 24.8 days apart.
//   - SCHED_BATCH: under SCHED_BATCH a thread's wake-up waits for the
//     running task's turn to end instead of preempting it. The server
//     wakes a few times per request (a request, a query's result), and
//     each wake-up preempted a PostgreSQL backend mid-query. As a batch
//     process it took ~20% less CPU per request (169-180 -> 139-146µs),
//     the machine made 4-5 context switches per request instead of 6-7,
//     and the API served 2-10% more requests (four runs each at 8
//     clients) with p99 unchanged (13-16ms). Any process may choose the
//     policy for itself; no privilege is needed.

// mayReexec is set by main: only the real process may execute itself
// again; tests call run in-process and keep the runtime they have.
var mayReexec bool

// tunedMarker is set in the environment of the re-executed process, so a
// setting that does not take (a kernel that ignores the slack) cannot make
// it execute itself again and again.
const tunedMarker = "COINTRACKER_RUNTIME_TUNED"

// sysmonPollDebug is the GODEBUG setting that keeps sysmon polling.
const sysmonPollDebug = "schedtrace=2147483647"

// tuneRuntime applies TIMER_SLACK, SYSMON_POLL and SCHED_BATCH before
// serve and worker start, by executing the binary again with environ when
// needed (see reexec): it either does not return, or returns to let the
// command run as it is. Problems are logged, never fatal; the command
// itself reports a bad setting.
func tuneRuntime(cfg config.Config, environ []string, log *slog.Logger) {
	if os.Getenv(tunedMarker) != "" {
		_ = os.Unsetenv(tunedMarker)
		return
	}
	if !mayReexec || cfg.ValidateTimerSlack() != nil {
		return
	}
	t := tuning{slack: cfg.TimerSlack, batch: cfg.SchedBatch}
	if cfg.SysmonPoll {
		environ, t.envChanged = withSysmonPoll(environ)
	}
	if err := reexec(t, append(environ, tunedMarker+"=1")); err != nil {
		log.Warn("TIMER_SLACK, SYSMON_POLL and SCHED_BATCH not applied: the process runs with the defaults", "error", err.Error())
	}
}

// tuning is what reexec gives the process.
type tuning struct {
	slack      time.Duration // timer slack; 0 keeps the inherited one
	batch      bool          // SCHED_BATCH instead of SCHED_OTHER
	envChanged bool          // the environment differs from the process's
}

// withSysmonPoll returns environ with sysmonPollDebug added to GODEBUG,
// and whether that changed anything: a schedtrace the operator set wins.
func withSysmonPoll(environ []string) ([]string, bool) {
	out := make([]string, 0, len(environ)+1)
	found := false
	for _, kv := range environ {
		value, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			out = append(out, kv)
			continue
		}
		for setting := range strings.SplitSeq(value, ",") {
			if strings.HasPrefix(setting, "schedtrace=") {
				return environ, false
			}
		}
		if value != "" {
			value += ","
		}
		out = append(out, "GODEBUG="+value+sysmonPollDebug)
		found = true
	}
	if !found {
		out = append(out, "GODEBUG="+sysmonPollDebug)
	}
	return out, true
}
