package compare

import (
	"fmt"
	"strings"

	"golang.org/x/perf/benchmath"

	"stampede/reports"
	"stampede/workloads"
)

// SampleMetrics are the metrics Samples summarizes over a summary's repeated runs.
var SampleMetrics = []string{"throughput", "hold_p50", "hold_p99", "checkout_p50", "checkout_p99", "error_rate", "bookings"}

// Baseline checks, before anything runs, that a run of scenario over cells (strategy x
// database pairs) can be judged against base: every summary of base is of scenario, and every
// cell is in base (a cell without a baseline could not be gated). The error wraps
// ErrMismatch and says what differs. Cells of base that the run does not have are left out
// of the comparison, which says so.
func Baseline(base *Side, scenario string, cells [][2]string) error {
	if base == nil || len(base.Summaries) == 0 {
		return fmt.Errorf("%w: the baseline has none", ErrNoSummary)
	}
	for i, s := range base.Summaries {
		if s.Scenario != scenario {
			return fmt.Errorf("%w: the baseline %s ran scenario %q and this run is of %q; a baseline must run the same scenario",
				ErrMismatch, base.Sources[i], s.Scenario, scenario)
		}
	}
	have := map[cellKey]bool{}
	var order []cellKey
	for _, s := range base.Summaries {
		for _, r := range s.Runs {
			k := cellKey{r.Strategy, r.DB}
			if !have[k] {
				have[k] = true
				order = append(order, k)
			}
		}
	}
	var missing []string
	for _, c := range cells {
		if !have[cellKey{c[0], c[1]}] {
			missing = append(missing, c[0]+"/"+c[1])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: the baseline (%s) has no run of %s, so it cannot gate %s; it has %s: run the baseline with the same --strategy and --db",
			ErrMismatch, strings.Join(base.Sources, ", "), strings.Join(missing, ", "), plural(len(missing), "it", "them"), cellList(order))
	}
	return nil
}

// Report is the gate's verdict as a summary carries it (reports.Gate): its verdict and what
// failed it, a finding per gated metric, the warnings, and the base's provenance.
func (g *GateResult) Report(base *Side) *reports.Gate {
	r := g.Comparison
	out := &reports.Gate{Baseline: append([]string(nil), base.Sources...), Verdict: string(g.Verdict), Alpha: r.Alpha,
		Tolerances: g.Tolerances, Warnings: r.Warnings, BaseRuns: r.Base.Runs, Runs: r.Candidate.Runs}
	for _, c := range g.Correctness {
		out.Reasons = append(out.Reasons, "a check failed: "+c)
	}
	for _, e := range g.Incomplete {
		out.Reasons = append(out.Reasons, "a run did not complete: "+e)
	}
	for _, f := range g.Failed() {
		out.Reasons = append(out.Reasons, "regression: "+f.Reason)
	}
	for _, f := range g.Findings {
		if f.Tolerance == "" {
			continue
		}
		m, _ := r.cell(f.Strategy, f.DB).Metric(f.Metric)
		unit := m.Unit
		if gm, ok := workloads.LookupGateMetric(f.Metric); ok {
			unit = gm.Unit
		}
		out.Findings = append(out.Findings, reports.GateFinding{Strategy: f.Strategy, DB: f.DB, Metric: f.Metric, Unit: unit,
			Tolerance: f.Tolerance, Status: string(f.Status), Reason: f.Reason, Base: spread(m.Base), Candidate: spread(m.Candidate), P: m.P})
	}
	for _, s := range base.Summaries {
		if s.Provenance != nil {
			out.BaseProvenance = s.Provenance
			break
		}
	}
	if out.BaseProvenance == nil && len(base.Summaries) > 0 {
		out.BaseVersions = base.Summaries[0].Versions
	}
	return out
}

func spread(e Estimate) reports.Spread {
	return reports.Spread{N: e.N, Median: e.Median, Lo: e.Lo, Hi: e.Hi}
}

// Samples summarizes the runs of s per strategy x database over SampleMetrics: each metric's
// median with its confidence interval at confidence, as Compare summarizes a side. Runs that
// could not complete are no samples; a strategy x database without a run that completed is
// left out.
func Samples(s *reports.Summary, confidence float64) []reports.Samples {
	cr, _ := samples(&Side{Summaries: []*reports.Summary{s}})
	th := &benchmath.Thresholds{CompareAlpha: DefaultAlpha}
	var out []reports.Samples
	for _, k := range cr.order {
		runs := cr.runs[k]
		c := reports.Samples{Strategy: k.strategy, DB: k.db, Runs: len(runs), Confidence: confidence}
		for _, name := range SampleMetrics {
			m, ok := workloads.LookupGateMetric(name)
			if !ok {
				continue
			}
			vals := values(runs, measures[name])
			if len(vals) == 0 {
				continue
			}
			e, _ := estimate(vals, th, confidence)
			c.Metrics = append(c.Metrics, reports.MetricSpread{Metric: name, Unit: m.Unit, Spread: spread(e)})
		}
		out = append(out, c)
	}
	return out
}
