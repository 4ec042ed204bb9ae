package reports

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"stampede/reports/svg/svgtest"
)

// demo is a summary of the demo's shape: the quickstart scenario (a Redis restart, then a
// payment processor slower than the hold TTL) run by the four safe strategies on PostgreSQL
// and MySQL, one of them failing its hold_p99 SLO.
func demo(t testing.TB) *Summary {
	t.Helper()
	s, err := Load("testdata/demo")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

// charts renders s's report.html and parses its charts by title: the comparison's once, a
// run's once per run.
func charts(t testing.TB, s *Summary) map[string][]svgtest.Node {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, s); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	all, err := svgtest.Charts(buf.String())
	if err != nil {
		t.Fatalf("report.html: %v", err)
	}
	out := map[string][]svgtest.Node{}
	for _, c := range all {
		if c.Title() == "" {
			t.Errorf("a chart has no title")
		}
		if len(c.Texts("legend-label")) == 0 {
			t.Errorf("chart %q has no legend", c.Title())
		}
		out[c.Title()] = append(out[c.Title()], c)
	}
	return out
}

func TestHTMLChartsNameEveryCategory(t *testing.T) {
	for name, s := range map[string]*Summary{"sample": sample(), "demo": demo(t)} {
		t.Run(name, func(t *testing.T) {
			cs := charts(t, s)
			var want, alerted []string
			for _, r := range s.Runs {
				want = append(want, r.Strategy+"/"+r.DB)
				if r.Verdict != Pass {
					alerted = append(alerted, r.Strategy+"/"+r.DB)
				}
			}
			for _, title := range []string{"Throughput by strategy", "p99 latency by strategy"} {
				if len(cs[title]) != 1 {
					t.Fatalf("%d charts %q, want 1", len(cs[title]), title)
				}
				c := cs[title][0]
				if got := c.Texts("category"); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("%s labels %q, want every run %q", title, got, want)
				}
				var red []string
				for _, l := range c.Find("text", "category") {
					if l.Attr("font-weight") == "600" {
						red = append(red, l.Text)
					}
				}
				if strings.Join(red, "|") != strings.Join(alerted, "|") {
					t.Errorf("%s marks %q as failed, want %q", title, red, alerted)
				}
			}
			pools := cs["Database pool per conn tag"]
			i := 0
			for _, r := range s.Runs {
				if len(r.Pool) == 0 {
					continue
				}
				if got := pools[i].Texts("category"); strings.Join(got, "|") != strings.Join(sortedKeys(r.Pool), "|") {
					t.Errorf("%s/%s pool chart labels %q, want every conn tag %q", r.Strategy, r.DB, got, sortedKeys(r.Pool))
				}
				i++
			}
			if i != len(pools) {
				t.Errorf("%d pool charts for %d runs with pool figures", len(pools), i)
			}
			for j, c := range cs["Outcomes per operation"] {
				if got := c.Texts("category"); strings.Join(got, "|") != strings.Join(sortedKeys(s.Runs[j].Outcomes), "|") {
					t.Errorf("outcome chart %d labels %q, want every operation", j, got)
				}
			}
		})
	}
}

// TestHTMLChartsFaultBands: one band per injected fault in each time chart, named for its
// fault; none for a fault the target could not undergo.
func TestHTMLChartsFaultBands(t *testing.T) {
	for name, s := range map[string]*Summary{"sample": sample(), "demo": demo(t)} {
		t.Run(name, func(t *testing.T) {
			cs := charts(t, s)
			for _, title := range []string{"Requests per second by outcome", "Hold latency per second"} {
				if len(cs[title]) != len(s.Runs) {
					t.Fatalf("%d charts %q for %d runs", len(cs[title]), title, len(s.Runs))
				}
				for i, r := range s.Runs {
					var want []string
					for _, f := range r.Faults {
						if f.Error == "" {
							want = append(want, f.Fault)
						}
					}
					c := cs[title][i]
					var bands []string
					for _, b := range c.Find("rect", "band") {
						bands = append(bands, b.Attr("data-band"))
					}
					if strings.Join(bands, "|") != strings.Join(want, "|") {
						t.Errorf("%s of %s/%s: bands %q, want one per injected fault %q", title, r.Strategy, r.DB, bands, want)
					}
					if got := c.Texts("band-label"); strings.Join(got, "|") != strings.Join(want, "|") {
						t.Errorf("%s of %s/%s: band labels %q, want %q", title, r.Strategy, r.DB, got, want)
					}
					checkTimeTicks(t, title, c)
				}
			}
		})
	}
}

