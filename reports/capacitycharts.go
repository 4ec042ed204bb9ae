package reports

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
)

// capacityCurves renders a search's charts: achieved throughput against offered load, p99 and
// error rate against offered load (both with the boundary shaded and the capacity marked, and
// the fit's peak on the first), and throughput against concurrency with the Universal
// Scalability Law fit drawn through the measured points.
func capacityCurves(c *Capacity) []template.HTML {
	if len(c.Steps) == 0 {
		return nil
	}
	first := firstRuns(c.Steps)
	var offered, tput []float64
	for _, s := range c.Steps {
		offered = append(offered, s.Offered)
		tput = append(tput, s.Throughput)
	}
	_, maxT := span(tput, true)
	peak := 0.0
	if f := c.Fit; f != nil && f.PeakThroughput > 0 && f.PeakThroughput < 2*maxT {
		peak = f.PeakThroughput
	}
	lo, hi := span(offered, false)
	logX := hi/math.Max(lo, 1e-9) > 8

	curve := newPlot("Achieved throughput against offered load", "offered load (arrivals/s)", "requests/s", offered, append(tput, peak), logX)
	boundary(curve, c)
	if peak > 0 {
		curve.hline(peak, colFit, fmt.Sprintf("USL peak %.0f req/s", peak))
	}
	curve.line("throughput", colThroughput, "", xsOf(first), ysOf(first, func(s CapacityStep) float64 { return s.Throughput }), false)
	for _, s := range c.Steps {
		color, cross := stepMark(s)
		curve.point(s.Offered, s.Throughput, color, stepTip(s), cross, false)
	}

	ops := sloOps(c.Steps)
	var p99s, errs []float64
	for _, s := range c.Steps {
		for _, op := range ops {
			p99s = append(p99s, s.P99[op])
		}
		errs = append(errs, s.ErrorRate*100)
	}
	lat := newPlot("p99 latency and error rate against offered load", "offered load (arrivals/s)", "p99 (ms)", offered, p99s, logX).withY2("errors (%)", errs)
	boundary(lat, c)
	for i, op := range ops {
		lat.line(op+" p99", []string{colP99, colThroughput}[i%2], "", xsOf(first), ysOf(first, func(s CapacityStep) float64 { return s.P99[op] }), false)
	}
	lat.line("error rate", colErrors, "4 3", xsOf(first), ysOf(first, func(s CapacityStep) float64 { return s.ErrorRate * 100 }), true)
	for _, s := range first {
		color, cross := stepMark(s)
		if len(ops) > 0 {
			lat.point(s.Offered, s.P99[ops[0]], color, stepTip(s), cross, false)
		}
	}
	out := []template.HTML{curve.svg(), lat.svg()}
	if f := c.Fit; f != nil && len(f.Residuals) > 0 {
		out = append(out, uslChart(f))
	}
	return out
}

// uslChart draws the measured throughput against concurrency and the fitted law.
func uslChart(f *USLFit) template.HTML {
	var ns, xs []float64
	for _, r := range f.Residuals {
		ns = append(ns, r.N)
		xs = append(xs, r.Measured)
	}
	_, maxN := span(ns, true)
	top := maxN * 1.2
	if f.PeakN > 0 && f.PeakN < 3*maxN {
		top = math.Max(top, f.PeakN*1.3)
	}
	var cn, cx []float64
	for i := 0; i <= 80; i++ {
		n := top * float64(i) / 80
		cn = append(cn, n)
		cx = append(cx, f.Lambda*n/(1+f.Sigma*(n-1)+f.Kappa*n*(n-1)))
	}
	p := newPlot(fmt.Sprintf("Universal Scalability Law: λ %.3g, σ %.3g, κ %.3g", f.Lambda, f.Sigma, f.Kappa),
		"concurrency (mean requests in flight)", "requests/s", append(ns, top), append(xs, cx...), false)
	p.line("USL fit", colFit, "6 3", cn, cx, false)
	if f.PeakN > 0 && f.PeakN <= top {
		p.vline(f.PeakN, colFit, fmt.Sprintf("peak N* %.1f", f.PeakN))
	}
	if f.Knee > 0 && f.Knee <= top && f.Knee < f.PeakN*0.95 {
		p.vline(f.Knee, colP99, fmt.Sprintf("knee %.1f", f.Knee))
	}
	for _, r := range f.Residuals {
		p.point(r.N, r.Measured, colThroughput, fmt.Sprintf("N %.1f: %.0f req/s measured, %.0f fitted", r.N, r.Measured, r.Fitted), false, false)
	}
	p.legend = append(p.legend, legendItem{"measured", colThroughput, ""})
	return p.svg()
}

// boundary shades the interval the capacity lies in and marks the capacity.
func boundary(p *plot, c *Capacity) {
	if c.Upper > 0 && c.Lower > 0 {
		p.band(c.Lower, c.Upper, fmt.Sprintf("boundary %.4g-%.4g arrivals/s", c.Lower, c.Upper))
	}
	switch {
	case c.Capacity > 0:
		p.vline(c.Capacity, colPass, fmt.Sprintf("capacity %.4g/s", c.Capacity))
	case c.At > 0:
		p.vline(c.At, colFail, fmt.Sprintf("%s at %.4g/s", c.Verdict, c.At))
	}
}

// firstRuns are the first run at each load, in the order of load: the curve's line.
func firstRuns(steps []CapacityStep) []CapacityStep {
	var out []CapacityStep
	for _, s := range steps {
		if s.Repeat == 0 {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Offered < out[j].Offered })
	return out
}

func xsOf(steps []CapacityStep) []float64 {
	return ysOf(steps, func(s CapacityStep) float64 { return s.Offered })
}

func ysOf(steps []CapacityStep, f func(CapacityStep) float64) []float64 {
	out := make([]float64, len(steps))
	for i, s := range steps {
		out[i] = f(s)
	}
	return out
}

// sloOps are the operations whose p99 the steps measured, hold and checkout first.
func sloOps(steps []CapacityStep) []string {
	var out []string
	for _, op := range []string{"hold", "checkout"} {
		for _, s := range steps {
			if _, ok := s.P99[op]; ok {
				out = append(out, op)
				break
			}
		}
	}
	return out
}

// stepMark is a step's marker: green for a step that held, red for one that did not, a red
// cross for an unsafe step and a grey cross for one whose generator ran out.
func stepMark(s CapacityStep) (color string, cross bool) {
	switch {
	case s.Unsafe:
		return colFail, true
	case s.GeneratorBound:
		return "#5f6368", true
	case s.Pass:
		return colPass, false
	}
	return colFail, false
}

func stepTip(s CapacityStep) string {
	tip := fmt.Sprintf("%.4g arrivals/s (run %d): %.0f req/s, %.1f in flight", s.Offered, s.Repeat+1, s.Throughput, s.Concurrency)
	if len(s.Failures) > 0 {
		tip += "; " + strings.Join(s.Failures, "; ")
	}
	return tip
}
