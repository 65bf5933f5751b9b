//go:build !linux

package main

import "time"

// reexec does nothing: timer slack is a Linux setting, and the runtime
// tuning is applied only where it was measured.
func reexec(time.Duration, bool, []string) error { return nil }
