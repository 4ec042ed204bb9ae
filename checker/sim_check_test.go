package checker

import (
	"context"
	"testing"
	"time"

	"stampede/history"
)

// TestSimulatedCorrectServerPasses feeds histories of a correct simulated server (contended
// hot seats, multi-seat holds, expiries mid-payment, releases, reads, lost answers) to the
// checker: it must find nothing, with or without a clock-skew tolerance. A check passes, or
// is not exercised when the simulation created none of its hazards (its retries of unknown
// checkouts mostly fall past its end, so idempotency often has nothing to judge).
func TestSimulatedCorrectServerPasses(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		for _, skew := range []time.Duration{0, 50 * time.Millisecond} {
			cfg := defaultSim(400, 4000, seed)
			cfg.TTL = 200 * time.Millisecond
			recs, _ := simRecords(t, cfg)
			res, err := Check(context.Background(), Input{History: recs, Options: Options{ClockSkew: skew, Grace: time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{CheckLinearizability, CheckNoDoubleSale, CheckIdempotency, CheckFalseSellOuts} {
				want := Pass
				if !res.Coverage.exercises(name) {
					want = NotExercised
				}
				if v := res.Verdict(name); v.Status != want {
					t.Errorf("seed %d skew %s: %s = %s (%d), want %s; examples %+v", seed, skew, name, v.Status, v.Count, want, v.Examples)
				}
			}
			for _, h := range []history.Hazard{history.ConcurrentSeatHolds, history.HoldsExpired, history.SeatReheld, history.ExpiredMidCheckout} {
				if res.Coverage.Count(h) == 0 {
					t.Errorf("seed %d: the simulation created no %s; the test proves less than it says", seed, h)
				}
			}
			if res.Linearizability.Ops < len(recs) {
				t.Errorf("seed %d: %d seat operations from %d records, want at least as many", seed, res.Linearizability.Ops, len(recs))
			}
		}
	}
}

// TestSimulatedBugsCaught runs each deliberately broken strategy of the simulation until it has
// really broken the contract, and requires the checker to fail linearizability.
func TestSimulatedBugsCaught(t *testing.T) {
	for _, bug := range []simBug{bugNaive, bugNoFencing, bugIgnoreHolder} {
		t.Run(bug.String(), func(t *testing.T) {
			caught := 0
			for seed := uint64(1); seed <= 3; seed++ {
				cfg := defaultSim(200, 3000, seed)
				cfg.Bug, cfg.TTL = bug, 200*time.Millisecond
				recs, violations := simRecords(t, cfg)
				if violations == 0 {
					t.Fatalf("seed %d: the simulated %s server made no violation; the test proves nothing", seed, bug)
				}
				res, err := Check(context.Background(), Input{History: recs, Options: Options{ClockSkew: 50 * time.Millisecond}})
				if err != nil {
					t.Fatal(err)
				}
				v := res.Verdict(CheckLinearizability)
				if v.Status != Fail {
					t.Errorf("seed %d: %d violations made, linearizability = %s", seed, violations, v.Status)
					continue
				}
				caught++
				if len(v.Examples) == 0 || v.Examples[0].Seat == "" {
					t.Errorf("seed %d: no counterexample with a seat: %+v", seed, v.Examples)
				}
			}
			t.Logf("%s caught in %d of 3 runs", bug, caught)
		})
	}
}
