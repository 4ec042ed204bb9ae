package checker

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"stampede/history"
)

// chaosOptions name the faults as package chaos marks them, as a runner would.
var chaosOptions = Options{
	HoldLossFaults: []string{"redis-flush", "redis-restart"},
	PaymentFaults:  []string{"psp-ambiguous", "psp-delay", "psp-errors"},
	CrashFaults:    []string{"server-crash"},
}

func checkCoverageFile(t testing.TB, name string) Result {
	t.Helper()
	res, err := Check(context.Background(), Input{HistoryPath: filepath.Join("testdata", "coverage", name), Options: chaosOptions})
	if err != nil {
		t.Fatalf("Check(%s): %v", name, err)
	}
	return res
}

// TestGoldenCoverage pins the count of every hazard in each golden history: the hazards
// listed have exactly that count (and peak), every other hazard counts zero.
func TestGoldenCoverage(t *testing.T) {
	type want struct {
		count, peak int
	}
	tests := []struct {
		file string
		want map[history.Hazard]want
	}{
		// Three attempts on A-1-1 in flight at once (one granted, two refused; a refusal before
		// the inventory raced nobody); a multi-seat refusal counts on the seat it names; two
		// attempts on A-1-3 where one returned as the other was called do not overlap.
		{"concurrent-seat-holds.jsonl", map[history.Hazard]want{history.ConcurrentSeatHolds: {3, 3}}},
		// floor: three attempts chained by overlaps, at most two at once, the last refused
		// sold_out while racing; pit sold out to an attempt that raced nobody.
		{"concurrent-tier-holds.jsonl", map[history.Hazard]want{
			history.ConcurrentTierHolds: {3, 2}, history.TierSoldOut: {1, 0}}},
		// h1 and h6 expire unbought; h1's seat is held again after its expiry and h3's after its
		// release; h5 is bought and its seat refused afterwards.
		{"holds-expired-and-reheld.jsonl", map[history.Hazard]want{
			history.HoldsExpired: {2, 0}, history.SeatReheld: {2, 0}}},
		// h1 expires while its checkout pays and is confirmed, h2 expires while its checkout
		// pays and is refused; h4 is confirmed well after its expiry (nobody took the seat),
		// so h2 and h4 reached their expiry unbought.
		{"expiry-during-checkout.jsonl", map[history.Hazard]want{
			history.ExpiredMidCheckout: {2, 0}, history.ConfirmedAfterExpiry: {2, 0}, history.HoldsExpired: {2, 0}}},
		// Three checkouts of unknown outcome: h1's in the psp-ambiguous window (which ends at
		// its fault-end's return) and retried, h4's before it and retried, h2's after it and
		// never retried.
		{"unknown-checkouts.jsonl", map[history.Hazard]want{
			history.UnknownCheckoutRetried: {2, 0}, history.PSPAnswerLost: {1, 0}}},
		// h1's checkout is cut by the crash, h2's fails during the restart, h3's comes after;
		// h4's is caught by a fault the schedule triggered at the after-charge failpoint, a
		// processor fault, so its unknown outcome is a processor answer lost too.
		{"crash-mid-checkout.jsonl", map[history.Hazard]want{
			history.CrashMidCheckout: {3, 0}, history.PSPAnswerLost: {1, 0}}},
		// h1 was held before the restart and h5 during it; h2 had expired, h3 was sold and h4
		// released before it, h6 came after it; the flush that could not be injected wiped
		// nothing.
		{"holds-at-state-loss.jsonl", map[history.Hazard]want{
			history.HoldsAtStateLoss: {2, 0}, history.HoldsExpired: {1, 0}}},
		// Two holds without a token on e1, whose waiting room admitted a session (one for a
		// seat, one for the tier, both refused); one on e2, which has no waiting room.
		{"holds-without-token.jsonl", map[history.Hazard]want{history.HoldsWithoutToken: {2, 0}}},
		{"nothing-exercised.jsonl", nil},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".jsonl"), func(t *testing.T) {
			res := checkCoverageFile(t, tt.file)
			if res.Status != Pass {
				t.Fatalf("result = %s, want pass (the golden histories are correct); failed %v", res.Status, res.Failed())
			}
			if got, want := len(res.Coverage), len(history.Hazards()); got != want {
				t.Fatalf("coverage has %d rows, want one per hazard (%d)", got, want)
			}
			for i, row := range res.Coverage {
				if row.Hazard != history.Hazards()[i] {
					t.Errorf("coverage row %d is %s, want %s (the order of history.Hazards)", i, row.Hazard, history.Hazards()[i])
				}
				w := tt.want[row.Hazard]
				if row.Count != w.count || row.Peak != w.peak {
					t.Errorf("%s: count %d peak %d, want count %d peak %d", row.Hazard, row.Count, row.Peak, w.count, w.peak)
				}
				if !slices.Equal(row.Checks, feeds[row.Hazard]) || len(row.Checks) == 0 {
					t.Errorf("%s feeds %v, want %v", row.Hazard, row.Checks, feeds[row.Hazard])
				}
			}
		})
	}
}

