//go:build !linux

package main

import "time"

// setTimerSlack does nothing: timer slack is a Linux setting.
func setTimerSlack(time.Duration, []string) error { return nil }
