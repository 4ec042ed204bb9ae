package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"stampede/workloads"
)

// Options configure a Search. Start is required; every other zero value is documented.
type Options struct {
	// Start is the first load tried, in arrivals per second (> 0).
	Start float64
	// Floor is the lowest load tried when even Start fails; default Start/64.
	Floor float64
	// Ceiling is the highest load tried while climbing; default Start*1024.
	Ceiling float64
	// Growth is the factor of each climbing step; default 2.
	Growth float64
	// Precision is how narrow the boundary must be, relative to its lower end (0.05: the
	// first load that fails is within 5% of the last that passed); default 0.05.
	Precision float64
	// Repeat is how many runs, each with its own seed, a load at the boundary gets before it
	// counts as held (all passed) or as beyond the capacity (none passed); default 1.
	Repeat int
	// Budget bounds the whole search's wall time; 0 means no bound. A step is started only
	// when the time it is expected to take (the longest step so far, and at least StepTime)
	// still fits.
	Budget time.Duration
	// StepTime is how long one step is expected to take, set-up and checking included;
	// required with a Budget, which must hold at least one step.
	StepTime time.Duration
	// Seed is the seed of the first run at every load; repeat j > 0 at a load runs with a seed
	// derived from Seed and j. Every load thus sees the same herd plans (common random
	// numbers): two loads differ by their load, not by their luck.
	Seed uint64
	// Clock tells the time for the budget; nil means time.Now.
	Clock func() time.Time
	// Progress, when set, is called after every step.
	Progress func(Step)
}

// Errors of Search that callers act on.
var (
	// ErrBudget: the budget cannot hold one step.
	ErrBudget = errors.New("budget too small for one step")
	// ErrNoSLO: a step carries no objective, so nothing can say when the load is too much.
	ErrNoSLO = errors.New("no SLOs: a capacity search needs objectives to tell when the load is too much")
)

// Defaults of Options.
const (
	DefaultPrecision = 0.05
	DefaultGrowth    = 2.0
)