// TestNotExercised: a pass whose hazards all counted zero is not exercised, naming them; a
// pass with one of them is a pass; the result is still a pass.
func TestNotExercised(t *testing.T) {
	res := checkCoverageFile(t, "nothing-exercised.jsonl")
	if res.Status != Pass || !res.OK {
		t.Fatalf("result = %s (ok %v), want pass: not exercised is not a failure", res.Status, res.OK)
	}
	v := res.Verdict(CheckLinearizability)
	if v.Status != NotExercised {
		t.Fatalf("linearizability of a run without hazards = %s, want %s", v.Status, NotExercised)
	}
	for _, h := range HazardsOf(CheckLinearizability) {
		if !strings.Contains(v.Note, string(h)) {
			t.Errorf("note %q does not name hazard %s", v.Note, h)
		}
	}
	for _, v := range res.Verdicts {
		if v.Status == Pass {
			t.Errorf("%s = pass in a run that exercised nothing", v.Check)
		}
	}

	res = checkCoverageFile(t, "holds-without-token.jsonl")
	if v := res.Verdict(CheckAdmission); v.Status != Pass {
		t.Errorf("admission with bots refused = %s, want pass", v.Status)
	}
	if v := res.Verdict(CheckLinearizability); v.Status != NotExercised {
		t.Errorf("linearizability without contention = %s, want %s", v.Status, NotExercised)
	}

	// A violation is reported whatever the coverage.
	bad := checkFile(t, "bad-double-sale.jsonl", Options{})
	if v := bad.Verdict(CheckLinearizability); v.Status != Fail {
		t.Errorf("linearizability of a double sale = %s, want fail", v.Status)
	}
}

// TestEveryCheckHasHazards: each check is fed by some hazard, so that it can be exercised.
func TestEveryCheckHasHazards(t *testing.T) {
	res := checkCoverageFile(t, "nothing-exercised.jsonl")
	for _, v := range res.Verdicts {
		if len(HazardsOf(v.Check)) == 0 {
			t.Errorf("check %s is fed by no hazard", v.Check)
		}
	}
	for h, checks := range feeds {
		if !h.Known() {
			t.Errorf("feeds names unknown hazard %q", h)
		}
		for _, c := range checks {
			if res.Verdict(c) == nil {
				t.Errorf("hazard %s feeds unknown check %q", h, c)
			}
		}
	}
}

func TestShortfalls(t *testing.T) {
	res := checkCoverageFile(t, "concurrent-seat-holds.jsonl")
	tests := []struct {
		name string
		min  map[history.Hazard]int
		want []string
	}{
		{"none asked", nil, nil},
		{"reached", map[history.Hazard]int{history.ConcurrentSeatHolds: 3}, nil},
		{"zero asked of a hazard that did not occur", map[history.Hazard]int{history.HoldsExpired: 0}, nil},
		{"short", map[history.Hazard]int{history.ConcurrentSeatHolds: 4, history.ExpiredMidCheckout: 1, history.HoldsExpired: 0},
			[]string{"concurrent_seat_holds: 3 of at least 4", "expired_mid_checkout: 0 of at least 1"}},
		{"unknown hazard", map[history.Hazard]int{"seats_teleported": 1},
			[]string{"seats_teleported: 0 of at least 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range res.Coverage.Shortfalls(tt.min) {
				got = append(got, s.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Shortfalls(%v) = %q, want %q", tt.min, got, tt.want)
			}
		})
	}
}

