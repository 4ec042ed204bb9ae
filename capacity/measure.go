package capacity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"stampede/internal/exitcode"
	"stampede/reports"
	"stampede/run"
	"stampede/workloads"
)

// Config configures Measure: the run's options, which every step uses, and the search's.
// The zero value of every optional field is documented.
type Config struct {
	// Options are as for stampede run: the scenario, strategies, databases, services or
	// target, seed, run directory (default runs/capacity-<scenario>-<time>), and so on.
	run.Options
	// Mode is how a step offers its load; default ModeScale.
	Mode Mode
	// StepDuration is how long a ModeRate step offers its load; default 20s.
	StepDuration time.Duration
	// Start is the first load, in arrivals per second; default the scenario's top rate.
	Start float64
	// Precision, Repeat and Budget are the search's (see Options); Budget is shared by the
	// searches of every strategy x database, each getting an even share of what is left.
	Precision float64
	Repeat    int
	Budget    time.Duration
	// Min is the capacity asked for, in arrivals per second: a search that cannot vouch for
	// it fails its run (0: none).
	Min float64
	// Users and Over are the crowd expected at the on-sale: Users arriving evenly over Over.
	Users int64
	Over  time.Duration
}

// DefaultStepDuration is how long a ModeRate step lasts by default.
const DefaultStepDuration = 20 * time.Second

// ErrInput marks an error in what Measure was given: nothing was started or written.
var ErrInput = errors.New("bad input")

type inputError struct{ error }

func (e inputError) Is(target error) bool { return target == ErrInput }
func (e inputError) Unwrap() error        { return e.error }

func badInput(format string, args ...any) error { return inputError{fmt.Errorf(format, args...)} }

// plan is a checked Config: what Measure runs.
type plan struct {
	c        Config
	sc       *workloads.Scenario
	src      []byte
	stepTime time.Duration
}

// check resolves c's defaults and checks everything that can be checked before anything
// starts: the scenario and its objectives, the options, and that the budget holds a step of
// every search. Its errors are ErrInput.
func check(c Config) (*plan, error) {
	o, err := run.Resolve(c.Options)
	if err != nil {
		return nil, inputError{err}
	}
	c.Options = o
	src, err := os.ReadFile(o.Scenario)
	if err != nil {
		return nil, inputError{fmt.Errorf("read scenario: %w", err)}
	}
	sc, err := workloads.Parse(filepath.Base(o.Scenario), src)
	if err != nil {
		return nil, inputError{err}
	}
	if s := sc.SLO; s.HoldP99 == 0 && s.CheckoutP99 == 0 && !s.ErrorRateSet {
		return nil, inputError{fmt.Errorf("%s: %w (add an slo: section, e.g. slo: {hold_p99: 250ms, error_rate: 1%%})", filepath.Base(o.Scenario), ErrNoSLO)}
	}
	if c.Mode == "" {
		c.Mode = ModeScale
	}
	if c.Mode != ModeScale && c.Mode != ModeRate {
		return nil, badInput("mode %q: want scale or rate", c.Mode)
	}
	if c.StepDuration == 0 {
		c.StepDuration = DefaultStepDuration
	}
	if c.StepDuration < time.Second {
		return nil, badInput("step duration %s: want at least 1s", c.StepDuration)
	}
	if c.Start == 0 {
		c.Start = TopRate(sc.Arrivals)
	}
	if c.Min < 0 || c.Users < 0 || c.Over < 0 {
		return nil, badInput("--min, --expect and --over must not be negative")
	}
	p := &plan{c: c, sc: sc, src: src}
	p.stepTime = p.runner("", "").StepTime()
	cells := len(o.Strategies) * len(o.DBs)
	if c.Budget > 0 && c.Budget/time.Duration(cells) < p.stepTime {
		return nil, inputError{fmt.Errorf("%w: --budget %s shared by %d searches is %s each, and one step of %s takes about %s (the herd, the drain, set-up and checking)",
			ErrBudget, c.Budget, cells, (c.Budget / time.Duration(cells)).Round(time.Second), sc.Name, p.stepTime.Round(time.Second))}
	}
	if _, err := p.options(c.Budget/time.Duration(cells), 0); err != nil {
		return nil, inputError{err}
	}
	return p, nil
}

