package run

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"stampede/checker"
	"stampede/reports"
)

// doubleSale matches a no-double-sale counterexample: a reserved seat of the scenarios'
// inventory (section-row-seat) booked twice, or a general-admission tier sold past its capacity
// (which of the two a broken strategy shows first depends on the run's timing).
var doubleSale = regexp.MustCompile(`^(seat \S+-\d+-\d+: the ledger has two bookings|tier \S+: bookings sum to \d+ units of a tier of capacity \d+)`)

// check returns the run's check of that name, or nil.
func check(r reports.Run, name string) *reports.Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// assertCaught fails the test unless the run failed on no-double-sale with a counterexample
// naming a seat, and on linearizability too.
func assertCaught(t *testing.T, r reports.Run, dir string) {
	t.Helper()
	name := r.Strategy + "/" + r.DB
	md, _ := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	if r.Verdict != reports.Fail {
		t.Fatalf("%s: verdict %s, want fail\n%s", name, r.Verdict, md)
	}
	for _, c := range []string{checker.CheckNoDoubleSale, checker.CheckLinearizability} {
		got := check(r, c)
		if got == nil || got.Result != reports.Fail {
			t.Errorf("%s: check %s = %+v, want a failure\n%s", name, c, got, md)
			continue
		}
		t.Logf("%s caught by %s: %s", name, c, got.Counterexample)
	}
	if c := check(r, checker.CheckNoDoubleSale); c != nil && !doubleSale.MatchString(c.Counterexample) {
		t.Errorf("%s: no-double-sale counterexample %q does not name a seat or a tier sold twice", name, c.Counterexample)
	}
}

// TestRunCatchesRedisLockUnfenced runs testdata/broken.yaml (every payment outlasts its hold
// and another buyer takes the seat meanwhile) on redis-lock without its lock checks and
// fencing: holders whose locks expired book seats that others bought meanwhile. The e2e
// scenario shows the same defect only in some runs (its slow payments last two seconds), so
// a test of the checker's power must not depend on it.
func TestRunCatchesRedisLockUnfenced(t *testing.T) {
	sum, dir := runE2E(t, Options{Scenario: "testdata/broken.yaml", Strategies: []string{"redis-lock-unfenced"}, DBs: []string{"postgres"}, AllowUnsafe: true})
	if sum.Verdict != reports.Fail || len(sum.Runs) != 1 {
		t.Fatalf("verdict %s over %d runs, want fail over 1", sum.Verdict, len(sum.Runs))
	}
	assertCaught(t, sum.Runs[0], dir)
}

// TestRunCatchesStatusExpiryBlind runs testdata/broken.yaml, where every payment outlasts its
// hold and the seat is taken meanwhile, on status-expiry whose confirm ignores who holds the
// seat, and on status-expiry itself in the same run as the control: the broken variant sells
// seats twice, the safe strategy passes every check (it refunds the late payers).
func TestRunCatchesStatusExpiryBlind(t *testing.T) {
	sum, dir := runE2E(t, Options{Scenario: "testdata/broken.yaml", Strategies: []string{"status-expiry-blind", "status-expiry"},
		DBs: []string{"postgres"}, AllowUnsafe: true})
	if len(sum.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(sum.Runs))
	}
	for _, r := range sum.Runs {
		switch r.Strategy {
		case "status-expiry-blind":
			assertCaught(t, r, dir)
		case "status-expiry":
			if r.Verdict != reports.Pass {
				md, _ := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
				t.Errorf("control status-expiry: verdict %s (%v), want pass\n%s", r.Verdict, r.Reasons, md)
			}
			if r.Refunds == 0 {
				t.Errorf("control status-expiry: no refunds: no payment outlasted its hold, so the scenario tests nothing")
			}
		default:
			t.Errorf("unexpected run of %s", r.Strategy)
		}
	}
}
