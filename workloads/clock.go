package workloads

import "time"

// Clock is a run's time axis: monotonic nanoseconds since the run's start, the axis of every
// history record. Its start also carries the wall-clock time, written in the history header so
// that server times (a hold's expires_at) can be placed on the same axis. A Clock is safe for
// concurrent use; create it with NewClock.
type Clock struct {
	start time.Time
}

// NewClock returns a clock whose zero is now.
func NewClock() *Clock { return &Clock{start: time.Now()} }

// Start returns the wall-clock time of the clock's zero (with its monotonic reading).
func (c *Clock) Start() time.Time { return c.start }

// Now returns the nanoseconds elapsed since the clock's zero, from the monotonic clock.
func (c *Clock) Now() int64 { return int64(time.Since(c.start)) }

// At returns the time at offset d from the clock's zero.
func (c *Clock) At(d time.Duration) time.Time { return c.start.Add(d) }

// Since returns t on the clock's axis, in nanoseconds (negative before the zero).
func (c *Clock) Since(t time.Time) int64 { return int64(t.Sub(c.start)) }
