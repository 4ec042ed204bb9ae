package capacity_test

import (
	"context"
	"fmt"
	"time"

	"stampede/capacity"
)

// A system that holds its objective up to 800 arrivals a second, searched from 30/s.
func ExampleSearch() {
	system := capacity.StepFunc(func(_ context.Context, load float64, _ uint64) (capacity.StepResult, error) {
		held := load <= 800
		return capacity.StepResult{
			Throughput: min(load, 800) * 3,
			SLOs:       []capacity.SLO{{Name: "hold_p99", Objective: "hold p99 <= 250 ms", Pass: held}},
			Checks:     []capacity.Check{{Name: "no-double-sale", Status: capacity.CheckPass}},
		}, nil
	})
	res, err := capacity.Search(context.Background(), system, capacity.Options{Start: 30, Precision: 0.05})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Answer())
	fmt.Println(len(res.Steps), "steps")
	// Output:
	// 780 arrivals/s (780-810) at hold p99 <= 250 ms; limit not attributed (nothing measured grew across the boundary)
	// 10 steps
}

// The waiting room for a measured capacity of 800 arrivals a second, and a crowd of a
// million fans arriving over ten minutes.
func ExamplePlanOnSale() {
	p := capacity.PlanOnSale(800, 1_000_000, 10*time.Minute)
	fmt.Printf("admit %.0f/s; queue up to %.0f; the last fan waits %s\n", p.AdmitRate, p.PeakQueue, p.LastWait.Round(time.Second))
	// Output:
	// admit 600/s; queue up to 640000; the last fan waits 17m47s
}
