package capacity

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the fake steppers advance by the time a step would take.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// fake is a system whose behaviour at a load is given by functions; each step costs step of
// the fake clock.
type fake struct {
	// holds says whether the objectives hold at load for seed.
	holds func(load float64, seed uint64) bool
	// unsafeAt, generatorAt and errorAt, when > 0, are the loads from which the checks fail,
	// the generator runs out, or steps cannot run.
	unsafeAt, generatorAt, errorAt float64
	noSLO                          bool
	clock                          *fakeClock
	step                           time.Duration
	calls                          int
}

func (f *fake) Step(_ context.Context, load float64, seed uint64) (StepResult, error) {
	f.calls++
	if f.clock != nil {
		f.clock.Advance(f.step)
	}
	if f.errorAt > 0 && load >= f.errorAt {
		return StepResult{}, errors.New("server did not start")
	}
	pass := f.holds(load, seed)
	r := StepResult{
		Throughput:  math.Min(load, 820) * 3,
		Concurrency: load / 50,
		P99:         map[string]time.Duration{"hold": 40 * time.Millisecond},
		Checks:      []Check{{Name: "no-double-sale", Status: CheckPass}, {Name: "linearizability", Status: CheckPass}},
		Signals:     []Signal{{Resource: "pool wait on conn_tag hold", Ms: load / 100}, {Resource: "connection hold on conn_tag hold", Ms: 2}},
	}
	if !pass {
		r.P99["hold"] = 900 * time.Millisecond
		r.Signals[0].Ms = load / 10
	}
	if !f.noSLO {
		r.SLOs = []SLO{{Name: "hold_p99", Objective: "hold p99 <= 250 ms", Observed: r.P99["hold"].String(), Pass: pass}}
	}
	if f.unsafeAt > 0 && load >= f.unsafeAt {
		r.Checks[0] = Check{Name: "no-double-sale", Status: CheckFail, Counterexample: "seat A-1-7: the ledger has two bookings"}
	}
	if f.generatorAt > 0 && load >= f.generatorAt {
		r.GeneratorBound, r.GeneratorReasons = true, []string{"dropped 40 arrivals"}
	}
	return r, nil
}

// below is a system that holds up to capacity c.
func below(c float64) func(float64, uint64) bool {
	return func(load float64, _ uint64) bool { return load <= c }
}

// noisy is a system that always holds below 0.95c, never above 1.05c, and in between holds
// or not by the seed and the load, as a real one does near its limit.
func noisy(c float64) func(float64, uint64) bool {
	return func(load float64, seed uint64) bool {
		switch {
		case load < 0.95*c:
			return true
		case load > 1.05*c:
			return false
		}
		r := rand.New(rand.NewPCG(seed, math.Float64bits(load)))
		return r.Float64() < (1.05*c-load)/(0.1*c)
	}
}

