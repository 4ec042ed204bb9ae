package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// capacitySample is a summary of a capacity search of three strategies: one found at 820/s
// with its fit and on-sale answer, one below the --min of 500/s, one unsafe.
func capacitySample() *Summary {
	steps := func(capacity float64, loads ...float64) []CapacityStep {
		var out []CapacityStep
		for i, l := range loads {
			pass := l <= capacity
			s := CapacityStep{Offered: l, Phase: "climb", Seed: 7, Throughput: 3 * min(l, capacity), Concurrency: l / 40,
				P99: map[string]float64{"hold": 20 + l/10, "checkout": 300 + l/5}, ErrorRate: 0.001, Pass: pass, ElapsedSeconds: 25,
				Dir: "x/step-0" + string(rune('1'+i))}
			if i > 5 {
				s.Phase = "bisect"
			}
			if !pass {
				s.P99["hold"] = 400
				s.Failures = []string{"hold p99 <= 250 ms (400 ms)"}
			}
			out = append(out, s)
		}
		return out
	}
	fit := &USLFit{Lambda: 95, Sigma: 0.05, Kappa: 0.001, PeakN: 30.8, PeakThroughput: 2480, Knee: 20.1, RMSE: 31, MaxRelative: 0.042,
		Residuals: []USLResidual{{N: 0.75, Measured: 90, Fitted: 71}, {N: 1.5, Measured: 180, Fitted: 140}, {N: 3, Measured: 360, Fitted: 270},
			{N: 6, Measured: 720, Fitted: 510}, {N: 12, Measured: 1440, Fitted: 900}, {N: 24, Measured: 2460, Fitted: 2400}}}
	found := &Capacity{Verdict: "capacity", Answer: "skip-locked on PostgreSQL: 820 arrivals/s (790-850) at hold p99 <= 250 ms; limited by pool wait on conn_tag hold",
		Capacity: 820, Lower: 790, Upper: 850, Mode: "scale", Precision: 0.05, Converged: true, Repeat: 3, BudgetSeconds: 300, ElapsedSeconds: 290,
		Objectives: "hold p99 <= 250 ms, error rate <= 1.00%", Missed: []string{"hold p99 <= 250 ms"}, Limit: "pool wait on conn_tag hold",
		LimitEvidence: "mean 0.40 ms at 790/s, 41 ms at 850/s", Min: 500, Steps: steps(820, 30, 60, 120, 240, 480, 960, 720, 840, 790, 820, 850), Fit: fit,
		OnSale: &OnSale{AdmitRate: 615, Rule: "75% of the measured capacity (Cloudflare's rule of thumb for waiting rooms, not a measurement)",
			Users: 1000000, OverSeconds: 600, ArrivalRate: 1666.67, PeakQueue: 631000, LastWaitSeconds: 1026.02, DrainedSeconds: 1626.02}}
	below := &Capacity{Verdict: "capacity", Answer: "pessimistic on PostgreSQL: 310 arrivals/s (300-315) at hold p99 <= 250 ms; limited by connection hold on conn_tag checkout",
		Capacity: 310, Lower: 300, Upper: 315, Mode: "rate", StepSeconds: 20, Precision: 0.05, Converged: true, Repeat: 1, ElapsedSeconds: 280,
		Objectives: "hold p99 <= 250 ms, error rate <= 1.00%", Limit: "connection hold on conn_tag checkout", Min: 500, BelowMin: true,
		Reason: "310 arrivals/s, below the 500 arrivals/s asked for", Steps: steps(310, 30, 60, 120, 240, 480, 360, 300, 330, 315),
		FitNote: "too few points", OnSale: &OnSale{AdmitRate: 232.5, Rule: "75% of the measured capacity (Cloudflare's rule of thumb for waiting rooms, not a measurement)"}}
	unsafe := &Capacity{Verdict: "unsafe", Answer: "naive on PostgreSQL: unsafe at 120 arrivals/s: no-double-sale: seat A-1-7: the ledger has two bookings",
		Mode: "scale", Precision: 0.05, Repeat: 1, ElapsedSeconds: 75, Objectives: "hold p99 <= 250 ms", At: 120, Min: 500,
		Violation: &Check{Name: "no-double-sale", Result: Fail, Counterexample: "seat A-1-7: the ledger has two bookings"},
		Reason:    "unsafe at 120 arrivals/s: no-double-sale: seat A-1-7: the ledger has two bookings", Steps: steps(1000, 30, 60, 120)}
	unsafe.Steps[2].Unsafe, unsafe.Steps[2].Pass, unsafe.Steps[2].Failures = true, false, []string{"check no-double-sale failed"}
	run := func(strategy string, c *Capacity, checks []Check) Run {
		return Run{Strategy: strategy, DB: "postgres", DurationSeconds: 20, Users: 8000, Requests: 30000, Capacity: c.Capacity, CapacitySearch: c,
			Throughput: Throughput{RequestsPerSec: 1500, HoldsPerSec: 300, BookingsPerSec: 120},
			Latency:    map[string]Percentiles{"hold": {Count: 6000, P50: 12, P90: 60, P99: 180, P999: 240, Max: 300}},
			Checks:     checks, SLOs: []SLO{{Name: "hold_p99", Metric: "p99", Op: "hold", Target: 250, Actual: 180, Unit: Millis, Pass: true}}}
	}
	pass := []Check{{Name: "linearizability", Result: Pass, Count: 900}, {Name: "no-double-sale", Result: Pass, Count: 900}}
	s := &Summary{Scenario: "capacity", Seed: 7, Versions: map[string]string{"stampede": "test"},
		Started: time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC), DurationSeconds: 650,
		Runs: []Run{run("skip-locked", found, pass), run("pessimistic", below, pass),
			run("naive", unsafe, []Check{{Name: "no-double-sale", Result: Fail, Count: 1, Counterexample: "seat A-1-7: the ledger has two bookings"}})},
	}
	s.Runs[2].Capacity = 0
	s.Finish()
	return s
}

func TestCapacityMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Markdown(&buf, capacitySample()); err != nil {
		t.Fatalf("Markdown: %v", err)
	}
	golden := filepath.Join("testdata", "capacity.md")
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
	for _, want := range []string{
		"## Capacity\n",
		"| skip-locked | postgres | 820/s | 790-850 |",
		"- **skip-locked on PostgreSQL: 820 arrivals/s (790-850) at hold p99 <= 250 ms; limited by pool wait on conn_tag hold** (mean 0.40 ms at 790/s, 41 ms at 850/s)",
		"admit 615/s at the waiting room, 75% of the measured capacity (Cloudflare's rule of thumb",
		"1000000 fans over 10m00s: the queue reaches 631000, the last fan waits 17m6s",
		"σ 0.05 (contention), κ 0.001 (coherency); predicted peak 2480 req/s at concurrency N* 30.8, knee at N 20.1",
		"**below the minimum**: 310 arrivals/s, below the 500 arrivals/s asked for",
		"- **naive on PostgreSQL: unsafe at 120 arrivals/s: no-double-sale: seat A-1-7",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestCapacityVerdicts(t *testing.T) {
	s := capacitySample()
	if s.Verdict != Fail {
		t.Fatalf("summary verdict %s, want fail: one run is below --min, one unsafe", s.Verdict)
	}
	want := []string{Pass, Fail, Fail}
	for i, r := range s.Runs {
		if r.Verdict != want[i] {
			t.Errorf("%s: verdict %s (%v), want %s", r.Strategy, r.Verdict, r.Reasons, want[i])
		}
	}
	if got := strings.Join(s.Runs[1].Reasons, "; "); got != "capacity: 310 arrivals/s, below the 500 arrivals/s asked for" {
		t.Errorf("below --min: reasons %q", got)
	}
}

func TestCapacityJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := JUnit(&buf, capacitySample()); err != nil {
		t.Fatalf("JUnit: %v", err)
	}
	var got junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("junit.xml does not parse: %v", err)
	}
	for i, wantFail := range []bool{false, true, true} {
		c := got.Suites[i].Cases[0]
		if c.Name != "capacity" || (c.Failure != nil) != wantFail {
			t.Errorf("suite %s: first case %+v, want the capacity case, failed: %v", got.Suites[i].Name, c, wantFail)
		}
	}
	if f := got.Suites[1].Cases[0].Failure; f == nil || !strings.Contains(f.Message, "below the 500 arrivals/s asked for") {
		t.Errorf("below --min: failure %+v", f)
	}
}

func TestCapacityHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := HTML(&buf, capacitySample()); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	page := buf.String()
	for _, want := range []string{
		`aria-label="Achieved throughput against offered load"`,
		`aria-label="p99 latency and error rate against offered load"`,
		`aria-label="Universal Scalability Law: λ 95, σ 0.05, κ 0.001"`,
		"capacity 820/s",      // the capacity marked
		"boundary 790-850",    // and the boundary shaded
		"USL peak 2480 req/s", // and the fit's peak
		"peak N* 30.8",        // on the fit's own chart
		"unsafe at 120/s",     // the unsafe search's stop
		"<td>skip-locked</td><td>postgres</td>",
		"seat A-1-7: the ledger has two bookings",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// One curve and one latency chart per search, and the fit where there is one; nothing
	// fetched, no script.
	if n := strings.Count(page, `aria-label="Achieved throughput against offered load"`); n != 3 {
		t.Errorf("report.html has %d capacity curves, want one per strategy x database (3)", n)
	}
	if strings.Contains(page, "<script") {
		t.Errorf("report.html has a script")
	}
	for _, m := range regexp.MustCompile(`(?:src|href)=["']?(https?:)?//`).FindAllString(page, -1) {
		t.Errorf("report.html references an external resource: %s", m)
	}
	// The SVG is well-formed XML.
	for _, svg := range regexp.MustCompile(`(?s)<svg xmlns.*?</svg>`).FindAllString(page, -1) {
		if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
			t.Fatalf("a capacity chart is not well-formed: %v", err)
		}
	}
}

// TestCapacitySummaryJSON pins the capacity fields of summary.json and their round trip.
func TestCapacitySummaryJSON(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, capacitySample()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Runs []map[string]json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw.Runs[0]["capacity_search"], &c); err != nil {
		t.Fatalf("capacity_search: %v", err)
	}
	for _, k := range []string{"verdict", "answer", "capacity", "lower", "upper", "precision", "converged", "repeat", "objectives",
		"limit", "steps", "fit", "on_sale"} {
		if _, ok := c[k]; !ok {
			t.Errorf("capacity_search lacks %q", k)
		}
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Runs[0].CapacitySearch; c == nil || c.Fit.PeakN != 30.8 || len(c.Steps) != 11 || got.Runs[0].Capacity != 820 {
		t.Fatalf("Load did not round-trip the capacity search: %+v", c)
	}
}
