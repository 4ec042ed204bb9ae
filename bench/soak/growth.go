package main

import (
	"fmt"
	"time"

	"gonum.org/v1/gonum/stat"
)

// Growth is the judgement of one resource's samples: the least-squares line through the second
// half of its floor (the first half is warm-up: pools fill, caches and buffers grow to their
// working size), its growth projected over the whole soak, and whether that is unbounded growth.
//
// The floor at a sample is the least value of the cycle of samples ending there (floor): the
// level the resource came back to within the last fault cycle. The soak repeats its faults
// every cycle, and the server's pools follow them: pool-exhaustion fills the database pool to
// its size, db-conn-kill and redis-restart empty the database and Redis pools, which refill as
// the load asks, and an idle connection is closed only after minutes (pgx's MaxConnIdleTime
// and health check, go-redis's ConnMaxIdleTime). Their sockets are open file descriptors. So
// the samples rise and fall by tens of connections within a cycle, in plateaus that outlast the
// sampling interval by far and whose phase against the end of the soak varies from run to run;
// a line through the samples themselves then slopes up or down by that much when a plateau
// happens to start or end near the end (a 10-minute soak of the same scenario projected +40 open
// fds in one run and -87 in the next). What is leaked is never given back: a leak raises the
// floor by the same amount as the samples, while a plateau that ends within the cycle leaves
// the floor where it was. The thresholds are those of the samples: only what is fitted changed.
type Growth struct {
	// Slope is the fitted growth of the floor per second over the second half.
	Slope float64
	// Mean is the mean of the samples of the second half.
	Mean float64
	// Projected is Slope times the soak's duration: how much the resource would grow over a
	// soak as long again.
	Projected float64
	// Limit is what Projected may reach: Share of Mean plus the resource's Floor.
	Limit float64
	// Grows says Projected is over Limit.
	Grows bool
	// N is how many samples the fit used.
	N int
}

// Threshold is how much growth a resource may show over a soak before it counts as growing
// without bound: Share of its mean plus Floor, an absolute amount below which growth is noise
// (a few goroutines of a request in flight, a GC cycle's worth of heap).
type Threshold struct {
	Share float64
	Floor float64
}

// minSamples is the fewest samples in the second half that a fit is made from.
const minSamples = 4

// judge fits a line to the second half of the floor of values (sampled at times t, in seconds
// from the start; window is how many samples a fault cycle spans, 1 or less for none) and
// compares its growth over duration with th. With fewer than 2*minSamples samples, or a
// second half shorter than a cycle, there is nothing to judge and it returns an error.
func judge(t, values []float64, duration time.Duration, window int, th Threshold) (Growth, error) {
	if len(t) != len(values) {
		return Growth{}, fmt.Errorf("%d times for %d values", len(t), len(values))
	}
	if len(values) < 2*minSamples {
		return Growth{}, fmt.Errorf("%d samples: too few to judge (want %d at least; a longer soak or a shorter interval)", len(values), 2*minSamples)
	}
	half := len(values) / 2
	if window > half {
		return Growth{}, fmt.Errorf("%d samples: too few to judge a fault cycle of %d samples (want %d at least: a longer soak)", len(values), window, 2*window)
	}
	xs, ys := t[half:], floor(values, window)[half:]
	_, slope := stat.LinearRegression(xs, ys, nil, false)
	g := Growth{Slope: slope, Mean: stat.Mean(values[half:], nil), N: len(ys)}
	g.Projected = slope * duration.Seconds()
	g.Limit = th.Share*g.Mean + th.Floor
	g.Grows = g.Projected > g.Limit
	return g, nil
}

// floor is, at each sample, the least of the window samples ending there (of those there are
// at the start): the running minimum over one fault cycle.
func floor(values []float64, window int) []float64 {
	out := make([]float64, len(values))
	for i := range values {
		lo := values[i]
		for j := max(0, i-window+1); j < i; j++ {
			lo = min(lo, values[j])
		}
		out[i] = lo
	}
	return out
}