func TestSearch(t *testing.T) {
	for _, tc := range []struct {
		name      string
		f         *fake
		o         Options
		verdict   Verdict
		lo, hi    float64 // the capacity must lie in [lo, hi]
		answer    string  // Answer must contain it
		converged bool
	}{
		{name: "monotone from below", f: &fake{holds: below(820)}, o: Options{Start: 30},
			verdict: Found, lo: 0.95 * 820, hi: 820, converged: true,
			answer: "810 arrivals/s (810-840) at hold p99 <= 250 ms; limited by pool wait on conn_tag hold"},
		{name: "monotone from above", f: &fake{holds: below(10)}, o: Options{Start: 30},
			verdict: Found, lo: 0.95 * 10, hi: 10, converged: true, answer: "at hold p99 <= 250 ms; limited by pool wait on conn_tag hold"},
		{name: "finer precision", f: &fake{holds: below(500)}, o: Options{Start: 30, Precision: 0.01},
			verdict: Found, lo: 0.99 * 500, hi: 500, converged: true},
		{name: "nothing holds", f: &fake{holds: below(0.1)}, o: Options{Start: 30},
			verdict: None, answer: "no capacity at hold p99 <= 250 ms: no load held, down to 0.47 arrivals/s", converged: true},
		{name: "holds to the ceiling", f: &fake{holds: below(1e9)}, o: Options{Start: 30, Ceiling: 240},
			verdict: AtLeast, lo: 240, hi: 240, answer: "at least 240 arrivals/s", converged: true},
		{name: "unsafe at 600", f: &fake{holds: below(820), unsafeAt: 600}, o: Options{Start: 30},
			verdict: Unsafe, answer: "unsafe at 960 arrivals/s: no-double-sale: seat A-1-7: the ledger has two bookings"},
		{name: "generator-bound", f: &fake{holds: below(820), generatorAt: 500}, o: Options{Start: 30},
			verdict: GeneratorBound, lo: 480, hi: 480, answer: "the load generator ran out first, at 960 arrivals/s (dropped 40 arrivals); the system held at least 480 arrivals/s"},
		{name: "noisy with repeats", f: &fake{holds: noisy(820)}, o: Options{Start: 30, Repeat: 5},
			verdict: Found, lo: 0.95 * 820, hi: 1.05 * 820, converged: true},
		{name: "noisy without repeats", f: &fake{holds: noisy(820)}, o: Options{Start: 30, Seed: 7},
			verdict: Found, lo: 0.9 * 820, hi: 1.05 * 820, converged: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Search(context.Background(), tc.f, tc.o)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if res.Verdict != tc.verdict {
				t.Fatalf("Search verdict = %s (%s), want %s", res.Verdict, res.Answer(), tc.verdict)
			}
			if res.Capacity < tc.lo || res.Capacity > tc.hi {
				t.Errorf("Search capacity = %v (%s), want it in [%v, %v]", res.Capacity, res.Answer(), tc.lo, tc.hi)
			}
			if res.Converged != tc.converged {
				t.Errorf("Converged = %v, want %v", res.Converged, tc.converged)
			}
			if !strings.Contains(res.Answer(), tc.answer) {
				t.Errorf("Answer() = %q, want it to contain %q", res.Answer(), tc.answer)
			}
			if res.Verdict == Found {
				if !(res.Lower <= res.Capacity && res.Capacity < res.Upper) {
					t.Errorf("interval %v-%v does not hold the capacity %v", res.Lower, res.Upper, res.Capacity)
				}
				if tc.o.Repeat <= 1 && (res.Upper-res.Lower) > res.Precision*res.Lower {
					t.Errorf("interval %v-%v is wider than the precision %v", res.Lower, res.Upper, res.Precision)
				}
			}
			if len(res.Steps) != tc.f.calls {
				t.Errorf("%d steps recorded, %d run", len(res.Steps), tc.f.calls)
			}
		})
	}
}

// TestSearchRepeatsMakeAnInterval: with repeats, every run at the lower end passed and none at
// the upper end did, each of them had its Repeat runs, and the interval covers the noise.
func TestSearchRepeatsMakeAnInterval(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		res, err := Search(context.Background(), &fake{holds: noisy(820)}, Options{Start: 30, Repeat: 4, Seed: seed})
		if err != nil {
			t.Fatalf("seed %d: Search: %v", seed, err)
		}
		runs := map[float64][]bool{}
		for _, st := range res.Steps {
			runs[st.Load] = append(runs[st.Load], st.Pass)
		}
		lo, hi := runs[res.Lower], runs[res.Upper]
		if len(lo) != 4 || len(hi) != 4 {
			t.Fatalf("seed %d: %d runs at the lower end %v and %d at the upper end %v, want 4 each", seed, len(lo), res.Lower, len(hi), res.Upper)
		}
		for i := range 4 {
			if !lo[i] || hi[i] {
				t.Fatalf("seed %d: runs at %v %v and at %v %v: want all passed, then none", seed, res.Lower, lo, res.Upper, hi)
			}
		}
		if res.Lower > 1.05*820 || res.Upper < 0.95*820 {
			t.Errorf("seed %d: interval %v-%v misses the noisy zone around 820", seed, res.Lower, res.Upper)
		}
		seeds := map[uint64]bool{}
		for _, st := range res.Steps {
			if st.Load == res.Lower {
				seeds[st.Seed] = true
			}
		}
		if len(seeds) != 4 {
			t.Errorf("seed %d: the repeats at %v used %d seeds, want 4 different ones", seed, res.Lower, len(seeds))
		}
	}
}

// TestSearchStopsAtOnce: an unsafe step and a generator-bound step end the search: nothing
// runs after them.
func TestSearchStopsAtOnce(t *testing.T) {
	for _, f := range []*fake{{holds: below(820), unsafeAt: 100}, {holds: below(820), generatorAt: 100}} {
		res, err := Search(context.Background(), f, Options{Start: 30, Repeat: 3})
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		last := res.Steps[len(res.Steps)-1]
		if last.Load != 120 || len(res.Steps) != 3 {
			t.Errorf("%s: %d steps, the last at %v; want it to end at the first step at or above 100 (the third, 120)", res.Verdict, len(res.Steps), last.Load)
		}
		if res.Capacity != 0 && res.Verdict == Unsafe {
			t.Errorf("an unsafe system was given a capacity: %v", res.Capacity)
		}
		if res.Verdict == Unsafe && (res.Violation == nil || res.Violation.Name != "no-double-sale") {
			t.Errorf("unsafe verdict without its violation: %+v", res.Violation)
		}
	}
}

