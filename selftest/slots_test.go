package selftest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"stampede/infra"
	"stampede/reports"
	"stampede/run"
)

// fakeService is a service handle whose process runs or not.
type fakeService struct{ up bool }

func (f *fakeService) Name() string  { return "redis" }
func (f *fakeService) Addr() string  { return "127.0.0.1:1" }
func (f *fakeService) Running() bool { return f.up }

// fakeSlots are slots whose sets are counted, not started.
func fakeSlots() (s *slots, started, stopped func() int) {
	var mu sync.Mutex
	var nstart, nstop int
	s = newSlots(run.Options{})
	s.start = func(context.Context, run.Options) (*infra.Services, error) {
		mu.Lock()
		defer mu.Unlock()
		nstart++
		return &infra.Services{Redis: &fakeService{up: true}}, nil
	}
	s.stop = func(*infra.Services) error {
		mu.Lock()
		defer mu.Unlock()
		nstop++
		return nil
	}
	count := func(n *int) func() int {
		return func() int { mu.Lock(); defer mu.Unlock(); return *n }
	}
	return s, count(&nstart), count(&nstop)
}

// TestSlotsReuseSetsOfCompletedRuns: a set of services serves the next run after one that
// completed (a failed check included) with every service running; after a run that did not
// complete, or that left a service down, it is closed and the next run gets a new one.
func TestSlotsReuseSetsOfCompletedRuns(t *testing.T) {
	pass := &reports.Summary{Runs: []reports.Run{{Strategy: "naive", Verdict: reports.Fail}}}
	for _, c := range []struct {
		name   string
		sum    *reports.Summary
		err    error
		down   bool
		reused bool
	}{
		{"completed", pass, nil, false, true},
		{"run error", &reports.Summary{Runs: []reports.Run{{Error: "start the reference server: boom"}}}, nil, false, false},
		{"no summary", nil, errors.New("start local services: boom"), false, false},
		{"interrupted", &reports.Summary{Interrupted: true, Runs: pass.Runs}, nil, false, false},
		{"service down", pass, nil, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, started, stopped := fakeSlots()
			ctx := context.Background()
			first, err := s.take(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.down {
				first.Redis.(*fakeService).up = false
			}
			s.give(first, c.sum, c.err)
			second, err := s.take(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := second == first; got != c.reused {
				t.Errorf("second run got the first run's set: %v, want %v", got, c.reused)
			}
			wantStarted, wantStopped := 2, 1
			if c.reused {
				wantStarted, wantStopped = 1, 0
			}
			if started() != wantStarted || stopped() != wantStopped {
				t.Errorf("%d sets started, %d closed; want %d and %d", started(), stopped(), wantStarted, wantStopped)
			}
			s.give(second, pass, nil)
			s.close()
			if stopped() != wantStopped+1 {
				t.Errorf("after close: %d sets closed, want %d", stopped(), wantStopped+1)
			}
		})
	}
}

// TestSlotsNeverMoreThanRunsAtOnce: runs n at a time start at most n sets however many runs
// there are, and a set given back after close is closed, not kept.
func TestSlotsNeverMoreThanRunsAtOnce(t *testing.T) {
	s, started, stopped := fakeSlots()
	jobs := make([]*job, 20)
	var mu sync.Mutex
	inUse := map[*infra.Services]bool{}
	for i := range jobs {
		jobs[i] = &job{seed: int64(i)}
	}
	runJobs(context.Background(), jobs, 3, func(ctx context.Context, j *job) {
		svc, err := s.take(ctx)
		if err != nil {
			j.err = err
			return
		}
		mu.Lock()
		if inUse[svc] {
			t.Errorf("job %d: set already serving another run", j.seed)
		}
		inUse[svc] = true
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // the run
		mu.Lock()
		inUse[svc] = false
		mu.Unlock()
		s.give(svc, &reports.Summary{}, nil)
	}, func(*job) {})
	if n := started(); n < 1 || n > 3 {
		t.Errorf("%d sets started for 20 runs 3 at a time, want 1 to 3", n)
	}
	n := started()
	s.close()
	if stopped() != n {
		t.Errorf("close: %d of %d sets closed", stopped(), n)
	}
	late, _ := s.start(context.Background(), run.Options{})
	s.give(late, &reports.Summary{}, nil)
	if stopped() != n+1 {
		t.Errorf("a set given back after close was kept")
	}
}

// TestSlotsStartOneAtATimeAndRetry: sets start one at a time, and a start that failed is tried
// once more before the run is given the error.
func TestSlotsStartOneAtATimeAndRetry(t *testing.T) {
	s, _, _ := fakeSlots()
	var mu sync.Mutex
	var now, peak, calls int
	s.start = func(context.Context, run.Options) (*infra.Services, error) {
		mu.Lock()
		now++
		calls++
		peak = max(peak, now)
		fail := calls%2 == 1 // every first try fails
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		now--
		mu.Unlock()
		if fail {
			return nil, errors.New("mariadb-install-db: exit status 1")
		}
		return &infra.Services{}, nil
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.take(context.Background()); err != nil {
				t.Errorf("take: %v, want the second try's set", err)
			}
		}()
	}
	wg.Wait()
	if peak != 1 || calls != 8 {
		t.Errorf("%d starts, at most %d at once; want 8 (each set tried twice), one at a time", calls, peak)
	}
}
