package main

import (
	"log/slog"
	"os"

	"github.com/cointracker/cointracker/config"
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

// mayReexec is set by main: only the real process may execute itself
// again; tests call run in-process and keep the slack they have.
var mayReexec bool

// timerSlackMarker is set in the environment of the re-executed process,
// so a kernel that ignores the request cannot make it execute itself again
// and again.
const timerSlackMarker = "COINTRACKER_TIMER_SLACK_APPLIED"

// applyTimerSlack applies TIMER_SLACK before serve and worker start, by
// executing the binary again with environ when needed (see
// setTimerSlack): it either does not return, or returns to let the
// command run as it is. Problems are logged, never fatal; the command
// itself reports a bad setting.
func applyTimerSlack(cfg config.Config, environ []string, log *slog.Logger) {
	if os.Getenv(timerSlackMarker) != "" {
		_ = os.Unsetenv(timerSlackMarker)
		return
	}
	if !mayReexec || cfg.TimerSlack == 0 || cfg.ValidateTimerSlack() != nil {
		return
	}
	if err := setTimerSlack(cfg.TimerSlack, append(environ, timerSlackMarker+"=1")); err != nil {
		log.Warn("TIMER_SLACK not applied: the process keeps the kernel's timer slack", "error", err.Error())
	}
}
