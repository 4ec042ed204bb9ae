package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

//go:embed assets/report.html.tmpl
var htmlTemplate string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"join": strings.Join,
	"p99": func(m map[string]Percentiles, op string) string {
		if p, ok := m[op]; ok && p.Count > 0 {
			return fmt.Sprintf("%.0f ms", p.P99)
		}
		return "-"
	},
	"cents": func(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) },
	"val":   fmtVal,
	// The capacity search's cells and sentences, as report.md writes them.
	"capacityCell": capacityCell,
	"boundaryCell": boundaryCell,
	"peakCell":     peakCell,
	"admitCell":    admitCell,
	"onSale":       onSaleWords,
	"fit":          fitWords,
	"stepResult":   stepResult,
	"p99Cell":      p99Cell,
	"pct":          func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
	"inc":          func(i int) int { return i + 1 },
}).Parse(htmlTemplate))

type htmlRun struct {
	R                                   Run
	Throughput, Latency, Outcomes, Pool template.HTML
	// Curves are the capacity search's charts, when the run searched.
	Curves []template.HTML
}

type htmlData struct {
	S                       *Summary
	Capacity                bool
	Verdict                 string
	Failed                  int
	Started, Duration       string
	Compare, CompareLatency template.HTML
	Runs                    []htmlRun
}

// HTML writes report.html: one self-contained page (inline CSS and SVG, no scripts, nothing
// fetched at view time) with the verdict first, the comparison, and per run the checks, SLOs,
// faults and charts: throughput and latency over time with fault windows shaded, outcomes per
// operation, and pool wait and hold time per conn tag; for a capacity search, the capacity
// curves of each strategy x database.
func HTML(w io.Writer, s *Summary) error {
	d := htmlData{S: s, Verdict: strings.ToUpper(s.Verdict), Duration: fmtDuration(s.DurationSeconds), Capacity: hasCapacity(s)}
	if !s.Started.IsZero() {
		d.Started = s.Started.UTC().Format(time.RFC3339)
	}
	for _, r := range s.Runs {
		if r.Verdict != Pass {
			d.Failed++
		}
	}
	var err error
	if d.Compare, d.CompareLatency, err = comparisonCharts(s.Runs); err != nil {
		return err
	}
	for _, r := range s.Runs {
		hr, err := runCharts(r)
		if err != nil {
			return err
		}
		d.Runs = append(d.Runs, hr)
	}
	if err := tmpl.Execute(w, d); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

func comparisonCharts(runs []Run) (template.HTML, template.HTML, error) {
	if len(runs) < 2 {
		return "", "", nil
	}
	labels := make([]string, len(runs))
	tp := [][]float64{make([]float64, len(runs)), make([]float64, len(runs))}
	lat := [][]float64{make([]float64, len(runs)), make([]float64, len(runs))}
	for i, r := range runs {
		labels[i] = label(r.Strategy + "/" + r.DB)
		tp[0][i], tp[1][i] = r.Throughput.HoldsPerSec, r.Throughput.BookingsPerSec
		lat[0][i], lat[1][i] = r.Latency["hold"].P99, r.Latency["checkout"].P99
	}
	a, err := barChart("Throughput by strategy", "per second", labels, []string{"holds/s", "bookings/s"}, tp)
	if err != nil {
		return "", "", err
	}
	b, err := barChart("p99 latency by strategy", "ms", labels, []string{"hold p99", "checkout p99"}, lat)
	return a, b, err
}

func runCharts(r Run) (htmlRun, error) {
	hr := htmlRun{R: r}
	if r.CapacitySearch != nil {
		hr.Curves = capacityCurves(r.CapacitySearch)
	}
	var err error
	hr.Throughput, err = timeChart("Throughput over time", "requests/s", r.Series, []string{"ok", "fail", "info"},
		func(p Point, i int) float64 { return float64([]int64{p.Ok, p.Fail, p.Info}[i]) }, r.Faults)
	if err != nil {
		return hr, err
	}
	hr.Latency, err = timeChart("Hold latency over time (p50 sent, p99 from intended start)", "ms", r.Series, []string{"hold p50", "hold p99"},
		func(p Point, i int) float64 { return []float64{p.P50, p.P99}[i] }, r.Faults)
	if err != nil {
		return hr, err
	}
	if len(r.Outcomes) > 0 {
		ops := sortedKeys(r.Outcomes)
		vals := [][]float64{make([]float64, len(ops)), make([]float64, len(ops)), make([]float64, len(ops))}
		for i, op := range ops {
			vals[0][i] = float64(r.Outcomes[op]["ok"])
			vals[1][i] = float64(r.Outcomes[op]["fail"])
			vals[2][i] = float64(r.Outcomes[op]["info"])
		}
		if hr.Outcomes, err = barChart("Outcomes per operation", "operations", labels(ops), []string{"ok", "fail", "info"}, vals); err != nil {
			return hr, err
		}
	}
	if len(r.Pool) > 0 {
		tags := sortedKeys(r.Pool)
		sort.Strings(tags)
		vals := [][]float64{make([]float64, len(tags)), make([]float64, len(tags)), make([]float64, len(tags))}
		for i, t := range tags {
			p := r.Pool[t]
			vals[0][i], vals[1][i], vals[2][i] = p.WaitMeanMs, p.HoldMeanMs, p.WaitMaxMs
		}
		if hr.Pool, err = barChart("Database pool per conn tag", "ms", labels(tags), []string{"mean wait", "mean hold", "max wait"}, vals); err != nil {
			return hr, err
		}
	}
	return hr, nil
}

// label keeps chart text to characters that need no escaping inside SVG.
func label(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '<', '>', '&', '"', '\'':
			return '_'
		}
		return r
	}, s)
}

func labels(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = label(s)
	}
	return out
}
