package reports

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// plot draws a small x-y chart as inline SVG: axes with ticks, lines, points, shaded bands and
// marker lines, on a numeric x axis (linear or logarithmic), which the chart library's category
// axes cannot give: the loads of a capacity search are not evenly spaced.
type plot struct {
	title, xLabel, yLabel, y2Label string
	x0, x1, y0, y1, y20, y21       float64
	logX                           bool
	body                           strings.Builder
	legend                         []legendItem
}

type legendItem struct{ name, color, dash string }

// Plot geometry, in SVG units.
const (
	plotW, plotH                      = 900.0, 330.0
	plotL, plotR, plotTop, plotBottom = 70.0, 80.0, 44.0, 52.0
)

// Colours of the capacity charts.
const (
	colThroughput = "#1a73e8"
	colP99        = "#e37400"
	colErrors     = "#c5221f"
	colPass       = "#1e8e3e"
	colFail       = "#c5221f"
	colFit        = "#7b1fa2"
	colBand       = "rgba(30,142,62,0.12)"
)

// newPlot makes a plot of the data ranges given, widened to include 0 on the y axes and to
// keep a degenerate range drawable.
func newPlot(title, xLabel, yLabel string, xs, ys []float64, logX bool) *plot {
	p := &plot{title: title, xLabel: xLabel, yLabel: yLabel, logX: logX}
	p.x0, p.x1 = span(xs, false)
	if logX {
		if p.x0 <= 0 {
			p.x0 = p.x1 / 100
		}
		p.x0, p.x1 = p.x0/1.25, p.x1*1.25
	} else {
		p.x0 = 0
		p.x1 *= 1.05
	}
	_, p.y1 = span(ys, true)
	p.y1 *= 1.1
	return p
}

// withY2 adds a right axis for the given values.
func (p *plot) withY2(label string, ys []float64) *plot {
	p.y2Label = label
	_, p.y21 = span(ys, true)
	p.y21 *= 1.1
	return p
}

// span is the least and greatest finite value of vs, never an empty range.
func span(vs []float64, fromZero bool) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	if fromZero {
		lo = 0
	}
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

func (p *plot) sx(x float64) float64 {
	f := (x - p.x0) / (p.x1 - p.x0)
	if p.logX {
		f = math.Log(x/p.x0) / math.Log(p.x1/p.x0)
	}
	return plotL + f*(plotW-plotL-plotR)
}

func (p *plot) sy(y float64) float64 {
	return plotH - plotBottom - (y-p.y0)/(p.y1-p.y0)*(plotH-plotTop-plotBottom)
}

func (p *plot) sy2(y float64) float64 {
	return plotH - plotBottom - (y-p.y20)/(p.y21-p.y20)*(plotH-plotTop-plotBottom)
}

