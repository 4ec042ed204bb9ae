package svg

import (
	"math"
	"strings"
)

// Band marks a span of the x axis, such as a fault window, shaded across the plot and named
// by a label above it.
type Band struct {
	Label string
	// From and To are in x units; a band narrower than a few pixels (an instantaneous fault,
	// To == From) is drawn a few pixels wide so that it is seen.
	From, To float64
	Colour   string
	// Title is the band's tooltip; Label when empty.
	Title string
}

// Rule is a horizontal line at a value, such as an objective, labelled at its right end.
type Rule struct {
	Label  string
	Value  float64
	Colour string
}

// Line is a chart of series over a shared x axis, with bands and rules.
type Line struct {
	Title string
	// Width and Height in pixels; DefaultWidth and 280 when zero.
	Width, Height float64
	// X is the x of every point: Series[i].Values[j] is drawn at X[j]. A value that is not
	// finite (NaN), or not positive on a log axis, leaves a gap in its line.
	X []float64
	// XMin and XMax bound the x axis when XMax > XMin; otherwise X and the bands do. The
	// axis spans exactly these bounds, labelled at the round values between them.
	XMin, XMax float64
	// Time labels the x axis in seconds or minutes (TimeTicks): X is in seconds.
	Time           bool
	XTitle, YTitle string
	// Log draws the y axis on a log scale.
	Log bool
	// Format labels the y ticks; FormatNumber when nil.
	Format func(float64) string
	Series []Series
	Bands  []Band
	// BandLegend, when set, names the bands in the legend ("fault window").
	BandLegend string
	Rules      []Rule
}

// bandOpacity is the fill opacity of bands, light enough for the lines to show through.
const bandOpacity = "0.16"

const laneHeight = 15 // the height of a row of band labels

