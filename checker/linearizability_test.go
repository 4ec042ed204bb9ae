package checker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stampede/history"
)

// checkFile runs Check on a golden history with the given options.
func checkFile(t testing.TB, name string, opts Options) Result {
	t.Helper()
	res, err := Check(context.Background(), Input{HistoryPath: filepath.Join("testdata", "lin", name), Options: opts})
	if err != nil {
		t.Fatalf("Check(%s): %v", name, err)
	}
	return res
}

// restartLosesHolds is what a runner tells the checker about the fault of the golden
// histories with a Redis restart: package chaos marks it as losing holds.
var restartLosesHolds = []string{"redis-restart"}

func TestGoldenLinearizable(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts Options
		// want is the verdict: Pass, or NotExercised where the history has no concurrent
		// hold, expiry or resale for the check to be exercised by.
		want Status
	}{
		{"concurrent overlapping holds", "ok-overlapping-holds.jsonl", Options{}, Pass},
		{"expiry then resale, within the skew tolerance", "ok-expiry-resale.jsonl", Options{ClockSkew: 50 * time.Millisecond}, Pass},
		{"info operations", "ok-info.jsonl", Options{ClockSkew: 50 * time.Millisecond}, Pass},
		{"confirm after expiry with nobody taking the seat", "ok-confirm-after-expiry.jsonl", Options{}, Pass},
		// The confirm takes the seat back after its hold expired (shown available, then held
		// again, then sold): the claim step of a two-step confirm.
		{"confirm claiming the seat again after its hold expired", "ok-confirm-claims-after-expiry.jsonl", Options{}, Pass},
		{"hold lost in a Redis restart, seat sold to another", "ok-hold-lost-in-restart.jsonl", Options{HoldLossFaults: restartLosesHolds}, Pass},
		{"seat freed by a checkout answered hold_lost, sold to another", "ok-hold-lost-frees-seat.jsonl", Options{}, Pass},
		{"snapshot read showing available a seat sold after its as_of", "ok-snapshot-stale-read.jsonl", Options{}, NotExercised},
		{"snapshot read within the skew tolerance", "ok-snapshot-stale-read.jsonl", Options{ClockSkew: 50 * time.Millisecond}, NotExercised},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := checkFile(t, tt.file, tt.opts)
			v := res.Verdict(CheckLinearizability)
			want := tt.want
			if want == "" {
				want = Pass
			}
			if v.Status != want {
				t.Fatalf("linearizability of %s = %s, want %s; examples: %+v", tt.file, v.Status, want, v.Examples)
			}
			if res.Linearizability.Partitions == 0 || res.Linearizability.Ops == 0 {
				t.Errorf("stats = %+v, want seats and operations", res.Linearizability)
			}
		})
	}
}

