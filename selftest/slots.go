package selftest

import (
	"context"
	"sync"

	"stampede/infra"
	"stampede/reports"
	"stampede/run"
)

// slots are the sets of services (PostgreSQL, MariaDB, Redis: local processes on free ports in
// a directory of their own) that a selftest's runs take turns on. A set serves one run at a
// time, so the run's faults (a Redis restarted, a database killed) and its fresh state (its
// database dropped and made again, Redis emptied) reach no other run; and it is kept for the
// next run rather than started again, since a new PostgreSQL or MariaDB cluster costs seconds
// of CPU, a fresh database in a running one a few milliseconds. A set that a run may have left
// broken (the run did not complete, or a service is no longer running, as after a restart that
// failed) is closed and the next run gets a new one. There are never more sets than runs at
// once. Safe for concurrent use.
type slots struct {
	o run.Options // what every set starts: its Env and DBs
	// start and stop start and close a set; tests replace them.
	start func(context.Context, run.Options) (*infra.Services, error)
	stop  func(*infra.Services) error

	mu     sync.Mutex
	free   []*infra.Services
	closed bool
	// starting lets one set start at a time: several MariaDB installs at once on a loaded
	// machine failed where one after another did not.
	starting sync.Mutex
}

// newSlots prepares sets of the services that o (with every database the runs take) needs;
// none is started until a run takes one.
func newSlots(o run.Options) *slots {
	return &slots{o: o, start: run.StartServices, stop: (*infra.Services).Close}
}

// take returns a free set, or starts one (one at a time, and a second time when the first
// start failed).
func (s *slots) take(ctx context.Context) (*infra.Services, error) {
	s.mu.Lock()
	if n := len(s.free); n > 0 {
		svc := s.free[n-1]
		s.free = s.free[:n-1]
		s.mu.Unlock()
		return svc, nil
	}
	s.mu.Unlock()
	s.starting.Lock()
	defer s.starting.Unlock()
	svc, err := s.start(ctx, s.o)
	if err != nil && ctx.Err() == nil {
		svc, err = s.start(ctx, s.o)
	}
	return svc, err
}

// give returns a set after a run: kept for the next one when the run completed (sum, no error
// of its own) and every service still runs, closed otherwise.
func (s *slots) give(svc *infra.Services, sum *reports.Summary, err error) {
	s.mu.Lock()
	keep := !s.closed && err == nil && completed(sum) && running(svc)
	if keep {
		s.free = append(s.free, svc)
	}
	s.mu.Unlock()
	if !keep {
		_ = s.stop(svc)
	}
}

// close closes the free sets; sets given back later are closed as they come.
func (s *slots) close() {
	s.mu.Lock()
	free := s.free
	s.free, s.closed = nil, true
	s.mu.Unlock()
	for _, svc := range free {
		_ = s.stop(svc)
	}
}

// execute runs one job through run.Run on a set of services taken for it.
func (s *slots) execute(ctx context.Context, j *job) {
	svc, err := s.take(ctx)
	if err != nil {
		j.err = err
		return
	}
	o := j.o
	o.Services = svc
	j.sum, _, j.err = run.Run(ctx, o)
	s.give(svc, j.sum, j.err)
}

// completed says whether every run of sum completed (a failed check is a completed run).
func completed(sum *reports.Summary) bool {
	if sum == nil || sum.Interrupted {
		return false
	}
	for _, r := range sum.Runs {
		if r.Error != "" {
			return false
		}
	}
	return true
}

// runner is a service handle that can say whether its process still runs (a local process).
type runner interface{ Running() bool }

// running says whether every service of svc that is a local process still runs.
func running(svc *infra.Services) bool {
	for _, h := range []any{svc.Postgres, svc.MySQL, svc.Redis} {
		if r, ok := h.(runner); ok && !r.Running() {
			return false
		}
	}
	return true
}
