//go:build !linux

package main

// reexec does nothing: timer slack and SCHED_BATCH are Linux settings, and
// the runtime tuning is applied only where it was measured.
func reexec(tuning, []string) error { return nil }
