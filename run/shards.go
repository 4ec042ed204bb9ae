package run

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"stampede/chaos"
	"stampede/checker"
	"stampede/history"
	"stampede/internal/exitcode"
	"stampede/internal/proc"
	"stampede/workloads"
)

// A sharded herd (Options.Shards) is the same plan driven by several driver processes, as a
// Kubernetes Indexed Job drives it from several pods (deploy/kubernetes): each process is
// `stampede drive --shard i/n` of the run's own executable, all of them begin at one instant
// (--start-at), and each writes its history, metrics and summary into shard-<i>/ of the run's
// cell directory, with its output in shard-<i>.log beside it. The runner creates the events once
// beforehand, runs the fault schedule itself on its own clock (its records in faults.jsonl),
// and afterwards merges everything as one driver would have written it: the histories on one
// time axis (workloads.Merge, widened by the clock skew bound), the summaries over all their
// samples (workloads.Combine: SLOs judged on the merged latency histograms, not on averaged
// percentiles) and the metrics per second (workloads.MergeMetrics). The checker and the report
// then see one herd.

// MaxShards bounds Options.Shards: more driver processes than this on one machine measure the
// machine's scheduler rather than the target.
const MaxShards = 64

// shardLead is how far ahead of now the shards' common start instant lies: time for every
// driver process to start and build its plan. A process later than that starts at once.
const shardLead = 2 * time.Second

// shardClockSkew is the clock skew bound the shards' histories are merged with. Every shard
// reads this machine's clock, so their wall-clock starts disagree only by the moments between
// each process's wall and monotonic readings, far below a millisecond.
const shardClockSkew = time.Millisecond

// faultsFile holds the fault records of a sharded herd, on the runner's clock.
const faultsFile = "faults.jsonl"

// shard is one driver process of a sharded herd.
type shard struct {
	name string // i/n
	dir  string
	task *proc.Task
	err  error // set when it did not end as a shard should
}

func (sh *shard) file(name string) string { return filepath.Join(sh.dir, name) }

