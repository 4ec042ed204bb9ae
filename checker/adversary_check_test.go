package checker

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// advOptions are the options adversarial histories are checked with.
func advOptions() Options {
	return Options{ClockSkew: advSkew, Timeout: 10 * time.Second, MaxVisualizations: -1}
}

// TestHotSeatAdversarial checks small adversarial hot-seat histories (many unknown outcomes,
// holds expiring and released unsold): a correct server's must pass, and each broken
// server's must fail, with the seat it broke named, unless it happened to break nothing
// (then it passes); none may be left undecided. Each broken server must break some seed.
func TestHotSeatAdversarial(t *testing.T) {
	for _, bug := range append([]advBug{advCorrect}, advBugs...) {
		broke := 0
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", bug, seed), func(t *testing.T) {
				cfg := hotSeatConfig(seed, 800, bug)
				cfg.BugAfter = 0.3
				recs, injected := advRecords(t, cfg)
				res, err := Check(context.Background(), Input{History: recs, Options: advOptions()})
				if err != nil {
					t.Fatal(err)
				}
				v := res.Verdict(CheckLinearizability)
				want := Pass
				if injected > 0 {
					want = Fail
					broke++
				}
				if v.Status != want {
					t.Fatalf("Check(%s seed %d) linearizability = %s (%d), want %s; examples %+v", bug, seed, v.Status, v.Count, want, v.Examples)
				}
				if want == Fail {
					if v.Count > injected {
						t.Errorf("linearizability failed %d seats, but the server broke only %d", v.Count, injected)
					}
					if len(v.Examples) == 0 || v.Examples[0].Seat == "" || len(v.Examples[0].Ops) == 0 {
						t.Errorf("counterexample without a seat or operations: %+v", v.Examples)
					}
				}
			})
		}
		if bug != advCorrect && broke == 0 {
			t.Errorf("the %s server broke nothing in three seeds; the test proves nothing about it", bug)
		}
	}
}

// TestHotSeatBrokenCaughtAfterReduction pins that the reductions keep a violation: each
// broken history is illegal before reduction (porcupine on the whole seat says so, given
// time) and the checker, which reduces, fails it too; and on the correct history the
// reduced seats are accepted exactly when the whole seats are.
func TestHotSeatBrokenCaughtAfterReduction(t *testing.T) {
	for _, bug := range append([]advBug{advCorrect}, advBugs...) {
		t.Run(bug.String(), func(t *testing.T) {
			cfg := advConfig{Seed: 7, Seats: 2, Ops: 14, Clients: 4, InfoRate: 0.3, SaleRate: 0.2,
				TTL: 40 * time.Millisecond, Bug: bug, BugAfter: 0}
			for seed := uint64(1); seed < 200; seed++ {
				cfg.Seed = seed
				recs, injected := advRecords(t, cfg)
				if bug != advCorrect && injected == 0 {
					continue
				}
				judgeAgainstBruteForce(t, recs, bug != advCorrect)
				return
			}
			t.Fatalf("no seed below 200 made the %s server break", bug)
		})
	}
}
