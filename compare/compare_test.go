package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stampede/reports"
	"stampede/workloads"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// load loads one side from testdata: paths are relative to it, and may be comma-separated.
func load(tb testing.TB, paths ...string) *Side {
	tb.Helper()
	paths = inTestdata(paths)
	s, err := Load(paths...)
	if err != nil {
		tb.Fatalf("Load(%v): %v", paths, err)
	}
	return s
}

func inTestdata(paths []string) []string {
	var out []string
	for _, p := range paths {
		var parts []string
		for _, q := range strings.Split(p, ",") {
			parts = append(parts, filepath.Join("testdata", q))
		}
		out = append(out, strings.Join(parts, ","))
	}
	return out
}

// gate parses tolerances written as in --gate.
func gate(tb testing.TB, flags ...string) workloads.Gate {
	tb.Helper()
	var g workloads.Gate
	for _, f := range flags {
		t, err := workloads.ParseToleranceFlag(f)
		if err != nil {
			tb.Fatal(err)
		}
		g = append(g, t)
	}
	return g.With()
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name      string
		paths     []string
		summaries int
		runs      int
		err       error // nil: no error
	}{
		{"run directory", []string{"base"}, 1, 10, nil},
		{"summary file", []string{"base/summary.json"}, 1, 10, nil},
		{"summary under another name", []string{"single/base.json"}, 1, 1, nil},
		{"directory of run directories", []string{"multi"}, 5, 5, nil},
		{"comma-separated", []string{"multi/run-1,multi/run-2/summary.json"}, 2, 2, nil},
		{"several paths", []string{"multi/run-1", "multi/run-3"}, 2, 2, nil},
		{"glob", []string{"multi/run-[12]"}, 2, 2, nil},
		{"missing baseline", []string{"nope/summary.json"}, 0, 0, ErrNoSummary},
		{"missing directory", []string{"nope"}, 0, 0, ErrNoSummary},
		{"glob matching nothing", []string{"multi/walk-*"}, 0, 0, ErrNoSummary},
		{"directory without a summary", []string{"golden"}, 0, 0, ErrNoSummary},
		{"nothing given", nil, 0, 0, ErrNoSummary},
		{"another schema", []string{"v2"}, 0, 0, reports.ErrSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := inTestdata(tt.paths)
			s, err := Load(paths...)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Load(%v) error %v, want %v", paths, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%v): %v", paths, err)
			}
			if len(s.Summaries) != tt.summaries || len(s.Sources) != tt.summaries || s.Runs() != tt.runs {
				t.Errorf("Load(%v): %d summaries (%d sources), %d runs; want %d summaries, %d runs",
					paths, len(s.Summaries), len(s.Sources), s.Runs(), tt.summaries, tt.runs)
			}
		})
	}
}

func TestCompareVerdicts(t *testing.T) {
	tests := []struct {
		name string
		base string
		cand string
		want map[string]Change // "strategy/metric" -> change
	}{
		{"no change", "base", "same", map[string]Change{
			"skip-locked/hold_p99": Same, "skip-locked/throughput": Same, "skip-locked/error_rate": Same, "skip-locked/bookings": Same,
			"pessimistic/hold_p99": Same, "pessimistic/lost_holds": Same}},
		{"skip-locked slower", "base", "slower", map[string]Change{
			"skip-locked/hold_p99": Worse, "skip-locked/hold_p999": Worse, "skip-locked/throughput": Worse,
			"skip-locked/bookings": Worse, "skip-locked/error_rate": Worse, "skip-locked/hold_p50": Same,
			"skip-locked/checkout_p99": Same, "pessimistic/hold_p99": Same, "pessimistic/throughput": Same}},
		{"the other way round", "slower", "base", map[string]Change{
			"skip-locked/hold_p99": Better, "skip-locked/throughput": Better, "pessimistic/hold_p99": Same}},
		{"samples from several summaries", "base", "multi", map[string]Change{
			"skip-locked/hold_p99": Worse, "skip-locked/throughput": Worse}},
		{"one run a side", "single/base.json", "single/candidate.json", map[string]Change{
			"skip-locked/hold_p99": TooFew, "skip-locked/throughput": TooFew}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compare(load(t, tt.base), load(t, tt.cand))
			if err != nil {
				t.Fatalf("Compare(%s, %s): %v", tt.base, tt.cand, err)
			}
			for key, want := range tt.want {
				strategy, name, _ := strings.Cut(key, "/")
				m, ok := r.cell(strategy, "postgres").Metric(name)
				if !ok {
					t.Errorf("Compare(%s, %s): no %s for %s", tt.base, tt.cand, name, strategy)
					continue
				}
				if m.Change != want {
					t.Errorf("Compare(%s, %s): %s of %s is %s (%s -> %s, p=%.3f), want %s", tt.base, tt.cand, name, strategy,
						m.Change, value(m.Base.Median, m.Unit), value(m.Candidate.Median, m.Unit), m.P, want)
				}
			}
		})
	}
}

