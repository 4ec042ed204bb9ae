package selftest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stampede/history"
	"stampede/internal/exitcode"
	"stampede/internal/testsvc"
	"stampede/run"
	"stampede/strategies"
)

var stampedeBin string

func TestMain(m *testing.M) { testsvc.MainWithStampede(m, &stampedeBin) }

// TestEveryUnsafeStrategyNeedsHazards: every strategy broken on purpose says which known
// hazards its defect needs, so that a run that created none is "not exercised", not "missed".
func TestEveryUnsafeStrategyNeedsHazards(t *testing.T) {
	for _, n := range strategies.Names() {
		if !strategies.Unsafe(n) {
			if len(Needs(n)) > 0 {
				t.Errorf("safe strategy %s has needs %v", n, Needs(n))
			}
			continue
		}
		if len(Needs(n)) == 0 {
			t.Errorf("unsafe strategy %s: no hazards listed in needs", n)
		}
		for _, h := range Needs(n) {
			if !h.Known() {
				t.Errorf("%s needs unknown hazard %q", n, h)
			}
		}
	}
	if slices.Contains(Needs("hold-leak"), history.HoldsWithoutToken) {
		t.Errorf("hold-leak needs holds_without_token")
	}
}

// TestSelftestReduced is the selftest make test runs: three broken variants and one safe
// strategy under run/testdata/broken.yaml (payments outlast their holds, seats retaken) at
// one seed, on PostgreSQL, two at a time on two sets of services that the runs take turns on
// (each run on a fresh database and an empty Redis). phantom-refund and unstored-booking are caught by the checks meant
// for them; no-admission is not exercised (no bots, no waiting room) and so caught nowhere,
// which the selftest reports with exit 6; status-expiry raises no false alarm.
func TestSelftestReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end runs skipped in -short mode")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		testsvc.Unavailable(t, "redis-server is not installed")
	}
	out := filepath.Join(t.TempDir(), "selftest")
	var progress strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	m, dir, err := Run(ctx, Options{
		Scenarios:  []string{"../run/testdata/broken.yaml"},
		Seeds:      1,
		Strategies: []string{"phantom-refund", "unstored-booking", "no-admission", "status-expiry"},
		Run:        run.Options{DBs: []string{"postgres"}, Binary: stampedeBin},
		Out:        out, Progress: &progress,
		Parallel: 2, // four runs on two sets of services: the later runs reuse a set
	})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if dir != out {
		t.Errorf("dir %s, want %s", dir, out)
	}
	want := map[string]struct {
		outcome, check string
	}{
		"phantom-refund":   {Caught, "charges-matched"},
		"unstored-booking": {Caught, "bookings-exist"},
		"no-admission":     {NotExercised, ""},
	}
	if len(m.Variants) != len(want) {
		t.Fatalf("%d variant rows, want %d: %+v", len(m.Variants), len(want), m.Variants)
	}
	for _, v := range m.Variants {
		w := want[v.Name]
		if len(v.Cells) != 1 || v.Cells[0].Runs != 1 || len(v.Cells[0].Seeds) != 1 {
			t.Fatalf("%s: cells %+v, want one cell of one run", v.Name, v.Cells)
		}
		c := v.Cells[0]
		if got := c.Seeds[0].Outcome; got != w.outcome {
			t.Errorf("%s: outcome %s (checks %v), want %s", v.Name, got, c.Seeds[0].Checks, w.outcome)
		}
		if w.check != "" && c.By[w.check] != 1 {
			t.Errorf("%s: caught by %v, want %s", v.Name, c.By, w.check)
		}
	}
	if !slices.Equal(m.Undetected, []string{"no-admission"}) {
		t.Errorf("undetected %v, want [no-admission]", m.Undetected)
	}
	if m.SafeRuns != 1 || m.FalseAlarms != 0 || len(m.Safe) != 1 || m.Safe[0].Passed != 1 {
		t.Errorf("safe: %d runs, %d false alarms, rows %+v; want 1 run passed", m.SafeRuns, m.FalseAlarms, m.Safe)
	}
	if m.ExitCode != exitcode.Undetected || ExitCode(m) != exitcode.Undetected {
		t.Errorf("exit code %d, want %d (undetected)", m.ExitCode, exitcode.Undetected)
	}
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| phantom-refund | expired_mid_checkout | caught 1/1 |", "| no-admission | holds_without_token | caught 0/1, 1 not exercised |",
		"caught by no scenario: no-admission", "0 false alarm(s) in 1 runs"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("selftest.md lacks %q:\n%s", s, md)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var back Matrix
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("selftest.json: %v", err)
	}
	if back.Schema != Schema || back.ExitCode != m.ExitCode || len(back.Variants) != 3 || back.Scenarios[0].Name != "broken" {
		t.Errorf("selftest.json: %+v", back)
	}
	for _, sub := range []string{"phantom-refund-postgres", "unstored-booking-postgres", "no-admission-postgres", "status-expiry-postgres"} {
		if _, err := os.Stat(filepath.Join(dir, "runs", "broken", "seed-11", sub, "summary.json")); err != nil {
			t.Errorf("run directory %s: %v", sub, err)
		}
	}
}

// TestSelftestRefusesBadInput: an unknown strategy, a scenario that cannot be read and a used
// --out are input errors, before anything runs.
func TestSelftestRefusesBadInput(t *testing.T) {
	used := t.TempDir()
	if err := os.WriteFile(filepath.Join(used, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{Strategies: []string{"no-such"}, Out: filepath.Join(t.TempDir(), "a")},
		{Scenarios: []string{"no/such.yaml"}, Out: filepath.Join(t.TempDir(), "b")},
		{Scenarios: []string{"../run/testdata/broken.yaml"}, Out: used},
	} {
		m, _, err := Run(context.Background(), o)
		if m != nil || err == nil || !strings.Contains(err.Error(), ErrInput.Error()) {
			t.Errorf("Run(%+v) = %v, %v; want an input error", o, m, err)
		}
	}
}
