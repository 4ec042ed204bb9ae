package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"stampede/chaos"
	"stampede/checker"
	"stampede/history"
	"stampede/workloads"
)

// herdResult is what the driver and the fault schedule leave for the report.
type herdResult struct {
	sum     *workloads.Summary
	windows []chaos.Window
	began   time.Duration // the first arrival, on the driver's clock
	end     int64         // the driver's clock when the herd was over
}

// herd drives sc at url, recording history.jsonl and metrics.jsonl in the run's directory,
// with the fault schedule acting on target beside it.
func (s *single) herd(ctx context.Context, sc *workloads.Scenario, url string, target *chaos.Target) (herdResult, error) {
	var h herdResult
	hw, err := history.Create(filepath.Join(s.dir, checker.HistoryFile))
	if err != nil {
		return h, err
	}
	mf, err := os.Create(filepath.Join(s.dir, "metrics.jsonl"))
	if err != nil {
		hw.Close()
		return h, fmt.Errorf("create metrics: %w", err)
	}
	d, err := workloads.New(workloads.Config{Scenario: sc, Target: url, Seed: s.seed, History: hw, Metrics: mf,
		Progress: s.o.Progress, CreateEvents: true, AdminToken: target.AdminToken, Strategy: s.strategy, DB: s.db})
	if err != nil {
		hw.Close()
		mf.Close()
		return h, err
	}
	// The driver owns the terminal while the herd runs: the run's lines go above its display.
	s.progress.setDriver(d)
	defer s.progress.setDriver(nil)

	// The fault schedule runs beside the herd, on the driver's clock, from the first arrival.
	schedCtx, stopSched := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.windows = s.schedule(schedCtx, d, target)
	}()
	sum, runErr := d.Run(ctx)
	stopSched() // faults still open recover now; faults not yet due are not injected
	wg.Wait()
	h.end = d.Clock().Now()
	if err := hw.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if err := mf.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close metrics: %w", err)
	}
	if runErr != nil {
		return h, fmt.Errorf("drive: %w", runErr)
	}
	h.sum = sum
	h.began, _ = d.Began()
	return h, nil
}

func (s *single) schedule(ctx context.Context, d *workloads.Driver, target *chaos.Target) []chaos.Window {
	if len(s.entries) == 0 {
		return nil
	}
	// Wait for the herd to begin: offsets count from the first arrival.
	var began time.Duration
	for {
		var ok bool
		if began, ok = d.Began(); ok {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Millisecond):
		}
	}
	return s.runSchedule(ctx, began, d.Clock().Now, target, d.Printf, d.Annotate)
}

// runSchedule runs the fault schedule with its offsets counted from began on clock, printing
// each injection and recovery with print and writing their records with write.
func (s *single) runSchedule(ctx context.Context, began time.Duration, clock func() int64, target *chaos.Target,
	print func(string, ...any), write func(*history.Record) error) []chaos.Window {
	entries := make([]chaos.Entry, len(s.entries))
	for i, e := range s.entries {
		e.At += began
		entries[i] = e
	}
	sched := &chaos.Schedule{Entries: entries, Target: target, Clock: clock,
		Record: &annotator{print: print, write: write, began: began, verbose: s.o.Verbose, failed: map[int64]bool{}}}
	return sched.Run(ctx)
}

// annotator writes fault records into the run's history, and tells the progress of each
// injection and recovery as it happens. Safe for concurrent use.
type annotator struct {
	print   func(format string, args ...any) // a progress line
	write   func(*history.Record) error      // into the history
	began   time.Duration                    // the herd's start, on the history's clock
	verbose bool                             // with the fault's parameters
	mu      sync.Mutex
	failed  map[int64]bool // the starts of faults that could not be injected
}

func (a *annotator) Write(r *history.Record) error {
	at := (time.Duration(r.Ret) - a.began).Seconds()
	name := r.In.Fault
	if a.verbose && len(r.In.Params) > 0 {
		keys := make([]string, 0, len(r.In.Params))
		for k := range r.In.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + r.In.Params[k]
		}
		name += " (" + strings.Join(keys, " ") + ")"
	}
	a.mu.Lock()
	notInjected := a.failed[r.Call]
	if r.Op == history.KindFaultStart && r.Type == history.Fail {
		a.failed[r.Call] = true
	}
	a.mu.Unlock()
	switch {
	case r.Op == history.KindFaultStart && r.Type == history.Fail:
		a.print("   %6.1fs fault %s not injected: %s", at, name, r.Out.Error)
	case r.Op == history.KindFaultStart:
		a.print("   %6.1fs fault %s injected", at, name)
	case r.Op == history.KindFaultEnd && notInjected:
	case r.Op == history.KindFaultEnd && r.Type == history.Fail:
		a.print("   %6.1fs fault %s: recovery failed: %s", at, name, r.Out.Error)
	case r.Op == history.KindFaultEnd:
		a.print("   %6.1fs fault %s over after %.1fs", at, name, time.Duration(r.Ret-r.Call).Seconds())
	}
	return a.write(r)
}
