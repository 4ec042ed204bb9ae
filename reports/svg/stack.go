package svg

import (
	"fmt"
	"strconv"
)

// Stack is a chart of one horizontal bar per row, split into the shares of its series: an
// outcome mix per operation. Every segment that is not zero is at least a couple of pixels
// wide, so that a rare outcome is seen; the note at the right of a row can give its counts.
type Stack struct {
	Title string
	// Width in pixels, DefaultWidth when zero; the height follows from the rows.
	Width float64
	// Labels name the rows, top to bottom.
	Labels []string
	// Series[i].Values[j] is series i's amount in row j.
	Series []Series
	// Notes, parallel to Labels where set, are written at the right of each row.
	Notes []string
	// Unit titles the share axis.
	Unit string
}

// minSegment is the least width of a segment that is not zero, in pixels.
const minSegment = 3

// SVG renders the chart; empty when it has no rows or no series.
func (c Stack) SVG() string {
	if len(c.Labels) == 0 || len(c.Series) == 0 {
		return ""
	}
	width := c.Width
	if width <= 0 {
		width = DefaultWidth
	}
	const barH, pad = 18.0, 12.0
	left, right := widest(c.Labels, fontSize)+16, widest(c.Notes, smallFont)+16
	a := axis{lo: 0, hi: 100, ticks: Ticks(0, 100, 5), label: func(v float64) string { return FormatNumber(v) + "%" }}
	w := newRows("stack", c.Title, width, left, right, a, c.Unit, c.Series, len(c.Labels), barH+pad)
	xs := w.xs
	for j, l := range c.Labels {
		y := w.top + pad/2 + float64(j)*w.rowH
		w.label(l, y+barH/2)
		amounts := make([]float64, len(c.Series))
		total := 0.0
		for i, s := range c.Series {
			if j < len(s.Values) && finite(s.Values[j]) && s.Values[j] > 0 {
				amounts[i] = s.Values[j]
				total += amounts[i]
			}
		}
		if total > 0 {
			widths := segmentWidths(amounts, total, xs.p1-xs.p0)
			x := xs.p0
			for i, s := range c.Series {
				if widths[i] == 0 {
					continue
				}
				share := 100 * amounts[i] / total
				w.printf(`<rect class="segment" data-series="%s" data-category="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s, %s: %s (%s)</title></rect>`,
					esc(s.Name), esc(l), num(x), num(y), num(widths[i]), num(barH), s.Colour,
					esc(l), esc(s.Name), strconv.FormatFloat(amounts[i], 'f', -1, 64), pct(share))
				if label := pct(share); textWidth(label, smallFont)+8 <= widths[i] {
					w.text("share", x+widths[i]/2, y+barH/2, "middle", label, `font-size="11"`, `dominant-baseline="central"`, `fill="`+inkOn(s.Colour)+`"`)
				}
				x += widths[i]
			}
		}
		if j < len(c.Notes) && c.Notes[j] != "" {
			w.text("note", xs.p1+8, y+barH/2, "start", c.Notes[j], `font-size="11"`, `dominant-baseline="central"`, `fill="`+mutedColour+`"`)
		}
	}
	return w.close()
}

// segmentWidths shares out span in proportion to amounts, giving every amount that is not
// zero at least minSegment pixels, taken from the widest segment.
func segmentWidths(amounts []float64, total, span float64) []float64 {
	out := make([]float64, len(amounts))
	widest, extra := 0, 0.0
	for i, a := range amounts {
		out[i] = a / total * span
		if out[i] > out[widest] {
			widest = i
		}
		if a > 0 && out[i] < minSegment {
			extra += minSegment - out[i]
			out[i] = minSegment
		}
	}
	out[widest] -= extra
	return out
}

// pct writes a share in percent: whole numbers, and one decimal below 10%.
func pct(share float64) string {
	if share < 10 {
		return fmt.Sprintf("%.1f%%", share)
	}
	return fmt.Sprintf("%.0f%%", share)
}

// inkOn is the text colour that reads on a fill: dark on light fills, white on dark ones.
func inkOn(fill string) string {
	var r, g, b int
	if _, err := fmt.Sscanf(fill, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return "#fff"
	}
	if 0.299*float64(r)+0.587*float64(g)+0.114*float64(b) > 150 {
		return textColour
	}
	return "#fff"
}