// shardedHerd drives sc at url as s.o.Shards driver processes started together, with the fault
// schedule acting on target beside them, and merges what they wrote into the cell directory's
// history.jsonl and metrics.jsonl and into one summary.
func (s *single) shardedHerd(ctx context.Context, sc *workloads.Scenario, url string, target *chaos.Target) (herdResult, error) {
	var h herdResult
	n := s.o.Shards
	if err := workloads.CreateEvents(ctx, sc, url, target.AdminToken); err != nil {
		return h, fmt.Errorf("drive: %w", err)
	}
	scenario, err := filepath.Abs(s.o.Scenario)
	if err != nil {
		return h, fmt.Errorf("scenario path: %w", err)
	}
	clock := workloads.NewClock()
	faults, err := history.Create(filepath.Join(s.dir, faultsFile))
	if err != nil {
		return h, err
	}
	defer faults.Close()
	header := &history.Record{Client: -1, Op: history.KindHeader, Header: &history.Header{
		Start: clock.Start().UnixNano(), Scenario: sc.Name, Seed: s.seed, Target: url, Strategy: s.strategy, DB: s.db}}
	if err := faults.Write(header); err != nil {
		return h, err
	}
	start := time.Now().Add(shardLead)
	began := time.Duration(clock.Since(start))

	shards := make([]*shard, n)
	for i := range shards {
		sh := &shard{name: fmt.Sprintf("%d/%d", i, n), dir: filepath.Join(s.dir, fmt.Sprintf("shard-%d", i))}
		shards[i] = sh
		if err := os.MkdirAll(sh.dir, 0o755); err != nil {
			stopShards(shards[:i])
			return h, fmt.Errorf("create %s: %w", sh.dir, err)
		}
		args := []string{"drive", scenario, "--target", url, "--out", sh.dir, "--shard", sh.name,
			"--start-at", start.Format(time.RFC3339Nano), "--seed", strconv.FormatInt(s.seed, 10),
			"--scale", strconv.FormatFloat(sc.ScaleFactor(), 'g', -1, 64), "--event-prefix", sc.EventPrefix,
			"--setup=false", "--ledgers=false", "--abort-on-fail=0"}
		// The shards read only their command line, not this process's STAMPEDE_* settings
		// (a --metrics-addr there would have every shard take the same port).
		sh.task, err = proc.StartTask("shard "+sh.name, s.o.Binary, args, proc.EnvWithout("STAMPEDE_"), sh.dir+".log")
		if err != nil {
			stopShards(shards[:i])
			return h, fmt.Errorf("drive: %w", err)
		}
	}
	s.progress.printf("   %d driver processes (stampede drive --shard i/%d) start at %s; their output in %s\n",
		n, n, start.Format("15:04:05.000"), filepath.Join(s.dir, "shard-*.log"))

	// The fault schedule runs beside the shards, on the runner's clock, from their start.
	schedCtx, stopSched := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if len(s.entries) == 0 {
			return
		}
		line := func(format string, args ...any) { s.progress.printf(format+"\n", args...) }
		write := func(r *history.Record) error {
			if r.Client == 0 {
				r.Client = -1
			}
			return faults.Write(r)
		}
		h.windows = s.runSchedule(schedCtx, began, clock.Now, target, line, write)
	}()
	go func() {
		defer wg.Done()
		s.heartbeat(schedCtx, shards, start)
	}()
	herdErr := s.waitShards(ctx, shards)
	stopSched() // faults still open recover now; faults not yet due are not injected
	wg.Wait()
	h.end = clock.Now()
	if err := faults.Close(); err != nil && herdErr == nil {
		herdErr = err
	}
	if herdErr != nil {
		return h, herdErr
	}

	sum, err := mergeShards(s.dir, sc, shards, clock.Start(), start)
	if err != nil {
		return h, err
	}
	h.sum, h.began = sum, began
	return h, nil
}

