package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reexec executes the binary again with environ, after giving this thread
// t's timer slack and scheduling policy. A thread's slack and policy are
// copied to the threads it creates, and the Go runtime starts its own
// threads (sysmon among them) before main runs, so every thread of the new
// image descends from this one; the runtime reads GODEBUG as it starts.
// The process keeps its pid, open descriptors and arguments. A policy
// other than SCHED_OTHER (real-time, idle, or batch already) is left as it
// is. When nothing needs changing (a parent, e.g. systemd's
// TimerSlackNSec= and CPUSchedulingPolicy=batch, set it all), nothing
// happens. Otherwise it returns only on failure.
func reexec(t tuning, environ []string) error {
	slack, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("read the timer slack: %w", err)
	}
	attr, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return fmt.Errorf("read the scheduling policy: %w", err)
	}
	setSlack := t.slack != 0 && time.Duration(slack) != t.slack
	setBatch := t.batch && attr.Policy == unix.SCHED_NORMAL
	if !setSlack && !setBatch && !t.envChanged {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the binary to re-execute: %w", err)
	}
	runtime.LockOSThread() // the settings and the exec must be this thread's
	defer runtime.UnlockOSThread()
	err = set(t.slack, setSlack, attr, setBatch)
	if err == nil {
		err = fmt.Errorf("re-execute %s: %w", exe, syscall.Exec(exe, os.Args, environ))
	}
	// Still here: this thread gets back what was changed.
	if setSlack {
		err = errors.Join(err, unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0))
	}
	if setBatch {
		err = errors.Join(err, unix.SchedSetAttr(0, attr, 0))
	}
	return err
}

// set gives this thread the timer slack and SCHED_BATCH, each if asked.
func set(slack time.Duration, setSlack bool, attr *unix.SchedAttr, setBatch bool) error {
	if setSlack {
		if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack.Nanoseconds()), 0, 0, 0); err != nil {
			return fmt.Errorf("set the timer slack: %w", err)
		}
	}
	if setBatch {
		batch := *attr // keeps the nice value, which sched_setattr also sets
		batch.Policy = unix.SCHED_BATCH
		if err := unix.SchedSetAttr(0, &batch, 0); err != nil {
			return fmt.Errorf("set SCHED_BATCH: %w", err)
		}
	}
	return nil
}
