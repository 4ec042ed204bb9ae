package svg

// legendKind is how a legend entry's swatch is drawn.
type legendKind int

const (
	swatchBox  legendKind = iota // a filled square: bars, segments
	swatchLine                   // a short line: line series
	swatchBand                   // a translucent square: bands
)

type legendItem struct {
	name, colour string
	kind         legendKind
	dashed       bool
}

const legendRow = 18 // height of a legend row

// legendHeight is the height the legend of items takes when wrapped to width.
func legendHeight(items []legendItem, width float64) float64 {
	return float64(legendRows(items, width)) * legendRow
}

func legendRows(items []legendItem, width float64) int {
	if len(items) == 0 {
		return 0
	}
	rows, x := 1, 0.0
	for _, it := range items {
		w := legendItemWidth(it)
		if x > 0 && x+w > width {
			rows, x = rows+1, 0
		}
		x += w
	}
	return rows
}

func legendItemWidth(it legendItem) float64 {
	return 18 + textWidth(it.name, smallFont) + 16
}

// legend draws items in rows from (x, y), the top left, wrapping at width.
func (w *writer) legend(items []legendItem, x, y, width float64) {
	w.printf(`<g class="legend">`)
	cx, cy := 0.0, y
	for _, it := range items {
		iw := legendItemWidth(it)
		if cx > 0 && cx+iw > width {
			cx, cy = 0, cy+legendRow
		}
		sx, mid := x+cx, cy+legendRow/2
		switch it.kind {
		case swatchLine:
			dash := ""
			if it.dashed {
				dash = ` stroke-dasharray="4 3"`
			}
			w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`, num(sx), num(mid), num(sx+14), num(mid), it.colour, dash)
		case swatchBand:
			w.printf(`<rect x="%s" y="%s" width="12" height="12" fill="%s" fill-opacity="%s" stroke="%s" stroke-opacity="0.5"/>`, num(sx+1), num(mid-6), it.colour, bandOpacity, it.colour)
		default:
			w.printf(`<rect x="%s" y="%s" width="12" height="12" rx="2" fill="%s"/>`, num(sx+1), num(mid-6), it.colour)
		}
		w.text("legend-label", sx+18, mid+4, "start", it.name, `font-size="11"`)
		cx += iw
	}
	w.printf(`</g>`)
}

// seriesLegend is the legend of series drawn as kind.
func seriesLegend(ss []Series, kind legendKind) []legendItem {
	out := make([]legendItem, 0, len(ss))
	for _, s := range ss {
		out = append(out, legendItem{name: s.Name, colour: s.Colour, kind: kind, dashed: s.Dashed})
	}
	return out
}

// xAxis draws a horizontal axis at y from scale s with gridlines up to top: a label under
// every tick.
func (w *writer) xAxis(a axis, s scale, y, top float64, title string) {
	w.printf(`<g class="axis x%s">`, logClass(a))
	for _, t := range a.ticks {
		x := s.pos(t)
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(x), num(top), num(x), num(y), gridColour)
		w.text("tick x", x, y+18, "middle", a.label(t), `font-size="11"`, `fill="`+mutedColour+`"`)
	}
	w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(s.p0), num(y), num(s.p1), num(y), axisColour)
	if title != "" {
		w.text("axis-title x", (s.p0+s.p1)/2, y+34, "middle", title, `font-size="11"`, `fill="`+mutedColour+`"`)
	}
	w.printf(`</g>`)
}

// yAxis draws a vertical axis at x from scale s with gridlines across to right.
func (w *writer) yAxis(a axis, s scale, x, right float64, title string, titleX float64) {
	w.printf(`<g class="axis y%s">`, logClass(a))
	for _, t := range a.ticks {
		y := s.pos(t)
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(x), num(y), num(right), num(y), gridColour)
		w.text("tick y", x-6, y+4, "end", a.label(t), `font-size="11"`, `fill="`+mutedColour+`"`)
	}
	w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(x), num(s.p0), num(x), num(s.p1), axisColour)
	if title != "" {
		mid := (s.p0 + s.p1) / 2
		w.text("axis-title y", titleX, mid, "middle", title, `font-size="11"`, `fill="`+mutedColour+`"`,
			`transform="rotate(-90 `+num(titleX)+` `+num(mid)+`)"`)
	}
	w.printf(`</g>`)
}

func logClass(a axis) string {
	if a.log {
		return " log"
	}
	return ""
}

// rows is the frame that Bars and Stack share: the title, a legend of the series, a row per
// category labelled at its left, and the value axis under the rows.
type rows struct {
	writer
	xs scale
	// top is the y of the first row; each row is rowH high, its padding included.
	top, rowH float64
}

// newRows opens a chart of n rows of rowH pixels with the value axis a drawn from left to
// width-right, titled unit.
func newRows(class, title string, width, left, right float64, a axis, unit string, series []Series, n int, rowH float64) *rows {
	items := seriesLegend(series, swatchBox)
	const legendTop = 26.0
	r := &rows{xs: a.scale(left, width-right), rowH: rowH}
	r.top = legendTop + legendHeight(items, width-left-right) + 6
	bottom := r.top + float64(n)*rowH
	r.open(class, title, width, bottom+40)
	r.legend(items, left, legendTop, width-left-right)
	r.xAxis(a, r.xs, bottom, r.top, unit)
	return r
}

// label names the row whose content is centred at y, right-aligned before the axis.
func (r *rows) label(name string, y float64, attrs ...string) {
	r.text("category", r.xs.p0-10, y, "end", name, append([]string{`dominant-baseline="central"`}, attrs...)...)
}
