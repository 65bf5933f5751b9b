package main

import (
	"io"
	"os"
	"strings"

	"github.com/cointracker/cointracker/config"
	"github.com/cointracker/cointracker/logging"
)

// The long-running commands ask Linux for timer slack (TIMER_SLACK): how
// late the kernel may fire a thread's timers so that wake-ups coalesce.
// While any goroutine runs, the Go runtime's monitor thread (sysmon)
// sleeps 20µs at a time, starting over at 20µs each time the process
// comes back from idle. In `make bench` (page 1, 16 clients) it woke
// ~4,000 times a second at the kernel's default slack of 50µs and ~1,400
// at 1ms, and the server's CPU per request fell from ~290 to ~215µs: on
// that virtual machine each wake-up is a costly context switch. Nothing
// the service times is that fine: deadlines and back-offs are
// milliseconds or more.

// restoreEnviron makes the environment environ again.
func restoreEnviron(environ []string) {
	os.Clearenv()
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			_ = os.Setenv(k, v)
		}
	}
}

// timerSlackMarker is set in the environment of the re-executed process,
// so a kernel that ignores the request cannot make it execute itself again
// and again.
const timerSlackMarker = "COINTRACKER_TIMER_SLACK_APPLIED"

// applyTimerSlackFor applies TIMER_SLACK before serve and worker start,
// by re-executing the binary when needed (see setTimerSlack): it either
// does not return, or returns to let the command run as it is. Problems
// are logged, never fatal; the command itself reports bad configuration.
// The environment is left as it came: the command loads it afresh.
func applyTimerSlackFor(args []string, stderr io.Writer) {
	if len(args) == 0 || (args[0] != "serve" && args[0] != "worker") {
		return
	}
	if os.Getenv(timerSlackMarker) != "" {
		_ = os.Unsetenv(timerSlackMarker)
		return
	}
	// The environment as it came, before config.Load adds .env's values
	// and resolves NAME_FILE variables into NAME (the new process does
	// both again; a NAME beside its NAME_FILE would be refused).
	environ := os.Environ()
	defer restoreEnviron(environ)
	cfg, err := config.Load()
	if err != nil || cfg.ValidateTimerSlack() != nil || cfg.TimerSlack == 0 {
		return
	}
	if err := setTimerSlack(cfg.TimerSlack, append(environ, timerSlackMarker+"=1")); err != nil {
		logging.New(stderr, cfg.LogLevel, cfg.LogFormat).Warn(
			"TIMER_SLACK not applied: the process keeps the kernel's timer slack", "error", err.Error())
	}
}
