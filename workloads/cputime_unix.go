//go:build unix

package workloads

import (
	"syscall"
	"time"
)

// processCPU is the user plus system CPU time the process has used so far, on all threads
// (getrusage RUSAGE_SELF); ok is false when it cannot be read.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
