package overload

import (
	"math"
	"time"
)

// The adaptive limit (Config.Target): an AIMD controller, as in Netflix's concurrency-limits,
// over the number of requests the budget lets in flight. It watches the service time of hold
// requests (from the moment a request is let in to its release: the budget's own queue wait is
// left out), window by window, and
//
//   - when more than a tenth of a window's holds took longer than the target (its p90 over the
//     target), multiplies the limit by limitBackoff, down to the least limit;
//   - when the window's holds were within the target and the limit was reached in it (a
//     request found every slot of its class taken), adds the square root of the limit, up to
//     MaxInFlight.
//
// The class ceilings are the shares of the current limit, so a shrinking limit sheds browsing
// first, then joins, then holds, and checkouts last. Only holds are the signal: a hold is the
// server's own work (database, Redis), while a checkout waits on the payment processor, which no
// limit on this server makes faster; a slow processor must not make the server shed its buyers.
//
// A window ends at the first hold released at least limitWindow after it began that has seen
// limitMinSamples holds, so a quiet server keeps its limit (nothing is learnt without holds).
const (
	// limitWindow is the shortest window of samples the limit is changed on.
	limitWindow = 100 * time.Millisecond
	// limitMinSamples is the fewest holds a window needs to change the limit.
	limitMinSamples = 5
	// limitBackoff is the multiplicative decrease of a window whose holds were slow.
	limitBackoff = 0.8
	// limitSlowShare is the share of a window's holds over the target that makes it slow:
	// its p90 is over the target.
	limitSlowShare = 0.1
)

// DefaultMinInFlight is the least the adaptive limit goes down to when Config.MinInFlight is 0:
// enough holds and checkouts at once to keep two cores and a database pool busy (at 32: 28
// holds, 16 browsers). A lower floor measured worse on a machine starved by other processes:
// there the holds are slow at any concurrency, and a limit of 8 only shed the buyers.
const DefaultMinInFlight = 32

// limiter is the adaptive limit's state; Budget.mu guards it.
type limiter struct {
	target   time.Duration
	min, max float64
	limit    float64

	start       time.Time // the current window's start
	n, slow     int       // holds released in the window, and those over the target
	reached     bool      // a request found its class's ceiling reached in the window
	initialised bool
}

// observe counts a hold's service time d released at now and, at the end of a window, moves the
// limit. It reports whether the limit changed.
func (l *limiter) observe(d time.Duration, now time.Time) bool {
	if !l.initialised {
		l.start, l.initialised = now, true
	}
	l.n++
	if d > l.target {
		l.slow++
	}
	if l.n < limitMinSamples || now.Sub(l.start) < limitWindow {
		return false
	}
	old := l.limit
	switch {
	case float64(l.slow) > limitSlowShare*float64(l.n):
		l.limit = math.Max(l.min, l.limit*limitBackoff)
	case l.reached:
		l.limit = math.Min(l.max, l.limit+math.Sqrt(l.limit))
	}
	l.start, l.n, l.slow, l.reached = now, 0, 0, false
	return int(l.limit) != int(old)
}
