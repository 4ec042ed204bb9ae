package reports

import (
	"fmt"
	"html/template"
	"math"

	"stampede/reports/svg"
)

// Colours of what is not an outcome class (see outcomes.go): light and dark blue for pairs of
// figures (p50 and p99, holds and bookings), teal for a third, and red for fault windows.
const (
	colourLight = "#8ab4f8"
	colourDark  = "#1a56b8"
	colourThird = "#129eaf"
	colourFault = "#c5221f"
	colourSLO   = "#c5221f"
)

// Chart widths: half of a wide page, two charts a row.
const chartWidth = 640

// decades is the spread of values, largest over smallest positive, beyond which a value axis
// is drawn on a log scale: on a linear one the small values would not be seen.
const decades = 100

// chartHTML wraps a chart rendered by package svg, which escapes every text it writes.
func chartHTML(s string) template.HTML {
	return template.HTML(s) //nolint:gosec // built by package svg from numbers and escaped text
}

// comparisonCharts draws throughput and p99 latency per strategy x database; none for a
// single run. Failed runs are labelled in red.
func comparisonCharts(runs []Run) (template.HTML, template.HTML) {
	if len(runs) < 2 {
		return "", ""
	}
	labels := make([]string, len(runs))
	alert := make([]bool, len(runs))
	holds, bookings := make([]float64, len(runs)), make([]float64, len(runs))
	holdP99, checkoutP99 := make([]float64, len(runs)), make([]float64, len(runs))
	for i, r := range runs {
		labels[i], alert[i] = r.Strategy+"/"+r.DB, r.Verdict != Pass
		holds[i], bookings[i] = r.Throughput.HoldsPerSec, r.Throughput.BookingsPerSec
		holdP99[i], checkoutP99[i] = p99Of(r.Latency, "hold"), p99Of(r.Latency, "checkout")
	}
	tp := svg.Bars{Title: "Throughput by strategy", Width: chartWidth, Labels: labels, Alert: alert, Unit: "per second",
		Series: []svg.Series{{Name: "holds/s", Colour: colourLight, Values: holds}, {Name: "bookings/s", Colour: colourDark, Values: bookings}}}
	lat := svg.Bars{Title: "p99 latency by strategy", Width: chartWidth, Labels: labels, Alert: alert, Format: fmtMs,
		Series: []svg.Series{{Name: "hold p99", Colour: colourLight, Values: holdP99}, {Name: "checkout p99", Colour: colourDark, Values: checkoutP99}}}
	lat.Log = wideSpread(holdP99, checkoutP99)
	lat.Unit = axisUnit("from each request's intended start", lat.Log)
	return chartHTML(tp.SVG()), chartHTML(lat.SVG())
}

// p99Of is an operation's p99 in ms, NaN when the run did not measure it.
func p99Of(m map[string]Percentiles, op string) float64 {
	if p, ok := m[op]; ok && p.Count > 0 {
		return p.P99
	}
	return math.NaN()
}

// runCharts draws one run: requests per second by outcome and hold latency per second, with
// the fault windows; outcomes per operation; pool wait and hold per conn tag.
func runCharts(r Run) htmlRun {
	hr := htmlRun{R: r}
	if r.CapacitySearch != nil {
		hr.Curves = capacityCurves(r.CapacitySearch)
	}
	bands := faultBands(r.Faults)
	if len(r.Series) > 0 {
		xs := make([]float64, len(r.Series))
		for i, p := range r.Series {
			xs[i] = p.T + 0.5 // a point is the second [T, T+1): drawn at its middle
		}
		xmax := r.Series[len(r.Series)-1].T + 1
		hr.Throughput = chartHTML(svg.Line{Title: "Requests per second by outcome", Width: chartWidth, X: xs, XMax: xmax, Time: true,
			XTitle: "since the herd started", YTitle: "requests/s", Series: outcomeSeries(r), Bands: bands, BandLegend: "fault window"}.SVG())

		p50, p99 := make([]float64, len(r.Series)), make([]float64, len(r.Series))
		for i, p := range r.Series {
			p50[i], p99[i] = math.NaN(), math.NaN()
			if p.P50 > 0 || p.P99 > 0 { // a second without holds has no latency
				p50[i], p99[i] = p.P50, p.P99
			}
		}
		lat := svg.Line{Title: "Hold latency per second", Width: chartWidth, X: xs, XMax: xmax, Time: true,
			XTitle: "since the herd started", Format: fmtMs, Bands: bands, BandLegend: "fault window",
			Series: []svg.Series{{Name: "p50 from send", Colour: colourLight, Values: p50}, {Name: "p99 from intended start", Colour: colourDark, Values: p99}}}
		for _, o := range r.SLOs {
			if o.Op == "hold" && o.Unit == Millis {
				lat.Rules = append(lat.Rules, svg.Rule{Label: "SLO " + o.Name + " " + fmtMs(o.Target), Value: o.Target, Colour: colourSLO})
			}
		}
		rules := make([]float64, len(lat.Rules))
		for i, r := range lat.Rules {
			rules[i] = r.Value
		}
		lat.Log = wideSpread(p50, p99, rules)
		lat.YTitle = axisUnit("", lat.Log)
		hr.Latency = chartHTML(lat.SVG())
	}
	if len(r.Outcomes) > 0 {
		hr.Outcomes = chartHTML(outcomeChart(r.Outcomes).SVG())
	}
	if len(r.Pool) > 0 {
		tags := sortedKeys(r.Pool)
		wait, hold, maxWait := make([]float64, len(tags)), make([]float64, len(tags)), make([]float64, len(tags))
		for i, t := range tags {
			p := r.Pool[t]
			wait[i], hold[i], maxWait[i] = p.WaitMeanMs, p.HoldMeanMs, p.WaitMaxMs
		}
		pool := svg.Bars{Title: "Database pool per conn tag", Width: chartWidth, Labels: tags, Format: fmtMs,
			Series: []svg.Series{{Name: "mean wait", Colour: colourLight, Values: wait}, {Name: "max wait", Colour: colourDark, Values: maxWait},
				{Name: "mean connection hold", Colour: colourThird, Values: hold}}}
		pool.Log = wideSpread(wait, maxWait, hold)
		pool.Unit = axisUnit("", pool.Log)
		hr.Pool = chartHTML(pool.SVG())
	}
	return hr
}

