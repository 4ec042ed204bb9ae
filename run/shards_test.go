package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stampede/checker"
	"stampede/history"
	"stampede/internal/proc"
	"stampede/reports"
)

// opCounts counts a history's records by kind, outcome and error code: what a herd did, apart
// from when.
func opCounts(t *testing.T, path string) (map[string]int, *history.Header) {
	t.Helper()
	recs, err := history.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	out := map[string]int{}
	var h *history.Header
	for _, r := range recs {
		if r.Op == history.KindHeader {
			if h != nil {
				t.Fatalf("%s has two headers", path)
			}
			h = r.Header
			continue
		}
		out[fmt.Sprintf("%s %s %s", r.Op, r.Type, r.Out.Code)]++
	}
	return out, h
}

// TestRunShardedMatchesUnsharded runs testdata/shards.yaml, whose every outcome the seed fixes,
// once in this process and once as three driver processes: the same verdict, the same
// bookings, refunds, users and requests, the same outcomes per operation, the same checks with
// the same counts and SLOs judged alike; the merged history holds every shard's operations and
// the fault records under one header with the clock skew bound, and the metrics are merged.
func TestRunShardedMatchesUnsharded(t *testing.T) {
	o := Options{Scenario: "testdata/shards.yaml", Strategies: []string{"skip-locked"}, DBs: []string{"postgres"}}
	one, oneDir := runE2E(t, o)
	o.Shards = 3
	three, threeDir := runE2E(t, o)

	if len(one.Runs) != 1 || len(three.Runs) != 1 {
		t.Fatalf("%d and %d runs, want 1 each", len(one.Runs), len(three.Runs))
	}
	a, b := one.Runs[0], three.Runs[0]
	if a.Verdict != reports.Pass || b.Verdict != reports.Pass {
		t.Fatalf("verdicts %s (%v) unsharded, %s (%v) sharded; want pass both", a.Verdict, a.Reasons, b.Verdict, b.Reasons)
	}
	if a.Bookings == 0 || a.Refunds != 0 {
		t.Fatalf("unsharded: %d bookings, %d refunds; the scenario books without refunds", a.Bookings, a.Refunds)
	}
	for _, c := range []struct {
		what string
		x, y int64
	}{{"bookings", a.Bookings, b.Bookings}, {"refunds", a.Refunds, b.Refunds}, {"users", a.Users, b.Users},
		{"requests", a.Requests, b.Requests}, {"charged cents", a.ChargedCents, b.ChargedCents}} {
		if c.x != c.y {
			t.Errorf("%s: %d unsharded, %d sharded", c.what, c.x, c.y)
		}
	}
	for op, oc := range a.Outcomes {
		for k, n := range oc {
			if m := b.Outcomes[op][k]; m != n {
				t.Errorf("%s %s: %d unsharded, %d sharded", op, k, n, m)
			}
		}
	}
	if len(a.Checks) != len(b.Checks) {
		t.Fatalf("%d checks unsharded, %d sharded", len(a.Checks), len(b.Checks))
	}
	// Linearizability and false sell-outs count the seats and general-admission units that had
	// operations: which units a hold gets depends on which were released when it came, which
	// timing decides, sharded or not.
	byUnit := []string{checker.CheckLinearizability, checker.CheckFalseSellOuts}
	// Whether two holds of a seat overlapped in time (the hazard that makes a passing check
	// exercised) is timing too: pass and not-exercised are the same verdict on the system.
	outcome := func(r string) string {
		if r == reports.NotExercised {
			return reports.Pass
		}
		return r
	}
	for i, c := range a.Checks {
		d := b.Checks[i]
		if c.Name != d.Name || outcome(c.Result) != outcome(d.Result) || (c.Count != d.Count && !slices.Contains(byUnit, c.Name)) {
			t.Errorf("check %s %s (%d) unsharded, %s %s (%d) sharded", c.Name, c.Result, c.Count, d.Name, d.Result, d.Count)
		}
	}
	if len(a.SLOs) != len(b.SLOs) || len(b.SLOs) == 0 {
		t.Fatalf("SLOs %+v unsharded, %+v sharded", a.SLOs, b.SLOs)
	}
	for i := range a.SLOs {
		if a.SLOs[i].Name != b.SLOs[i].Name || a.SLOs[i].Pass != b.SLOs[i].Pass {
			t.Errorf("SLO %+v unsharded, %+v sharded", a.SLOs[i], b.SLOs[i])
		}
	}
	if len(b.Faults) != 1 || b.Faults[0].Error != "" || b.Faults[0].Start < 0.5 || b.Faults[0].End <= b.Faults[0].Start {
		t.Errorf("sharded faults %+v, want the psp-delay injected about 1 s into the herd and recovered", b.Faults)
	}
	if len(b.Series) == 0 {
		t.Error("sharded run: no per-second series (metrics.jsonl not merged)")
	}

	ops1, _ := opCounts(t, filepath.Join(oneDir, a.Dir, history.FileName))
	ops3, h := opCounts(t, filepath.Join(threeDir, b.Dir, history.FileName))
	if len(ops1) == 0 || !mapsEqual(ops1, ops3) {
		t.Errorf("history records by kind, outcome and code:\n unsharded %v\n sharded   %v", ops1, ops3)
	}
	if h == nil || h.ClockSkew != int64(shardClockSkew) || h.Strategy != "skip-locked" || h.DB != "postgres" {
		t.Errorf("merged history header %+v, want skip-locked on postgres with clock skew %s", h, shardClockSkew)
	}
	for i := range 3 {
		shard := filepath.Join(threeDir, b.Dir, fmt.Sprintf("shard-%d", i))
		_, sh := opCounts(t, filepath.Join(shard, history.FileName))
		if want := fmt.Sprintf("%d/3", i); sh == nil || sh.Shard != want {
			t.Errorf("%s: header %+v, want shard %s", shard, sh, want)
		}
		if _, err := os.Stat(shard + ".log"); err != nil {
			t.Errorf("shard %d: no log: %v", i, err)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRunShardedCatchesBroken runs the broken confirm of status-expiry (testdata/broken.yaml:
// every payment outlasts its hold and another buyer takes the seat meanwhile) as three driver
// processes: the merged history and ledger show the seats sold twice, as the unsharded run
// does (TestRunCatchesStatusExpiryBlind).
func TestRunShardedCatchesBroken(t *testing.T) {
	sum, dir := runE2E(t, Options{Scenario: "testdata/broken.yaml", Strategies: []string{"status-expiry-blind"},
		DBs: []string{"postgres"}, AllowUnsafe: true, Shards: 3})
	if len(sum.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(sum.Runs))
	}
	assertCaught(t, sum.Runs[0], dir)
}

// TestShardFailureStopsTheOthers: a shard process that fails stops the shards still running,
// and the error names it with the end of its log; the shards stopped for it are not blamed.
func TestShardFailureStopsTheOthers(t *testing.T) {
	dir := t.TempDir()
	start := func(name, script string) *shard {
		sh := &shard{name: name, dir: filepath.Join(dir, name)}
		task, err := proc.StartTask("shard "+name, "/bin/sh", []string{"-c", script}, nil, filepath.Join(dir, strings.ReplaceAll(name, "/", "-")+".log"))
		if err != nil {
			t.Fatal(err)
		}
		sh.task = task
		return sh
	}
	// The healthy shard ends on Ctrl-C as a driver does (exit status 130); the other fails
	// once the healthy one is ready for it.
	ready := filepath.Join(dir, "ready")
	shards := []*shard{
		start("0/2", fmt.Sprintf("trap 'exit 130' INT; touch %s; while :; do sleep 0.1; done", ready)),
		start("1/2", fmt.Sprintf("while [ ! -f %s ]; do sleep 0.05; done; echo 'stampede drive: target unreachable' >&2; exit 4", ready)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &single{progress: &progress{w: os.Stderr}}
	err := s.waitShards(ctx, shards)
	if err == nil {
		t.Fatal("waitShards: no error, want shard 1/2's failure")
	}
	msg := err.Error()
	if !strings.Contains(msg, "shard 1/2") || !strings.Contains(msg, "exit status 4") || !strings.Contains(msg, "target unreachable") {
		t.Errorf("error %q does not name shard 1/2, its exit status and its log's end", msg)
	}
	if strings.Contains(msg, "shard 0/2") {
		t.Errorf("error %q blames shard 0/2, which was stopped for the other's failure", msg)
	}
	if code := shards[0].task.ExitCode(); code != 130 {
		t.Errorf("shard 0/2 ended with %d, want 130: interrupted", code)
	}
	if !slices.ContainsFunc(shards, func(sh *shard) bool { return sh.err != nil }) {
		t.Error("no shard marked failed")
	}
}
