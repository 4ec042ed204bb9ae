package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"stampede/internal/exitcode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sample is a two-run summary: one pass, one caught double sale, with faults and series.
func sample() *Summary {
	series := func(scale float64) []Point {
		var pts []Point
		for i := 0; i < 20; i++ {
			pts = append(pts, Point{T: float64(i), Requests: int64(100 * scale), Ok: int64(80 * scale), Fail: int64(15 * scale),
				Info: int64(5 * scale), P50: 3 + float64(i%3), P99: 20 + float64(i%5)*4, InFlight: 7})
		}
		return pts
	}
	faults := []FaultWindow{
		{Fault: "redis-restart", Start: 5, End: 5.2},
		{Fault: "psp-delay", Start: 10, End: 14, Params: map[string]string{"delay": "6s"}},
	}
	s := &Summary{
		Scenario:        "quickstart",
		Seed:            42,
		Versions:        map[string]string{"stampede": "test"},
		Started:         time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC),
		DurationSeconds: 73.4,
		Runs: []Run{
			{
				Strategy: "skip-locked", DB: "postgres", DurationSeconds: 20, Users: 400, Requests: 2000,
				Throughput: Throughput{RequestsPerSec: 100, HoldsPerSec: 40.5, BookingsPerSec: 12.25},
				Latency: map[string]Percentiles{
					"hold":     {Count: 810, P50: 3.1, P90: 9.5, P99: 31.2, P999: 80, Max: 95},
					"checkout": {Count: 300, P50: 40, P90: 120, P99: 640, P999: 900, Max: 910},
				},
				Outcomes: map[string]map[string]int64{"hold": {"ok": 500, "fail": 300, "info": 10}, "checkout": {"ok": 245, "fail": 50, "info": 5}},
				Bookings: 245, Refunds: 12, LostHolds: 12, ChargedCents: 1285000, RefundedCents: 60000,
				Pool:   map[string]PoolStats{"hold": {Count: 810, WaitMeanMs: 0.4, WaitMaxMs: 12, HoldMeanMs: 2.1, HoldMaxMs: 30}, "checkout": {Count: 300, WaitMeanMs: 1.5, WaitMaxMs: 40, HoldMeanMs: 3, HoldMaxMs: 50}},
				Faults: faults,
				Checks: []Check{{Name: "linearizability", Result: Pass, Count: 400}, {Name: "money", Result: Pass, Count: 257}},
				SLOs:   []SLO{{Name: "hold_p99", Metric: "p99", Op: "hold", Target: 250, Actual: 31.2, Unit: Millis, Pass: true}},
				Series: series(1),
			},
			{
				Strategy: "naive", DB: "postgres", DurationSeconds: 20, Users: 400, Requests: 2000,
				Throughput: Throughput{RequestsPerSec: 100, HoldsPerSec: 55, BookingsPerSec: 20},
				Latency:    map[string]Percentiles{"hold": {Count: 1100, P50: 2, P90: 5, P99: 12, P999: 30, Max: 31}},
				Outcomes:   map[string]map[string]int64{"hold": {"ok": 900, "fail": 200}},
				Bookings:   400,
				Faults: append(slices.Clone(faults), FaultWindow{Fault: "redis-pause", Start: 15, End: 15,
					Error: "redis-pause: a Redis process the run started: not supported by this target"}),
				Checks: []Check{
					{Name: "linearizability", Result: Fail, Count: 3, Counterexample: "seat A-1-7 sold twice: bookings b_1 (client 4) and b_2 (client 9) | after redis-restart",
						Visualization: "naive-postgres/linearizability-A-1-7.html"},
					{Name: "no-double-sale", Result: Fail, Count: 3, Counterexample: "seat A-1-7: b_1, b_2"},
					{Name: "money", Result: Unknown, Count: 0, Counterexample: "processor ledger missing"},
				},
				SLOs:   []SLO{{Name: "hold_p99", Metric: "p99", Op: "hold", Target: 10, Actual: 12, Unit: Millis, Pass: false}},
				Series: series(1.5),
			},
		},
	}
	s.Finish()
	return s
}

