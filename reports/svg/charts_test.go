package svg

import (
	"math"
	"strings"
	"testing"

	"stampede/reports/svg/svgtest"
)

type node = svgtest.Node

// parse checks that a chart is well-formed XML and returns its root.
func parse(t testing.TB, markup string) node {
	t.Helper()
	root, err := svgtest.Parse(markup)
	if err != nil {
		t.Fatalf("%v\n%s", err, markup)
	}
	return root
}

// width is a rectangle's width.
func width(t testing.TB, n node) float64 {
	t.Helper()
	w, err := n.Num("width")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestBarsLabelEveryCategory(t *testing.T) {
	labels := []string{"pessimistic/postgres", "pessimistic/mysql", "status-expiry/postgres", "status-expiry/mysql",
		"redis-lock/postgres", "redis-lock/mysql", "skip-locked/postgres", "skip-locked/mysql & <more>"}
	hold := []float64{4210, 5473, 14.2, 18.5, 3.9, 5.1, 9.6, 12.5}
	c := Bars{Title: "p99 latency", Labels: labels, Alert: []bool{false, true}, Log: true, Unit: "ms",
		Series: []Series{{Name: "hold p99", Colour: "#8ab4f8", Values: hold}, {Name: "checkout p99", Colour: "#1a56b8", Values: make([]float64, 8)}}}
	root := parse(t, c.SVG())
	got := root.Texts("category")
	if strings.Join(got, "|") != strings.Join(labels, "|") {
		t.Fatalf("category labels = %q, want every one of %q", got, labels)
	}
	if legend := root.Texts("legend-label"); strings.Join(legend, "|") != "hold p99|checkout p99" {
		t.Errorf("legend = %q, want both series", legend)
	}
	bars := root.Find("rect", "bar")
	if len(bars) != 16 {
		t.Fatalf("%d bars, want 16 (8 categories x 2 series)", len(bars))
	}
	// On the log axis the fastest hold p99 (3.9 ms) is a bar a reader sees beside the
	// slowest (5473 ms): at least a tenth of its length, where a linear axis gives 0.07%.
	widths := map[string]float64{}
	for _, b := range bars {
		if b.Attr("data-series") == "hold p99" {
			widths[b.Attr("data-category")] = width(t, b)
		}
	}
	if fast, slow := widths["redis-lock/postgres"], widths["pessimistic/mysql"]; fast < slow/10 {
		t.Errorf("hold p99 bars: 3.9 ms is %.1f px beside 5473 ms at %.1f px; want at least a tenth", fast, slow)
	}
	if ax := root.Find("g", "axis"); len(ax) != 1 || !strings.Contains(ax[0].Attr("class"), "log") {
		t.Errorf("value axis %v, want one log axis", ax)
	}
	if ticks := root.Texts("tick"); strings.Join(ticks, " ") != "1 10 100 1000 10k" {
		t.Errorf("log ticks = %q, want powers of ten", ticks)
	}
	var alerted []string
	for _, l := range root.Find("text", "category") {
		if l.Attr("fill") == alertColour {
			alerted = append(alerted, l.Text)
		}
	}
	if len(alerted) != 1 || alerted[0] != "pessimistic/mysql" {
		t.Errorf("alerted labels = %q, want pessimistic/mysql only", alerted)
	}
	if (Bars{Title: "none"}).SVG() != "" {
		t.Errorf("a chart without categories rendered something")
	}
}

func TestLineBands(t *testing.T) {
	xs := make([]float64, 22)
	ys := make([]float64, 22)
	for i := range xs {
		xs[i], ys[i] = float64(i)+0.5, float64(10*i%70)
	}
	ys[3] = math.NaN()
	c := Line{Title: "Requests per second", X: xs, XMax: 22, Time: true, XTitle: "since the herd started", YTitle: "requests/s",
		Series: []Series{{Name: "ok", Colour: "#1e8e3e", Values: ys}},
		Bands: []Band{
			{Label: "redis-restart", From: 6.02, To: 6.41, Colour: "#c5221f"},
			{Label: "psp-delay", From: 9.01, To: 13.02, Colour: "#c5221f"},
			{Label: "net-latency", From: 10, To: 12, Colour: "#c5221f"},
			{Label: "server-crash", From: 15, To: 15, Colour: "#c5221f"},
		},
		BandLegend: "fault window",
		Rules:      []Rule{{Label: "SLO 60", Value: 60, Colour: "#c5221f"}},
	}
	root := parse(t, c.SVG())
	// One band per fault, however long: a 4-second window is one rectangle, not four.
	bands := root.Find("rect", "band")
	if len(bands) != 4 {
		t.Fatalf("%d band rectangles, want one per band (4)", len(bands))
	}
	labels := root.Find("text", "band-label")
	if len(labels) != 4 {
		t.Fatalf("%d band labels, want 4", len(labels))
	}
	for i, b := range c.Bands {
		r := bands[i]
		if r.Attr("data-band") != b.Label || labels[i].Text != b.Label {
			t.Errorf("band %d is %q labelled %q, want %q", i, r.Attr("data-band"), labels[i].Text, b.Label)
		}
		if w := width(t, r); w < 3 {
			t.Errorf("band %s is %.1f px wide, want at least 3 to be seen", b.Label, w)
		}
	}
	// The 4-second window spans 4 seconds of the axis; the instant crash a few pixels.
	psp, crash := width(t, bands[1]), width(t, bands[3])
	if psp < 20*crash/3 {
		t.Errorf("psp-delay band %.1f px, server-crash %.1f px: a 4 s window should be many times an instant", psp, crash)
	}
	// Labels that would collide go to separate lanes: psp-delay and net-latency start 1 s apart.
	if labels[1].Attr("y") == labels[2].Attr("y") {
		t.Errorf("psp-delay and net-latency labels share a lane (y=%s) though their bands overlap", labels[1].Attr("y"))
	}
	if ticks := root.Find("g", "x")[0].Texts("tick"); strings.Join(ticks, ",") != "0 s,5 s,10 s,15 s,20 s" {
		t.Errorf("x ticks = %q, want every 5 s up to the 22 s the axis spans", ticks)
	}
	if legend := root.Texts("legend-label"); strings.Join(legend, "|") != "ok|fault window" {
		t.Errorf("legend = %q, want the series and the fault window", legend)
	}
	if rule := root.Texts("rule-label"); len(rule) != 1 || rule[0] != "SLO 60" {
		t.Errorf("rule labels = %q, want the SLO", rule)
	}
	// The NaN at x=3.5 breaks the line into two paths' worth of moves.
	paths := root.Find("path", "")
	if len(paths) != 1 || strings.Count(paths[0].Attr("d"), "M") != 2 {
		t.Errorf("paths %v, want one path with two runs around the gap", paths)
	}
}

func TestLineLogAxis(t *testing.T) {
	c := Line{Title: "latency", X: []float64{0.5, 1.5, 2.5, 3.5}, Log: true, Format: func(v float64) string { return FormatNumber(v) + " ms" },
		Series: []Series{{Name: "p99", Colour: "#1a56b8", Values: []float64{30, 0, 4200, 35}}}}
	root := parse(t, c.SVG())
	if ticks := root.Find("g", "y")[0].Texts("tick"); strings.Join(ticks, ",") != "10 ms,100 ms,1000 ms,10k ms" {
		t.Errorf("y ticks = %q, want decades", ticks)
	}
	if paths := root.Find("path", ""); len(paths) != 1 || strings.Count(paths[0].Attr("d"), "M") != 1 {
		t.Errorf("paths %v: the 0 on a log axis should leave a gap, the lone 30 a dot", paths)
	}
	if dots := root.Find("circle", ""); len(dots) != 1 {
		t.Errorf("%d dots, want the lone point before the gap", len(dots))
	}
}

func TestStackShowsRareOutcomes(t *testing.T) {
	c := Stack{Title: "Outcomes", Labels: []string{"browse", "hold"}, Notes: []string{"445", "889, 1 error"},
		Series: []Series{
			{Name: "ok", Colour: "#1e8e3e", Values: []float64{445, 279}},
			{Name: "refused", Colour: "#9aa0a6", Values: []float64{0, 607}},
			{Name: "error", Colour: "#d93025", Values: []float64{0, 1}},
		}}
	root := parse(t, c.SVG())
	segs := root.Find("rect", "segment")
	if len(segs) != 4 {
		t.Fatalf("%d segments, want 4 (browse ok; hold ok, refused, error)", len(segs))
	}
	total := 0.0
	for _, s := range segs[1:] {
		total += width(t, s)
		if s.Attr("data-series") == "error" && width(t, s) < minSegment {
			t.Errorf("the one error in 887 is %.1f px wide, want at least %d to be seen", width(t, s), minSegment)
		}
	}
	if full := width(t, segs[0]); math.Abs(total-full) > 0.5 {
		t.Errorf("hold's segments add up to %.1f px, browse's bar is %.1f: rows should be equally long", total, full)
	}
	if notes := root.Texts("note"); strings.Join(notes, "|") != "445|889, 1 error" {
		t.Errorf("notes = %q", notes)
	}
}
