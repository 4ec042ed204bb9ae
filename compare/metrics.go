package compare

import (
	"stampede/reports"
	"stampede/workloads"
)

// measure reads one gate metric from a run; ok is false when the run did not measure it (an
// operation it never performed, a capacity it did not search for).
type measure func(r *reports.Run) (v float64, ok bool)

// measures maps every metric of workloads.GateMetrics to what it reads from a run.
var measures = func() map[string]measure {
	always := func(f func(r *reports.Run) float64) measure {
		return func(r *reports.Run) (float64, bool) { return f(r), true }
	}
	m := map[string]measure{
		"throughput":       always(func(r *reports.Run) float64 { return r.Throughput.RequestsPerSec }),
		"holds_per_sec":    always(func(r *reports.Run) float64 { return r.Throughput.HoldsPerSec }),
		"bookings_per_sec": always(func(r *reports.Run) float64 { return r.Throughput.BookingsPerSec }),
		"error_rate":       errorRate,
		"bookings":         always(func(r *reports.Run) float64 { return float64(r.Bookings) }),
		"refunds":          always(func(r *reports.Run) float64 { return float64(r.Refunds) }),
		"lost_holds":       always(func(r *reports.Run) float64 { return float64(r.LostHolds) }),
		"capacity": func(r *reports.Run) (float64, bool) {
			return r.Capacity, r.Capacity > 0
		},
	}
	for _, op := range workloads.LatencyOps {
		for _, st := range workloads.LatencyStats {
			m[op+"_"+st] = latency(op, st)
		}
	}
	return m
}()

func latency(op, stat string) measure {
	return func(r *reports.Run) (float64, bool) {
		p, ok := r.Latency[op]
		if !ok || p.Count == 0 {
			return 0, false
		}
		switch stat {
		case "p50":
			return p.P50, true
		case "p99":
			return p.P99, true
		default: // p999
			return p.P999, true
		}
	}
}

// outcome keys of a run's Outcomes that are not fail codes.
var outcomeTypes = map[string]bool{"ok": true, "fail": true, "info": true}

// errorRate is the percentage of a run's requests that were errors, as the driver counts
// them: unknown outcomes, and fails whose code is not a business outcome of the contract.
func errorRate(r *reports.Run) (float64, bool) {
	var total, errs int64
	for _, oc := range r.Outcomes {
		total += oc["ok"] + oc["fail"] + oc["info"]
		e := oc["info"] + oc["fail"]
		for code, n := range oc {
			if !outcomeTypes[code] && workloads.IsBusinessCode(code) {
				e -= n
			}
		}
		errs += max(e, 0)
	}
	if total == 0 {
		return 0, false
	}
	return 100 * float64(errs) / float64(total), true
}

// headline metrics are shown for every strategy x database in the markdown, changed or not.
var headline = map[string]bool{
	"throughput": true, "bookings_per_sec": true, "hold_p99": true, "checkout_p99": true,
	"error_rate": true, "bookings": true, "lost_holds": true,
}