// waitShards waits for every shard to end. A shard that fails (it exits other than with a
// verdict of its SLOs, or leaves no summary) stops the others, since the herd can no longer be
// judged whole, and the error names every failed shard with the end of its log. Cancelling
// ctx interrupts every shard.
func (s *single) waitShards(ctx context.Context, shards []*shard) error {
	failed := make(chan *shard, len(shards))
	var stopping atomic.Bool // the shards are being stopped: their interruption is no failure of theirs
	var wg sync.WaitGroup
	for _, sh := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-sh.task.Done()
			if stopping.Load() && sh.task.ExitCode() == exitcode.Interrupted {
				return
			}
			if sh.err = shardEnd(sh); sh.err != nil {
				failed <- sh
				return
			}
			s.progress.printf("   shard %s done\n", sh.name)
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case sh := <-failed:
		failed <- sh
		s.progress.printf("   shard %s failed: stopping the others\n", sh.name)
		stopping.Store(true)
		stopShards(shards)
		<-done
	case <-ctx.Done():
		stopping.Store(true)
		stopShards(shards)
		<-done
		return ctx.Err()
	}
	var errs []error
	for _, sh := range shards {
		if sh.err != nil {
			errs = append(errs, sh.err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("drive: %w", errors.Join(errs...))
	}
	return nil
}

// stopShards interrupts the shards still running and waits for them.
func stopShards(shards []*shard) {
	for _, sh := range shards {
		if sh.task != nil {
			_ = sh.task.Interrupt()
		}
	}
	for _, sh := range shards {
		if sh.task != nil {
			<-sh.task.Done()
		}
	}
}

// shardEnd says whether a shard ended as a shard should: its herd driven and its summary
// written, whatever its SLOs said (exit 0 or 3, or 4 when it was generator-bound, which the
// combined summary reports). Anything else is an error with the end of its log.
func shardEnd(sh *shard) error {
	code := sh.task.ExitCode()
	switch code {
	case exitcode.OK, exitcode.Gate, exitcode.Harness:
		sum, err := workloads.ReadSummary(sh.file(workloads.SummaryFile))
		if err == nil && (code != exitcode.Harness || sum.GeneratorBound) {
			return nil
		}
	}
	return sh.task.Failure()
}

// mergeShards writes the cell's history.jsonl (the fault records and every shard's history on
// the runner's clock, whose zero is zero) and metrics.jsonl, and returns the shards' summaries
// combined.
func mergeShards(dir string, sc *workloads.Scenario, shards []*shard, zero, start time.Time) (*workloads.Summary, error) {
	paths := []string{filepath.Join(dir, faultsFile)}
	for _, sh := range shards {
		paths = append(paths, sh.file(history.FileName))
	}
	hw, err := history.Create(filepath.Join(dir, checker.HistoryFile))
	if err != nil {
		return nil, err
	}
	err = withFiles(paths, func(in []io.Reader) error { return workloads.Merge(hw, shardClockSkew, in...) })
	if cerr := hw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("merge the shards' histories: %w", err)
	}

	parts := make([]*workloads.Summary, len(shards))
	for i, sh := range shards {
		if parts[i], err = workloads.ReadSummary(sh.file(workloads.SummaryFile)); err != nil {
			return nil, err
		}
	}
	sum, err := workloads.Combine(sc, parts...)
	if err != nil {
		return nil, err
	}
	sum.HistoryRecords = hw.Count()

	paths = paths[:0]
	for _, sh := range shards {
		paths = append(paths, sh.file("metrics.jsonl"))
	}
	mf, err := os.Create(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("create metrics: %w", err)
	}
	err = withFiles(paths, func(in []io.Reader) error { return workloads.MergeMetrics(mf, zero, start, in...) })
	if cerr := mf.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close metrics: %w", cerr)
	}
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// withFiles opens every path and calls fn with them, closing them afterwards.
func withFiles(paths []string, fn func([]io.Reader) error) error {
	var in []io.Reader
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		in = append(in, f)
	}
	return fn(in)
}

// heartbeat prints a line of the shards' progress every workloads.DefaultHeartbeat until ctx
// ends: the time since their start, users arrived, the last second's request rate, requests in
// flight and the outcomes so far (refusals, the contract's business answers, apart from
// failures), added over the shards from their metrics.jsonl.
func (s *single) heartbeat(ctx context.Context, shards []*shard, start time.Time) {
	t := time.NewTicker(workloads.DefaultHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var tot workloads.MetricsLine
		var arrived, inFlight int64
		var rate float64
		running := 0
		for _, sh := range shards {
			select {
			case <-sh.task.Done():
			default:
				running++
			}
			last := sumMetrics(sh.file("metrics.jsonl"), &tot)
			arrived += last.Arrived
			inFlight += last.InFlight
			rate += last.Rate
		}
		hard := tot.Errors - tot.Info // the failures that count as errors
		s.progress.printf("   %s  shards %d/%d running  users %d  %.0f req/s  in-flight %d  ok %d refused %d fail %d info %d shed %d\n",
			time.Since(start).Round(time.Second), running, len(shards), arrived, rate, inFlight,
			tot.Ok, tot.Fail-hard, hard, tot.Info, tot.Shed)
	}
}

// sumMetrics adds the outcomes of every line of a metrics.jsonl to tot and returns its last
// line (zero when there is none yet).
func sumMetrics(path string, tot *workloads.MetricsLine) workloads.MetricsLine {
	var last workloads.MetricsLine
	f, err := os.Open(path)
	if err != nil {
		return last
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var m workloads.MetricsLine
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue // a line being written
		}
		tot.Ok += m.Ok
		tot.Fail += m.Fail
		tot.Info += m.Info
		tot.Shed += m.Shed
		tot.Errors += m.Errors
		last = m
	}
	return last
}
