package selftest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/infra"
	"stampede/run"
)

// TestRunJobsBoundsConcurrency: runJobs never runs more than n jobs at once, runs them all when
// it may, reports each once, and starts none after ctx ends.
func TestRunJobsBoundsConcurrency(t *testing.T) {
	for _, n := range []int{1, 3} {
		jobs := make([]*job, 7)
		for i := range jobs {
			jobs[i] = &job{seed: int64(i)}
		}
		var running, peak atomic.Int32
		exec := func(ctx context.Context, j *job) {
			now := running.Add(1)
			for {
				p := peak.Load()
				if now <= p || peak.CompareAndSwap(p, now) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			running.Add(-1)
		}
		var done []int64
		var mu sync.Mutex
		runJobs(context.Background(), jobs, n, exec, func(j *job) {
			mu.Lock()
			done = append(done, j.seed)
			mu.Unlock()
		})
		if int(peak.Load()) != n {
			t.Errorf("n=%d: peak concurrency %d", n, peak.Load())
		}
		if len(done) != len(jobs) {
			t.Errorf("n=%d: %d jobs reported, want %d", n, len(done), len(jobs))
		}
		for _, j := range jobs {
			if !j.ran {
				t.Errorf("n=%d: job %d did not run", n, j.seed)
			}
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	jobs := []*job{{seed: 0}, {seed: 1}, {seed: 2}}
	runJobs(ctx, jobs, 1, func(context.Context, *job) { cancel() }, func(*job) {})
	if !jobs[0].ran || jobs[1].ran || jobs[2].ran {
		t.Errorf("after cancel: ran %v %v %v, want only the first", jobs[0].ran, jobs[1].ran, jobs[2].ran)
	}
}

// TestParallelNeedsOwnServices: groups run at once only on services of their own; on shared
// ones (external endpoints, or services given) the default is 1 and more is refused.
func TestParallelNeedsOwnServices(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want int
	}{
		{Options{}, DefaultParallel},
		{Options{Parallel: 2}, 2},
		{Options{Run: run.Options{Env: "external"}}, 1},
		{Options{Run: run.Options{Services: &infra.Services{}}}, 1},
	} {
		if got := c.o.parallel(); got != c.want {
			t.Errorf("%+v: parallel %d, want %d", c.o.Run.Env, got, c.want)
		}
	}
	for _, o := range []Options{
		{Parallel: 2, Run: run.Options{Env: "external"}},
		{Parallel: -1},
	} {
		o.Out = t.TempDir()
		if _, _, err := Run(context.Background(), o); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "parallel") {
			t.Errorf("parallel %d env %q: err %v, want ErrInput", o.Parallel, o.Run.Env, err)
		}
	}
}
