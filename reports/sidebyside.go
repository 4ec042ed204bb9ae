package reports

import "html/template"

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

// SVG renders c as an inline SVG bar chart; empty when c has no labels or no series.
func (c SideBySide) SVG() (template.HTML, error) {
	return barChart(label(c.Title), label(c.Unit), labels(c.Labels), labels(c.Series), c.Values)
}
