package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reexec executes the binary again with environ, after giving this thread
// the timer slack (unless it is 0 or already the slack). A thread's slack
// is copied to the threads it creates, and the Go runtime starts its own
// threads (sysmon among them) before main runs, so every thread of the new
// image descends from this one; the runtime reads GODEBUG as it starts.
// The process keeps its pid, open descriptors and arguments. When neither
// the slack needs setting (a parent, e.g. systemd's TimerSlackNSec=, set
// it) nor environ differs from the process's (envChanged), nothing
// happens. Otherwise it returns only on failure.
func reexec(slack time.Duration, envChanged bool, environ []string) error {
	current, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("read the timer slack: %w", err)
	}
	setSlack := slack != 0 && time.Duration(current) != slack
	if !setSlack && !envChanged {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the binary to re-execute: %w", err)
	}
	runtime.LockOSThread() // the slack and the exec must be this thread's
	defer runtime.UnlockOSThread()
	if setSlack {
		if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack.Nanoseconds()), 0, 0, 0); err != nil {
			return fmt.Errorf("set the timer slack: %w", err)
		}
	}
	err = syscall.Exec(exe, os.Args, environ)
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(current), 0, 0, 0)
	return fmt.Errorf("re-execute %s: %w", exe, err)
}