func (o *Options) defaults() error {
	if !(o.Start > 0) || math.IsInf(o.Start, 0) {
		return fmt.Errorf("start load %v: want a finite rate > 0", o.Start)
	}
	if o.Floor == 0 {
		o.Floor = o.Start / 64
	}
	if o.Ceiling == 0 {
		o.Ceiling = o.Start * 1024
	}
	if o.Growth == 0 {
		o.Growth = DefaultGrowth
	}
	if o.Precision == 0 {
		o.Precision = DefaultPrecision
	}
	if o.Repeat == 0 {
		o.Repeat = 1
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	switch {
	case o.Floor <= 0 || o.Floor > o.Start:
		return fmt.Errorf("floor %v: want a rate in (0, start %v]", o.Floor, o.Start)
	case o.Ceiling < o.Start:
		return fmt.Errorf("ceiling %v: below the start load %v", o.Ceiling, o.Start)
	case o.Growth <= 1:
		return fmt.Errorf("growth %v: want a factor > 1", o.Growth)
	case o.Precision <= 0 || o.Precision >= 1:
		return fmt.Errorf("precision %v: want a fraction in (0, 1), such as 0.05 for 5%%", o.Precision)
	case o.Repeat < 1:
		return fmt.Errorf("repeat %d: want at least 1", o.Repeat)
	case o.Budget < 0:
		return fmt.Errorf("budget %s: negative", o.Budget)
	case o.Budget > 0 && o.StepTime <= 0:
		return errors.New("a budget needs the expected time of one step (StepTime)")
	case o.Budget > 0 && o.Budget < o.StepTime:
		return fmt.Errorf("%w: budget %s, and one step takes about %s", ErrBudget, o.Budget, o.StepTime.Round(time.Second))
	}
	return nil
}

// Phases of a search, as Step.Phase names them.
const (
	PhaseClimb  = "climb"
	PhaseBisect = "bisect"
	PhaseRepeat = "repeat"
)

// Step is one step a search ran.
type Step struct {
	// Load is the offered load, in arrivals per second; Repeat the run's index at that load
	// (0 for the first) and Seed its seed.
	Load   float64
	Repeat int
	Seed   uint64
	Phase  string
	Result StepResult
	// Pass is Result.Passed(); Elapsed the step's wall time.
	Pass    bool
	Elapsed time.Duration
}

// Verdict is how a search ended.
type Verdict string

// Verdicts.
const (
	// Found: a load that held and a load beyond the capacity, Lower and Upper.
	Found Verdict = "capacity"
	// AtLeast: every load tried held; the capacity is at least Lower (the budget or the
	// ceiling ended the climb).
	AtLeast Verdict = "at-least"
	// None: no load tried held, down to the floor or until the budget ran out.
	None Verdict = "none"
	// Unsafe: a step failed a correctness check; the system is given no capacity.
	Unsafe Verdict = "unsafe"
	// GeneratorBound: the load generator ran out before the system under test did; the
	// capacity is at least Lower.
	GeneratorBound Verdict = "generator-bound"
	// Failed: a step could not run (Result.Err says why).
	Failed Verdict = "error"
)

// Result is what a search found.
type Result struct {
	Verdict Verdict
	// Capacity is the answer, in arrivals per second: the highest load tried, below Upper,
	// that had all its Repeat runs and more than half of them passed (with one run a load:
	// the highest that passed). It is Lower for AtLeast and GeneratorBound, and 0 for None, Unsafe and Failed.
	Capacity float64
	// Lower is the highest load at which every run passed, Upper the lowest at which none
	// did; the capacity lies between them. Either is 0 when no such load was found.
	Lower, Upper float64
	// Precision is the relative width asked for; Converged says the bisection reached it
	// (and, with Repeat, that the repeats at the boundary were all run).
	Precision float64
	Converged bool
	// Repeat is the number of runs each load at the boundary was to get.
	Repeat int
	// BudgetSpent says the budget ended the search before it was done.
	BudgetSpent bool
	// At is the load of the step that ended the search: where it was unsafe, where the
	// generator ran out, or where a step could not run.
	At float64
	// Violation is the failed correctness check of an Unsafe search.
	Violation *Check
	// GeneratorReasons say why the generator ran out, for GeneratorBound.
	GeneratorReasons []string
	// Err is why a step could not run, for Failed.
	Err error
	// Steps are every step, in the order they ran.
	Steps []Step
	// Limit names what limited the system at the boundary (see NameLimit).
	Limit Limit
	// Objectives are the step's objectives in words ("hold p99 <= 250 ms"), and Missed those
	// the first load beyond the capacity did not hold.
	Objectives string
	Missed     []string
	// Fit is the Universal Scalability Law fitted to the steps; nil when it could not be
	// fitted, and FitNote says why.
	Fit     *USL
	FitNote string
	Elapsed time.Duration
	Budget  time.Duration
}

// Search finds the most load the system behind s takes while holding every objective and
// passing every correctness check: a short exponential climb from o.Start (or descent, when
// Start fails), then bisection until the boundary is within o.Precision, then, with o.Repeat,
// more runs at each end of the boundary, widening it until every run at its lower end passed
// and none at its upper end did. It stops at once at a step whose correctness checks failed
// (Unsafe), a step whose generator ran out (GeneratorBound) and a step that could not run
// (Failed), and before a step the budget cannot hold.
//
// The error is for options that cannot work (ErrBudget among them), a step without
// objectives (ErrNoSLO), a step that could not run and a cancelled ctx; the Result is then
// what was found so far (nil for bad options).
func Search(ctx context.Context, s Stepper, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	se := &search{s: s, o: o, start: o.Clock(), lo: 0, hi: math.Inf(1),
		res: &Result{Precision: o.Precision, Repeat: o.Repeat, Budget: o.Budget}}
	err := se.run(ctx)
	se.finish()
	return se.res, err
}

// search is the state of one Search.
type search struct {
	s       Stepper
	o       Options
	start   time.Time
	lo, hi  float64 // the highest load known to hold, the lowest known not to
	res     *Result
	stop    Verdict // set by a step that ended the search
	slowest time.Duration
	runs    map[float64][]bool // every load's runs: passed or not
	// confirming is the lower end whose repeats are under way; 0 when none is.
	confirming float64
}

// errStop ends a search without an error: the budget ran out, or a step decided the answer.
var errStop = errors.New("search stopped")

func (se *search) run(ctx context.Context) error {
	err := se.climb(ctx)
	if err == nil {
		err = se.bisect(ctx)
	}
	if err == nil && se.o.Repeat > 1 {
		err = se.confirm(ctx)
	}
	if errors.Is(err, errStop) {
		err = nil
	}
	se.res.Converged = err == nil && se.stop == "" && !se.res.BudgetSpent
	return err
}

// climb doubles the load from Start until a step fails, or halves it until one passes.
func (se *search) climb(ctx context.Context) error {
	load := se.o.Start
	for {
		pass, err := se.step(ctx, load, 0, PhaseClimb)
		if err != nil {
			return err
		}
		if pass {
			se.lo = load
			if !math.IsInf(se.hi, 1) {
				return nil
			}
			next := math.Min(load*se.o.Growth, se.o.Ceiling)
			if next <= load {
				return errStop // held up to the ceiling
			}
			load = next
			continue
		}
		se.hi = load
		if se.lo > 0 {
			return nil
		}
		if load = load / se.o.Growth; load < se.o.Floor {
			return errStop // nothing held down to the floor
		}
	}
}

// bisect halves the boundary until it is within the precision.
func (se *search) bisect(ctx context.Context) error {
	for se.hi-se.lo > se.o.Precision*se.lo {
		mid := (se.lo + se.hi) / 2
		pass, err := se.step(ctx, mid, 0, PhaseBisect)
		if err != nil {
			return err
		}
		if pass {
			se.lo = mid
		} else {
			se.hi = mid
		}
	}
	return nil
}

// confirm runs each end of the boundary Repeat times, moving the lower end down while any
// of its runs fails and the upper end up while any of its runs passes, one precision at a
// time, so that the interval covers the noise of the system, not only the bisection's.
func (se *search) confirm(ctx context.Context) error {
	widen := 1 + se.o.Precision
	for load := se.lo; ; load /= widen {
		if load < se.o.Floor {
			se.lo = 0
			break
		}
		se.confirming = load
		all, _, err := se.repeat(ctx, load)
		if err != nil {
			return err
		}
		if all {
			se.lo, se.confirming = load, 0
			break
		}
	}
	for load := se.hi; ; load *= widen {
		if load > se.o.Ceiling {
			se.hi = math.Inf(1)
			break
		}
		_, none, err := se.repeat(ctx, load)
		if err != nil {
			return err
		}
		if none {
			se.hi = load
			break
		}
	}
	return nil
}

// repeat brings the runs at load up to Repeat and says whether all of them passed, or none.
func (se *search) repeat(ctx context.Context, load float64) (all, none bool, err error) {
	for j := len(se.runs[load]); j < se.o.Repeat; j++ {
		if _, err := se.step(ctx, load, j, PhaseRepeat); err != nil {
			return false, false, err
		}
	}
	all, none = true, true
	for _, p := range se.runs[load] {
		all = all && p
		none = none && !p
	}
	return all, none, nil
}

// step runs one step, unless the budget cannot hold it, and records it. It returns errStop
// when the search must end (budget, unsafe, generator-bound) and the step's error when it
// could not run.
func (se *search) step(ctx context.Context, load float64, repeat int, phase string) (bool, error) {
	if err := ctx.Err(); err != nil {
		se.stop, se.res.At, se.res.Err = Failed, load, err
		return false, err
	}
	if se.o.Budget > 0 {
		need := max(se.o.StepTime, se.slowest)
		if se.o.Clock().Sub(se.start)+need > se.o.Budget {
			se.res.BudgetSpent = true
			return false, errStop
		}
	}
	seed := seedFor(se.o.Seed, repeat)
	began := se.o.Clock()
	r, err := se.s.Step(ctx, load, seed)
	elapsed := se.o.Clock().Sub(began)
	se.slowest = max(se.slowest, elapsed)
	if err != nil {
		se.stop, se.res.At, se.res.Err = Failed, load, err
		if ctx.Err() != nil {
			se.res.Err = ctx.Err()
			return false, ctx.Err()
		}
		return false, fmt.Errorf("step at %s: %w", Rate(load), err)
	}
	st := Step{Load: load, Repeat: repeat, Seed: seed, Phase: phase, Result: r, Pass: r.Passed(), Elapsed: elapsed}
	se.res.Steps = append(se.res.Steps, st)
	if se.runs == nil {
		se.runs = map[float64][]bool{}
	}
	se.runs[load] = append(se.runs[load], st.Pass)
	if se.o.Progress != nil {
		se.o.Progress(st)
	}
	switch {
	case len(r.SLOs) == 0:
		se.stop, se.res.At, se.res.Err = Failed, load, ErrNoSLO
		return false, ErrNoSLO
	case r.Unsafe() != nil:
		c := *r.Unsafe()
		se.stop, se.res.At, se.res.Violation = Unsafe, load, &c
		return false, errStop
	case r.GeneratorBound:
		se.stop, se.res.At, se.res.GeneratorReasons = GeneratorBound, load, r.GeneratorReasons
		return false, errStop
	}
	return st.Pass, nil
}

// finish turns the search's state into the Result's answer, limit and fit.
func (se *search) finish() {
	res := se.res
	res.Elapsed = se.o.Clock().Sub(se.start)
	if se.confirming > 0 {
		// The repeats at the lower end were cut short (by the budget): the lower end is
		// the highest load below it at which every run so far held.
		se.lo = 0
		for l, runs := range se.runs {
			if l < se.confirming && l > se.lo && !slices.Contains(runs, false) {
				se.lo = l
			}
		}
	}
	if !math.IsInf(se.hi, 1) {
		res.Upper = se.hi
	}
	res.Lower = se.lo
	switch {
	case se.stop != "":
		res.Verdict = se.stop
		res.Converged = false
		if se.stop != GeneratorBound {
			res.Lower, res.Upper = 0, 0
		}
	case se.lo == 0:
		res.Verdict = None
	case math.IsInf(se.hi, 1):
		res.Verdict = AtLeast
	default:
		res.Verdict = Found
	}
	switch res.Verdict {
	case Found:
		res.Capacity = se.point()
	case AtLeast, GeneratorBound:
		res.Capacity = res.Lower
	}
	if len(res.Steps) > 0 {
		res.Objectives = res.Steps[0].Result.objectives()
	}
	if res.Verdict == Found || res.Verdict == None {
		pass, fail := res.Boundary()
		if fail != nil {
			res.Missed = fail.Result.missed()
		}
		res.Limit = NameLimit(pass, fail)
	}
	res.Fit, res.FitNote = fitSteps(res.Steps)
}

// point is the highest load below the upper end that had its Repeat runs, more than half of
// which passed; Lower when there is none above it.
func (se *search) point() float64 {
	loads := make([]float64, 0, len(se.runs))
	for l := range se.runs {
		loads = append(loads, l)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(loads)))
	for _, l := range loads {
		if l >= se.hi || len(se.runs[l]) < se.o.Repeat {
			continue
		}
		n := 0
		for _, p := range se.runs[l] {
			if p {
				n++
			}
		}
		if 2*n > len(se.runs[l]) {
			return l
		}
	}
	return se.lo
}

// Boundary returns the first run at the highest load at or below Lower that passed, and at
// the lowest load at or above Upper that did not (with no Upper: the lowest that did not);
// either is nil when there is none. They are the two steps the limit is named from.
func (res *Result) Boundary() (pass, fail *Step) {
	for i := range res.Steps {
		st := &res.Steps[i]
		if st.Repeat != 0 {
			continue
		}
		if st.Pass && st.Load <= res.Lower && (pass == nil || st.Load > pass.Load) {
			pass = st
		}
		if !st.Pass && st.Load >= res.Upper && (fail == nil || st.Load < fail.Load) {
			fail = st
		}
	}
	return pass, fail
}

// seedFor is the seed of run j at a load: the search's seed for the first, then
// workloads.RepeatSeed's mix of it and j, so that repeats are independent and reproducible.
func seedFor(seed uint64, j int) uint64 {
	return uint64(workloads.RepeatSeed(int64(seed), j))
}

// Rate is a load in arrivals per second.
type Rate float64

// String formats r for people: "820/s", "12.5/s", "3.25/s".
func (r Rate) String() string { return num(float64(r)) + "/s" }