func TestCompareRefuses(t *testing.T) {
	base := load(t, "base")
	_, err := Compare(base, load(t, "other"))
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `"quickstart"`) || !strings.Contains(err.Error(), `"hot-seat"`) ||
		!strings.Contains(err.Error(), "--force") {
		t.Errorf("Compare(quickstart, hot-seat) error %v, want ErrMismatch naming both scenarios and --force", err)
	}
	r, err := Compare(base, load(t, "other"), WithForce())
	if err != nil || !strings.HasPrefix(r.Warnings[0], `forced: the base ran scenario "quickstart" and the candidate "hot-seat"`) {
		t.Errorf("Compare(quickstart, hot-seat, WithForce()) = %v, %v; want a comparison with a warning first", r, err)
	}

	v2 := load(t, "same")
	v2.Summaries[0].Schema = "stampede.summary/v2"
	if _, err := Compare(base, v2, WithForce()); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `schema "stampede.summary/v2"`) {
		t.Errorf("Compare with a v2 summary, forced: error %v, want ErrMismatch naming the schema", err)
	}

	mysql := load(t, "same")
	for i := range mysql.Summaries[0].Runs {
		mysql.Summaries[0].Runs[i].DB = "mysql"
	}
	if _, err := Compare(base, mysql); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "skip-locked/mysql") {
		t.Errorf("Compare(postgres runs, mysql runs) error %v, want ErrMismatch listing both sides' cells", err)
	}
	if _, err := Compare(base, &Side{}); !errors.Is(err, ErrNoSummary) {
		t.Errorf("Compare(base, empty side) error %v, want ErrNoSummary", err)
	}
	if _, err := Compare(base, &Side{Summaries: []*reports.Summary{{Schema: reports.SchemaVersion, Scenario: "quickstart"}}}); !errors.Is(err, ErrMismatch) {
		t.Errorf("Compare(base, a summary without runs) error %v, want ErrMismatch", err)
	}
	if _, err := Compare(base, load(t, "same"), WithAlpha(0)); err == nil {
		t.Error("Compare with alpha 0: no error")
	}
}

