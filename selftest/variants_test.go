package selftest

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stampede/checker"
	"stampede/infra"
	"stampede/internal/testsvc"
	"stampede/reports"
	"stampede/run"
	"stampede/strategies"
)

// e2eServices starts the services every end-to-end run of a test shares (PostgreSQL and
// Redis), closed when the test ends; it skips the test when they cannot run here.
func e2eServices(t *testing.T) *infra.Services {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end runs skipped in -short mode")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		testsvc.Unavailable(t, "redis-server is not installed")
	}
	svc, err := run.StartServices(context.Background(), run.Options{DBs: []string{"postgres"}, Progress: io.Discard})
	if err != nil {
		t.Fatalf("start services: %v", err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

// runE2E runs the scenario on the strategies on PostgreSQL over svc, broken ones allowed,
// and returns the summary and the run directory.
func runE2E(t *testing.T, svc *infra.Services, scenario string, names ...string) (*reports.Summary, string) {
	t.Helper()
	var log strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sum, dir, err := run.Run(ctx, run.Options{Scenario: scenario, Strategies: names, DBs: []string{"postgres"}, AllowUnsafe: true,
		Binary: stampedeBin, Out: t.TempDir(), Progress: &log, Services: svc})
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum, dir
}

// check returns the run's check of that name, or nil.
func check(r reports.Run, name string) *reports.Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// flawed are the broken variants that add one named flaw to a safe strategy, each with the
// scenario that creates the hazard its flaw needs and the checks meant to catch it.
var flawed = []struct {
	variant, scenario string
	checks            []string
}{
	{"double-charge", "../run/testdata/retry.yaml", []string{checker.CheckIdempotency, checker.CheckChargesMatched}},
	{"phantom-refund", "../run/testdata/broken.yaml", []string{checker.CheckChargesMatched}},
	{"unstored-booking", "../run/testdata/broken.yaml", []string{checker.CheckBookingsExist}},
	{"skip-locked-resold", "../run/testdata/broken.yaml", []string{checker.CheckNoDoubleSale}},
	{"no-admission", "../run/testdata/bots.yaml", []string{checker.CheckAdmission}},
	{"ga-oversell", "../run/testdata/ga-rush.yaml", []string{checker.CheckGACapacity}},
	{"write-behind", "../run/testdata/crash.yaml", []string{checker.CheckBookingsExist}},
	{"hold-leak", "../run/testdata/leak.yaml", []string{checker.CheckFalseSellOuts, checker.CheckLeakedHolds}},
}

// TestFlawedVariantsListed keeps the table above in step with the registry: every broken
// variant with a named flaw is tested here.
func TestFlawedVariantsListed(t *testing.T) {
	var want, got []string
	for _, v := range strategies.Broken() {
		if v.Flaw != "" {
			want = append(want, v.Name)
		}
	}
	for _, f := range flawed {
		got = append(got, f.variant)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("variants tested %v, flawed variants registered %v", got, want)
	}
}

// TestFlawedVariants: each flawed variant is invisible on the calm path and caught under the
// scenario that creates its hazard; the runs share one set of services.
func TestFlawedVariants(t *testing.T) {
	svc := e2eServices(t)
	t.Run("calm", func(t *testing.T) { flawedCalm(t, svc) })
	t.Run("caught", func(t *testing.T) { flawedCaught(t, svc) })
}

// flawedCalm runs the calm path (run/testdata/calm.yaml: no contention, no expiry, no
// lost answers, no crash, no bots) on every flawed variant: each passes every check, as its
// safe strategy does, so nothing but a hazard shows its defect.
func flawedCalm(t *testing.T, svc *infra.Services) {
	var names []string
	for _, f := range flawed {
		names = append(names, f.variant)
	}
	sum, dir := runE2E(t, svc, "../run/testdata/calm.yaml", names...)
	if len(sum.Runs) != len(names) {
		t.Fatalf("%d runs, want %d", len(sum.Runs), len(names))
	}
	for _, r := range sum.Runs {
		if r.Verdict != reports.Pass {
			md, _ := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
			t.Errorf("%s on the calm path: verdict %s (%v), want pass\n%s", r.Strategy, r.Verdict, r.Reasons, md)
		}
		if r.Bookings == 0 {
			t.Errorf("%s on the calm path: no bookings", r.Strategy)
		}
	}
}

// flawedCaught runs each flawed variant under the scenario that creates its
// hazard: the run fails, on one of the checks meant for the flaw.
func flawedCaught(t *testing.T, svc *infra.Services) {
	for _, f := range flawed {
		t.Run(f.variant, func(t *testing.T) {
			sum, dir := runE2E(t, svc, f.scenario, f.variant)
			if len(sum.Runs) != 1 {
				t.Fatalf("%d runs, want 1", len(sum.Runs))
			}
			r := sum.Runs[0]
			md, _ := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
			if r.Verdict != reports.Fail {
				t.Fatalf("%s under %s: verdict %s, want fail\n%s", f.variant, f.scenario, r.Verdict, md)
			}
			for _, name := range f.checks {
				if c := check(r, name); c != nil && c.Result == reports.Fail {
					t.Logf("%s caught by %s: %s", f.variant, name, c.Counterexample)
					return
				}
			}
			t.Errorf("%s under %s failed, but not on %v\n%s", f.variant, f.scenario, f.checks, md)
		})
	}
}
