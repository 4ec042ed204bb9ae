package capacity

import (
	"fmt"
	"math"
	"strings"
	"time"

	"stampede/reports"
)

// Answer is the result in one line, for people: "820 arrivals/s (790-850) at hold p99 <= 250
// ms; limited by pool wait on conn_tag hold", "unsafe at 600 arrivals/s: no-double-sale: seat
// A-1-7 ...".
func (res *Result) Answer() string {
	at := res.Objectives
	if len(res.Missed) > 0 {
		at = strings.Join(res.Missed, ", ")
	}
	switch res.Verdict {
	case Found:
		s := fmt.Sprintf("%s (%s-%s) at %s; %s", arrivals(res.Capacity), num(res.Lower), num(res.Upper), at, res.limitWords())
		if !res.Converged {
			s += fmt.Sprintf(" (the budget ran out before %.0f%% precision)", res.Precision*100)
		}
		return s
	case AtLeast:
		why := "the climb reached its ceiling"
		if res.BudgetSpent {
			why = "the budget ran out while it was climbing"
		}
		return fmt.Sprintf("at least %s at %s: every load tried held (%s)", arrivals(res.Capacity), at, why)
	case None:
		lowest := res.Upper
		for _, st := range res.Steps {
			lowest = math.Min(lowest, st.Load)
		}
		s := fmt.Sprintf("no capacity at %s: no load held, down to %s", at, arrivals(lowest))
		if res.Limit.Resource != "" {
			s += "; limited by " + res.Limit.Resource
		}
		return s
	case Unsafe:
		v := res.Violation
		return fmt.Sprintf("unsafe at %s: %s: %s", arrivals(res.At), v.Name, v.Counterexample)
	case GeneratorBound:
		s := fmt.Sprintf("the load generator ran out first, at %s", arrivals(res.At))
		if len(res.GeneratorReasons) > 0 {
			s += " (" + strings.Join(res.GeneratorReasons, "; ") + ")"
		}
		if res.Lower > 0 {
			s += fmt.Sprintf("; the system held at least %s at %s", arrivals(res.Lower), res.Objectives)
		}
		return s + ": not the system's limit"
	case Failed:
		return fmt.Sprintf("no answer: the step at %s could not run: %v", arrivals(res.At), res.Err)
	}
	return string(res.Verdict)
}

func (res *Result) limitWords() string {
	if res.Limit.Resource == "" {
		return "limit not attributed (nothing measured grew across the boundary)"
	}
	return "limited by " + res.Limit.Resource
}

// Report is the search as the report's data: res with the run's label, the capacity asked
// for (min, 0 for none) and the on-sale answer. Step directories are given relative to the
// summary, under prefix.
func (res *Result) Report(label string, min float64, sale *OnSale, mode Mode, step time.Duration, prefix string) *reports.Capacity {
	c := &reports.Capacity{
		Verdict: string(res.Verdict), Answer: label + ": " + res.Answer(),
		Capacity: round(res.Capacity), Lower: round(res.Lower), Upper: round(res.Upper),
		Mode: string(mode), Precision: res.Precision, Converged: res.Converged, Repeat: res.Repeat,
		BudgetSeconds: res.Budget.Seconds(), ElapsedSeconds: round(res.Elapsed.Seconds()), BudgetSpent: res.BudgetSpent,
		Objectives: res.Objectives, Missed: res.Missed, Limit: res.Limit.Resource, LimitEvidence: res.Limit.Evidence,
		At: round(res.At), Min: min, FitNote: res.FitNote,
	}
	if mode == ModeRate {
		c.StepSeconds = step.Seconds()
	}
	if v := res.Violation; v != nil {
		c.Violation = &reports.Check{Name: v.Name, Result: v.Status, Counterexample: v.Counterexample}
	}
	for _, st := range res.Steps {
		r := st.Result
		cs := reports.CapacityStep{Offered: round(st.Load), Arrivals: round(r.Arrivals), Phase: st.Phase, Repeat: st.Repeat, Seed: st.Seed,
			Throughput: round(r.Throughput), Concurrency: round(r.Concurrency), ErrorRate: r.ErrorRate, ShedRate: r.ShedRate,
			Pass: st.Pass, Unsafe: r.Unsafe() != nil, GeneratorBound: r.GeneratorBound, Failures: r.Failures(),
			ElapsedSeconds: round(st.Elapsed.Seconds())}
		if r.Dir != "" {
			cs.Dir = prefix + r.Dir
		}
		if len(r.P99) > 0 {
			cs.P99 = map[string]float64{}
			for op, d := range r.P99 {
				cs.P99[op] = round(float64(d) / 1e6)
			}
		}
		c.Steps = append(c.Steps, cs)
	}
	if u := res.Fit; u != nil {
		f := &reports.USLFit{Lambda: u.Lambda, Sigma: u.Sigma, Kappa: u.Kappa, RMSE: u.RMSE, MaxRelative: u.MaxRelative}
		n, x := u.Peak()
		if !math.IsInf(n, 1) {
			f.PeakN = n
		}
		if !math.IsInf(x, 1) {
			f.PeakThroughput = x
		}
		if k := u.Knee(); !math.IsInf(k, 1) {
			f.Knee = k
		}
		for _, r := range u.Residuals {
			f.Residuals = append(f.Residuals, reports.USLResidual{N: r.N, Measured: r.Measured, Fitted: r.Fitted})
		}
		c.Fit = f
	}
	if sale != nil {
		c.OnSale = &reports.OnSale{AdmitRate: round(sale.AdmitRate),
			Rule:  fmt.Sprintf("%.0f%% of the measured capacity (Cloudflare's rule of thumb for waiting rooms, not a measurement)", AdmissionShare*100),
			Users: sale.Users, OverSeconds: sale.Over.Seconds(), ArrivalRate: round(sale.ArrivalRate), PeakQueue: math.Round(sale.PeakQueue),
			LastWaitSeconds: round(sale.LastWait.Seconds()), DrainedSeconds: round(sale.Drained.Seconds())}
	}
	c.Reason = reason(res, c)
	return c
}

// reason is why a search fails its run: no capacity it can vouch for, or less than min.
func reason(res *Result, c *reports.Capacity) string {
	switch res.Verdict {
	case Unsafe, GeneratorBound, Failed:
		return res.Answer()
	case None:
		return "no load held its objectives"
	}
	if c.Min > 0 && res.Capacity < c.Min {
		c.BelowMin = true
		return fmt.Sprintf("%s, below the %s asked for", arrivals(res.Capacity), arrivals(c.Min))
	}
	return ""
}

// arrivals formats a load: "820 arrivals/s".
func arrivals(v float64) string { return num(v) + " arrivals/s" }

// num formats a load or a rate without a unit, to a sensible precision.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func round(v float64) float64 { return math.Round(v*100) / 100 }
