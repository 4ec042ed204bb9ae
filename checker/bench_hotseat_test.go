package checker

import (
	"context"
	"testing"
	"time"

	"stampede/history"
)

// hotSeatSet is the adversarial benchmark set: for each seed, a correct server and each
// broken one, at every size and share of lost answers.
func hotSeatSet() []advConfig {
	var set []advConfig
	for _, ops := range []int{2000, 5000} {
		for _, info := range []float64{0.2, 0.4, 0.6} {
			for seed := uint64(1); seed <= 4; seed++ {
				for _, bug := range append([]advBug{advCorrect}, advBugs...) {
					cfg := hotSeatConfig(seed, ops, bug)
					cfg.InfoRate = info
					set = append(set, cfg)
				}
			}
		}
	}
	return set
}

// BenchmarkHotSeat decides the adversarial hot-seat set: thousands of operations on five
// seats, a fifth to two fifths of them of unknown outcome. Every history must be decided
// (a correct server's pass, a broken one's fail): unknown is reported and must stay 0. It
// reports the slowest history's seconds and the set's total.
func BenchmarkHotSeat(b *testing.B) {
	set := hotSeatSet()
	hists := make([][]history.Record, len(set))
	broken := make([]bool, len(set))
	for i, cfg := range set {
		var inj int
		hists[i], inj = advRecords(b, cfg)
		broken[i] = inj > 0
	}
	b.ResetTimer()
	var slowest time.Duration
	unknown, wrong, fails := 0, 0, 0
	for range b.N {
		unknown, wrong, fails = 0, 0, 0
		for i, recs := range hists {
			began := time.Now()
			res, err := Check(context.Background(), Input{History: recs, Options: advOptions()})
			if err != nil {
				b.Fatal(err)
			}
			slowest = max(slowest, time.Since(began))
			switch v := res.Verdict(CheckLinearizability); {
			case v.Status == Unknown:
				unknown++
				b.Logf("%+v: undecided (%d seats)", set[i], v.Count)
			case (v.Status == Fail) != broken[i]:
				wrong++
				b.Logf("%+v: %s, broken=%v", set[i], v.Status, broken[i])
			case v.Status == Fail:
				fails++
			}
		}
	}
	b.StopTimer()
	if wrong > 0 {
		b.Fatalf("%d histories judged wrongly", wrong)
	}
	b.ReportMetric(float64(len(hists)), "histories")
	b.ReportMetric(float64(fails), "fail")
	b.ReportMetric(float64(len(hists)-fails-unknown), "pass")
	b.ReportMetric(float64(unknown), "unknown")
	b.ReportMetric(slowest.Seconds(), "slowest-s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/set")
	b.ReportMetric(0, "ns/op")
}
