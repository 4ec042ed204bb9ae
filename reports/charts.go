package reports

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"github.com/go-analyze/charts"
)

const (
	chartWidth  = 900
	chartHeight = 320
)

// faultColor shades fault windows; the series colours come from the theme.
var faultColor = charts.Color{R: 231, G: 76, B: 60, A: 70}

// timeChart renders series over the herd's seconds as lines, with every fault window shaded as
// a translucent bar on a hidden second axis.
func timeChart(title, unit string, pts []Point, names []string, value func(Point, int) float64, faults []FaultWindow) (template.HTML, error) {
	if len(pts) == 0 {
		return "", nil
	}
	labels := make([]string, len(pts))
	for i, p := range pts {
		labels[i] = strconv.Itoa(int(math.Round(p.T)))
	}
	var sl charts.GenericSeriesList
	legend := []string{}
	if len(faults) > 0 {
		shade := make([]float64, len(pts))
		for i, p := range pts {
			for _, f := range faults {
				// Second [T, T+1) is shaded when it overlaps the window; an instantaneous fault
				// shades the second it happened in.
				if p.T+1 > f.Start && p.T <= f.End {
					shade[i] = 1
				}
			}
		}
		sl = append(sl, charts.GenericSeries{Type: charts.ChartTypeBar, Values: shade, YAxisIndex: 1, Name: "fault window"})
		legend = append(legend, "fault window")
	}
	for si, n := range names {
		vals := make([]float64, len(pts))
		for i, p := range pts {
			vals[i] = value(p, si)
		}
		sl = append(sl, charts.GenericSeries{Type: charts.ChartTypeLine, Values: vals, Name: n})
		legend = append(legend, n)
	}
	theme := charts.GetTheme(charts.ThemeLight)
	if len(faults) > 0 {
		theme = theme.WithSeriesColors(append([]charts.Color{faultColor}, themeSeries(theme, len(names))...))
	}
	opt := charts.ChartOption{
		OutputFormat: "svg",
		Width:        chartWidth,
		Height:       chartHeight,
		Theme:        theme,
		Title:        charts.TitleOption{Text: title},
		SeriesList:   sl,
		XAxis:        charts.XAxisOption{Labels: labels, Title: "seconds since the herd started", LabelCount: 12},
		YAxis: []charts.YAxisOption{
			{Title: unit, Min: charts.Ptr(0.0)},
			{Min: charts.Ptr(0.0), Max: charts.Ptr(1.0), Show: charts.Ptr(false)},
		},
		Legend:          charts.LegendOption{SeriesNames: legend, Offset: charts.OffsetStr{Left: charts.PositionRight}},
		Symbol:          charts.Symbol{Shape: charts.SymbolNone},
		LineStrokeWidth: 1.5,
		BarSize:         1.0,
		BarMargin:       charts.Ptr(0.0),
	}
	return render(opt)
}

// barChart renders grouped bars: one group per label, one bar per series.
func barChart(title, unit string, labels, names []string, values [][]float64) (template.HTML, error) {
	if len(labels) == 0 || len(values) == 0 {
		return "", nil
	}
	sl := make(charts.GenericSeriesList, len(values))
	for i, v := range values {
		sl[i] = charts.GenericSeries{Type: charts.ChartTypeBar, Values: v, Name: names[i]}
	}
	opt := charts.ChartOption{
		OutputFormat: "svg",
		Width:        chartWidth,
		Height:       chartHeight,
		Title:        charts.TitleOption{Text: title},
		SeriesList:   sl,
		XAxis:        charts.XAxisOption{Labels: labels},
		YAxis:        []charts.YAxisOption{{Title: unit, Min: charts.Ptr(0.0)}},
		Legend:       charts.LegendOption{SeriesNames: names, Offset: charts.OffsetStr{Left: charts.PositionRight}},
	}
	return render(opt)
}

func themeSeries(t charts.ColorPalette, n int) []charts.Color {
	out := make([]charts.Color, n)
	for i := range out {
		out[i] = t.GetSeriesColor(i)
	}
	return out
}

func render(opt charts.ChartOption) (template.HTML, error) {
	p, err := charts.Render(opt)
	if err != nil {
		return "", fmt.Errorf("render chart %q: %w", opt.Title.Text, err)
	}
	b, err := p.Bytes()
	if err != nil {
		return "", fmt.Errorf("render chart %q: %w", opt.Title.Text, err)
	}
	svg := string(b)
	// Let the SVG scale with the page; the viewBox keeps its proportions.
	svg = strings.Replace(svg, "<svg ", `<svg role="img" aria-label="`+template.HTMLEscapeString(opt.Title.Text)+`" class="chart" `, 1)
	return template.HTML(svg), nil //nolint:gosec // rendered by the chart library from numbers and escaped labels
}
