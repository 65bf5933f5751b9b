package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// setTimerSlack gives every thread of the process the timer slack d. A
// thread's slack is copied to the threads it creates, and the Go runtime
// starts its own threads (sysmon among them) before main runs, so the
// slack is set on this thread and the binary executed again: every thread
// of the new image descends from this one. The process keeps its pid,
// open descriptors and arguments. When the slack is already d (a parent,
// e.g. systemd's TimerSlackNSec=, set it), nothing happens. It returns
// only on failure.
func setTimerSlack(d time.Duration, environ []string) error {
	current, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("read the timer slack: %w", err)
	}
	if time.Duration(current) == d {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the binary to re-execute: %w", err)
	}
	runtime.LockOSThread() // the slack and the exec must be this thread's
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(d.Nanoseconds()), 0, 0, 0); err != nil {
		return fmt.Errorf("set the timer slack: %w", err)
	}
	err = syscall.Exec(exe, os.Args, environ)
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(current), 0, 0, 0)
	return fmt.Errorf("re-execute %s: %w", exe, err)
}