// SVG renders the chart; empty when it has no points.
func (c Line) SVG() string {
	if len(c.X) == 0 {
		return ""
	}
	width, height := c.Width, c.Height
	if width <= 0 {
		width = DefaultWidth
	}
	if height <= 0 {
		height = 280
	}
	var w writer
	w.open("line", c.Title, width, height)

	// The y axis first: its labels decide the left margin.
	var vals []float64
	for _, s := range c.Series {
		vals = append(vals, s.Values...)
	}
	for _, r := range c.Rules {
		vals = append(vals, r.Value)
	}
	ya := valueAxis(vals, 5, c.Log, c.Format)
	left := 22 + ya.widestLabel(smallFont) + 8
	right := 14.0

	xmin, xmax := c.XMin, c.XMax
	if !(xmax > xmin) {
		xmin, xmax = math.Inf(1), math.Inf(-1)
		for _, x := range c.X {
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
		}
		for _, b := range c.Bands {
			xmin, xmax = math.Min(xmin, b.From), math.Max(xmax, b.To)
		}
	}
	if !(xmax > xmin) {
		xmax = xmin + 1
	}
	// The x axis spans the data exactly (a run's 22 seconds end at 22 s, not 25 s), labelled
	// at the round values inside it.
	xa := axis{lo: xmin, hi: xmax, label: FormatNumber}
	n := max(2, int((width-left-right)/75))
	var ticks []float64
	if c.Time {
		ticks, xa.label = TimeTicks(xmin, xmax, n)
	} else {
		ticks = Ticks(xmin, xmax, n)
	}
	eps := (xmax - xmin) * 1e-9
	for _, t := range ticks {
		if t >= xmin-eps && t <= xmax+eps {
			xa.ticks = append(xa.ticks, t)
		}
	}
	xs := xa.scale(left, width-right)

	items := seriesLegend(c.Series, swatchLine)
	if c.BandLegend != "" && len(c.Bands) > 0 {
		items = append(items, legendItem{name: c.BandLegend, colour: c.Bands[0].Colour, kind: swatchBand})
	}
	legendTop := 26.0
	w.legend(items, left, legendTop, width-left-right)

	// Band labels sit in lanes above the plot; a label goes into the first lane where it does
	// not run into the previous label.
	type placed struct {
		x0, x1 float64
		lane   int
	}
	bands := make([]placed, len(c.Bands))
	var laneEnds []float64
	for i, b := range c.Bands {
		x0 := math.Max(xs.pos(b.From), xs.p0)
		x1 := math.Min(math.Max(xs.pos(b.To), x0+3), xs.p1)
		x0 = math.Min(x0, x1-3)
		lx0, lx1 := labelSpan(x0, textWidth(b.Label, smallFont), xs.p1)
		lane := len(laneEnds)
		for l, end := range laneEnds {
			if lx0 > end+8 {
				lane = l
				break
			}
		}
		if lane == len(laneEnds) {
			laneEnds = append(laneEnds, 0)
		}
		laneEnds[lane] = lx1
		bands[i] = placed{x0: x0, x1: x1, lane: lane}
	}
	lanesTop := legendTop + legendHeight(items, width-left-right) + 4
	plotTop := lanesTop + float64(len(laneEnds))*laneHeight + 6
	plotBottom := height - 40
	ys := ya.scale(plotBottom, plotTop)

	w.yAxis(ya, ys, left, width-right, c.YTitle, 10)
	w.xAxis(xa, xs, plotBottom, plotTop, c.XTitle)

	for i, b := range c.Bands {
		p := bands[i]
		title := b.Title
		if title == "" {
			title = b.Label
		}
		w.printf(`<g class="band-group">`)
		w.printf(`<rect class="band" data-band="%s" x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="%s"><title>%s</title></rect>`,
			esc(b.Label), num(p.x0), num(plotTop), num(p.x1-p.x0), num(plotBottom-plotTop), b.Colour, bandOpacity, esc(title))
		ly := lanesTop + float64(p.lane)*laneHeight + 11
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-opacity="0.6"/>`, num(p.x0), num(ly+3), num(p.x0), num(plotTop), b.Colour)
		lx0, _ := labelSpan(p.x0, textWidth(b.Label, smallFont), xs.p1)
		w.text("band-label", lx0, ly, "start", b.Label, `font-size="11"`, `fill="`+b.Colour+`"`, `font-weight="600"`)
		w.printf(`</g>`)
	}

	for _, r := range c.Rules {
		y := ys.pos(r.Value)
		w.printf(`<g class="rule"><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"/>`,
			num(xs.p0), num(y), num(xs.p1), num(y), r.Colour)
		w.text("rule-label", xs.p1-4, y-5, "end", r.Label, `font-size="11"`, `fill="`+r.Colour+`"`)
		w.printf(`</g>`)
	}

	for _, s := range c.Series {
		w.path(s, c.X, xs, ys, c.Log)
	}
	return w.close()
}

// labelSpan is where a label of width lw that starts at x lies, moved left to end at limit
// when it would run past it.
func labelSpan(x, lw, limit float64) (float64, float64) {
	if x+lw > limit {
		x = limit - lw
	}
	return x, x + lw
}

// path draws one series as a line, broken where a value cannot be drawn; a point with no
// neighbour is drawn as a dot.
func (w *writer) path(s Series, xs []float64, sx, sy scale, log bool) {
	dash := ""
	if s.Dashed {
		dash = ` stroke-dasharray="5 3"`
	}
	var runs [][][2]float64
	var cur [][2]float64
	for i, v := range s.Values {
		if i >= len(xs) {
			break
		}
		if !finite(v) || (log && v <= 0) {
			if len(cur) > 0 {
				runs, cur = append(runs, cur), nil
			}
			continue
		}
		cur = append(cur, [2]float64{sx.pos(xs[i]), sy.pos(v)})
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	var d strings.Builder
	for _, run := range runs {
		if len(run) < 2 {
			continue
		}
		for i, p := range run {
			cmd := " L"
			if i == 0 {
				cmd = " M"
			}
			d.WriteString(cmd + num(p[0]) + " " + num(p[1]))
		}
	}
	w.printf(`<g class="series" data-series="%s">`, esc(s.Name))
	if d.Len() > 0 {
		w.printf(`<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"%s/>`, strings.TrimSpace(d.String()), s.Colour, dash)
	}
	for _, run := range runs {
		if len(run) == 1 {
			w.printf(`<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`, num(run[0][0]), num(run[0][1]), s.Colour)
		}
	}
	w.printf(`</g>`)
}
