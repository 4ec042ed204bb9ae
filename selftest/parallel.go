package selftest

import (
	"context"
	"sync"

	"stampede/reports"
	"stampede/run"
)

// DefaultParallel is how many runs a selftest with services of its own runs at once. A
// gauntlet run spends most of its wall time waiting on its timeline (arrivals, payment delays,
// hold expiries, settling) and uses about a third of a core on average, so on two cores four
// overlap without changing what each one reaches. More is not better: six at once on a
// machine already loaded (load average 45-50) left the servers shedding and timing out, with
// hardly a checkout paid, and most broken variants went uncaught.
const DefaultParallel = 4

// job is one run: a strategy on a database under a scenario at one seed, through one run.Run.
type job struct {
	scenario string
	seed     int64
	kind     string // variants or safe
	o        run.Options

	ran bool
	sum *reports.Summary
	err error
}

// parallel is how many jobs run at once: Parallel, or by default DefaultParallel when the runs
// take turns on services of the selftest's own (slots) and 1 when they share the caller's (Env
// external, or Run.Services given).
func (o Options) parallel() int {
	switch {
	case o.Parallel > 0:
		return o.Parallel
	case !o.ownServices():
		return 1
	}
	return DefaultParallel
}

// ownServices says whether the selftest starts the services its runs take turns on (slots):
// local processes on free ports in a directory of their own, each set serving one run at a
// time, so that concurrent runs cannot see each other's data, keys or faults (each run has its
// own processor and server too).
func (o Options) ownServices() bool {
	return o.Run.Services == nil && (o.Run.Env == "" || o.Run.Env == "local")
}

// execute runs one job through run.Run, on the services of its options.
func execute(ctx context.Context, j *job) { j.sum, _, j.err = run.Run(ctx, j.o) }

// runJobs runs the jobs with exec, n at a time, starting them in their order; done is called for
// each finished job, one call at a time. Jobs not started when ctx ends are left with ran false.
func runJobs(ctx context.Context, jobs []*job, n int, exec func(context.Context, *job), done func(*job)) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(n, 1))
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			exec(ctx, j)
			j.ran = true
			mu.Lock()
			defer mu.Unlock()
			done(j)
		}()
	}
	wg.Wait()
}
