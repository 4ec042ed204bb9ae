package compare_test

import (
	"fmt"

	"stampede/compare"
	"stampede/workloads"
)

// A candidate whose skip-locked holds got slower, five runs a side, against tolerances as a
// scenario's gate: section or --gate flags give them.
func ExampleGate() {
	base, err := compare.Load("testdata/base")
	if err != nil {
		fmt.Println(err)
		return
	}
	cand, err := compare.Load("testdata/slower")
	if err != nil {
		fmt.Println(err)
		return
	}
	var tol workloads.Gate
	for _, f := range []string{"hold_p99=+10%", "checkout_p99=+10%"} {
		t, err := workloads.ParseToleranceFlag(f)
		if err != nil {
			fmt.Println(err)
			return
		}
		tol = append(tol, t)
	}
	g, err := compare.Gate(base, cand, tol.With())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.Verdict)
	for _, f := range g.Findings {
		if f.Tolerance != "" {
			fmt.Println(f.Reason)
		}
	}
	// Output:
	// regression
	// hold_p99 on skip-locked on postgres: 20.6 ms -> 26.8 ms (+30.1%, p=0.008, n=5): worse, beyond the +10% tolerance
	// checkout_p99 on skip-locked on postgres: 120 ms -> 121 ms (~, p=0.738, n=5): no significant change
	// hold_p99 on pessimistic on postgres: 4020 ms -> 4030 ms (~, p=0.841, n=5): no significant change
	// checkout_p99 on pessimistic on postgres: 4510 ms -> 4510 ms (~, p=0.984, n=5): no significant change
}

// The same samples compared without a gate: a verdict per metric.
func ExampleCompare() {
	base, _ := compare.Load("testdata/base")
	cand, _ := compare.Load("testdata/slower")
	r, err := compare.Compare(base, cand)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"throughput", "hold_p50", "hold_p99", "lost_holds"} {
		m, _ := r.Cells[0].Metric(name)
		fmt.Printf("%s %s: %s\n", r.Cells[0].Name(), name, m.Change)
	}
	// Output:
	// skip-locked on postgres throughput: worse
	// skip-locked on postgres hold_p50: ~
	// skip-locked on postgres hold_p99: worse
	// skip-locked on postgres lost_holds: ~
}