func TestFinishVerdicts(t *testing.T) {
	s := sample()
	if s.Verdict != Fail {
		t.Fatalf("Verdict = %q, want fail (one run has a failed check)", s.Verdict)
	}
	if s.Runs[0].Verdict != Pass || s.Runs[1].Verdict != Fail {
		t.Fatalf("run verdicts = %q, %q; want pass, fail", s.Runs[0].Verdict, s.Runs[1].Verdict)
	}
	want := []string{"check linearizability failed (3)", "check no-double-sale failed (3)", "check money could not decide", "SLO hold_p99: 12 ms over 10 ms"}
	if got := s.Runs[1].Reasons; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Reasons = %q, want %q", got, want)
	}
	empty := &Summary{}
	empty.Finish()
	if empty.Verdict != Fail {
		t.Fatalf("a summary with no runs has verdict %q, want fail", empty.Verdict)
	}
	noChecks := &Summary{Runs: []Run{{Strategy: "x", DB: "y"}}}
	noChecks.Finish()
	if noChecks.Verdict != Fail {
		t.Fatalf("a run without checks has verdict %q, want fail", noChecks.Verdict)
	}
}

// TestSummarySchema pins summary.json's field names: renaming one is a schema change.
func TestSummarySchema(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, sample()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("summary.json is not JSON: %v", err)
	}
	for _, k := range []string{"schema", "scenario", "seed", "started", "duration_seconds", "verdict", "runs"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("summary.json lacks top-level %q", k)
		}
	}
	if raw["schema"] != SchemaVersion {
		t.Errorf("schema = %v, want %s", raw["schema"], SchemaVersion)
	}
	run := raw["runs"].([]any)[0].(map[string]any)
	for _, k := range []string{"strategy", "db", "verdict", "throughput", "latency", "outcomes", "bookings", "refunds",
		"lost_holds", "pool", "faults", "checks", "slos", "series"} {
		if _, ok := run[k]; !ok {
			t.Errorf("summary.json run lacks %q", k)
		}
	}
	slo := run["slos"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "target", "actual", "unit", "pass"} {
		if _, ok := slo[k]; !ok {
			t.Errorf("summary.json SLO lacks %q", k)
		}
	}
	lat := run["latency"].(map[string]any)["hold"].(map[string]any)
	for _, k := range []string{"count", "p50", "p90", "p99", "p999", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency percentiles lack %q", k)
		}
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.Runs[1].Checks[0].Visualization != "naive-postgres/linearizability-A-1-7.html" || got.Runs[0].Latency["hold"].P99 != 31.2 {
		t.Fatalf("Load did not round-trip the summary: %+v", got.Runs[1].Checks[0])
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), []byte(`{"schema":"stampede.summary/v0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "v0") {
		t.Fatalf("Load of an old schema = %v, want an error naming it", err)
	}
}

func TestMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Markdown(&buf, sample()); err != nil {
		t.Fatalf("Markdown: %v", err)
	}
	golden := filepath.Join("testdata", "report.md")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if buf.String() != string(want) {
		t.Fatalf("report.md differs from %s (run go test ./reports -update after checking):\n%s", golden, buf.String())
	}
	if !strings.HasPrefix(buf.String(), "# stampede: FAIL\n\n**1 of 2 runs failed.**") {
		t.Fatalf("report.md does not start with the verdict:\n%s", buf.String()[:120])
	}
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := JUnit(&buf, sample()); err != nil {
		t.Fatalf("JUnit: %v", err)
	}
	var got junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, buf.String())
	}
	// 2 checks + 1 SLO + 2 faults for skip-locked; 3 checks + 1 SLO + 3 faults for naive.
	if len(got.Suites) != 2 || got.Tests != 12 || got.Failures != 4 {
		t.Fatalf("junit: %d suites, %d tests, %d failures; want 2, 12, 4 (unknown counts as failure)", len(got.Suites), got.Tests, got.Failures)
	}
	last := got.Suites[1].Cases[len(got.Suites[1].Cases)-1]
	if got.Suites[1].Skipped != 1 || last.Skipped == nil || !strings.Contains(last.Skipped.Message, "not injected: redis-pause") {
		t.Errorf("naive suite: %d skipped, last case %+v; want the redis-pause that was not injected skipped with its reason", got.Suites[1].Skipped, last)
	}
	if c := got.Suites[1].Cases[0]; c.Name != "check linearizability" || c.Failure == nil || !strings.Contains(c.Failure.Body, "A-1-7") {
		t.Fatalf("first naive case = %+v, want a failed linearizability check naming seat A-1-7", c)
	}
}

func TestHTMLSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := HTML(&buf, sample()); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	page := buf.String()
	if n := strings.Count(page, "<svg "); n != 2+2*4-1 { // comparison x2; per run throughput, latency, outcomes, pool (naive has no pool)
		t.Errorf("report.html has %d charts, want 9", n)
	}
	// Nothing may be fetched at view time: the only URLs are SVG namespaces.
	for _, m := range regexp.MustCompile(`(?:src|href)=["']?(https?:)?//`).FindAllString(page, -1) {
		t.Errorf("report.html references an external resource: %s", m)
	}
	if strings.Contains(page, "<script") {
		t.Errorf("report.html has a script; it should be static")
	}
	if !strings.Contains(page, `href="naive-postgres/linearizability-A-1-7.html"`) {
		t.Errorf("report.html does not link the linearizability visualization")
	}
	if i, j := strings.Index(page, "1 of 2 runs failed"), strings.Index(page, "<h2>Comparison"); i < 0 || i > j {
		t.Errorf("the verdict does not come before the comparison")
	}
	// The fault window shading is drawn in its own colour.
	if !strings.Contains(page, "rgba(231,76,60") && !strings.Contains(page, "rgb(231,76,60)") {
		t.Errorf("report.html has no shaded fault window")
	}
}