// faultBands are the windows of the faults that were injected, each labelled with its fault;
// a fault the target could not undergo changed nothing and has no window.
func faultBands(fs []FaultWindow) []svg.Band {
	var out []svg.Band
	for _, f := range fs {
		if f.Error != "" {
			continue
		}
		title := fmt.Sprintf("%s, %.1f s to %.1f s", f.Fault, f.Start, f.End)
		if p := paramList(f.Params); p != "-" {
			title += " (" + p + ")"
		}
		out = append(out, svg.Band{Label: f.Fault, From: f.Start, To: f.End, Colour: colourFault, Title: title})
	}
	return out
}

// outcomeSeries are a run's requests per second by class. Refused and error are told apart
// by each second's error count; a summary written before seconds had one shows them as one
// series rather than call an error refused.
func outcomeSeries(r Run) []svg.Series {
	n := len(r.Series)
	ok, refused, errs, unknown := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	var haveErrors bool
	for i, p := range r.Series {
		e := max(p.Errors-p.Info, 0)
		ok[i], refused[i], errs[i], unknown[i] = float64(p.Ok), float64(max(p.Fail-e, 0)), float64(e), float64(p.Info)
		haveErrors = haveErrors || p.Errors > 0
	}
	var runErrors int64
	for _, oc := range r.Outcomes {
		runErrors += classify(oc)[3]
	}
	series := func(c outcomeClass, v []float64) svg.Series {
		return svg.Series{Name: c.name, Colour: c.colour, Values: v}
	}
	var out []svg.Series
	if !haveErrors && runErrors > 0 {
		out = []svg.Series{series(classOK, ok), series(classFailed, refused), series(classUnknown, unknown)}
	} else {
		out = []svg.Series{series(classOK, ok), series(classRefused, refused), series(classError, errs), series(classUnknown, unknown)}
	}
	// Shed requests (the target's 503 overloaded) are counted apart from the other outcomes;
	// they get their own series when the run had any.
	shed, anyShed := make([]float64, n), false
	for i, p := range r.Series {
		shed[i], anyShed = float64(p.Shed), anyShed || p.Shed > 0
	}
	if anyShed {
		out = append(out[:2:2], append([]svg.Series{series(classShed, shed)}, out[2:]...)...)
	}
	return out
}

// outcomeChart is each operation's outcome mix, noting the count of every rare class.
func outcomeChart(outcomes map[string]map[string]int64) svg.Stack {
	ops := sortedKeys(outcomes)
	counts := make([]outcomeCounts, len(ops))
	notes := make([]string, len(ops))
	present := map[int]bool{}
	for j, op := range ops {
		counts[j] = classify(outcomes[op])
		notes[j] = fmt.Sprintf("%d", counts[j].total())
		for i, n := range counts[j] {
			if n > 0 {
				present[i] = true
			}
			if i >= 2 && n > 0 { // shed, error, unknown: rare and worth their number
				notes[j] += fmt.Sprintf(", %d %s", n, outcomeClasses[i].name)
			}
		}
	}
	c := svg.Stack{Title: "Outcomes per operation", Width: chartWidth, Labels: ops, Notes: notes, Unit: "share of each operation's requests"}
	for i, cl := range outcomeClasses {
		if !present[i] && i != 0 {
			continue
		}
		vals := make([]float64, len(ops))
		for j := range ops {
			vals[j] = float64(counts[j][i])
		}
		c.Series = append(c.Series, svg.Series{Name: cl.name, Colour: cl.colour, Values: vals})
	}
	return c
}

// wideSpread reports whether the positive values span more than two decades.
func wideSpread(vss ...[]float64) bool {
	lo, hi := math.Inf(1), 0.0
	for _, vs := range vss {
		for _, v := range vs {
			if v > 0 && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	return hi > 0 && hi/lo > decades
}

// axisUnit titles a latency axis, saying when it is a log scale.
func axisUnit(what string, log bool) string {
	s := "latency"
	if what != "" {
		s += " " + what
	}
	if log {
		s += " (log scale)"
	}
	return s
}

// fmtMs writes milliseconds as a reader says them: 0.5 ms, 14 ms, 4.2 s.
func fmtMs(v float64) string {
	if math.Abs(v) >= 1000 {
		return svg.FormatNumber(math.Round(v/10)/100) + " s"
	}
	return svg.FormatNumber(v) + " ms"
}
