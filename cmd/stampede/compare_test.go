package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stampede/internal/exitcode"
	"stampede/reports"
)

// compareData is a path in compare/testdata.
func compareData(p string) string { return filepath.Join("..", "..", "compare", "testdata", p) }

// erroredCandidate writes a copy of compare/testdata/same whose second run could not complete.
func erroredCandidate(t *testing.T) string {
	t.Helper()
	s, err := reports.Load(compareData("same"))
	if err != nil {
		t.Fatal(err)
	}
	s.Runs[1].Error = "postgres did not start"
	dir := t.TempDir()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, reports.SummaryFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// gatedScenario writes a scenario file with a gate section.
func gatedScenario(t *testing.T, gate string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gated.yaml")
	src := "name: quickstart\ninventory: {sections: 1, rows: 2, seats_per_row: 5}\n" +
		"arrivals: {profile: constant, rate: 10/s, users: 20}\nusers: [{flow: buy}]\ngate: " + gate + "\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareExitCodes(t *testing.T) {
	base, same, slower, broken := compareData("base"), compareData("same"), compareData("slower"), compareData("broken")
	tests := []struct {
		name string
		args []string
		code int
		out  string // a part of stdout; empty: not checked
		err  string // a part of stderr; empty: not checked
	}{
		{"no change", []string{base, same, "--gate", "hold_p99=+10%"}, 0, "# stampede gate: PASS\n", ""},
		{"no change, nothing gated", []string{base, same}, 0, "**Nothing is gated**", ""},
		{"regression", []string{base, slower, "--gate", "hold_p99=+10%", "--gate", "throughput=-5%"}, 3,
			"# stampede gate: FAIL (regression)", ""},
		{"flags first", []string{"--gate", "hold_p99=+10%", base, slower}, 3, "", ""},
		{"flags between", []string{base, "--gate=hold_p99=+10%", slower, "--format", "md"}, 3, "", ""},
		{"within tolerance", []string{base, slower, "--gate", "hold_p99=+50%"}, 0, "within tolerance", ""},
		{"regression of an ungated metric", []string{base, slower}, 0, "**worse**", ""},
		{"correctness", []string{base, broken, "--gate", "hold_p99=+10%"}, 1, "# stampede gate: FAIL (correctness)", ""},
		{"correctness without tolerances", []string{base, broken}, 1, "no-double-sale failed", ""},
		{"candidate run did not complete", []string{base, erroredCandidate(t)}, 4, "# stampede gate: FAIL (incomplete)", ""},
		{"gate from the scenario", []string{base, slower, "--scenario", gatedScenario(t, "{hold_p99: +10%}")}, 3, "| hold_p99 | +10% |", ""},
		{"scenario's tolerance lifted", []string{base, slower, "--scenario", gatedScenario(t, "{hold_p99: +10%}"), "--gate", "hold_p99=off"}, 0, "", ""},
		{"scenario's tolerance widened", []string{base, slower, "--scenario", gatedScenario(t, "{hold_p99: +10%}"), "--gate", "hold_p99=+40%"}, 0, "", ""},
		{"too few samples", []string{compareData("single/base.json"), compareData("single/candidate.json"), "--gate", "hold_p99=+10%"}, 0,
			"need >= 4 samples", ""},
		{"json", []string{base, slower, "--format", "json", "--gate", "hold_p99=+10%"}, 3, `"verdict": "regression"`, ""},
		{"samples from several run directories", []string{base, compareData("multi"), "--gate", "hold_p99=+10%"}, 3, "", ""},
		{"different scenarios", []string{base, compareData("other")}, 4, "", `the base ran scenario "quickstart" and the candidate "hot-seat"`},
		{"different scenarios, forced", []string{base, compareData("other"), "--force"}, 0, "forced: the base ran scenario", ""},
		{"different schema", []string{base, compareData("v2")}, 4, "", `unsupported summary schema "stampede.summary/v2"`},
		{"missing baseline", []string{compareData("nope/summary.json"), same}, 4, "", "base: no summary"},
		{"missing candidate", []string{base, compareData("nope")}, 4, "", "candidate: no summary"},
		{"missing scenario", []string{base, same, "--scenario", compareData("nope.yaml")}, 4, "", "read scenario"},
		{"bad gate in the scenario", []string{base, same, "--scenario", gatedScenario(t, "{throughput: +5%}")}, 4, "", "write -5%"},
		{"one argument", []string{base}, 2, "", "want BASE and CAND"},
		{"three arguments", []string{base, same, slower}, 2, "", "want BASE and CAND"},
		{"unknown format", []string{base, same, "--format", "xml"}, 2, "", `--format "xml"`},
		{"bad gate flag", []string{base, same, "--gate", "hold_p99"}, 2, "", "want metric=tolerance"},
		{"gate in the wrong direction", []string{base, same, "--gate", "throughput=+5%"}, 2, "", "write -5%"},
		{"unknown metric", []string{base, same, "--gate", "hodl_p99=+5%"}, 2, "", `unknown metric "hodl_p99"`},
		{"bad alpha", []string{base, same, "--alpha", "5"}, 2, "", "--alpha 5"},
		{"unknown flag", []string{base, same, "--frobnicate"}, 2, "", ""},
		{"help", []string{"-h"}, 0, "Usage:\n  stampede compare BASE CAND", ""},
		{"paths after --", []string{"--gate", "hold_p99=+10%", "--", base, slower}, 3, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append([]string{"compare"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("stampede compare %v exited %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.out) {
				t.Errorf("stampede compare %v: stdout lacks %q:\n%s", tt.args, tt.out, stdout)
			}
			if !strings.Contains(stderr, tt.err) {
				t.Errorf("stampede compare %v: stderr lacks %q:\n%s", tt.args, tt.err, stderr)
			}
			if tt.code == exitcode.Harness && tt.err != "" && stdout != "" {
				t.Errorf("stampede compare %v: wrote a report for inputs it could not compare:\n%s", tt.args, stdout)
			}
		})
	}
}
