package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"stampede/infra/local"
	"stampede/internal/testsvc"
	"stampede/reports"
	"stampede/strategies"
)

// binary is the stampede executable the runs start as the reference server, built once.
var stampedeBin string

func TestMain(m *testing.M) { testsvc.MainWithStampede(m, &stampedeBin) }

func runE2E(t *testing.T, o Options) (*reports.Summary, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end runs skipped in -short mode")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		testsvc.Unavailable(t, "redis-server is not installed")
	}
	if o.Scenario == "" {
		o.Scenario = "testdata/e2e.yaml"
	}
	o.Binary = stampedeBin
	o.Out = t.TempDir()
	var log bytes.Buffer
	o.Progress = &log
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sum, dir, err := Run(ctx, o)
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum, dir
}

// TestRunEverySafeStrategy runs the contended scenario, with a Redis restart and payments
// slower than the hold TTL, on every safe strategy and both databases: every run must pass
// every check, with bookings made and refunds issued for holds lost mid-payment.
func TestRunEverySafeStrategy(t *testing.T) {
	sum, dir := runE2E(t, Options{Strategies: strategies.Safe(), DBs: []string{"postgres", "mysql"}})
	if len(sum.Runs) != 2*len(strategies.Safe()) {
		t.Fatalf("%d runs, want %d", len(sum.Runs), 2*len(strategies.Safe()))
	}
	for _, r := range sum.Runs {
		name := r.Strategy + "/" + r.DB
		if r.Verdict != reports.Pass {
			md, _ := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
			t.Errorf("%s: verdict %s (%v)\n%s", name, r.Verdict, r.Reasons, md)
			continue
		}
		if r.Bookings == 0 {
			t.Errorf("%s: no bookings: the herd did not buy anything", name)
		}
		if len(r.Faults) != 2 || r.Faults[0].Error != "" || r.Faults[1].Error != "" {
			t.Errorf("%s: faults %+v, want the redis-restart and psp-delay both injected", name, r.Faults)
		}
		if len(r.Checks) < 8 {
			t.Errorf("%s: only %d checks ran", name, len(r.Checks))
		}
	}
	// The services kept their data on the default storage, and the summary says which.
	if _, _, want, err := local.ResolveStorage(""); err != nil || sum.Provenance == nil || sum.Provenance.LocalStorage != want {
		t.Errorf("provenance %+v, want local storage %q (%v)", sum.Provenance, want, err)
	}
	for _, f := range []string{reports.SummaryFile, reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("run directory lacks %s: %v", f, err)
		}
	}
	for _, r := range sum.Runs {
		for _, f := range []string{"history.jsonl", "metrics.jsonl", "ledger.json", "server.log"} {
			if _, err := os.Stat(filepath.Join(dir, r.Dir, f)); err != nil {
				t.Errorf("%s lacks %s: %v", r.Dir, f, err)
			}
		}
	}
}

// TestRunCatchesNaive runs the unsafe strategy on testdata/naive.yaml (hot reserved seats,
// payments slower than the hold TTL): the verdict is fail, the report names the seats sold
// twice, and linearizability fails with porcupine's visualization linked from the report. Its
// services keep their data on disk (--storage disk), and the summary says so.
func TestRunCatchesNaive(t *testing.T) {
	sum, dir := runE2E(t, Options{Scenario: "testdata/naive.yaml", Strategies: []string{"naive"}, DBs: []string{"postgres"}, AllowUnsafe: true,
		Storage: "disk"})
	if sum.Verdict != reports.Fail {
		t.Fatalf("naive verdict = %s, want fail", sum.Verdict)
	}
	if want := "disk (" + os.TempDir() + ")"; sum.Provenance == nil || sum.Provenance.LocalStorage != want {
		t.Errorf("provenance %+v, want local storage %q", sum.Provenance, want)
	}
	md, err := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`no-double-sale: ` + strings.TrimPrefix(doubleSale.String(), "^")).Match(md) {
		t.Fatalf("report.md does not name a seat or a tier sold twice:\n%s", md)
	}
	var s reports.Summary
	b, _ := os.ReadFile(filepath.Join(dir, reports.SummaryFile))
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	var lin *reports.Check
	for i, c := range s.Runs[0].Checks {
		if c.Name == "linearizability" {
			lin = &s.Runs[0].Checks[i]
		}
	}
	if lin == nil || lin.Result != reports.Fail {
		t.Fatalf("linearizability check = %+v, want a failure", lin)
	}
	if lin.Visualization == "" {
		t.Fatalf("linearizability failure has no visualization")
	}
	if _, err := os.Stat(filepath.Join(dir, lin.Visualization)); err != nil {
		t.Fatalf("visualization %s: %v", lin.Visualization, err)
	}
	if html, _ := os.ReadFile(filepath.Join(dir, reports.HTMLFile)); !strings.Contains(string(html), lin.Visualization) {
		t.Fatalf("report.html does not link %s", lin.Visualization)
	}
}

