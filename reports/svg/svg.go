package svg

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sizes shared by the charts, in pixels.
const (
	// DefaultWidth is a chart's width when it sets none: half of a wide page.
	DefaultWidth = 640
	fontSize     = 12
	smallFont    = 11
	titleFont    = 14
)

// Palette colours that are not data: text, axes and grid.
const (
	textColour  = "#202124"
	mutedColour = "#5f6368"
	gridColour  = "#e8eaed"
	axisColour  = "#9aa0a6"
)

// Series is one named sequence of values drawn in one colour: a line over X, a bar per
// category, or a segment of every stacked row.
type Series struct {
	Name string
	// Colour is any SVG colour ("#1e8e3e").
	Colour string
	Values []float64
	// Dashed draws a line series dashed.
	Dashed bool
}

// writer accumulates the markup of one chart.
type writer struct{ b strings.Builder }

func (w *writer) printf(format string, a ...any) { fmt.Fprintf(&w.b, format, a...) }

// open writes the root element: the chart keeps its natural size (text stays legible) and
// scales down with its viewBox on a narrow page.
func (w *writer) open(class, title string, width, height float64) {
	w.printf(`<svg xmlns="http://www.w3.org/2000/svg" class="chart %s" role="img" aria-label="%s" viewBox="0 0 %s %s" width="%s" height="%s" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="%d" fill="%s">`,
		class, esc(title), num(width), num(height), num(width), num(height), fontSize, textColour)
	w.printf(`<title>%s</title>`, esc(title))
	w.printf(`<text class="title" x="0" y="%d" font-size="%d" font-weight="600">%s</text>`, titleFont+2, titleFont, esc(title))
}

func (w *writer) close() string {
	w.b.WriteString("</svg>")
	return w.b.String()
}

// text writes one text element; anchor is start, middle or end.
func (w *writer) text(class string, x, y float64, anchor, s string, attrs ...string) {
	extra := ""
	if len(attrs) > 0 {
		extra = " " + strings.Join(attrs, " ")
	}
	w.printf(`<text class="%s" x="%s" y="%s" text-anchor="%s"%s>%s</text>`, class, num(x), num(y), anchor, extra, esc(s))
}

// esc escapes s for a text node or a quoted attribute value.
func esc(s string) string { return html.EscapeString(s) }

// num formats a coordinate to a tenth of a pixel.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// textWidth estimates the width of s in pixels at the given font size. Sans-serif faces
// average about half an em a character; 0.6 em errs wide, so that labels laid out by it do not
// collide.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * 0.6
}

// widest is the estimated width of the widest of ss.
func widest(ss []string, size float64) float64 {
	w := 0.0
	for _, s := range ss {
		w = math.Max(w, textWidth(s, size))
	}
	return w
}

// finite reports whether v is a number that can be drawn.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