// TestSearchBudget: the search never starts a step the budget cannot hold, says when the
// budget ended it, and answers with what it found.
func TestSearchBudget(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	f := &fake{holds: below(820), clock: clock, step: 30 * time.Second}
	// 30, 60, ... 960 climbing, then 720, 840, 780 bisecting: 9 steps in 4.5 minutes, one short of
	// the precision.
	o := Options{Start: 30, Budget: 270 * time.Second, StepTime: 30 * time.Second, Clock: clock.Now}
	res, err := Search(context.Background(), f, o)
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if res.Elapsed > o.Budget || f.calls != 9 {
		t.Fatalf("the search took %s in %d steps; want 9 steps in the budget of %s", res.Elapsed, f.calls, o.Budget)
	}
	if !res.BudgetSpent || res.Converged {
		t.Fatalf("BudgetSpent %v, Converged %v; want the budget to have ended it before the precision", res.BudgetSpent, res.Converged)
	}
	if res.Verdict != Found || res.Capacity != 780 || res.Upper != 840 || !strings.Contains(res.Answer(), "budget ran out") {
		t.Fatalf("verdict %s, capacity %v: %q; want the boundary found so far and the budget named", res.Verdict, res.Capacity, res.Answer())
	}

	// Repeats cut short by the budget: the lower end is a load at which every run held, the
	// answer a load where most did.
	for seed := uint64(1); seed <= 10; seed++ {
		clock = &fakeClock{now: time.Unix(0, 0)}
		f = &fake{holds: noisy(820), clock: clock, step: 30 * time.Second}
		res, err = Search(context.Background(), f, Options{Start: 30, Repeat: 5, Seed: seed, Budget: time.Duration(5+seed%3) * time.Minute, StepTime: 30 * time.Second, Clock: clock.Now})
		if err != nil || res.Verdict != Found || res.Converged {
			t.Fatalf("seed %d: Search = %s, converged %v, %v; want a capacity, not converged", seed, res.Verdict, res.Converged, err)
		}
		for _, st := range res.Steps {
			if st.Load == res.Lower && !st.Pass {
				t.Fatalf("seed %d: a run at the lower end %v failed: %+v", seed, res.Lower, st)
			}
		}
		if res.Capacity < res.Lower || res.Capacity >= res.Upper {
			t.Fatalf("seed %d: capacity %v outside %v-%v", seed, res.Capacity, res.Lower, res.Upper)
		}
	}

	// A budget spent while still climbing gives a lower bound.
	clock = &fakeClock{now: time.Unix(0, 0)}
	f = &fake{holds: below(1e9), clock: clock, step: 30 * time.Second}
	res, err = Search(context.Background(), f, Options{Start: 30, Budget: 2 * time.Minute, StepTime: 30 * time.Second, Clock: clock.Now})
	if err != nil || res.Verdict != AtLeast || res.Capacity != 240 || !strings.Contains(res.Answer(), "budget ran out") {
		t.Fatalf("Search = %v, %v (%v): want at least 240 arrivals/s after 4 steps, the budget named", res.Verdict, res.Capacity, err)
	}

	// A step slower than expected makes the search expect as much of the next.
	clock = &fakeClock{now: time.Unix(0, 0)}
	f = &fake{holds: below(1e9), clock: clock, step: 50 * time.Second}
	res, _ = Search(context.Background(), f, Options{Start: 30, Budget: 2 * time.Minute, StepTime: 30 * time.Second, Clock: clock.Now})
	if f.calls != 2 || res.Elapsed > 2*time.Minute {
		t.Fatalf("%d steps of 50s in a 2m budget took %s; want 2, within the budget", f.calls, res.Elapsed)
	}
}

func TestSearchErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *fake
		o    Options
		want error  // errors.Is
		text string // or the error's text contains
	}{
		{name: "budget below one step", f: &fake{holds: below(1)}, o: Options{Start: 30, Budget: 20 * time.Second, StepTime: time.Minute}, want: ErrBudget},
		{name: "budget without step time", f: &fake{holds: below(1)}, o: Options{Start: 30, Budget: time.Minute}, text: "StepTime"},
		{name: "no start", f: &fake{holds: below(1)}, o: Options{}, text: "start load"},
		{name: "precision", f: &fake{holds: below(1)}, o: Options{Start: 30, Precision: 1.5}, text: "precision"},
		{name: "growth", f: &fake{holds: below(1)}, o: Options{Start: 30, Growth: 1}, text: "growth"},
		{name: "floor above start", f: &fake{holds: below(1)}, o: Options{Start: 30, Floor: 40}, text: "floor"},
		{name: "no SLOs", f: &fake{holds: below(820), noSLO: true}, o: Options{Start: 30}, want: ErrNoSLO},
		{name: "step error", f: &fake{holds: below(820), errorAt: 100}, o: Options{Start: 30}, text: "step at 120/s: server did not start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Search(context.Background(), tc.f, tc.o)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("Search(%+v) = %v, want %v %q", tc.o, err, tc.want, tc.text)
			}
			if res != nil && res.Verdict != Failed {
				t.Errorf("a search ended by an error has verdict %s, want error", res.Verdict)
			}
			if res == nil && tc.f.calls > 0 {
				t.Errorf("bad options, yet %d steps ran", tc.f.calls)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Search(ctx, &fake{holds: below(1)}, Options{Start: 30}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Search with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestNameLimit(t *testing.T) {
	step := func(load float64, r StepResult) *Step { return &Step{Load: load, Result: r} }
	sig := func(kv ...any) []Signal {
		var out []Signal
		for i := 0; i < len(kv); i += 2 {
			out = append(out, Signal{Resource: kv[i].(string), Ms: kv[i+1].(float64)})
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		pass, fail *Step
		want       string
	}{
		{"largest growth", step(790, StepResult{Signals: sig("pool wait on conn_tag hold", 0.4, "connection hold on conn_tag checkout", 30.0)}),
			step(850, StepResult{Signals: sig("pool wait on conn_tag hold", 41.0, "connection hold on conn_tag checkout", 35.0)}), "pool wait on conn_tag hold"},
		{"attribution wins", step(790, StepResult{}), step(850, StepResult{Limit: "redis", Signals: sig("database", 50.0)}), "redis"},
		{"generator first", nil, step(850, StepResult{GeneratorBound: true, Limit: "redis"}), "the load generator"},
		{"shedding", step(790, StepResult{ShedRate: 0}), step(850, StepResult{ShedRate: 0.2, Signals: sig("database", 50.0)}), "server shedding"},
		{"no pass: largest", nil, step(850, StepResult{Signals: sig("database", 5.0, "payments", 9.0)}), "payments"},
		{"nothing grew", step(790, StepResult{Signals: sig("database", 5.0)}), step(850, StepResult{Signals: sig("database", 4.0)}), ""},
		{"no fail", step(790, StepResult{}), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NameLimit(tc.pass, tc.fail); got.Resource != tc.want {
				t.Fatalf("NameLimit = %+v, want %q", got, tc.want)
			}
		})
	}
	l := NameLimit(step(790, StepResult{Signals: sig("database", 5.0)}), step(850, StepResult{Signals: sig("database", 40.0)}))
	if l.Evidence != "mean 5.00 ms at 790/s, 40 ms at 850/s" {
		t.Fatalf("evidence %q", l.Evidence)
	}
}

func TestPlanOnSale(t *testing.T) {
	for _, tc := range []struct {
		name              string
		capacity          float64
		users             int64
		over              time.Duration
		admit, queue      float64
		lastWait, drained time.Duration
	}{
		{"admission only", 800, 0, 0, 600, 0, 0, 0},
		// 120,000 fans over 10 minutes is 200/s, under 600/s admitted: no queue.
		{"no queue", 800, 120_000, 10 * time.Minute, 600, 0, 0, 0},
		// 1,000,000 fans over 10 minutes: 640,000 waiting at 10m, the last admitted at 1666.7s.
		{"queue", 800, 1_000_000, 10 * time.Minute, 600, 640_000, 1066666666666, 1666666666666},
		{"all at once", 800, 60_000, 0, 600, 60_000, 100 * time.Second, 100 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanOnSale(tc.capacity, tc.users, tc.over)
			near := func(a, b time.Duration) bool { return (a - b).Abs() < time.Millisecond }
			if p.AdmitRate != tc.admit || math.Abs(p.PeakQueue-tc.queue) > 0.5 || !near(p.LastWait, tc.lastWait) || !near(p.Drained, tc.drained) {
				t.Fatalf("PlanOnSale(%v, %d, %s) = %+v; want admit %v, queue %v, last wait %s, drained %s",
					tc.capacity, tc.users, tc.over, p, tc.admit, tc.queue, tc.lastWait, tc.drained)
			}
		})
	}
}
