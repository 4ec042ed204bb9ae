package main

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// series is n samples every 10 s of f.
func series(n int, f func(i int, t float64) float64) (ts, vs []float64) {
	for i := range n {
		t := float64(i * 10)
		ts = append(ts, t)
		vs = append(vs, f(i, t))
	}
	return ts, vs
}

// TestJudge: a flat series and a noisy flat one are bounded; a linear leak, and a leak that
// starts after a flat warm-up, grow; a warm-up that rises and then levels off is bounded (only
// the second half is fitted); a leak under the floor is noise.
func TestJudge(t *testing.T) {
	const d = 10 * time.Minute
	goroutines := Threshold{Share: 0.2, Floor: 50}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name  string
		f     func(i int, t float64) float64
		th    Threshold
		grows bool
	}{
		{"flat", func(int, float64) float64 { return 120 }, goroutines, false},
		{"noisy flat", func(int, float64) float64 { return 120 + rng.NormFloat64()*15 }, goroutines, false},
		{"spiky flat", func(i int, _ float64) float64 { return 120 + float64(i%3)*40 }, goroutines, false},
		{"linear leak", func(_ int, t float64) float64 { return 120 + 0.5*t }, goroutines, true},
		{"noisy leak", func(_ int, t float64) float64 { return 120 + 0.5*t + rng.NormFloat64()*15 }, goroutines, true},
		{"leak after warm-up", func(_ int, t float64) float64 { return 120 + 0.8*max(0, t-300) }, goroutines, true},
		{"warm-up then level", func(_ int, t float64) float64 { return 120 + 200*min(1, t/250) }, goroutines, false},
		{"leak under the floor", func(_ int, t float64) float64 { return 10 + 0.01*t }, Threshold{Share: 0.2, Floor: 20}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, vs := series(60, tc.f)
			g, err := judge(ts, vs, d, 12, tc.th)
			if err != nil {
				t.Fatal(err)
			}
			if g.Grows != tc.grows {
				t.Errorf("judge = %+v, want grows %v", g, tc.grows)
			}
			if g.N != 30 {
				t.Errorf("fitted %d samples, want the second half, 30", g.N)
			}
		})
	}
	// The figures: a leak of 0.5 a second is 300 over 10 minutes.
	ts, vs := series(60, func(_ int, t float64) float64 { return 100 + 0.5*t })
	g, _ := judge(ts, vs, d, 12, goroutines)
	if g.Slope < 0.4999 || g.Slope > 0.5001 || g.Projected < 299.9 || g.Projected > 300.1 {
		t.Errorf("linear 0.5/s: slope %g projected %g, want 0.5 and 300", g.Slope, g.Projected)
	}
	if _, err := judge(ts[:7], vs[:7], d, 1, goroutines); err == nil || !strings.Contains(err.Error(), "too few") {
		t.Errorf("7 samples: err %v, want too few to judge", err)
	}
	if _, err := judge(ts[:20], vs[:20], d, 12, goroutines); err == nil || !strings.Contains(err.Error(), "fault cycle of 12") {
		t.Errorf("20 samples, a cycle of 12: err %v, want too few to judge a cycle", err)
	}
}

// plateau is the open fds of a soak whose faults repeat every 120 s: 60 at rest and 20 more (the
// database pool filled to its size of 20 by pool-exhaustion, idle until db-conn-kill or
// MaxConnIdleTime closes it) for 90 s from each of starts.
func plateau(t float64, starts ...float64) float64 {
	v := 60.0
	for _, s := range starts {
		if t >= s && t < s+90 {
			v += 20
		}
	}
	return v
}

// TestJudgeFaultPlateaus: the soak's faults fill the server's pools for a minute or two at a
// time (the open fds of the failed soak of issue 18 rose from 63 to 74 at 461-550 s while the
// pool held 12 connections). A line through the samples reads such a plateau near the end as
// growth; through the floor (the least value of each fault cycle) it is bounded, whether the
// plateau comes once near the end or every cycle, while a leak under the plateaus still grows.
func TestJudgeFaultPlateaus(t *testing.T) {
	const d = 10 * time.Minute
	fds := Threshold{Share: 0.2, Floor: 20}
	for _, tc := range []struct {
		name  string
		f     func(t float64) float64
		grows bool
	}{
		{"a plateau near the end", func(t float64) float64 { return plateau(t, 500) }, false},
		{"a plateau every cycle", func(t float64) float64 { return plateau(t, 55, 175, 295, 415, 535) }, false},
		{"a plateau up to the end", func(t float64) float64 { return plateau(t, 535) }, false},
		{"a leak under the plateaus", func(t float64) float64 { return plateau(t, 55, 175, 295, 415, 535) + 0.1*t }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, vs := series(60, func(_ int, t float64) float64 { return tc.f(t) })
			g, err := judge(ts, vs, d, 12, fds)
			if err != nil {
				t.Fatal(err)
			}
			if g.Grows != tc.grows {
				t.Errorf("judge = %+v, want grows %v", g, tc.grows)
			}
		})
	}
	// The line through the samples themselves (no cycle) misreads the plateau near the end.
	ts, vs := series(60, func(_ int, t float64) float64 { return plateau(t, 500) })
	if g, _ := judge(ts, vs, d, 1, fds); !g.Grows {
		t.Errorf("the samples' own line: %+v, want it to read the plateau as growth (what the floor corrects)", g)
	}
}
