package reports

import (
	"html/template"

	"stampede/reports/svg"
)

// SideBySide is the data of one grouped bar chart that sets two (or more) things side by side,
// such as a baseline and a candidate per strategy x database: a group per label, a bar per
// series. The compare package builds them; SVG draws one the way report.html draws its
// strategy comparison.
type SideBySide struct {
	Title string `json:"title"`
	// Unit labels the value axis ("ms", "per second").
	Unit string `json:"unit"`
	// Labels name the groups (skip-locked/postgres, ...).
	Labels []string `json:"labels"`
	// Series name the bars of every group (base, candidate).
	Series []string `json:"series"`
	// Values[i][j] is series i's value for label j.
	Values [][]float64 `json:"values"`
}

// sideColours are the series colours of a side-by-side chart, in order; they repeat past
// the last.
var sideColours = []string{colourLight, colourDark, colourThird}

// SVG renders c as an inline SVG bar chart, a row per label so that every label shows; values
// that span more than two decades are drawn on a log scale. Empty when c has no labels or no
// series.
func (c SideBySide) SVG() (template.HTML, error) {
	b := svg.Bars{Title: c.Title, Width: chartWidth, Labels: c.Labels, Unit: c.Unit}
	for i, name := range c.Series {
		var vals []float64
		if i < len(c.Values) {
			vals = c.Values[i]
		}
		b.Series = append(b.Series, svg.Series{Name: name, Colour: sideColours[i%len(sideColours)], Values: vals})
	}
	b.Log = wideSpread(c.Values...)
	if c.Unit == "ms" {
		b.Format = fmtMs
	}
	if b.Log {
		b.Unit += " (log scale)"
	}
	return chartHTML(b.SVG()), nil
}
