package selftest

import (
	"context"
	"sync"

	"stampede/reports"
	"stampede/run"
)

// DefaultParallel is how many groups of runs a selftest with services of its own runs at once.
// A gauntlet run spends most of its wall time waiting on its timeline (arrivals, payment
// delays, hold expiries, settling), not on the CPU, so on two cores several overlap
// without changing what each one reaches.
const DefaultParallel = 4

// job is one group of runs: a scenario's broken variants or safe strategies at one seed,
// through one run.Run with services of its own.
type job struct {
	scenario string
	seed     int64
	kind     string
	o        run.Options

	ran bool
	sum *reports.Summary
	err error
}

// parallel is how many jobs run at once: Parallel, or by default DefaultParallel when every job
// starts its own services and 1 when they share them (Env external, or Run.Services given).
func (o Options) parallel() int {
	switch {
	case o.Parallel > 0:
		return o.Parallel
	case !o.ownServices():
		return 1
	}
	return DefaultParallel
}

// ownServices says whether every group of runs starts services of its own: local processes on
// free ports in a directory of their own (databases, Redis, the processor and the server), so
// that concurrent groups cannot see each other's data, keys or faults.
func (o Options) ownServices() bool {
	return o.Run.Services == nil && (o.Run.Env == "" || o.Run.Env == "local")
}

// execute runs one job through run.Run.
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