func TestFairnessWarnings(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *reports.Summary)
		want   string // a part of a warning; empty: no warning
	}{
		{"same provenance", func(*reports.Summary) {}, ""},
		{"another stampede", func(s *reports.Summary) { s.Provenance.Revision = "3333" }, ""},
		{"memory within a few percent", func(s *reports.Summary) { s.Provenance.Machine.MemoryBytes -= 100 << 20 }, ""},
		{"another scenario file", func(s *reports.Summary) { s.Provenance.ScenarioHash = "sha256:" + strings.Repeat("b2", 32) },
			"the scenario files differ (base sha256:a1a1a1a1a1a1, candidate sha256:b2b2b2b2b2b2)"},
		{"other seeds", func(s *reports.Summary) { s.Provenance.Seeds = []int64{7, 8, 9, 10, 11} },
			"the seeds differ (base 42,43,44,45,46, candidate 7,8,9,10,11)"},
		{"more cores", func(s *reports.Summary) { s.Provenance.Machine.Cores = 8 },
			"the machines differ (base 2 cores, 8.0 GiB, linux/amd64, Test CPU @ 2.0GHz; candidate 8 cores"},
		{"half the memory", func(s *reports.Summary) { s.Provenance.Machine.MemoryBytes /= 2 }, "candidate 2 cores, 4.0 GiB"},
		{"another CPU", func(s *reports.Summary) { s.Provenance.Machine.CPU = "Other CPU" }, "the machines differ"},
		{"another PostgreSQL", func(s *reports.Summary) { s.Provenance.Services["postgres"] = "16.1" }, "postgres differs (base 15.4, candidate 16.1)"},
		{"a service only on one side", func(s *reports.Summary) { s.Provenance.Services["mysql"] = "10.11" }, ""},
		{"no provenance", func(s *reports.Summary) { s.Provenance = nil }, "the candidate records no provenance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cand := load(t, "same")
			tt.change(cand.Summaries[0])
			r, err := Compare(load(t, "base"), cand)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(r.Warnings, "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("%s: warnings %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestGate(t *testing.T) {
	strict := []string{"hold_p99=+10%", "throughput=-5%", "error_rate=+0.5pp", "bookings=-5%"}
	tests := []struct {
		name         string
		base, cand   string
		tol          []string
		want         Verdict
		failed       []string // metric of each failed finding, skip-locked first
		inconclusive int
	}{
		{"no change", "base", "same", strict, Pass, nil, 0},
		// bookings fell by exactly 5%: at the limit is within it.
		{"regression beyond tolerance", "base", "slower", strict, Regression, []string{"throughput", "error_rate", "hold_p99"}, 0},
		{"regression within tolerance", "base", "slower", []string{"hold_p99=+50%", "throughput=-30%"}, Pass, nil, 0},
		{"regression of an ungated metric", "base", "slower", []string{"checkout_p99=+10%"}, Pass, nil, 0},
		{"nothing gated", "base", "slower", nil, Pass, nil, 0},
		{"improvement", "slower", "base", strict, Pass, nil, 0},
		{"correctness over performance", "base", "broken", strict, Correctness, []string{"throughput", "error_rate", "hold_p99"}, 0},
		{"correctness without tolerances", "base", "broken", nil, Correctness, nil, 0},
		{"too few samples to judge", "single/base.json", "single/candidate.json", strict, Pass, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Gate(load(t, tt.base), load(t, tt.cand), gate(t, tt.tol...))
			if err != nil {
				t.Fatalf("Gate(%s, %s): %v", tt.base, tt.cand, err)
			}
			var failed []string
			for _, f := range g.Failed() {
				failed = append(failed, f.Metric)
			}
			if g.Verdict != tt.want || strings.Join(failed, ",") != strings.Join(tt.failed, ",") || len(g.Inconclusive()) != tt.inconclusive {
				t.Errorf("Gate(%s, %s, %v) = %s, failed %v, %d inconclusive; want %s, failed %v, %d inconclusive",
					tt.base, tt.cand, tt.tol, g.Verdict, failed, len(g.Inconclusive()), tt.want, tt.failed, tt.inconclusive)
			}
			for _, f := range g.Findings {
				if f.Strategy == "skip-locked" && f.Metric == "bookings" && tt.cand == "slower" && len(tt.tol) == len(strict) && f.Status != WithinTolerance {
					t.Errorf("bookings at exactly its -5%% tolerance: %s (%s), want within tolerance", f.Status, f.Reason)
				}
			}
			measured := 0
			for _, c := range g.Comparison.Cells {
				measured += len(c.Metrics)
			}
			if len(g.Findings) < measured {
				t.Errorf("%d findings for %d measured metrics: every metric needs a reason", len(g.Findings), measured)
			}
			for _, f := range g.Findings {
				if !strings.HasPrefix(f.Reason, f.Metric+" on "+f.Strategy+" on "+f.DB+": ") {
					t.Errorf("finding %+v: reason does not name the metric and the cell", f)
				}
			}
		})
	}
}

func TestGateCorrectnessWinsOverIncomplete(t *testing.T) {
	errored := func(name string) *Side {
		s := load(t, name)
		s.Summaries[0].Runs[1].Error = "postgres did not start"
		return s
	}
	g, err := Gate(load(t, "base"), errored("same"), nil)
	if err != nil || g.Verdict != Incomplete || len(g.Incomplete) != 1 || !strings.Contains(g.Incomplete[0], "skip-locked on postgres, run 2 of 5") {
		t.Errorf("Gate(base, a candidate run that errored) = %s %q, %v; want incomplete naming run 2 of 5", g.Verdict, g.Incomplete, err)
	}
	if c, _ := g.Comparison.cell("skip-locked", "postgres").Metric("throughput"); c.Candidate.N != 4 {
		t.Errorf("the errored run is a sample: n=%d, want 4", c.Candidate.N)
	}
	g, err = Gate(load(t, "base"), errored("broken"), nil)
	if err != nil || g.Verdict != Correctness {
		t.Errorf("Gate(base, failed check and errored run) = %s, %v; want correctness", g.Verdict, err)
	}
	g, err = Gate(errored("broken"), load(t, "same"), nil)
	if err != nil || g.Verdict != Pass || len(g.Comparison.Base.Failed) != 1 || len(g.Comparison.Base.Errored) != 1 {
		t.Errorf("Gate(a failing base, same) = %s (base failed %q, errored %q), %v; want pass, with the base's failures noted",
			g.Verdict, g.Comparison.Base.Failed, g.Comparison.Base.Errored, err)
	}
}

func TestGateNotMeasured(t *testing.T) {
	g, err := Gate(load(t, "base"), load(t, "same"), gate(t, "join_p99=+10%"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range g.Findings {
		if f.Metric == "join_p99" {
			n++
			if f.Status != NotMeasured || f.Tolerance != "+10%" || !strings.Contains(f.Reason, "not measured on either side") {
				t.Errorf("gated but unmeasured join_p99: %+v", f)
			}
		}
	}
	if n != 2 || g.Verdict != Pass {
		t.Errorf("%d join_p99 findings, verdict %s; want one per strategy and a pass", n, g.Verdict)
	}
}

func TestMeasuresCoverGateMetrics(t *testing.T) {
	for _, m := range workloads.GateMetrics() {
		if measures[m.Name] == nil {
			t.Errorf("gate metric %s has no measure", m.Name)
		}
	}
	if len(measures) != len(workloads.GateMetrics()) {
		t.Errorf("%d measures for %d gate metrics", len(measures), len(workloads.GateMetrics()))
	}
}

func TestErrorRate(t *testing.T) {
	r := &reports.Run{Outcomes: map[string]map[string]int64{
		"hold":     {"ok": 80, "fail": 15, "info": 1, "seat_unavailable": 12, "internal": 3},
		"checkout": {"ok": 3, "fail": 1, "info": 0, "payment_declined": 1},
	}}
	got, ok := errorRate(r)
	if want := 100 * 4.0 / 100; !ok || got != want {
		t.Errorf("errorRate = %v, %v; want %v%%: an info and three internal errors in 100 requests", got, ok, want)
	}
	if _, ok := errorRate(&reports.Run{}); ok {
		t.Error("errorRate of a run without requests is measured")
	}
}

func TestCharts(t *testing.T) {
	r, err := Compare(load(t, "base"), load(t, "slower"))
	if err != nil {
		t.Fatal(err)
	}
	charts := r.Charts()
	if len(charts) != len(ChartMetrics) {
		t.Fatalf("%d charts, want %d", len(charts), len(ChartMetrics))
	}
	c := charts[2]
	if c.Title != "hold_p99" || c.Unit != "ms" || strings.Join(c.Labels, ",") != "skip-locked/postgres,pessimistic/postgres" ||
		strings.Join(c.Series, ",") != "base,candidate" || c.Values[0][0] != 20.6 || c.Values[1][0] != 26.8 {
		t.Errorf("hold_p99 chart %+v", c)
	}
	if svg, err := c.SVG(); err != nil || !strings.Contains(string(svg), "<svg") {
		t.Errorf("hold_p99 chart does not render: %v", err)
	}
	if got := r.Charts("join_p99"); len(got) != 0 {
		t.Errorf("Charts(join_p99) = %+v, want nothing for a metric no run measured", got)
	}
}

// TestGoldenMarkdown renders the gate's and the comparison's markdown for the testdata and
// compares it with testdata/golden (go test ./compare -update rewrites them).
func TestGoldenMarkdown(t *testing.T) {
	tol := []string{"hold_p99=+10%", "throughput=-5%", "error_rate=+0.5pp", "bookings=-5%", "lost_holds=+2"}
	tests := []struct {
		name       string
		base, cand string
		tol        []string
		gate       bool
	}{
		{"gate-pass", "base", "same", tol, true},
		{"gate-regression", "base", "slower", tol, true},
		{"gate-correctness", "base", "broken", tol, true},
		{"gate-too-few", "single/base.json", "single/candidate.json", tol, true},
		{"gate-nothing-gated", "base", "multi", nil, true},
		// Ten runs a side for skip-locked (enough for confidence intervals), ten against five
		// for pessimistic.
		{"gate-ten-runs", "base,same", "slower,multi", tol, true},
		{"compare-slower", "base", "slower", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Gate(load(t, tt.base), load(t, tt.cand), gate(t, tt.tol...))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if tt.gate {
				err = g.Markdown(&buf)
			} else {
				err = g.Comparison.Markdown(&buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", tt.name+".md")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create it): %v", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("markdown differs from %s (go test ./compare -update after checking):\n%s", golden, buf.String())
			}
		})
	}
}

func TestJSON(t *testing.T) {
	for _, tt := range []struct{ base, cand string }{{"base", "broken"}, {"single/base.json", "single/candidate.json"}} {
		g, err := Gate(load(t, tt.base), load(t, tt.cand), gate(t, "hold_p99=+10%"))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := g.JSON(&buf); err != nil {
			t.Fatalf("JSON of Gate(%s, %s): %v", tt.base, tt.cand, err)
		}
		var back GateResult
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatalf("decode JSON of Gate(%s, %s): %v", tt.base, tt.cand, err)
		}
		if back.Verdict != g.Verdict || len(back.Findings) != len(g.Findings) || back.Tolerances["hold_p99"] != "+10%" ||
			len(back.Comparison.Cells) != len(g.Comparison.Cells) {
			t.Errorf("JSON of Gate(%s, %s) decodes to verdict %s, %d findings; want %s, %d", tt.base, tt.cand,
				back.Verdict, len(back.Findings), g.Verdict, len(g.Findings))
		}
	}
}
