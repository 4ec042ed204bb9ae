package compare

import (
	"fmt"
	"math"
	"strings"

	"golang.org/x/perf/benchmath"

	"stampede/workloads"
)

// Change is the verdict on one metric of one strategy x database.
type Change string

// Changes.
const (
	// Same: no significant change (benchstat's ~). The medians may differ; the samples do not
	// show that the difference is more than noise.
	Same Change = "~"
	// Better and Worse: a significant change, in the metric's good or bad direction.
	Better Change = "better"
	Worse  Change = "worse"
	// TooFew: the samples are too small for the U test to find any difference significant,
	// however large; the metric is not judged.
	TooFew Change = "too-few"
	// Missing: measured on one side only.
	Missing Change = "missing"
)

// Estimate summarizes one side's sample of a metric.
type Estimate struct {
	// N is the number of runs that measured the metric.
	N int `json:"n"`
	// Median is the sample's median; Lo and Hi bound its confidence interval, and are nil
	// when the sample is too small for an interval at the comparison's confidence.
	Median float64  `json:"median"`
	Lo     *float64 `json:"lo,omitempty"`
	Hi     *float64 `json:"hi,omitempty"`
	// Values are the runs' values, in ascending order.
	Values []float64 `json:"values"`
	// Warnings say why there is no interval (benchstat's "need >= 6 samples for confidence
	// interval at level 0.95").
	Warnings []string `json:"warnings,omitempty"`
}

// Metric is one metric of one strategy x database, both sides and the verdict.
type Metric struct {
	// Name is the gate metric's name (workloads.GateMetrics): hold_p99, throughput, ...
	Name string `json:"name"`
	// Unit is "ms", "/s", "%" or "" (a count).
	Unit          string   `json:"unit"`
	LowerIsBetter bool     `json:"lower_is_better"`
	Base          Estimate `json:"base"`
	Candidate     Estimate `json:"candidate"`
	// Delta is the candidate's median minus the base's, in Unit (percentage points for a
	// percentage); DeltaPct is the same relative to the base's median, in percent, and nil
	// when the base's median is 0.
	Delta    float64  `json:"delta"`
	DeltaPct *float64 `json:"delta_pct,omitempty"`
	// P is the U test's p-value: the chance of samples at least this different if both
	// sides came from one distribution. 1 when the test was not run.
	P      float64 `json:"p"`
	Change Change  `json:"change"`
	// Notes explain a verdict that is not a plain one (too few samples, no confidence
	// interval) in benchstat's words.
	Notes []string `json:"notes,omitempty"`
}

// judge compares the base's and the candidate's values of metric m.
func judge(m workloads.GateMetric, base, cand []float64, o options) Metric {
	th := &benchmath.Thresholds{CompareAlpha: o.alpha}
	res := Metric{Name: m.Name, Unit: m.Unit, LowerIsBetter: m.LowerIsBetter, P: 1}
	var bs, cs *benchmath.Sample
	res.Base, bs = estimate(base, th, o.confidence)
	res.Candidate, cs = estimate(cand, th, o.confidence)
	switch {
	case bs == nil:
		res.Change = Missing
		res.Notes = []string{"not measured in the base"}
		return res
	case cs == nil:
		res.Change = Missing
		res.Notes = []string{"not measured in the candidate"}
		return res
	}
	res.Delta = res.Candidate.Median - res.Base.Median
	if res.Base.Median != 0 {
		pct := res.Delta / math.Abs(res.Base.Median) * 100
		res.DeltaPct = &pct
	}
	cmp := benchmath.AssumeNothing.Compare(bs, cs)
	res.P = cmp.P
	for _, w := range cmp.Warnings {
		// benchstat's "all samples are equal" is plain ~ here, and the test's own "need >= N
		// samples" is replaced by tooFew's, which also counts unequal sample sizes.
		if msg := w.Error(); msg != "all samples are equal" && !strings.HasPrefix(msg, "need ") {
			addNote(&res.Notes, msg)
		}
	}
	switch {
	case tooFew(len(base), len(cand), o.alpha):
		res.Change = TooFew
		addNote(&res.Notes, tooFewNote(o.alpha))
	case cmp.P > o.alpha || res.Delta == 0:
		res.Change = Same
	case (res.Delta > 0) == m.LowerIsBetter:
		res.Change = Worse
	default:
		res.Change = Better
	}
	return res
}

// estimate summarizes values (nil for none) as the median and its confidence interval.
func estimate(values []float64, th *benchmath.Thresholds, confidence float64) (Estimate, *benchmath.Sample) {
	if len(values) == 0 {
		return Estimate{}, nil
	}
	s := benchmath.NewSample(append([]float64(nil), values...), th) // NewSample sorts in place
	sum := benchmath.AssumeNothing.Summary(s, confidence)
	e := Estimate{N: len(values), Median: sum.Center, Values: s.Values}
	if !math.IsInf(sum.Lo, 0) && !math.IsInf(sum.Hi, 0) {
		e.Lo, e.Hi = &sum.Lo, &sum.Hi
	}
	for _, w := range sum.Warnings {
		addNote(&e.Warnings, w.Error())
	}
	return e, s
}

// minP is the smallest two-sided p-value the Mann-Whitney U test can give for samples of n1
// and n2 values: both samples apart, with no ties, which is one ordering of the C(n1+n2, n1)
// the null hypothesis makes equally likely, on each side.
func minP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	// C(n1+n2, n1) by the multiplicative formula; exact enough in float64 for any n a
	// comparison sees.
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// tooFew reports whether samples of n1 and n2 values cannot show a significant difference
// at alpha, however far apart they are.
func tooFew(n1, n2 int, alpha float64) bool { return minP(n1, n2) > alpha }

// samplesNeeded is the smallest number of samples a side for which the U test can detect a
// difference at alpha (4 at 0.05, as benchstat says).
func samplesNeeded(alpha float64) int {
	n := 1
	for tooFew(n, n, alpha) && n < 1000 {
		n++
	}
	return n
}

// tooFewNote says how many samples the U test needs, in benchstat's words.
func tooFewNote(alpha float64) string {
	return fmt.Sprintf("need >= %d samples to detect a difference at alpha level %v", samplesNeeded(alpha), alpha)
}

func addNote(notes *[]string, n string) {
	for _, x := range *notes {
		if x == n {
			return
		}
	}
	*notes = append(*notes, n)
}
