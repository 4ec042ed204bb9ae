package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stampede/compare"
	"stampede/internal/testsvc"
	"stampede/reports"
	"stampede/workloads"
)

// TestMain lets this test binary stand in for stampede as the reference server: `stampede
// run` starts its own executable with `serve` (run.Options.Binary), which under go test is
// this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		os.Exit(realMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// gateScenario is the gate tests' scenario: a short herd with a gate of hold p50 +1s.
const gateScenario = "../../run/testdata/gate.yaml"

// gateRun runs `stampede run` of the gate scenario on skip-locked over a fresh PostgreSQL
// database of its own, with args added, and returns the exit status, stdout and stderr.
func gateRun(t *testing.T, out string, args ...string) (int, string, string) {
	t.Helper()
	base := []string{"run", gateScenario, "--env", "external", "--pg", testsvc.PG(t), "--strategy", "skip-locked", "--db", "postgres",
		"--out", out, "--quiet"}
	return runCLI(t, nil, append(base, args...)...)
}

// TestRunGate runs a baseline of four runs, then the same server against it (the gate
// passes, exit 0), then a server that answers every hold 2 s late (the gate fails on hold p50,
// exit 3), and checks what the summaries, report.md and junit.xml say. The delay is far beyond
// the noise of a busy machine, so that the test says whether the gate works, not how busy the
// machine was (make gate-calibrate measures how small a delay it sees).
func TestRunGate(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end runs skipped in -short mode")
	}
	dir := t.TempDir()
	baseline := filepath.Join(dir, "baseline")
	code, stdout, stderr := gateRun(t, baseline, "--repeat", "4")
	if code != 0 {
		t.Fatalf("baseline: stampede run --repeat 4 exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	base, err := reports.Load(baseline)
	if err != nil {
		t.Fatal(err)
	}
	if base.Repeat != 4 || len(base.Runs) != 4 {
		t.Fatalf("baseline: repeat %d with %d runs, want 4 and 4", base.Repeat, len(base.Runs))
	}
	for j, r := range base.Runs {
		if want := workloads.RepeatSeed(5, j); r.Repeat != j+1 || r.Seed != want || r.Dir != "skip-locked-postgres-"+string(rune('1'+j)) {
			t.Errorf("baseline run %d: repeat %d, seed %d, dir %s; want %d, %d, skip-locked-postgres-%d", j, r.Repeat, r.Seed, r.Dir, j+1, want, j+1)
		}
	}
	if p := base.Provenance; p == nil || len(p.Seeds) != 4 || p.Seeds[0] != 5 || p.ScenarioHash == "" || !strings.HasPrefix(p.Services["postgres"], "PostgreSQL") {
		t.Errorf("baseline provenance %+v: want the 4 seeds from 5, the scenario's hash and PostgreSQL's version", p)
	}
	if len(base.Samples) != 1 || base.Samples[0].Runs != 4 {
		t.Fatalf("baseline samples %+v, want one strategy x database of 4 runs", base.Samples)
	}
	if m := base.Samples[0].Metrics; len(m) == 0 || m[0].Metric != compare.SampleMetrics[0] || m[0].N != 4 {
		t.Errorf("baseline sample metrics %+v, want %s over 4 runs first", m, compare.SampleMetrics[0])
	}

	same := filepath.Join(dir, "same")
	code, stdout, stderr = gateRun(t, same, "--repeat", "4", "--baseline", baseline)
	if code != 0 || !strings.Contains(stdout, "GATE: PASS") {
		t.Fatalf("the same server against its baseline exited %d, want 0 and GATE: PASS\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	s, err := reports.Load(same)
	if err != nil {
		t.Fatal(err)
	}
	if g := s.Gate; g == nil || g.Verdict != reports.GatePass || len(g.Findings) != 1 || g.Findings[0].Metric != "hold_p50" ||
		g.Findings[0].Base.N != 4 || g.Findings[0].Candidate.N != 4 || g.BaseProvenance == nil {
		t.Errorf("gate of the same server %+v: want pass, one finding on hold_p50 over 4+4 runs, the baseline's provenance", g)
	}

	slow := filepath.Join(dir, "slow")
	code, stdout, stderr = gateRun(t, slow, "--repeat", "4", "--baseline", filepath.Join(baseline, reports.SummaryFile),
		"--failpoints", "after-hold=delay:2s")
	if code != 3 || !strings.Contains(stdout, "GATE: FAIL (regression): regression: hold_p50 on skip-locked on postgres") {
		t.Fatalf("holds 2 s slower exited %d, want 3 and the hold_p50 regression\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "PASS: 4 of 4 runs passed") {
		t.Errorf("a slower server still passes its checks; stdout:\n%s", stdout)
	}
	s, err = reports.Load(slow)
	if err != nil {
		t.Fatal(err)
	}
	if g := s.Gate; g == nil || g.Verdict != reports.GateRegression || g.Findings[0].Status != reports.GateRegression ||
		g.Findings[0].Candidate.Median <= g.Findings[0].Base.Median+1000 {
		t.Errorf("gate of the slower server %+v: want a regression of hold p50 beyond its 1 s tolerance", g)
	}
	md, err := os.ReadFile(filepath.Join(slow, reports.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	verdict, gate := strings.Index(string(md), "# stampede: PASS"), strings.Index(string(md), "## Gate against the baseline: FAIL (regression)")
	runs := strings.Index(string(md), "## Runs")
	if verdict != 0 || gate < 0 || gate > runs || !strings.Contains(string(md), "| provenance | baseline | this run |") {
		t.Errorf("report.md: the gate's section should follow the verdict, before the runs, with both provenances:\n%s", md)
	}
	junit, err := os.ReadFile(filepath.Join(slow, reports.JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<testsuite name="gate" tests="1" failures="1"`, `<testcase name="gate hold_p50 +1s" classname="stampede.skip-locked.postgres">`,
		`type="regression"`} {
		if !strings.Contains(string(junit), want) {
			t.Errorf("junit.xml lacks %q:\n%s", want, junit)
		}
	}
}

// TestRunGateRefusals: a baseline that does not exist, one of another scenario, one without
// the run's strategy x database, and --gate without --baseline are refused with exit 2 before
// anything runs.
func TestRunGateRefusals(t *testing.T) {
	other := filepath.Join("..", "..", "compare", "testdata", "base") // quickstart runs of pessimistic and skip-locked
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing baseline", []string{gateScenario, "--baseline", filepath.Join(t.TempDir(), "nothing")}, "baseline: no summary"},
		{"another scenario", []string{gateScenario, "--baseline", other}, `ran scenario "quickstart" and this run is of "gate"`},
		{"another strategy", []string{"../../scenarios/quickstart.yaml", "--strategy", "redis-lock", "--db", "postgres", "--baseline", other},
			"has no run of redis-lock/postgres"},
		{"gate without baseline", []string{gateScenario, "--gate", "hold_p99=+10%"}, "--gate without --baseline"},
		{"bad tolerance", []string{gateScenario, "--baseline", other, "--gate", "hold_p99=-10%"}, "hold_p99 gets worse when it rises"},
		{"bad repeat", []string{gateScenario, "--repeat", "-1"}, "repeat -1"},
		{"bad failpoint", []string{gateScenario, "--failpoints", "after-hold=sleep"}, "failpoints: failpoint after-hold: action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := runCLI(t, nil, append(append([]string{"run"}, tc.args...), "--out", out)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("stampede run %q exited %d with %q%q; want 2 and %q", tc.args, code, stdout, stderr, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("stampede run %q wrote %s before refusing", tc.args, out)
			}
		})
	}
}
