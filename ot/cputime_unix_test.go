//go:build unix

package ot_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system, all threads, the
// garbage collector's included) the process has used so far: on a shared
// machine it measures a replay's cost better than the wall clock.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