func TestGoldenNotLinearizable(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		opts     Options
		seat     string
		culprit  int   // record index of the operation that cannot be explained
		involved []int // record indexes that must be reported
		message  string
		fault    string
	}{
		{name: "double sale", file: "bad-double-sale.jsonl", seat: "D-1-1", culprit: 2, involved: []int{1, 2},
			message: "held by h1"},
		{name: "double sale after a fault that could not be injected", file: "bad-double-sale-after-failed-fault.jsonl",
			opts: Options{HoldLossFaults: restartLosesHolds}, seat: "D-1-1", culprit: 4, involved: []int{3, 4}, message: "held by h1"},
		{name: "confirm of an expired hold after another client bought the seat", file: "bad-stale-confirm.jsonl", opts: Options{HoldLossFaults: restartLosesHolds},
			seat: "E-1-1", culprit: 4, involved: []int{2, 3, 4}, message: "sold to b2 (h2)", fault: "redis-restart"},
		{name: "confirm ignoring who holds the seat", file: "bad-confirm-ignores-holder.jsonl",
			seat: "F-1-1", culprit: 3, involved: []int{2, 3}, message: "held by h2"},
		{name: "sale of an unexpired hold to another client", file: "bad-unexpired-resale.jsonl",
			seat: "G-1-1", culprit: 2, involved: []int{1, 2}, message: "held by h1"},
		{name: "confirm of a released hold", file: "bad-confirm-released.jsonl",
			seat: "H-1-1", culprit: 3, involved: []int{1, 2, 3}, message: "the seat was available"},
		{name: "sold seat reported available", file: "bad-sold-then-available.jsonl",
			seat: "J-1-1", culprit: 3, involved: []int{2, 3}, message: "sold to b1"},
		{name: "sold seat reported held", file: "bad-sold-then-held.jsonl",
			seat: "J-1-1", culprit: 3, involved: []int{2, 3}, message: "sold to b1"},
		{name: "general-admission unit held twice", file: "bad-ga-unit.jsonl",
			seat: "floor#u2", culprit: 2, involved: []int{1, 2}, message: "held by h1"},
		{name: "confirm of a hold lost in a restart after the seat was sold", file: "bad-confirm-lost-hold.jsonl", opts: Options{HoldLossFaults: restartLosesHolds},
			seat: "K-1-1", culprit: 6, involved: []int{4, 5, 6}, message: "sold to b2 (h2)", fault: "redis-restart"},
		{name: "resale during a fault that loses no holds (the zero Options name none)", file: "ok-hold-lost-in-restart.jsonl", opts: Options{},
			seat: "K-1-1", culprit: 4, involved: []int{1, 4}, message: "held by h1 until 10.010s", fault: "redis-restart"},
		{name: "resale of a held seat before its checkout answered hold_lost", file: "bad-resale-before-hold-lost.jsonl",
			seat: "L-1-1", culprit: 2, involved: []int{1, 2}, message: "held by h1"},
		{name: "snapshot showing available a seat sold before its as_of", file: "bad-snapshot-shows-sold-seat.jsonl",
			seat: "S-1-1", culprit: 3, involved: []int{2, 3}, message: "sold to b1"},
		{name: "snapshot showing available a seat sold before its as_of, with skew tolerance", file: "bad-snapshot-shows-sold-seat.jsonl",
			opts: Options{ClockSkew: 20 * time.Millisecond}, seat: "S-1-1", culprit: 3, involved: []int{2, 3}, message: "sold to b1"},
		{name: "seat shown held again after another hold had it, only a confirm's claim could explain", file: "bad-claim-after-another-hold.jsonl",
			seat: "C-1-1", culprit: 5, involved: []int{3, 5}, message: "h2 expired"},
		{name: "resale before expiry without skew tolerance", file: "ok-expiry-resale.jsonl",
			seat: "A-2-3", culprit: 11, involved: []int{10, 11}, message: "held by h7 until 1.000s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := tt.opts
			opts.OutDir = dir
			res := checkFile(t, tt.file, opts)
			v := res.Verdict(CheckLinearizability)
			if v.Status != Fail || v.Count != 1 {
				t.Fatalf("linearizability of %s = %s (count %d), want fail on one seat", tt.file, v.Status, v.Count)
			}
			if res.OK || res.Status != Fail {
				t.Errorf("result status = %s, ok = %v; want fail", res.Status, res.OK)
			}
			ce := v.Examples[0]
			if ce.Seat != tt.seat {
				t.Errorf("counterexample seat = %q, want %q", ce.Seat, tt.seat)
			}
			var culprits, got []int
			for _, op := range ce.Ops {
				got = append(got, op.Index)
				if op.Culprit {
					culprits = append(culprits, op.Index)
				}
			}
			if !slices.Equal(culprits, []int{tt.culprit}) {
				t.Errorf("culprits = %v, want [%d]; ops %+v", culprits, tt.culprit, ce.Ops)
			}
			for _, want := range tt.involved {
				if !slices.Contains(got, want) {
					t.Errorf("ops involved = %v, want %d among them", got, want)
				}
			}
			if !strings.Contains(ce.Message, tt.message) {
				t.Errorf("message = %q, want it to mention %q", ce.Message, tt.message)
			}
			if !ce.HasTime {
				t.Errorf("counterexample has no time")
			}
			switch {
			case tt.fault == "" && ce.Fault != nil:
				t.Errorf("fault = %+v, want none", ce.Fault)
			case tt.fault != "" && (ce.Fault == nil || ce.Fault.Name != tt.fault):
				t.Errorf("fault = %+v, want %s", ce.Fault, tt.fault)
			}
			if ce.Visualization == "" {
				t.Fatalf("no visualization written")
			}
			html, err := os.ReadFile(ce.Visualization)
			if err != nil {
				t.Fatalf("read visualization: %v", err)
			}
			if !strings.Contains(string(html), "violation") {
				t.Errorf("visualization %s lacks the violation annotation", ce.Visualization)
			}
			if tt.fault != "" && !strings.Contains(string(html), tt.fault) {
				t.Errorf("visualization %s lacks the %s fault annotation", ce.Visualization, tt.fault)
			}
		})
	}
}

// TestSnapshotReadNeedsItsAsOf checks that the stale read of the golden history passes
// because of its as_of: without it the read is placed within its own call and return, after
// the sale, where showing the seat available is a violation.
func TestSnapshotReadNeedsItsAsOf(t *testing.T) {
	recs, err := history.ReadFile(filepath.Join("testdata", "lin", "ok-snapshot-stale-read.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		recs[i].Out.AsOf = 0
	}
	res, err := Check(context.Background(), Input{History: recs})
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Verdict(CheckLinearizability); v.Status != Fail {
		t.Errorf("linearizability of the stale read without its as_of = %s, want fail", v.Status)
	}
}

// TestSnapshotReadWithoutHeader checks that a read's as_of is ignored, with a warning, when no
// header places the server's clock on the run's axis.
func TestSnapshotReadWithoutHeader(t *testing.T) {
	recs, err := history.ReadFile(filepath.Join("testdata", "lin", "ok-snapshot-stale-read.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Check(context.Background(), Input{History: recs[1:]})
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Verdict(CheckLinearizability); v.Status != Fail {
		t.Errorf("linearizability without a header = %s, want fail (the read checked within its own interval)", v.Status)
	}
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "as_of")
	}
	if !found {
		t.Errorf("warnings %q do not mention the reads' as_of", res.Warnings)
	}
}

// TestRecordsAndFileAgree checks that the in-memory and streamed inputs give the same verdict.
func TestRecordsAndFileAgree(t *testing.T) {
	for _, name := range []string{"bad-stale-confirm.jsonl", "ok-info.jsonl"} {
		t.Run(name, func(t *testing.T) {
			recs, err := history.ReadFile(filepath.Join("testdata", "lin", name))
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{ClockSkew: 50 * time.Millisecond, HoldLossFaults: restartLosesHolds}
			fromRecs, err := Check(context.Background(), Input{History: recs, Options: opts})
			if err != nil {
				t.Fatal(err)
			}
			fromFile := checkFile(t, name, opts)
			a, b := fromRecs.Verdict(CheckLinearizability), fromFile.Verdict(CheckLinearizability)
			if a.Status != b.Status || a.Count != b.Count || len(a.Examples) != len(b.Examples) {
				t.Fatalf("records give %s/%d, file gives %s/%d", a.Status, a.Count, b.Status, b.Count)
			}
			for i := range a.Examples {
				if a.Examples[i].Summary() != b.Examples[i].Summary() {
					t.Errorf("example %d: records %q, file %q", i, a.Examples[i].Summary(), b.Examples[i].Summary())
				}
			}
		})
	}
}