// checkTimeTicks: the x axis is labelled in whole seconds at a round, even step.
func checkTimeTicks(t *testing.T, title string, c svgtest.Node) {
	t.Helper()
	axes := c.Find("g", "x")
	if len(axes) != 1 {
		t.Fatalf("%s: %d x axes", title, len(axes))
	}
	var vals []float64
	for _, l := range axes[0].Texts("tick") {
		v, err := strconv.ParseFloat(strings.TrimSuffix(l, " s"), 64)
		if err != nil || !strings.HasSuffix(l, " s") {
			t.Fatalf("%s: tick %q is not in seconds", title, l)
		}
		vals = append(vals, v)
	}
	if len(vals) < 3 {
		t.Fatalf("%s: ticks %v, want several", title, vals)
	}
	step := vals[1] - vals[0]
	if m := step / math.Pow(10, math.Floor(math.Log10(step))); m != 1 && m != 2 && m != 5 {
		t.Errorf("%s: tick step %g is not 1, 2 or 5 x 10^k", title, step)
	}
	for i := 1; i < len(vals); i++ {
		if vals[i]-vals[i-1] != step {
			t.Errorf("%s: ticks %v are not evenly spaced", title, vals)
		}
	}
}

// TestHTMLChartsSemanticColours: refused holds are grey, errors red, unknown amber, in the
// outcome mix and over time; the demo's p99 latencies are on a log axis.
func TestHTMLChartsSemanticColours(t *testing.T) {
	s := demo(t)
	cs := charts(t, s)
	want := map[string]string{}
	for _, c := range outcomeClasses {
		want[c.name] = c.colour
	}
	seen := map[string]bool{}
	for _, c := range cs["Outcomes per operation"] {
		for _, seg := range c.Find("rect", "segment") {
			class := seg.Attr("data-series")
			seen[class] = true
			if seg.Attr("fill") != want[class] {
				t.Errorf("%s segment of %s drawn %s, want %s", class, seg.Attr("data-category"), seg.Attr("fill"), want[class])
			}
		}
	}
	for _, class := range []string{"ok", "refused", "error", "unknown"} {
		if !seen[class] {
			t.Errorf("no %s segment in the demo's outcome charts", class)
		}
	}
	for _, c := range cs["Requests per second by outcome"] {
		for _, g := range c.Find("g", "series") {
			if class := g.Attr("data-series"); g.Find("path", "")[0].Attr("stroke") != want[class] {
				t.Errorf("%s over time drawn %s, want %s", class, g.Find("path", "")[0].Attr("stroke"), want[class])
			}
		}
	}
	if lat := cs["p99 latency by strategy"][0]; len(lat.Find("g", "log")) != 1 {
		t.Errorf("the demo's p99 latencies (3.9 ms to 5.5 s) are not on a log axis")
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		name string
		oc   map[string]int64
		want outcomeCounts
	}{
		{"refused and errors", map[string]int64{"ok": 279, "fail": 608, "info": 2, "seat_unavailable": 595, "sold_out": 12, "internal": 1},
			outcomeCounts{279, 607, 0, 1, 2}},
		{"fails without codes are errors", map[string]int64{"ok": 5, "fail": 3}, outcomeCounts{5, 0, 0, 3, 0}},
		{"shed outcomes", map[string]int64{"ok": 5, "fail": 1, "shed": 4, "hold_lost": 1}, outcomeCounts{5, 1, 4, 0, 0}},
		{"shed among fails", map[string]int64{"ok": 5, "fail": 6, "overloaded": 4, "payment_declined": 2}, outcomeCounts{5, 2, 4, 0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.oc); got != tt.want {
				t.Fatalf("classify(%v) = %v, want %v (ok, refused, shed, error, unknown)", tt.oc, got, tt.want)
			}
		})
	}
}

// TestOutcomeSeriesWithoutErrorCounts: seconds recorded before they counted errors cannot
// tell refused from error, and say so rather than call every fail refused.
func TestOutcomeSeriesWithoutErrorCounts(t *testing.T) {
	r := demo(t).Runs[0]
	var names []string
	for _, s := range outcomeSeries(r) {
		names = append(names, s.Name)
	}
	if strings.Join(names, "|") != "ok|refused|error|unknown" {
		t.Fatalf("series %q, want ok, refused, error, unknown", names)
	}
	for i := range r.Series {
		r.Series[i].Errors = 0
	}
	names = nil
	for _, s := range outcomeSeries(r) {
		names = append(names, s.Name)
	}
	if strings.Join(names, "|") != "ok|refused or error|unknown" {
		t.Fatalf("without error counts: series %q, want ok, refused or error, unknown", names)
	}
}
