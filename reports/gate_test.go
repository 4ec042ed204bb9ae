package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"stampede/internal/exitcode"
)

// gated is a summary of one strategy x database repeated four times, judged against a
// baseline with verdict v; fail makes one run fail a check.
func gated(v string, fail bool) *Summary {
	lo, hi := 10.0, 14.0
	s := &Summary{Scenario: "gate", Seed: 5, Repeat: 4,
		Provenance: &Provenance{Version: "v2", Revision: "0123456789abcdef", ScenarioHash: "sha256:aaaaaaaaaaaaaaaa", Seeds: []int64{5, 6, 7, 8},
			Machine: Machine{Cores: 2, OS: "linux", Arch: "amd64"}, Services: map[string]string{"postgres": "PostgreSQL 15.8"}},
		Samples: []Samples{{Strategy: "skip-locked", DB: "postgres", Runs: 4, Confidence: 0.95,
			Metrics: []MetricSpread{{Metric: "hold_p50", Unit: "ms", Spread: Spread{N: 4, Median: 12, Lo: &lo, Hi: &hi}}}}},
		Gate: &Gate{Baseline: []string{"baseline/summary.json"}, Verdict: v, Alpha: 0.05, Tolerances: map[string]string{"hold_p50": "+10ms"},
			BaseRuns: 4, Runs: 4,
			BaseProvenance: &Provenance{Version: "v1", ScenarioHash: "sha256:aaaaaaaaaaaaaaaa", Seeds: []int64{5, 6, 7, 8},
				Machine: Machine{Cores: 2, OS: "linux", Arch: "amd64"}, Services: map[string]string{"postgres": "PostgreSQL 15.7"}},
			Findings: []GateFinding{{Strategy: "skip-locked", DB: "postgres", Metric: "hold_p50", Unit: "ms", Tolerance: "+10ms",
				Status: "unchanged", Reason: "hold_p50 on skip-locked on postgres: 12.0 ms -> 12.5 ms (~, p=0.686, n=4): no significant change",
				Base: Spread{N: 4, Median: 12}, Candidate: Spread{N: 4, Median: 12.5}, P: 0.686}}},
	}
	for j := 1; j <= 4; j++ {
		r := Run{Strategy: "skip-locked", DB: "postgres", Repeat: j, Seed: int64(4 + j), Checks: []Check{{Name: "no-double-sale", Result: Pass}}}
		if fail && j == 2 {
			r.Checks[0].Result = Fail
		}
		s.Runs = append(s.Runs, r)
	}
	if v == GateRegression {
		f := &s.Gate.Findings[0]
		f.Status, f.Candidate.Median, f.P = GateRegression, 32.5, 0.029
		f.Reason = "hold_p50 on skip-locked on postgres: 12.0 ms -> 32.5 ms (+170.8%, p=0.029, n=4): worse, beyond the +10ms tolerance"
		s.Gate.Reasons = []string{"regression: " + f.Reason}
	}
	s.Finish()
	return s
}

// TestGateExitCode: a regression exits 3, a pass 0, and a failed check 1 whatever the gate.
func TestGateExitCode(t *testing.T) {
	for _, tt := range []struct {
		name    string
		verdict string
		fail    bool
		want    int
	}{
		{"pass", GatePass, false, exitcode.OK},
		{"regression", GateRegression, false, exitcode.Gate},
		{"regression and a seat sold twice", GateRegression, true, exitcode.Violation},
		{"incomplete", GateIncomplete, false, exitcode.Harness},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := gated(tt.verdict, tt.fail).ExitCode(); got != tt.want {
				t.Errorf("ExitCode() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestGateReports: report.md puts the gate right under the verdict with its reasons, the
// gated metric and the two provenances side by side (differences marked), and the repeated
// runs' statistics; junit.xml has a failed case for the regressed metric; summary.json keeps
// the gate and every run's seed.
func TestGateReports(t *testing.T) {
	s := gated(GateRegression, false)
	var md bytes.Buffer
	if err := Markdown(&md, s); err != nil {
		t.Fatal(err)
	}
	text := md.String()
	for _, want := range []string{
		"# stampede: PASS\n\n**4 of 4 runs passed**",
		"## Gate against the baseline: FAIL (regression)\n",
		"- **regression: hold_p50 on skip-locked on postgres: 12.0 ms -> 32.5 ms (+170.8%, p=0.029, n=4): worse, beyond the +10ms tolerance**",
		"| skip-locked | postgres | hold_p50 | +10ms | 12.0 ms | 32.5 ms | +170.8% | p=0.029, n=4+4 | **FAIL** |",
		"| stampede ≠ | v1 | v2 (0123456789ab) |",
		"| scenario file | sha256:aaaaaaaaaaaa | sha256:aaaaaaaaaaaa |",
		"| postgres ≠ | PostgreSQL 15.7 | PostgreSQL 15.8 |",
		"seed 5, each strategy x database 4 times",
		"## Over the 4 repeated runs",
		"| skip-locked | postgres | 4 | 12.0 ms [10.0, 14.0] |",
		"<summary>skip-locked on postgres, run 2: 0 bookings",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report.md lacks %q:\n%s", want, text)
		}
	}
	if g, runs := strings.Index(text, "## Gate"), strings.Index(text, "## Runs"); g > runs {
		t.Errorf("report.md: the gate comes after the runs, want it near the verdict")
	}
	var junit bytes.Buffer
	if err := JUnit(&junit, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<testsuite name="gate" tests="1" failures="1" skipped="0" time="0">`,
		`<testcase name="gate hold_p50 +10ms" classname="stampede.skip-locked.postgres">`, `<failure message="hold_p50 on skip-locked`,
		`<testsuite name="skip-locked/postgres, run 3"`} {
		if !strings.Contains(junit.String(), want) {
			t.Errorf("junit.xml lacks %q:\n%s", want, junit.String())
		}
	}
	var page bytes.Buffer
	if err := HTML(&page, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Gate against the baseline: <span class="verdict fail">FAIL (regression)</span>`,
		`<td>hold_p50</td><td>&#43;10ms</td><td class="num">12.0 ms</td><td class="num">32.5 ms</td>`} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Gate == nil || back.Gate.Verdict != GateRegression || back.Runs[3].Seed != 8 || back.Samples[0].Metrics[0].Lo == nil {
		t.Errorf("summary.json round trip lost the gate, the seeds or the intervals: %s", b)
	}
}
