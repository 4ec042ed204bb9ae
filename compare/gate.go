package compare

import (
	"fmt"

	"stampede/workloads"
)

// Verdict is the gate's answer, in order of precedence: correctness, then incomplete, then
// regression, then pass.
type Verdict string

// Verdicts.
const (
	Pass Verdict = "pass"
	// Correctness: a candidate run failed a check (or a check could not decide). It fails the
	// gate whatever the tolerances and whatever the numbers.
	Correctness Verdict = "correctness"
	// Incomplete: a candidate run could not complete, so the candidate is not fully measured.
	Incomplete Verdict = "incomplete"
	// Regression: a gated metric moved beyond its tolerance in its bad direction, and the
	// move is significant.
	Regression Verdict = "regression"
)

// Status is what the gate found for one metric of one strategy x database.
type Status string

// Statuses.
const (
	// Regressed: significantly worse, beyond the tolerance. Only this fails the gate.
	Regressed Status = "regression"
	// WithinTolerance: significantly worse, within the tolerance.
	WithinTolerance Status = "within-tolerance"
	// Worsened: significantly worse, and not gated.
	Worsened     Status = "worse"
	Improved     Status = "improved"
	Unchanged    Status = "unchanged"
	Inconclusive Status = "inconclusive"
	NotMeasured  Status = "not-measured"
)

// Finding is the gate's reason line for one metric of one strategy x database.
type Finding struct {
	Strategy string `json:"strategy"`
	DB       string `json:"db"`
	Metric   string `json:"metric"`
	// Tolerance is the metric's tolerance as written; empty when the metric is not gated.
	Tolerance string `json:"tolerance,omitempty"`
	Status    Status `json:"status"`
	// Reason says what moved, how sure the test is and what the gate made of it.
	Reason string `json:"reason"`
}

// GateResult is the gate's verdict with a reason for every metric, and the comparison it
// judged.
type GateResult struct {
	Verdict Verdict `json:"verdict"`
	// Tolerances maps each gated metric to its tolerance as written.
	Tolerances map[string]string `json:"tolerances"`
	// Correctness has one line per candidate run whose checks failed or could not decide;
	// Incomplete one per candidate run that could not complete.
	Correctness []string `json:"correctness,omitempty"`
	Incomplete  []string `json:"incomplete,omitempty"`
	// Findings has one entry per strategy x database and metric: every measured metric, and
	// every gated one even when it was not measured.
	Findings   []Finding `json:"findings"`
	Comparison *Result   `json:"comparison"`
}

// Gate compares cand with base (see Compare) and applies the tolerances (see Result.Gate).
// A base or candidate without summaries, or sides that cannot be compared, are errors: a
// missing baseline is never a pass.
func Gate(base, cand *Side, tol workloads.Gate, opts ...Option) (GateResult, error) {
	r, err := Compare(base, cand, opts...)
	if err != nil {
		return GateResult{}, err
	}
	return r.Gate(tol), nil
}

// Gate applies the tolerances to r. A metric fails only when it moved beyond its tolerance
// in its bad direction AND the move is significant; a metric with too few samples to tell is
// inconclusive, which does not fail the gate but is said. A candidate run whose checks
// failed fails the gate as a correctness failure, whatever the tolerances.
func (r *Result) Gate(tol workloads.Gate) GateResult {
	g := GateResult{Tolerances: map[string]string{}, Comparison: r,
		Correctness: r.Candidate.Failed, Incomplete: r.Candidate.Errored}
	for _, t := range tol {
		if !t.Off {
			g.Tolerances[t.Metric] = t.Text
		}
	}
	regressed := false
	for _, c := range r.Cells {
		if c.BaseRuns == 0 || c.CandidateRuns == 0 {
			continue
		}
		for _, m := range c.Metrics {
			t, gated := tol.Lookup(m.Name)
			f := finding(c, m, t, gated, r.Alpha)
			regressed = regressed || f.Status == Regressed
			g.Findings = append(g.Findings, f)
		}
		for _, t := range tol {
			if _, ok := c.Metric(t.Metric); !ok && !t.Off {
				g.Findings = append(g.Findings, Finding{Strategy: c.Strategy, DB: c.DB, Metric: t.Metric, Tolerance: t.Text,
					Status: NotMeasured, Reason: fmt.Sprintf("%s on %s: not measured on either side: not judged", t.Metric, c.Name())})
			}
		}
	}
	switch {
	case len(g.Correctness) > 0:
		g.Verdict = Correctness
	case len(g.Incomplete) > 0:
		g.Verdict = Incomplete
	case regressed:
		g.Verdict = Regression
	default:
		g.Verdict = Pass
	}
	return g
}

// finding judges one metric against its tolerance (gated) or reports it (not gated).
func finding(c Cell, m Metric, t workloads.Tolerance, gated bool, alpha float64) Finding {
	f := Finding{Strategy: c.Strategy, DB: c.DB, Metric: m.Name}
	if gated {
		f.Tolerance = t.Text
	}
	moved := fmt.Sprintf("%s on %s: %s", m.Name, c.Name(), movement(m))
	beyond := gated && t.Exceeded(m.Base.Median, m.Candidate.Median)
	switch m.Change {
	case Missing:
		f.Status, f.Reason = NotMeasured, fmt.Sprintf("%s on %s: %s", m.Name, c.Name(), m.Notes[0])
		if gated {
			f.Reason += ": not judged"
		}
		return f
	case TooFew:
		f.Status = Inconclusive
		switch {
		case beyond:
			moved += fmt.Sprintf(", beyond the %s tolerance", t.Text)
		case gated:
			moved += fmt.Sprintf(", within the %s tolerance", t.Text)
		}
		f.Reason = moved + fmt.Sprintf(", but %s: not judged", tooFewNote(alpha))
		return f
	case Same:
		f.Status, f.Reason = Unchanged, moved+": no significant change"
	case Better:
		f.Status, f.Reason = Improved, moved+": better"
	case Worse:
		switch {
		case beyond:
			f.Status, f.Reason = Regressed, moved+fmt.Sprintf(": worse, beyond the %s tolerance", t.Text)
		case gated:
			f.Status, f.Reason = WithinTolerance, moved+fmt.Sprintf(": worse, within the %s tolerance", t.Text)
		default:
			f.Status, f.Reason = Worsened, moved+": worse"
		}
		return f
	}
	if !gated {
		f.Reason += " (not gated)"
	}
	return f
}

// movement is "12.0 ms -> 15.6 ms (+30.0%, p=0.008, n=5)".
func movement(m Metric) string {
	return fmt.Sprintf("%s -> %s (%s, %s)", value(m.Base.Median, m.Unit), value(m.Candidate.Median, m.Unit), delta(m), pn(m))
}

// Failed returns the findings that failed the gate.
func (g *GateResult) Failed() []Finding { return g.gated(Regressed) }

// Inconclusive returns the gated findings that had too few samples to judge.
func (g *GateResult) Inconclusive() []Finding { return g.gated(Inconclusive) }

// gated returns the findings of gated metrics with status s.
func (g *GateResult) gated(s Status) []Finding {
	var out []Finding
	for _, f := range g.Findings {
		if f.Status == s && f.Tolerance != "" {
			out = append(out, f)
		}
	}
	return out
}
