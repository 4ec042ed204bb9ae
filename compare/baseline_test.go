package compare

import (
	"errors"
	"strings"
	"testing"

	"stampede/workloads"
)

// TestBaseline: a baseline of the run's scenario holding every strategy x database of the run
// is accepted (extra cells of the baseline do not matter); another scenario, or a cell the
// baseline lacks, is refused with ErrMismatch, naming what differs.
func TestBaseline(t *testing.T) {
	base, err := Load("testdata/base") // quickstart: skip-locked and pessimistic on postgres
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		scenario string
		cells    [][2]string
		want     string // "" accepts
	}{
		{"the same cells", "quickstart", [][2]string{{"skip-locked", "postgres"}, {"pessimistic", "postgres"}}, ""},
		{"fewer cells", "quickstart", [][2]string{{"skip-locked", "postgres"}}, ""},
		{"another scenario", "hot-seat", [][2]string{{"skip-locked", "postgres"}}, `ran scenario "quickstart" and this run is of "hot-seat"`},
		{"another database", "quickstart", [][2]string{{"skip-locked", "postgres"}, {"skip-locked", "mysql"}},
			"has no run of skip-locked/mysql, so it cannot gate it; it has pessimistic/postgres, skip-locked/postgres"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Baseline(base, tc.scenario, tc.cells)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Baseline(%s, %v) = %v, want it accepted", tc.scenario, tc.cells, err)
			case tc.want != "" && (!errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Baseline(%s, %v) = %v, want ErrMismatch saying %q", tc.scenario, tc.cells, err, tc.want)
			}
		})
	}
	if err := Baseline(&Side{}, "quickstart", nil); !errors.Is(err, ErrNoSummary) {
		t.Errorf("Baseline of an empty side = %v, want ErrNoSummary", err)
	}
}

// TestSamples: each strategy x database of a repeated summary gets the median of its runs
// for every sample metric; with five runs there is no 95% interval (benchmath needs six).
func TestSamples(t *testing.T) {
	side, err := Load("testdata/base")
	if err != nil {
		t.Fatal(err)
	}
	got := Samples(side.Summaries[0], DefaultConfidence)
	if len(got) != 2 || got[0].Strategy != "skip-locked" || got[1].Strategy != "pessimistic" || got[0].Runs != 5 {
		t.Fatalf("Samples = %+v, want skip-locked then pessimistic, 5 runs each", got)
	}
	want := map[string]float64{"throughput": 100.1, "hold_p99": 20.6} // medians of 98.9..101.2 and 19.8..21.3
	for _, m := range got[0].Metrics {
		if w, ok := want[m.Metric]; ok {
			if m.Median != w || m.N != 5 || m.Lo != nil || m.Hi != nil {
				t.Errorf("skip-locked %s = %+v, want median %v of 5 runs without an interval", m.Metric, m, w)
			}
			if g, _ := workloads.LookupGateMetric(m.Metric); g.Unit != m.Unit {
				t.Errorf("%s unit %q, want %q", m.Metric, m.Unit, g.Unit)
			}
			delete(want, m.Metric)
		}
	}
	if len(want) > 0 {
		t.Errorf("Samples lacks %v", want)
	}
}

// TestGateReport: the verdict, the failing reason, a finding per gated metric with both
// sides' samples, and the base's provenance carry over into the summary's gate.
func TestGateReport(t *testing.T) {
	base, err := Load("testdata/base")
	if err != nil {
		t.Fatal(err)
	}
	cand, err := Load("testdata/slower")
	if err != nil {
		t.Fatal(err)
	}
	tol, err := workloads.ParseToleranceFlag("hold_p99=+10%")
	if err != nil {
		t.Fatal(err)
	}
	g, err := Gate(base, cand, workloads.Gate{tol})
	if err != nil {
		t.Fatal(err)
	}
	r := g.Report(base)
	if r.Verdict != "regression" || len(r.Reasons) == 0 || !strings.HasPrefix(r.Reasons[0], "regression: hold_p99 on ") {
		t.Errorf("Report: verdict %s, reasons %q; want a hold_p99 regression", r.Verdict, r.Reasons)
	}
	if len(r.Findings) != 2 || r.Findings[0].Unit != "ms" || r.Findings[0].Base.N != 5 || r.Findings[0].Tolerance != "+10%" {
		t.Errorf("Report findings %+v, want hold_p99 of both strategies over 5 runs a side", r.Findings)
	}
	if r.BaseRuns != 10 || r.Baseline[0] != "testdata/base/summary.json" {
		t.Errorf("Report: %d base runs from %v, want 10 from testdata/base/summary.json", r.BaseRuns, r.Baseline)
	}
}