// TestVerdictLine: a run's progress line carries its verdict and first reason, and an SLO that
// did not hold is not a pass.
func TestVerdictLine(t *testing.T) {
	checks := []reports.Check{{Name: "linearizability", Result: reports.Pass}}
	tests := []struct {
		name string
		r    reports.Run
		want string
	}{
		{"pass", reports.Run{Checks: checks}, "pass"},
		{"an SLO missed", reports.Run{Checks: checks, SLOs: []reports.SLO{{Name: "hold_p99", Target: 250, Actual: 812, Unit: reports.Millis}}},
			"FAIL: SLO hold_p99: 812 ms over 250 ms"},
		{"an SLO without data", reports.Run{Checks: checks, SLOs: []reports.SLO{{Name: "checkout_p99", Target: 250, Unit: reports.Millis, NoData: true}}},
			"FAIL: SLO checkout_p99: no data"},
		{"a check failed and an SLO missed", reports.Run{Checks: []reports.Check{{Name: "no-double-sale", Result: reports.Fail, Count: 3}},
			SLOs: []reports.SLO{{Name: "hold_p99", Target: 250, Actual: 812, Unit: reports.Millis}}},
			"FAIL: check no-double-sale failed (3) (and 1 more)"},
		{"an error", reports.Run{Error: "postgres did not start"}, "FAIL: run error: postgres did not start"},
	}
	for _, tt := range tests {
		if got := verdictLine(tt.r); got != tt.want {
			t.Errorf("%s: verdictLine = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"unknown strategy", Options{Strategies: []string{"optimistic"}}, `strategy "optimistic": unknown`},
		{"unsafe without flag", Options{Strategies: []string{"naive"}}, "--allow-unsafe"},
		{"unknown db", Options{DBs: []string{"oracle"}}, `db "oracle"`},
		{"bad env", Options{Env: "cloud"}, `env "cloud"`},
		{"bad storage", Options{Storage: "floppy"}, `storage "floppy": want memory or disk`},
		{"storage of external services", Options{Env: "external", PG: "postgres://u@h/db", Storage: "disk"}, "storage disk: only with --env local"},
		{"bad target", Options{Target: "localhost:8080"}, "http:// or https://"},
		{"a serve flag the run sets", Options{ServeFlags: []string{"--db=postgres://elsewhere/db"}}, "serve-flag: --db: set by the run itself"},
		{"a serve flag's bad value", Options{ServeFlags: []string{"--max-in-flight=-1"}}, "serve-flag: max-in-flight: must not be negative"},
		{"an unknown serve flag", Options{ServeFlags: []string{"--turbo"}}, "serve-flag: flag provided but not defined: -turbo"},
		{"serve flags for a target", Options{Target: "http://127.0.0.1:1", ServeFlags: []string{"--max-in-flight=8"}}, "only the reference server takes them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Run(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run(%+v) = %v, want an error containing %q", tc.o, err, tc.want)
			}
		})
	}
	if _, _, err := Run(context.Background(), Options{Scenario: "testdata/nope.yaml"}); err == nil {
		t.Fatal("Run with a missing scenario file succeeded")
	}
	// Refused before anything starts, as input errors.
	t.Setenv("STAMPEDE_REDIS", "")
	used := t.TempDir()
	if err := os.WriteFile(filepath.Join(used, "summary.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"redis-lock without Redis", Options{Scenario: "testdata/external.yaml", Env: "external", PG: "postgres://u@h/db", Strategies: []string{"redis-lock"}},
			"strategy redis-lock keeps its holds in Redis, and --env external was given none: give --redis"},
		{"a waiting room without Redis", Options{Scenario: "testdata/e2e.yaml", Env: "external", PG: "postgres://u@h/db", Strategies: []string{"pessimistic"}},
			"the scenario's waiting room keeps its queue in Redis"},
		{"an earlier run's directory", Options{Scenario: "testdata/external.yaml", Out: used}, "is not empty (it holds summary.json): choose another, or --force"},
		{"a bad scenario", Options{Scenario: "testdata/nope.yaml"}, "nope.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Run(context.Background(), tc.o)
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run(%+v) = %v, want an InputError saying %q", tc.o, err, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(used, "summary.json")); string(b) != "{}" {
		t.Errorf("the refused run directory was touched: summary.json is %q", b)
	}
	if got, err := ParseList("all", []string{"a", "b"}); err != nil || strings.Join(got, ",") != "a,b" {
		t.Fatalf("ParseList(all) = %v, %v", got, err)
	}
	if _, err := ParseList("a,,b", nil); err == nil {
		t.Fatal("ParseList with an empty item succeeded")
	}
}

