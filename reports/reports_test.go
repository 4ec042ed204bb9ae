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
				Pool: map[string]PoolStats{"hold": {Count: 810, WaitMeanMs: 0.4, WaitMaxMs: 12, HoldMeanMs: 2.1, HoldMaxMs: 30}, "checkout": {Count: 300, WaitMeanMs: 1.5, WaitMaxMs: 40, HoldMeanMs: 3, HoldMaxMs: 50}},
				Shed: 3,
				Generator: &Generator{LagP99Ms: 0.8, ArrivalLagP99Ms: 2.5, SlotWaits: 4, SlotWaitP99Ms: 0, MaxConns: 512,
					CPUMeanCores: 0.4, CPUMaxCores: 0.9, Cores: 2},
				Attribution: &Attribution{Limit: "database", Why: "database took the largest share of the measured time: 55% (2.6 s)",
					Shed: 3, ShedSource: "stampede_http_shed_total", Costs: []Cost{
						{Resource: "database", Seconds: 2.6, Share: 0.55, Source: "stampede_db_conn_hold_seconds"},
						{Resource: "server", Seconds: 1.2, Share: 0.25, Source: "estimate: request time in the server beyond the parts above"},
						{Resource: "pool wait (checkout)", Seconds: 0.45, Share: 0.1, Source: "stampede_db_pool_wait_seconds"},
						{Resource: "generator", Seconds: 0.5, Share: 0.1, Source: "driver: lag and connection-slot waits"},
					}},
				Faults: faults,
				Checks: []Check{{Name: "linearizability", Result: Pass, Count: 400}, {Name: "money", Result: Pass, Count: 257},
					{Name: "admission", Result: NotExercised, Count: 12, Counterexample: "none of its hazards occurred: holds_without_token"}},
				Coverage: []Coverage{
					{Hazard: "concurrent_seat_holds", Count: 120, Peak: 7, Checks: []string{"linearizability", "no-double-sale"}, Min: 10},
					{Hazard: "expired_mid_checkout", Count: 3, Checks: []string{"linearizability", "charges-matched"}, Min: 1},
					{Hazard: "holds_without_token", Count: 0, Checks: []string{"admission"}},
				},
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
				Coverage: []Coverage{
					{Hazard: "concurrent_seat_holds", Count: 40, Peak: 3, Checks: []string{"linearizability", "no-double-sale"}, Min: 10},
					{Hazard: "expired_mid_checkout", Count: 0, Checks: []string{"linearizability", "charges-matched"}, Min: 1},
					{Hazard: "holds_without_token", Count: 0, Checks: []string{"admission"}},
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
	if !s.CoverageShort || s.Runs[0].Shortfall != nil || !slices.Equal(s.Runs[1].Shortfall, []string{"expired_mid_checkout: 0 of at least 1"}) {
		t.Fatalf("CoverageShort %v, shortfalls %q and %q; want naive short of expired_mid_checkout only",
			s.CoverageShort, s.Runs[0].Shortfall, s.Runs[1].Shortfall)
	}
	short := &Summary{Runs: []Run{sample().Runs[0]}}
	short.Runs[0].Coverage[2].Min = 1
	short.Finish()
	if short.Verdict != Pass || short.Runs[0].Verdict != Pass || !short.CoverageShort {
		t.Fatalf("a passing run short of coverage: verdict %q (run %q), coverage short %v; want pass, pass, true (a shortfall is not a failure)",
			short.Verdict, short.Runs[0].Verdict, short.CoverageShort)
	}
	var md bytes.Buffer
	if err := Markdown(&md, short); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(md.String(), "# stampede: PASS, COVERAGE SHORT\n") || !strings.Contains(md.String(), "- **skip-locked on postgres**: holds_without_token: 0 of at least 1") {
		t.Errorf("report.md of a run short of coverage:\n%s", md.String())
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
		"lost_holds", "pool", "faults", "checks", "coverage", "slos", "series"} {
		if _, ok := run[k]; !ok {
			t.Errorf("summary.json run lacks %q", k)
		}
	}
	cov := run["coverage"].([]any)[0].(map[string]any)
	for _, k := range []string{"hazard", "count", "peak", "checks", "min"} {
		if _, ok := cov[k]; !ok {
			t.Errorf("summary.json coverage row lacks %q", k)
		}
	}
	if raw["coverage_short"] != true || raw["runs"].([]any)[1].(map[string]any)["shortfall"] == nil {
		t.Errorf("summary.json does not say the naive run fell short of its coverage")
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
	for _, tt := range []struct {
		name, golden string
		summary      *Summary
		start        string
	}{
		{"sample", "testdata/report.md", sample(), "# stampede: FAIL\n\n**1 of 2 runs failed.**"},
		{"demo", "testdata/demo/report.md", demo(t), "# stampede: FAIL\n\n**1 of 8 runs failed.**"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Markdown(&buf, tt.summary); err != nil {
				t.Fatalf("Markdown: %v", err)
			}
			if *update {
				if err := os.WriteFile(tt.golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create it): %v", err)
			}
			if buf.String() != string(want) {
				t.Fatalf("report.md differs from %s (run go test ./reports -update after checking):\n%s", tt.golden, buf.String())
			}
			if !strings.HasPrefix(buf.String(), tt.start) {
				t.Fatalf("report.md does not start with the verdict:\n%s", buf.String()[:120])
			}
		})
	}
}

