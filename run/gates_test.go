package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stampede/checker"
	"stampede/reports"
)

// TestRunCatchesBrokenGate runs testdata/gates.yaml (fans who present every ticket at two
// gates at once, among forgeries and refunded bookings) against the reference server twice:
// with its exactly-once gate every gate check passes, exercised; with per-gate-cache, which
// lets a ticket in once per gate, gate-once fails naming a ticket admitted at two gates. The
// broken gate is refused without AllowUnsafe.
func TestRunCatchesBrokenGate(t *testing.T) {
	if err := (&Options{Scenario: "testdata/gates.yaml", Scanner: "per-gate-cache"}).defaults(); err == nil || !strings.Contains(err.Error(), "allow-unsafe") {
		t.Fatalf("defaults with gate per-gate-cache and no AllowUnsafe = %v, want a refusal naming --allow-unsafe", err)
	}
	for _, gate := range []string{"", "per-gate-cache"} {
		sum, dir := runE2E(t, Options{Scenario: "testdata/gates.yaml", Strategies: []string{"status-expiry"}, DBs: []string{"postgres"},
			Scanner: gate, AllowUnsafe: gate != ""})
		if len(sum.Runs) != 1 {
			t.Fatalf("%d runs, want 1", len(sum.Runs))
		}
		r := sum.Runs[0]
		md, _ := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
		if gate == "" {
			for _, name := range []string{checker.CheckGateOnce, checker.CheckGateForgeries, checker.CheckGateAnswered, checker.CheckGateOverwhelmed} {
				if c := check(r, name); c == nil || c.Result != reports.Pass {
					t.Errorf("exactly-once gate: check %s = %+v, want pass\n%s", name, c, md)
				}
			}
			if r.Verdict != reports.Pass {
				t.Errorf("exactly-once gate: verdict %s (%v), want pass\n%s", r.Verdict, r.Reasons, md)
			}
			continue
		}
		c := check(r, checker.CheckGateOnce)
		if r.Verdict != reports.Fail || c == nil || c.Result != reports.Fail || !strings.Contains(c.Counterexample, "was admitted 2 times") {
			t.Fatalf("per-gate-cache: verdict %s, gate-once %+v; want a failure naming a ticket admitted twice\n%s", r.Verdict, c, md)
		}
		t.Logf("per-gate-cache caught by gate-once: %s", c.Counterexample)
	}
}
