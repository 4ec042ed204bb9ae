package workloads

import (
	"fmt"
	"runtime"
	"time"
)

// A load generator that falls behind measures itself, not the target: its requests start
// late, wait for its own connections, or never start, and the latencies it reports grow for
// reasons the target has no part in. wrk2 and k6 warn when that happens; the driver measures
// it and says so in the Summary (GeneratorBound), so that a report does not blame the target
// for the generator's limits.

// Saturation says when the driver, not the target, limited a run. Zero fields take the
// defaults.
type Saturation struct {
	// MaxLagP99 bounds the 99th percentile of the driver's lag: how late it began requests
	// after they were due (default DefaultMaxLagP99).
	MaxLagP99 time.Duration
	// MaxSlotShare bounds the share of requests that waited for one of the driver's
	// connection slots, or never got one (default DefaultMaxSlotShare).
	MaxSlotShare float64
	// MaxCPU is the share of its cores (GOMAXPROCS) the driver's process may use in a second
	// before that second counts as saturated (default DefaultMaxCPU). The run is bound when at
	// least a quarter of its seconds, and at least three, were saturated.
	MaxCPU float64
}

// Defaults of Saturation.
const (
	DefaultMaxLagP99    = 100 * time.Millisecond
	DefaultMaxSlotShare = 0.05
	DefaultMaxCPU       = 0.9
)

func (s Saturation) withDefaults() Saturation {
	if s.MaxLagP99 <= 0 {
		s.MaxLagP99 = DefaultMaxLagP99
	}
	if s.MaxSlotShare <= 0 {
		s.MaxSlotShare = DefaultMaxSlotShare
	}
	if s.MaxCPU <= 0 {
		s.MaxCPU = DefaultMaxCPU
	}
	return s
}

// GeneratorStats is the driver's account of itself over a run.
type GeneratorStats struct {
	// Lag is how late the driver began each request after it was due (the user's arrival, the
	// end of a planned pause, or the answer before it); ArrivalLag how late each user started
	// after its arrival was due.
	Lag        Latency `json:"lag"`
	ArrivalLag Latency `json:"arrival_lag"`
	// LagIdle is the lag of the requests that found a connection slot free (all of them when
	// the driver has no slots): the lag judged against Saturation.MaxLagP99. Each shard judges
	// its own; a summary combined from shards leaves it zero.
	LagIdle Latency `json:"lag_idle_slots"`
	// SlotWait is how long requests waited for one of the driver's connection slots (0 for
	// those that did not wait); SlotWaits counts those that waited and then got one, and
	// SlotStarved those whose deadline passed first (never sent, recorded as fail).
	SlotWait    Latency `json:"slot_wait"`
	SlotWaits   int64   `json:"slot_waits"`
	SlotStarved int64   `json:"slot_starved"`
	// MaxConns is the driver's bound on connections for ordinary requests (0: no bound, or the
	// caller's HTTP client). Waiting-room streams are outside it.
	MaxConns int `json:"max_conns"`
	// LagSeconds and SlotWaitSeconds are the sums over all requests: the driver's own share of
	// the time its requests took.
	LagSeconds      float64 `json:"lag_seconds"`
	SlotWaitSeconds float64 `json:"slot_wait_seconds"`
	// TargetSlowdown is the share of the slots' held time the target added above its own
	// unloaded time, TargetSlowed whether that made the slot waits the target's, and
	// SlotWaitTargetSeconds the part of SlotWaitSeconds counted as the target's (the rule is in
	// attribution.go). Combined from shards: the largest slowdown, whether any shard's target
	// slowed, and the sum of the seconds.
	TargetSlowdown        float64 `json:"target_slowdown"`
	TargetSlowed          bool    `json:"target_slowed"`
	SlotWaitTargetSeconds float64 `json:"slot_wait_target_seconds"`
	CPU                   CPUUse  `json:"cpu"`
}

// CPUUse is the CPU the driver's process used over a run, in cores, from getrusage. The
// process may host more than the driver (a runner's payment processor and proxies, a test's
// server): all of it competes with the driver for the same cores.
type CPUUse struct {
	// Measured is false where the platform does not say.
	Measured bool `json:"measured"`
	// Cores is GOMAXPROCS: the cores the process may use at once.
	Cores int `json:"cores"`
	// Mean and Max are over the run's full seconds; Seconds counts them and Busy those at or
	// above Saturation.MaxCPU of Cores.
	Mean    float64 `json:"mean"`
	Max     float64 `json:"max"`
	Seconds int     `json:"seconds"`
	Busy    int     `json:"busy_seconds"`
}

// cpuUse summarizes per-second CPU samples against the saturation bound.
func cpuUse(samples []float64, measured bool, maxShare float64) CPUUse {
	u := CPUUse{Measured: measured, Cores: runtime.GOMAXPROCS(0), Seconds: len(samples)}
	for _, c := range samples {
		u.Mean += c
		u.Max = max(u.Max, c)
		if c >= maxShare*float64(u.Cores) {
			u.Busy++
		}
	}
	if len(samples) > 0 {
		u.Mean = round2(u.Mean / float64(len(samples)))
	}
	return u
}

// judgeGenerator decides whether the driver limited the run and why, from its own figures:
// its lag with slots free, its connection slots unless the target slowed the run (the rule is
// in attribution.go), the arrivals it dropped and its CPU. maxActive is the bound on running
// users that made it drop arrivals.
func judgeGenerator(s *Summary, sat Saturation, maxActive int64) (bound bool, reasons []string) {
	sat = sat.withDefaults()
	g := &s.Generator
	if g.LagIdle.P99 > sat.MaxLagP99 {
		reason := fmt.Sprintf("lag p99 %s over %s with connection slots free: the driver began its requests late",
			g.LagIdle.P99.Round(time.Millisecond), sat.MaxLagP99)
		if c := g.CPU; c.Measured && c.Mean < sat.MaxCPU*float64(c.Cores)/2 {
			// Late without being busy: it was waiting for a core, not using them.
			reason += fmt.Sprintf(" while its process used %.2f of its %d cores on average: other processes on its machine (a co-located target among them) kept it from running",
				c.Mean, c.Cores)
		}
		reasons = append(reasons, reason)
	}
	if s.Requests > 0 && !g.TargetSlowed {
		share := float64(g.SlotWaits+g.SlotStarved) / float64(s.Requests)
		if share > sat.MaxSlotShare {
			slots := "its connection slots"
			if g.MaxConns > 0 {
				slots = fmt.Sprintf("one of its %d connection slots", g.MaxConns)
			}
			reason := fmt.Sprintf("%.1f%% of requests waited for %s (over %.0f%%; p99 wait %s)",
				share*100, slots, sat.MaxSlotShare*100, g.SlotWait.P99.Round(time.Millisecond))
			if g.SlotStarved > 0 {
				reason += fmt.Sprintf(", %d never got one", g.SlotStarved)
			}
			reasons = append(reasons, reason)
		}
	}
	if s.Dropped > 0 {
		reasons = append(reasons, fmt.Sprintf("%d arrivals dropped: %d users were already running", s.Dropped, maxActive))
	}
	if c := g.CPU; c.Measured && c.Busy >= 3 && c.Busy*4 >= c.Seconds {
		reasons = append(reasons, fmt.Sprintf("its process used %.0f%% or more of its %d cores in %d of %d seconds (peak %.2f cores)",
			sat.MaxCPU*100, c.Cores, c.Busy, c.Seconds, c.Max))
	}
	return len(reasons) > 0, reasons
}