// TestMarkdownReadable: each run folds into one line with its verdict and first reason; the
// check tables count what was checked apart from what was violated; the terms are explained
// once.
func TestMarkdownReadable(t *testing.T) {
	var buf bytes.Buffer
	if err := Markdown(&buf, sample()); err != nil {
		t.Fatalf("Markdown: %v", err)
	}
	md := buf.String()
	for _, want := range []string{
		"<details><summary>skip-locked on postgres: 245 bookings, 12 refunds; pass</summary>\n\n",
		"<details open><summary>naive on postgres: 400 bookings, 0 refunds; FAIL: check linearizability failed (3); 3 more reasons</summary>\n\n",
		"| check | result | checked | violations | first counterexample |",
		"| linearizability | pass | 400 | 0 |  |",
		"| no-double-sale | **FAIL** | - | 3 | seat A-1-7: b_1, b_2 |",
		"| money | **unknown** | - | ? | processor ledger missing |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if n, m := strings.Count(md, "<details"), strings.Count(md, "</details>"); n != 2 || m != 2 {
		t.Errorf("report.md has %d <details> and %d </details>, want one of each per run", n, m)
	}
	terms := md[strings.Index(md, "## Terms"):]
	for _, term := range []string{"lost holds", "unknown outcomes", "false sell-outs", "shed", "not exercised"} {
		if strings.Count(terms, "**"+term+"**") != 1 {
			t.Errorf("the glossary does not explain %q once:\n%s", term, terms)
		}
	}

	// Eight runs: what shows before any run is unfolded stays short.
	buf.Reset()
	if err := Markdown(&buf, demo(t)); err != nil {
		t.Fatalf("Markdown: %v", err)
	}
	folded := regexp.MustCompile(`(?s)<details><summary>(.*?)</summary>.*?</details>`).ReplaceAllString(buf.String(), "$1")
	// Unfolded, its eight runs take over 300 lines; folded, the verdict, the comparison, the
	// failing run (open), a line for each other run and the glossary.
	if n := strings.Count(folded, "\n"); n > 90 {
		t.Errorf("the demo's report.md shows %d lines with passing runs folded, want at most 90:\n%s", n, folded)
	}
	if !strings.Contains(buf.String(), "<details open><summary>pessimistic on mysql: 140 bookings, 0 refunds; FAIL: SLO hold_p99: 5473 ms over 5000 ms</summary>") {
		t.Errorf("the demo's failing run is not one line with its verdict and reason:\n%s", buf.String())
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
	// 3 checks + 1 SLO + 2 minimums + 2 faults for skip-locked; 3 checks + 1 SLO + 2 minimums +
	// 3 faults for naive.
	if len(got.Suites) != 2 || got.Tests != 17 || got.Failures != 5 {
		t.Fatalf("junit: %d suites, %d tests, %d failures; want 2, 17, 5 (unknown and a coverage shortfall count as failures)", len(got.Suites), got.Tests, got.Failures)
	}
	admission := got.Suites[0].Cases[2]
	if got.Suites[0].Skipped != 1 || admission.Name != "check admission" || admission.Skipped == nil ||
		admission.Skipped.Message != "not exercised: none of its hazards occurred: holds_without_token" {
		t.Errorf("skip-locked suite: %d skipped, admission case %+v; want the check that was not exercised skipped with the reason", got.Suites[0].Skipped, admission)
	}
	var coverage []junitCase
	for _, c := range got.Suites[1].Cases {
		if strings.HasPrefix(c.Name, "coverage ") {
			coverage = append(coverage, c)
		}
	}
	if len(coverage) != 2 || coverage[0].Failure != nil || coverage[1].Failure == nil ||
		coverage[1].Failure.Type != "coverage" || coverage[1].Failure.Message != "expired_mid_checkout: 0 of at least 1" {
		t.Errorf("naive coverage cases = %+v, want concurrent_seat_holds reached and expired_mid_checkout failed as short", coverage)
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
	for _, want := range []string{"<h3>Hazard coverage</h3>", `<span class="verdict not-exercised">not-exercised</span>`,
		`<tr class="short"><td>expired_mid_checkout</td>`, "<td>2 of 3</td>", `<td>1 of 3 <span class="verdict fail">short</span></td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
	if !strings.Contains(page, `href="naive-postgres/linearizability-A-1-7.html"`) {
		t.Errorf("report.html does not link the linearizability visualization")
	}
	if i, j := strings.Index(page, "1 of 2 runs failed"), strings.Index(page, "<h2>Comparison"); i < 0 || i > j {
		t.Errorf("the verdict does not come before the comparison")
	}
	// The fault windows are shaded, each band named for its fault.
	if !strings.Contains(page, `<rect class="band" data-band="psp-delay"`) {
		t.Errorf("report.html has no shaded window for psp-delay")
	}
}

// boundSummary is one run whose checks passed and whose SLO did not hold while the load
// generator was the bottleneck.
func boundSummary(checks ...Check) *Summary {
	if len(checks) == 0 {
		checks = []Check{{Name: "linearizability", Result: Pass, Count: 10}}
	}
	s := &Summary{Scenario: "eras-tour", Seed: 42, Scale: 0.1, Runs: []Run{{
		Strategy: "skip-locked", DB: "postgres", Users: 20000, Requests: 90000,
		Latency: map[string]Percentiles{"hold": {Count: 100, P99: 4000}},
		Checks:  checks,
		SLOs:    []SLO{{Name: "hold_p99", Metric: "p99", Op: "hold", Target: 250, Actual: 4000, Unit: Millis, Untrusted: true}},
		Generator: &Generator{Bound: true, Reasons: []string{"61.0% of requests waited for one of its 512 connection slots (over 5%; p99 wait 4s)"},
			LagP99Ms: 3, SlotWaits: 50000, SlotWaitP99Ms: 4000, MaxConns: 512, Cores: 2, CPUMeanCores: 1.9, CPUMaxCores: 2},
		Attribution: &Attribution{Limit: "generator", Why: "the driver limited the run: 61.0% of requests waited",
			Costs: []Cost{{Resource: "generator", Seconds: 200, Share: 1}}},
	}}}
	s.Finish()
	return s
}

func TestGeneratorBoundRunIsNotJudged(t *testing.T) {
	s := boundSummary()
	r := s.Runs[0]
	if s.Verdict != Unknown || r.Verdict != Unknown {
		t.Fatalf("verdicts = summary %q, run %q; want unknown for both (the SLO says nothing of the target)", s.Verdict, r.Verdict)
	}
	if len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "the load generator was the bottleneck (61.0% of requests") ||
		!strings.Contains(r.Reasons[0], "hold_p99: 4000 ms over 250 ms") {
		t.Errorf("Reasons = %q, want the generator's reasons and the SLO not judged", r.Reasons)
	}
	if failed := boundSummary(Check{Name: "no-double-sale", Result: Fail, Count: 1}); failed.Verdict != Fail || failed.Runs[0].Verdict != Fail {
		t.Errorf("a failed check under a bound generator: verdict %q, run %q; want fail (correctness wins)", failed.Verdict, failed.Runs[0].Verdict)
	}

	var md bytes.Buffer
	if err := Markdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# stampede: UNKNOWN\n\n**1 of 1 runs could not be judged.**", "**The load generator was the bottleneck in 1 run**",
		"seed 42, scale x0.1,", "| 0 | generator |", "**Limiting resource: generator**", "(not trustworthy: the generator was the bottleneck)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md.String())
		}
	}
	var page bytes.Buffer
	if err := HTML(&page, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The load generator was the bottleneck in 1 of 1 runs", "Limiting resource: generator", "not trustworthy", "could not be judged"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	var xmlOut bytes.Buffer
	if err := JUnit(&xmlOut, s); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(xmlOut.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Failures != 0 || got.Suites[0].Skipped != 1 || !strings.Contains(got.Suites[0].Cases[1].Skipped.Message, "load generator") {
		t.Errorf("junit: %d failures, %d skipped, cases %+v; want the untrusted SLO skipped with the reason", got.Failures, got.Suites[0].Skipped, got.Suites[0].Cases)
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
	for _, want := range []string{"**Interrupted** (Ctrl-C or SIGTERM)", "| checkout_p99 | 500 ms | no data |  | **FAIL** |"} {
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
