package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

//go:embed assets/report.html.tmpl
var htmlTemplate string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"join": strings.Join,
	"p99": func(m map[string]Percentiles, op string) string {
		if p, ok := m[op]; ok && p.Count > 0 {
			return fmtMs(p.P99)
		}
		return "-"
	},
	"cents":      func(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) },
	"val":        fmtVal,
	"ms":         fmtMs,
	"runLine":    runLine,
	"checked":    func(c Check) string { checked, _ := checkFigures(c); return checked },
	"violations": func(c Check) string { _, v := checkFigures(c); return v },
	"params":     paramList,
	"hazards": func(cs []Coverage) string {
		if len(cs) == 0 {
			return "-"
		}
		return fmt.Sprintf("%d of %d", exercised(cs), len(cs))
	},
	"pct": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	// barWidth is a share as a bar of at most 200 pixels.
	"barWidth": func(f float64) int { return int(math.Round(min(max(f, 0), 1) * 200)) },
	// The capacity search's cells and sentences, as report.md writes them.
	"capacityCell": capacityCell,
	"boundaryCell": boundaryCell,
	"peakCell":     peakCell,
	"admitCell":    admitCell,
	"onSale":       onSaleWords,
	"fit":          fitWords,
	"stepResult":   stepResult,
	"p99Cell":      p99Cell,
	"pct2":         func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
	"inc":          func(i int) int { return i + 1 },
	"spread":       spreadCell,
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
	Failed, Unknown, Bound  int
	NotInjected             int
	Started, Duration       string
	Scale                   string
	Compare, CompareLatency template.HTML
	Runs                    []htmlRun
	Terms                   []term
}

// HTML writes report.html: one self-contained page (inline CSS and SVG, no scripts, nothing
// fetched at view time) with the verdict first, the comparison, and per run its verdict line,
// checks, hazard coverage, load generator, where the time went, SLOs, faults and charts:
// requests per second by outcome and hold latency per second with every fault window
// labelled, outcomes per operation, and pool wait and hold time per conn tag. It ends with
// the glossary; for a capacity search, the capacity curves of each strategy x database.
func HTML(w io.Writer, s *Summary) error {
	d := htmlData{S: s, Verdict: strings.ToUpper(s.Verdict), Duration: fmtDuration(s.DurationSeconds),
		NotInjected: notInjected(s), Terms: glossary, Scale: scaleText(s.Scale) + serveText(s.ServeFlags), Bound: s.GeneratorBound(),
		Capacity: hasCapacity(s)}
	if !s.Started.IsZero() {
		d.Started = s.Started.UTC().Format(time.RFC3339)
	}
	d.Failed, d.Unknown = verdictCounts(s)
	d.Compare, d.CompareLatency = comparisonCharts(s.Runs)
	for _, r := range s.Runs {
		d.Runs = append(d.Runs, runCharts(r))
	}
	if err := tmpl.Execute(w, d); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}