func TestOverlaps(t *testing.T) {
	tests := []struct {
		name      string
		spans     []span
		n, peak   int
		hitByCall map[int64]bool
	}{
		{"empty", nil, 0, 0, nil},
		{"alone", []span{{call: 1, ret: 5}}, 0, 1, map[int64]bool{1: false}},
		{"touching", []span{{call: 1, ret: 5}, {call: 5, ret: 9}}, 0, 1, map[int64]bool{1: false, 5: false}},
		{"nested", []span{{call: 1, ret: 10}, {call: 2, ret: 3}, {call: 4, ret: 5}, {call: 11, ret: 12}}, 3, 2,
			map[int64]bool{1: true, 2: true, 4: true, 11: false}},
		{"same call", []span{{call: 3, ret: 4}, {call: 3, ret: 8}, {call: 3, ret: 3}}, 2, 2, map[int64]bool{}},
		{"chain", []span{{call: 0, ret: 10}, {call: 9, ret: 20}, {call: 19, ret: 30}, {call: 30, ret: 31}}, 3, 2,
			map[int64]bool{0: true, 9: true, 19: true, 30: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans := slices.Clone(tt.spans)
			n, peak, hit := overlaps(spans)
			if n != tt.n || peak != tt.peak {
				t.Errorf("overlaps(%v) = %d, peak %d; want %d, peak %d", tt.spans, n, peak, tt.n, tt.peak)
			}
			for i, s := range spans {
				if want, ok := tt.hitByCall[s.call]; ok && hit[i] != want {
					t.Errorf("span %+v overlapped = %v, want %v", s, hit[i], want)
				}
			}
		})
	}
}

// TestFailedFaultOpensNoWindow: a fault-start that carries an error was never injected: no
// window, no counterexample said to follow it, no complaint about its fault-end.
func TestFailedFaultOpensNoWindow(t *testing.T) {
	res := checkFile(t, "bad-double-sale-after-failed-fault.jsonl", Options{HoldLossFaults: restartLosesHolds})
	if len(res.Faults) != 0 {
		t.Errorf("fault windows = %+v, want none: the restart was not injected", res.Faults)
	}
	for _, w := range res.Warnings {
		if strings.Contains(w, "fault") {
			t.Errorf("warning %q about the fault that was not injected", w)
		}
	}
	v := res.Verdict(CheckLinearizability)
	if v.Status != Fail || len(v.Examples) == 0 {
		t.Fatalf("linearizability = %s, want the double sale", v.Status)
	}
	if f := v.Examples[0].Fault; f != nil {
		t.Errorf("counterexample %q names fault %+v, which was never injected", v.Examples[0].Summary(), f)
	}
}

// TestFaultWindowEndsAtRecovery: the schedule writes a fault-end with the window's start as
// its call and the recovery as its return; the window lasts until the return.
func TestFaultWindowEndsAtRecovery(t *testing.T) {
	res := checkCoverageFile(t, "unknown-checkouts.jsonl")
	if len(res.Faults) != 1 || res.Faults[0].Start != 1e9 || res.Faults[0].End != 2e9 || res.Faults[0].Open {
		t.Fatalf("fault windows = %+v, want psp-ambiguous from 1s to 2s", res.Faults)
	}
}

func TestCoverageTable(t *testing.T) {
	res := checkCoverageFile(t, "concurrent-seat-holds.jsonl")
	var b bytes.Buffer
	if err := res.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`(?m)^HAZARD\s+COUNT\s+PEAK\s+FEEDS$`, `(?m)^concurrent_seat_holds\s+3\s+3\s+linearizability, no-double-sale, seat-states$`,
		`(?m)^holds_expired\s+0\s+-\s`, `(?m)^false-sell-outs\s+not-exercised\s+0\s+none of its hazards occurred: holds_expired, seat_reheld$`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("table does not match %s:\n%s", want, out)
		}
	}
}
