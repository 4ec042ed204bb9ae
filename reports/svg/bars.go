package svg

import "math"

// alertColour draws the label of a category that needs attention (a failed run).
const alertColour = "#c5221f"

// Bars is a chart of grouped horizontal bars: a row per category, labelled at its left, and in
// it a bar per series, each labelled with its value. Rows rather than columns, so that every
// category keeps its label however many there are.
type Bars struct {
	Title string
	// Width in pixels, DefaultWidth when zero; the height follows from the rows.
	Width float64
	// Labels name the categories, top to bottom.
	Labels []string
	// Alert, parallel to Labels where set, draws a category's label in the alert colour.
	Alert []bool
	// Series[i].Values[j] is series i's value for category j.
	Series []Series
	// Log draws the value axis on a log scale, for values that span decades.
	Log bool
	// Unit titles the value axis.
	Unit string
	// Format labels the ticks and the values; FormatNumber when nil.
	Format func(float64) string
}

// SVG renders the chart; empty when it has no categories or no series.
func (c Bars) SVG() string {
	if len(c.Labels) == 0 || len(c.Series) == 0 {
		return ""
	}
	width := c.Width
	if width <= 0 {
		width = DefaultWidth
	}
	format := c.Format
	if format == nil {
		format = FormatNumber
	}
	var vals []float64
	for _, s := range c.Series {
		vals = append(vals, s.Values...)
	}
	ns := len(c.Series)
	barH := 10.0 // thinner bars the more there are to a group
	switch ns {
	case 1:
		barH = 16
	case 2:
		barH = 12
	}
	const barGap, groupPad = 2.0, 14.0
	groupH := float64(ns)*barH + float64(ns-1)*barGap

	valueW := 0.0
	for _, v := range vals {
		valueW = math.Max(valueW, textWidth(valueText(v, format), smallFont))
	}
	left, right := widest(c.Labels, fontSize)+16, valueW+14
	n := max(2, int((width-left-right)/80))
	a := valueAxis(vals, n, c.Log, format)
	if a.log {
		// A bar as long as the axis's start would not show: start a decade lower.
		if lo := minPositive(vals); lo <= a.lo*(1+1e-9) {
			a.ticks = LogTicks(a.lo/10, a.hi)
			a.lo = a.ticks[0]
		}
	}
	w := newRows("bars", c.Title, width, left, right, a, c.Unit, c.Series, len(c.Labels), groupH+groupPad)
	xs := w.xs
	for j, l := range c.Labels {
		y0 := w.top + groupPad/2 + float64(j)*w.rowH
		var attrs []string
		if j < len(c.Alert) && c.Alert[j] {
			attrs = append(attrs, `fill="`+alertColour+`"`, `font-weight="600"`)
		}
		w.label(l, y0+groupH/2, attrs...)
		for i, s := range c.Series {
			v := math.NaN()
			if j < len(s.Values) {
				v = s.Values[j]
			}
			y := y0 + float64(i)*(barH+barGap)
			x1 := xs.p0
			if finite(v) && (!a.log || v > 0) {
				x1 = math.Max(xs.pos(v), xs.p0)
			}
			w.printf(`<rect class="bar" data-series="%s" data-category="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s, %s: %s</title></rect>`,
				esc(s.Name), esc(l), num(xs.p0), num(y), num(x1-xs.p0), num(barH), s.Colour, esc(l), esc(s.Name), esc(valueText(v, format)))
			w.text("value", x1+4, y+barH/2, "start", valueText(v, format), `font-size="11"`, `dominant-baseline="central"`, `fill="`+mutedColour+`"`)
		}
	}
	return w.close()
}

// valueText labels a bar's value; a value that was not measured is a dash.
func valueText(v float64, format func(float64) string) string {
	if !finite(v) {
		return "-"
	}
	return format(v)
}

func minPositive(vs []float64) float64 {
	lo := math.Inf(1)
	for _, v := range vs {
		if v > 0 && finite(v) {
			lo = math.Min(lo, v)
		}
	}
	return lo
}
