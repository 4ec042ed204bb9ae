package checker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"stampede/history"
)

// TestSpilledCheckAgrees checks the same histories in memory and spilled to disk (a bound of
// a hundred resident seat operations forces the spill): every verdict, counterexample,
// hazard count and statistic must be the same, and nothing may be left in the temporary
// directory. The histories are a correct herd, a broken herd and broken hot seats, read from
// a file (streamed) and from records.
func TestSpilledCheckAgrees(t *testing.T) {
	type tc struct {
		name string
		recs []history.Record
	}
	var cases []tc
	cfg := defaultSim(300, 3000, 5)
	cfg.TTL = 200 * time.Millisecond
	recs, _ := simRecords(t, cfg)
	cases = append(cases, tc{"correct herd", recs})
	cfg.Bug = bugNoFencing
	recs, _ = simRecords(t, cfg)
	cases = append(cases, tc{"no-fencing herd", recs})
	hot, _ := advRecords(t, hotSeatConfig(3, 1500, advDoubleHold))
	cases = append(cases, tc{"double-hold hot seats", hot})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), history.FileName)
			writeRecords(t, path, c.recs)
			base := Options{ClockSkew: 50 * time.Millisecond, Grace: time.Second, MaxVisualizations: -1, Timeout: 10 * time.Second}
			want, err := Check(context.Background(), Input{History: c.recs, Options: base})
			if err != nil {
				t.Fatal(err)
			}
			for _, fromFile := range []bool{false, true} {
				tmp := t.TempDir()
				opts := base
				opts.MaxResidentOps, opts.TempDir = 100, tmp
				in := Input{History: c.recs, Options: opts}
				if fromFile {
					in = Input{HistoryPath: path, Options: opts}
				}
				got, err := Check(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				sameJudgement(t, fmt.Sprintf("spilled (from file %v), against in memory", fromFile), got, want)
				if left, err := os.ReadDir(tmp); err != nil || len(left) > 0 {
					t.Errorf("the spill left %v in its temporary directory (%v)", left, err)
				}
			}
			if want.Verdict(CheckLinearizability).Status == Unknown {
				t.Errorf("linearizability undecided: %+v", want.Verdict(CheckLinearizability))
			}
		})
	}
}

// TestSpillDirectoryMissing: a temporary directory that does not exist is an error that says
// so, not a panic or a silent in-memory check.
func TestSpillDirectoryMissing(t *testing.T) {
	recs, _ := simRecords(t, defaultSim(100, 500, 1))
	_, err := Check(context.Background(), Input{History: recs, Options: Options{MaxResidentOps: 10, TempDir: filepath.Join(t.TempDir(), "absent")}})
	if err == nil {
		t.Fatal("Check with a missing temporary directory: no error")
	}
	t.Log(err)
}

// writeRecords writes recs as a history file at path.
func writeRecords(t testing.TB, path string, recs []history.Record) {
	t.Helper()
	w, err := history.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