// options are the search's options for a share of the budget; their defaults applied and
// checked.
func (p *plan) options(budget time.Duration, seed uint64) (Options, error) {
	o := Options{Start: p.c.Start, Precision: p.c.Precision, Repeat: p.c.Repeat, Budget: budget, StepTime: p.stepTime, Seed: seed}
	err := o.defaults()
	return o, err
}

func (p *plan) runner(strategy, db string) *Runner {
	o := p.c.Options
	o.Strategies, o.DBs = []string{strategy}, []string{db}
	return &Runner{Options: o, Scenario: p.sc, Source: p.src, Mode: p.c.Mode, StepDuration: p.c.StepDuration,
		Dir: filepath.Join(o.Out, strategy+"-"+db)}
}

// Measure searches the capacity of every strategy x database of c (or of the one system at
// c.Target), each step a real run (see Runner), and writes the reports into the run
// directory: summary.json with each run's Capacity and CapacitySearch, report.md,
// report.html with the capacity curves, and junit.xml. It returns the summary and the
// directory.
//
// The error is ErrInput for what it was given (nothing is then started or written), an
// error when the services could not start, and ctx's when it was cancelled (the reports are
// then written with what was found). A search that ended unsafe, generator-bound or on a step
// that could not run is in the summary, not an error: ExitCode reads it.
func Measure(ctx context.Context, c Config) (*reports.Summary, string, error) {
	p, err := check(c)
	if err != nil {
		return nil, "", err
	}
	started := time.Now()
	o := &p.c.Options
	if o.Out == "" {
		o.Out = filepath.Join("runs", fmt.Sprintf("capacity-%s-%s", p.sc.Name, started.UTC().Format("20060102-150405")))
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, "", fmt.Errorf("create run directory: %w", err)
	}
	if o.Services == nil {
		svc, err := run.StartServices(ctx, *o)
		if err != nil {
			return nil, o.Out, err
		}
		if svc != nil {
			defer svc.Close()
		}
		o.Services = svc
	}
	seed := p.sc.RunSeed(o.Seed)
	sum := &reports.Summary{Scenario: p.sc.Name, Seed: seed, Started: started, Versions: map[string]string{"stampede": o.Version}}
	cells := len(o.Strategies) * len(o.DBs)
	for _, st := range o.Strategies {
		for _, db := range o.DBs {
			if ctx.Err() != nil {
				break
			}
			share := time.Duration(0)
			if p.c.Budget > 0 {
				share = (p.c.Budget - time.Since(started)) / time.Duration(cells-len(sum.Runs))
			}
			sum.Runs = append(sum.Runs, p.search(ctx, st, db, share, uint64(seed)))
		}
	}
	sum.DurationSeconds = time.Since(started).Seconds()
	sum.Finish()
	if ctx.Err() != nil {
		sum.Verdict = reports.Fail
	}
	if err := reports.Write(o.Out, sum); err != nil {
		return sum, o.Out, err
	}
	return sum, o.Out, ctx.Err()
}

