package checker

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"stampede/history"
)

// TestParallelAgreesWithSequential checks every golden history and generated ones (correct
// and broken herds, adversarial hot seats of every broken server) with one worker, where
// everything runs in the calling goroutine in order (decoding, the spill, the buckets, the
// seats), and with several, where decoding, indexing, spilling, reading buckets back and
// checking seats overlap: the verdicts, counterexamples, hazard counts, statistics and
// warnings must be the same, in memory and spilled to disk. The goldens include each kind of
// violation the checker knows (testdata/lin's bad-* histories), so an agreement that lost
// power would show as a pass against a fail.
func TestParallelAgreesWithSequential(t *testing.T) {
	type tc struct {
		name string
		in   Input // History or HistoryPath, and the ledgers; Options are set below
	}
	var cases []tc
	for _, dir := range []string{"lin", "coverage"} {
		paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.jsonl"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("golden histories in testdata/%s: %v (%d found)", dir, err, len(paths))
		}
		for _, p := range paths {
			cases = append(cases, tc{dir + "/" + filepath.Base(p), Input{HistoryPath: p}})
		}
	}
	run, err := LoadDir(filepath.Join("testdata", "run"))
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, tc{"run", run})
	cases = append(cases, tc{"hotseat run", Input{History: hotSeatRun(t)}})
	for _, bug := range []simBug{bugNone, bugNaive, bugNoFencing, bugIgnoreHolder} {
		cfg := defaultSim(400, 4000, 11)
		cfg.TTL, cfg.Bug = 200*time.Millisecond, bug
		recs, _ := simRecords(t, cfg)
		cases = append(cases, tc{"herd " + bug.String(), Input{History: recs}})
	}
	for _, bug := range append([]advBug{advCorrect}, advBugs...) {
		cfg := hotSeatConfig(2, 1200, bug)
		cfg.BugAfter = 0.3
		recs, _ := advRecords(t, cfg)
		cases = append(cases, tc{"hot seats " + bug.String(), Input{History: recs}})
	}

	failing := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if in.History != nil {
				// From a file too: the parallel path starts at the decoding.
				path := filepath.Join(t.TempDir(), history.FileName)
				writeRecords(t, path, in.History)
				in.History, in.HistoryPath = nil, path
			}
			check := func(workers, resident int) Result {
				t.Helper()
				in := in
				in.Options = advOptions()
				in.Options.Grace = time.Second
				in.Options.HoldLossFaults = restartLosesHolds
				in.Options.Workers, in.Options.MaxResidentOps, in.Options.TempDir = workers, resident, t.TempDir()
				res, err := Check(context.Background(), in)
				if err != nil {
					t.Fatalf("Check with %d workers, %d resident: %v", workers, resident, err)
				}
				return res
			}
			want := check(1, 0)
			if want.Status == Fail {
				failing++
			}
			for _, v := range []struct{ workers, resident int }{{1, 50}, {4, 0}, {4, 50}, {2, 50}} {
				got := check(v.workers, v.resident)
				what := fmt.Sprintf("%d workers, %d resident (0: the default)", v.workers, v.resident)
				sameJudgement(t, what+", against one worker", got, want)
				if !reflect.DeepEqual(got.Warnings, want.Warnings) || got.Records != want.Records || got.Status != want.Status {
					t.Errorf("%s: status %s, %d records, warnings %q; one worker's %s, %d, %q",
						what, got.Status, got.Records, got.Warnings, want.Status, want.Records, want.Warnings)
				}
			}
		})
	}
	// The goldens and the broken servers must give failing histories, or the agreement would
	// say nothing about the checker's power.
	if failing < 10 {
		t.Errorf("only %d of %d histories failed; the set must hold violations", failing, len(cases))
	}
}

// sameJudgement reports where got differs from want in verdicts (with their counterexamples),
// coverage or linearizability statistics (their durations aside); what names got.
func sameJudgement(t *testing.T, what string, got, want Result) {
	t.Helper()
	if !reflect.DeepEqual(got.Verdicts, want.Verdicts) {
		t.Errorf("%s: verdicts differ:\n got %+v\nwant %+v", what, got.Verdicts, want.Verdicts)
	}
	if !reflect.DeepEqual(got.Coverage, want.Coverage) {
		t.Errorf("%s: coverage differs:\n got %+v\nwant %+v", what, got.Coverage, want.Coverage)
	}
	gs, ws := got.Linearizability, want.Linearizability
	gs.Duration, ws.Duration = 0, 0
	if gs != ws {
		t.Errorf("%s: statistics %+v, want %+v", what, gs, ws)
	}
}