// line draws a polyline through the points (x, y); y2 puts it on the right axis.
func (p *plot) line(name, color, dash string, xs, ys []float64, y2 bool) {
	var pts []string
	for i := range xs {
		if math.IsNaN(ys[i]) || math.IsInf(ys[i], 0) {
			continue
		}
		y := p.sy(ys[i])
		if y2 {
			y = p.sy2(ys[i])
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", p.sx(xs[i]), y))
	}
	if len(pts) == 0 {
		return
	}
	fmt.Fprintf(&p.body, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", color, dash, strings.Join(pts, " "))
	if name != "" {
		p.legend = append(p.legend, legendItem{name, color, dash})
	}
}

// point draws a marker with a tooltip: a filled circle, or a cross when cross is set.
func (p *plot) point(x, y float64, color, tip string, cross, y2 bool) {
	cx, cy := p.sx(x), p.sy(y)
	if y2 {
		cy = p.sy2(y)
	}
	tip = template.HTMLEscapeString(tip)
	if cross {
		fmt.Fprintf(&p.body, `<path d="M%.1f %.1fl10 10m0 -10l-10 10" stroke="%s" stroke-width="3"><title>%s</title></path>`+"\n", cx-5, cy-5, color, tip)
		return
	}
	fmt.Fprintf(&p.body, `<circle cx="%.1f" cy="%.1f" r="4.5" fill="%s"><title>%s</title></circle>`+"\n", cx, cy, color, tip)
}

// band shades the x range [a, b].
func (p *plot) band(a, b float64, label string) {
	xa, xb := p.sx(a), p.sx(b)
	fmt.Fprintf(&p.body, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
		xa, plotTop, math.Max(xb-xa, 2), plotH-plotTop-plotBottom, colBand, template.HTMLEscapeString(label))
}

// vline marks an x with a labelled vertical line.
func (p *plot) vline(x float64, color, label string) {
	sx := p.sx(x)
	fmt.Fprintf(&p.body, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="5 3"/>`+"\n", sx, plotTop, sx, plotH-plotBottom, color)
	fmt.Fprintf(&p.body, `<text x="%.1f" y="%.1f" font-size="11" fill="%s">%s</text>`+"\n", sx+4, plotTop+12, color, template.HTMLEscapeString(label))
}

// hline marks a y with a labelled horizontal line.
func (p *plot) hline(y float64, color, label string) {
	sy := p.sy(y)
	fmt.Fprintf(&p.body, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="5 3"/>`+"\n", plotL, sy, plotW-plotR, sy, color)
	fmt.Fprintf(&p.body, `<text x="%.1f" y="%.1f" font-size="11" fill="%s">%s</text>`+"\n", plotL+6, sy-4, color, template.HTMLEscapeString(label))
}

// svg renders the plot: frame, ticks, labels, the drawn elements and the legend.
func (p *plot) svg() template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="%s" class="chart" viewBox="0 0 %.0f %.0f" font-family="sans-serif">`+"\n", esc(p.title), plotW, plotH)
	fmt.Fprintf(&b, `<rect width="%.0f" height="%.0f" fill="#fff"/>`+"\n", plotW, plotH)
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="15" font-weight="600">%s</text>`+"\n", plotL, esc(p.title))
	bottom, right := plotH-plotBottom, plotW-plotR
	for _, t := range ticks(p.y0, p.y1, false) {
		y := p.sy(t)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/><text x="%.0f" y="%.1f" font-size="11" text-anchor="end" fill="#5f6368">%s</text>`+"\n",
			plotL, y, right, y, plotL-6, y+4, tickLabel(t))
	}
	if p.y2Label != "" {
		for _, t := range ticks(p.y20, p.y21, false) {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="11" fill="#5f6368">%s</text>`+"\n", right+6, p.sy2(t)+4, tickLabel(t))
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12" fill="#5f6368" transform="rotate(90 %.0f %.0f)" text-anchor="middle">%s</text>`+"\n",
			plotW-14, (plotTop+bottom)/2, plotW-14, (plotTop+bottom)/2, esc(p.y2Label))
	}
	for _, t := range ticks(p.x0, p.x1, p.logX) {
		x := p.sx(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#bbb"/><text x="%.1f" y="%.0f" font-size="11" text-anchor="middle" fill="#5f6368">%s</text>`+"\n",
			x, bottom, x, bottom+5, x, bottom+18, tickLabel(t))
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#5f6368"/><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#5f6368"/>`+"\n",
		plotL, bottom, right, bottom, plotL, plotTop, plotL, bottom)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12" text-anchor="middle" fill="#5f6368">%s</text>`+"\n", (plotL+right)/2, plotH-10, esc(p.xLabel))
	fmt.Fprintf(&b, `<text x="16" y="%.0f" font-size="12" fill="#5f6368" transform="rotate(-90 16 %.0f)" text-anchor="middle">%s</text>`+"\n",
		(plotTop+bottom)/2, (plotTop+bottom)/2, esc(p.yLabel))
	b.WriteString(p.body.String())
	x := right
	for i := len(p.legend) - 1; i >= 0; i-- {
		l := p.legend[i]
		x -= 16 + 7*float64(len(l.name)) + 30
		fmt.Fprintf(&b, `<line x1="%.0f" y1="30" x2="%.0f" y2="30" stroke="%s" stroke-width="2" stroke-dasharray="%s"/><text x="%.0f" y="34" font-size="11">%s</text>`+"\n",
			x, x+24, l.color, l.dash, x+28, esc(l.name))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String()) //nolint:gosec // numbers and escaped text only
}

// ticks are round values across [lo, hi]: about five steps of 1, 2 or 5 times a power of
// ten, or on a logarithmic axis 1, 2 and 5 times each power of ten.
func ticks(lo, hi float64, log bool) []float64 {
	var out []float64
	if log {
		for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, e); v >= lo && v <= hi {
					out = append(out, v)
				}
			}
		}
		return out
	}
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{2, 5, 10} {
		if raw/mag > m/1.5 {
			step = m * mag
		}
	}
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

func tickLabel(v float64) string {
	switch a := math.Abs(v); {
	case a >= 10000:
		return fmt.Sprintf("%.0fk", v/1000)
	case a >= 100 || a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