// search runs one strategy x database's search and turns it into the report's run.
func (p *plan) search(ctx context.Context, strategy, db string, budget time.Duration, seed uint64) reports.Run {
	o := p.c.Options
	label := Label(strategy, db, o.Target)
	r := reports.Run{Strategy: strategy, DB: db, Target: o.Target}
	so, err := p.options(budget, seed)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	rn := p.runner(strategy, db)
	fmt.Fprintf(o.Progress, "== %s: searching from %s, %s a step", label, Rate(so.Start), p.stepTime.Round(time.Second))
	if budget > 0 {
		fmt.Fprintf(o.Progress, ", %s of budget", budget.Round(time.Second))
	}
	fmt.Fprintln(o.Progress)
	so.Progress = func(st Step) {
		fmt.Fprintf(o.Progress, "   %-7s %9s: %s [%s]\n", st.Phase, Rate(st.Load), stepWords(st), st.Elapsed.Round(time.Second))
	}
	res, err := Search(ctx, rn, so)
	if res == nil {
		r.Error = err.Error()
		return r
	}
	fmt.Fprintf(o.Progress, "   %s: %s\n", label, res.Answer())
	prefix := strategy + "-" + db + "/"
	if st := representative(res); st != nil {
		if rr, ok := rn.Run(st.Result.Dir); ok {
			r = rr
			r.Dir = prefix + rr.Dir
			stepDir := path.Dir(rr.Dir)
			for i := range r.Checks {
				if v := r.Checks[i].Visualization; v != "" {
					r.Checks[i].Visualization = prefix + stepDir + "/" + v
				}
			}
		}
	}
	if res.Verdict == Failed && res.Err != nil {
		r.Error = res.Err.Error()
	}
	r.Capacity = 0
	var sale *OnSale
	if res.Verdict == Found || res.Verdict == AtLeast {
		r.Capacity = round(res.Capacity)
		s := PlanOnSale(res.Capacity, p.c.Users, p.c.Over)
		sale = &s
	}
	r.CapacitySearch = res.Report(label, p.c.Min, sale, p.c.Mode, p.c.StepDuration, prefix)
	return r
}

// representative is the step whose run stands for the search in the report: the highest load
// that held, or the step that ended the search, or the lowest that failed.
func representative(res *Result) *Step {
	if len(res.Steps) == 0 {
		return nil
	}
	switch res.Verdict {
	case Unsafe, GeneratorBound, Failed:
		return &res.Steps[len(res.Steps)-1]
	}
	pass, fail := res.Boundary()
	if pass != nil {
		return pass
	}
	return fail
}

// stepWords is a step's outcome for the progress lines.
func stepWords(st Step) string {
	r := st.Result
	s := fmt.Sprintf("%.0f req/s, %.1f in flight", r.Throughput, r.Concurrency)
	switch {
	case r.Unsafe() != nil:
		return "UNSAFE (" + r.Unsafe().Name + "); " + s
	case r.GeneratorBound:
		return "generator-bound; " + s
	case st.Pass:
		return "held; " + s
	}
	f := r.Failures()
	return fmt.Sprintf("missed %s; %s", f[0], s)
}

// Label names a strategy x database for people: "skip-locked on PostgreSQL", or the target.
func Label(strategy, db, target string) string {
	if target != "" {
		return target
	}
	switch db {
	case "postgres":
		db = "PostgreSQL"
	case "mysql":
		db = "MySQL"
	}
	return strategy + " on " + db
}

// ExitCode is the exit status of a capacity summary, by internal/exitcode's precedence: 1 when
// a search found the system unsafe, 4 when a step could not run or the generator ran out
// first, 3 when no load held its objectives or the capacity is below the one asked for, and 0
// otherwise.
func ExitCode(s *reports.Summary) int {
	codes := []int{exitcode.OK}
	for _, r := range s.Runs {
		c := r.CapacitySearch
		switch {
		case c == nil:
			if r.Error != "" {
				codes = append(codes, exitcode.Harness)
			}
		case c.Verdict == string(Unsafe):
			codes = append(codes, exitcode.Violation)
		case c.Verdict == string(Failed) || c.Verdict == string(GeneratorBound):
			codes = append(codes, exitcode.Harness)
		case c.Verdict == string(None) || c.BelowMin:
			codes = append(codes, exitcode.Gate)
		}
	}
	return exitcode.Worst(codes...)
}
