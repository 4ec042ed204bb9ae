package main

import (
	"fmt"
	"time"

	"gonum.org/v1/gonum/stat"
)

// Growth is the judgement of one resource's samples: the least-squares line through the second
// half of them (the first half is warm-up: pools fill, caches and buffers grow to their working
// size), its growth projected over the whole soak, and whether that is unbounded growth.
type Growth struct {
	// Slope is the fitted growth per second over the second half.
	Slope float64
	// Mean is the mean of the second half.
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

// judge fits a line to the second half of values (sampled at times t, in seconds from the
// start) and compares its growth over duration with th. With fewer than 2*minSamples samples
// there is nothing to judge and it returns an error.
func judge(t, values []float64, duration time.Duration, th Threshold) (Growth, error) {
	if len(t) != len(values) {
		return Growth{}, fmt.Errorf("%d times for %d values", len(t), len(values))
	}
	if len(values) < 2*minSamples {
		return Growth{}, fmt.Errorf("%d samples: too few to judge (want %d at least; a longer soak or a shorter interval)", len(values), 2*minSamples)
	}
	half := len(values) / 2
	xs, ys := t[half:], values[half:]
	_, slope := stat.LinearRegression(xs, ys, nil, false)
	g := Growth{Slope: slope, Mean: stat.Mean(ys, nil), N: len(ys)}
	g.Projected = slope * duration.Seconds()
	g.Limit = th.Share*g.Mean + th.Floor
	g.Grows = g.Projected > g.Limit
	return g, nil
}