// TestExitCode: one exit status per summary, correctness first (internal/exitcode).
func TestExitCode(t *testing.T) {
	pass := []Check{{Name: "linearizability", Result: Pass}}
	slo := func(ok, noData bool) []SLO {
		return []SLO{{Name: "hold_p99", Target: 250, Actual: 300, Unit: Millis, Pass: ok, NoData: noData}}
	}
	tests := []struct {
		name string
		s    Summary
		want int
	}{
		{"pass", Summary{Runs: []Run{{Checks: pass, SLOs: slo(true, false)}}}, exitcode.OK},
		{"an SLO missed", Summary{Runs: []Run{{Checks: pass, SLOs: slo(false, false)}}}, exitcode.Gate},
		{"an SLO without data", Summary{Runs: []Run{{Checks: pass, SLOs: slo(false, true)}}}, exitcode.Gate},
		{"a check undecided", Summary{Runs: []Run{{Checks: []Check{{Name: "linearizability", Result: Unknown}}, SLOs: slo(false, false)}}}, exitcode.Harness},
		{"a run error", Summary{Runs: []Run{{Error: "postgres did not start"}, {Checks: pass}}}, exitcode.Harness},
		{"no runs", Summary{}, exitcode.Harness},
		{"interrupted", Summary{Interrupted: true, Runs: []Run{{Checks: pass}, {Error: "interrupted"}}}, exitcode.Interrupted},
		{"a violation wins", Summary{Interrupted: true, Runs: []Run{{Checks: []Check{{Name: "no-double-sale", Result: Fail}}}, {Error: "interrupted"}}}, exitcode.Violation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.ExitCode(); got != tt.want {
				t.Errorf("ExitCode() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestInterruptedAndNoData: an interrupted run is no pass and its report says so; an SLO
// without data is no pass and its reports say "no data", never a figure.
func TestInterruptedAndNoData(t *testing.T) {
	s := sample()
	s.Interrupted = true
	s.Runs = s.Runs[:1]
	s.Runs[0].SLOs = append(s.Runs[0].SLOs, SLO{Name: "checkout_p99", Metric: "p99", Op: "checkout", Target: 500, Unit: Millis, NoData: true})
	s.Finish()
	if s.Verdict != Fail || s.Runs[0].Verdict != Fail || !slices.Contains(s.Runs[0].Reasons, "SLO checkout_p99: no data") {
		t.Fatalf("verdict %s, run %s %q; want fail, fail with SLO checkout_p99: no data", s.Verdict, s.Runs[0].Verdict, s.Runs[0].Reasons)
	}
	var md, junit, html strings.Builder
	if err := Markdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if err := JUnit(&junit, s); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&html, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Interrupted** (Ctrl-C or SIGTERM)", "| checkout_p99 | 500 ms | no data | **FAIL** |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md.String())
		}
	}
	if !strings.Contains(junit.String(), "checkout_p99: no data, target 500 ms") {
		t.Errorf("junit.xml does not say the SLO had no data:\n%s", junit.String())
	}
	if !strings.Contains(html.String(), "<strong>Interrupted</strong>") || !strings.Contains(html.String(), ">no data<") {
		t.Errorf("report.html does not say the run was interrupted and the SLO had no data")
	}
}
