package compare

import "stampede/reports"

// ChartMetrics are the metrics Charts draws when given none.
var ChartMetrics = []string{"throughput", "bookings_per_sec", "hold_p99", "checkout_p99", "error_rate", "lost_holds"}

// Charts returns, for each of metrics (default ChartMetrics) that some strategy x database
// measured, the base's and the candidate's medians side by side per strategy x database,
// for reports.SideBySide.SVG to draw. A side that did not measure a metric in a cell counts
// as 0 there.
func (r *Result) Charts(metrics ...string) []reports.SideBySide {
	if len(metrics) == 0 {
		metrics = ChartMetrics
	}
	var out []reports.SideBySide
	for _, name := range metrics {
		c := reports.SideBySide{Title: name, Series: []string{"base", "candidate"}, Values: [][]float64{nil, nil}}
		for _, cell := range r.Cells {
			m, ok := cell.Metric(name)
			if !ok {
				continue
			}
			c.Unit = chartUnit(m.Unit)
			c.Labels = append(c.Labels, cell.Strategy+"/"+cell.DB)
			c.Values[0] = append(c.Values[0], m.Base.Median)
			c.Values[1] = append(c.Values[1], m.Candidate.Median)
		}
		if len(c.Labels) > 0 {
			out = append(out, c)
		}
	}
	return out
}

func chartUnit(u string) string {
	switch u {
	case "/s":
		return "per second"
	case "":
		return "count"
	}
	return u
}
