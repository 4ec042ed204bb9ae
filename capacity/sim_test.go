package capacity

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// queue is a synthetic system under test with a known capacity: one FIFO server with
// exponential service times at Rate requests per second, fed Poisson arrivals at the step's
// load for Herd (an M/M/1 queue, simulated event by event). Below Rate the queue stays short;
// beyond it the queue, and every latency, grows for as long as the herd lasts. A step holds
// its objective when the p99 of the time from arrival to completion is at most P99. Each step
// advances the clock by the herd and Overhead, as a real step's set-up and checking would.
type queue struct {
	Rate     float64
	P99      time.Duration
	Herd     time.Duration
	Overhead time.Duration
	clock    *fakeClock
}

func (q *queue) Step(_ context.Context, load float64, seed uint64) (StepResult, error) {
	q.clock.Advance(q.Herd + q.Overhead)
	r := rand.New(rand.NewPCG(seed, math.Float64bits(load)))
	herd := q.Herd.Seconds()
	var lat []float64
	t, free, busy := 0.0, 0.0, 0.0 // arrival time, when the server is next free, time in system
	for {
		t += r.ExpFloat64() / load
		if t > herd {
			break
		}
		start := math.Max(t, free)
		free = start + r.ExpFloat64()/q.Rate
		lat = append(lat, free-t)
		busy += free - t
	}
	slices.Sort(lat)
	p99 := time.Duration(0)
	if len(lat) > 0 {
		p99 = time.Duration(lat[len(lat)*99/100] * float64(time.Second))
	}
	end := math.Max(free, herd)
	pass := p99 <= q.P99
	return StepResult{
		Throughput:  float64(len(lat)) / end,
		Concurrency: busy / end,
		P99:         map[string]time.Duration{"hold": p99},
		SLOs:        []SLO{{Name: "hold_p99", Objective: "hold p99 <= " + q.P99.String(), Observed: p99.String(), Pass: pass}},
		Checks:      []Check{{Name: "no-double-sale", Status: CheckPass}},
		Signals:     []Signal{{Resource: "server queueing", Ms: (busy/float64(max(len(lat), 1)) - 1/q.Rate) * 1000}},
	}, nil
}

// TestSearchFindsKnownCapacity: against a queue of known capacity, every seeded search lands
// within 10% of it, within its budget, and names the queue as the limit.
func TestSearchFindsKnownCapacity(t *testing.T) {
	for _, rate := range []float64{250, 1500} {
		for _, repeat := range []int{1, 3} {
			for seed := uint64(1); seed <= 8; seed++ {
				clock := &fakeClock{now: time.Unix(0, 0)}
				q := &queue{Rate: rate, P99: 250 * time.Millisecond, Herd: 20 * time.Second, Overhead: 10 * time.Second, clock: clock}
				o := Options{Start: 30, Seed: seed, Repeat: repeat, Budget: 15 * time.Minute, StepTime: 30 * time.Second, Clock: clock.Now}
				res, err := Search(context.Background(), q, o)
				if err != nil {
					t.Fatalf("rate %v seed %d: Search: %v", rate, seed, err)
				}
				if res.Verdict != Found || math.Abs(res.Capacity-rate)/rate > 0.10 {
					t.Fatalf("rate %v repeat %d seed %d: %s %v (%s), want a capacity within 10%% of %v", rate, repeat, seed, res.Verdict, res.Capacity, res.Answer(), rate)
				}
				if res.Elapsed > o.Budget {
					t.Fatalf("rate %v repeat %d seed %d: the search took %s, over its budget of %s", rate, repeat, seed, res.Elapsed, o.Budget)
				}
				if res.Limit.Resource != "server queueing" {
					t.Errorf("rate %v seed %d: limit %+v, want server queueing", rate, seed, res.Limit)
				}
				if res.Fit == nil {
					t.Errorf("rate %v seed %d: no fit: %s", rate, seed, res.FitNote)
				}
				if seed == 1 {
					t.Logf("rate %v repeat %d: %s in %d steps, %s", rate, repeat, res.Answer(), len(res.Steps), res.Elapsed)
				}
			}
		}
	}
}