// TestRunMissedSLONamesLimit runs a small scenario whose every hold the server answers 200ms
// late (the after-hold failpoint) against a 50ms hold objective: the run misses its SLO, and
// its report names the limiting resource with the numbers behind it. The server is given flags
// of its own (--serve-flag): two requests in flight at most, refused after 1ms in the queue, so
// holds that take 200ms make it shed some requests, which its defaults (256 in flight) never do
// for this herd of 80.
func TestRunMissedSLONamesLimit(t *testing.T) {
	sum, dir := runE2E(t, Options{Scenario: "testdata/slo-miss.yaml", Strategies: []string{"skip-locked"}, DBs: []string{"postgres"},
		Failpoints: "after-hold=delay:200ms", ServeFlags: []string{"--max-in-flight=2", "--overload-wait=1ms"}})
	const flags = "--max-in-flight=2 --overload-wait=1ms"
	if strings.Join(sum.ServeFlags, " ") != flags {
		t.Errorf("summary serve flags %q, want %s", sum.ServeFlags, flags)
	}
	if len(sum.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(sum.Runs))
	}
	r := sum.Runs[0]
	md, _ := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	if r.Verdict != reports.Fail || !strings.Contains(strings.Join(r.Reasons, "; "), "hold_p99") {
		t.Fatalf("verdict %s (%v), want fail for the hold objective missed\n%s", r.Verdict, r.Reasons, md)
	}
	for _, c := range r.Checks {
		if c.Result == reports.Fail {
			t.Errorf("check %s failed: a slow hold is no violation", c.Name)
		}
	}
	a := r.Attribution
	if a == nil || a.Limit == "" || !regexp.MustCompile(`[0-9]`).MatchString(a.Why) || len(a.Costs) == 0 {
		t.Fatalf("attribution %+v, want the limiting resource named with numbers\n%s", a, md)
	}
	if r.Shed == 0 {
		t.Errorf("no request shed: the server did not run with %s", flags)
	}
	if !strings.Contains(string(md), ", server flags "+flags+",") {
		t.Errorf("report.md does not record the server's flag:\n%s", md)
	}
	if !strings.Contains(string(md), "**Limiting resource: "+a.Limit+"**") {
		t.Errorf("report.md does not name the limiting resource %q:\n%s", a.Limit, md)
	}
}
