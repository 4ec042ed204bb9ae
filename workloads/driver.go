package workloads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"stampede/history"
)

// Config is what a driver run is built from. Scenario and Target are required; everything
// else has a documented default.
type Config struct {
	Scenario *Scenario
	// Target is the base URL of the system under test (http://127.0.0.1:8080).
	Target string
	// Seed overrides the scenario's seed; 0 means the scenario's.
	Seed int64
	// Shard selects the part of the users this process runs; the zero Shard runs them all.
	Shard Shard
	// OutDir receives history.jsonl and metrics.jsonl (created if needed) unless History and
	// Metrics are given. With neither, nothing is written to disk.
	OutDir string
	// History, when set, receives the records instead of OutDir/history.jsonl. The driver
	// flushes it at the end but does not close it (the caller owns it).
	History *history.Writer
	// Metrics, when set, receives the per-second time series instead of OutDir/metrics.jsonl.
	Metrics io.Writer
	// Progress, when set, shows the run as it goes: a live display on a terminal (when CI is
	// not "true"), else a line every Heartbeat; Driver.Printf writes lines to it.
	Progress io.Writer
	// Heartbeat is how often a progress line is printed when Progress is not a terminal;
	// 0 means DefaultHeartbeat, negative none.
	Heartbeat time.Duration
	// AbortOnFail, when positive, aborts the run once every request completed for that long
	// has ended in an error (a target that is down); Run then returns an error wrapping
	// ErrAllFailing. 0 never aborts.
	AbortOnFail time.Duration
	// OnRecord, when set, is called with every record as it is written (from many goroutines
	// at once); it must be quick and must not keep the record.
	OnRecord func(*history.Record)
	// Clock is the run's time axis; nil means a new clock whose zero is when New returns.
	// Arrivals start after the set-up, at Driver.Began on that clock.
	Clock *Clock
	// HTTPClient sends the requests; nil means one on NewTransport(MaxConns). Its Timeout
	// should be 0: each request has the scenario's RequestTimeout. Waiting-room streams, which
	// hold a connection each for as long as a user waits, always go through a transport of
	// their own without a connection bound.
	HTTPClient *http.Client
	// MaxConns bounds the connections of the default client to the target (default 512;
	// negative: no bound). A request that finds them all busy waits for one; the wait counts
	// in its latency, so a bound that is too small shows up as latency, not as a lower rate,
	// and in the driver's own figures (slot waits), which say when it limited the run.
	MaxConns int
	// RunID labels this run's sessions and idempotency keys, so that runs against one server
	// do not collide; default: the clock's start time. It is the one thing not derived from
	// the seed.
	RunID string
	// CreateEvents makes the driver create the scenario's events (POST /admin/events) before
	// the first arrival.
	CreateEvents bool
	// AdminToken is sent as the bearer token of the driver's admin requests (POST
	// /admin/events; see internal/admintoken); empty sends none.
	AdminToken string
	// MaxActive bounds the users running at once (default DefaultMaxActive); an arrival beyond
	// it is dropped and counted, as k6 does, instead of delaying the schedule. It is what bounds
	// the driver's memory when the target (or the driver's machine) falls behind: each running
	// user costs roughly 10-30 KiB (its goroutine, its timer, its request).
	MaxActive int
	// Drain bounds the wait for running users after the last arrival (default: the scenario's
	// longest flow bound plus a minute). Users still running then are cancelled.
	Drain time.Duration
	// Pacer replaces the scenario's arrival profile, with Users arrivals (tests use it).
	Pacer Pacer
	Users int
	// Strategy and DB label the history header when the runner knows them.
	Strategy, DB string
	// Saturation says when the driver counts as the run's bottleneck (Summary.GeneratorBound);
	// the zero value takes its defaults.
	Saturation Saturation
	// ServerMetrics is the path of the target's Prometheus metrics, read before the first
	// arrival and after the last answer to attribute the run's time (Summary.Server and
	// Attribution); empty means /metrics, "-" reads none.
	ServerMetrics string
	// Observer, when set, follows the run as it goes (live metrics; see Observer).
	Observer Observer
	// StartAt, when set, is the instant the arrivals start, after the set-up: sharded drivers
	// on several machines share it so that their herds line up. New refuses one more than
	// MaxStartLate in the past; one less far in the past starts at once.
	StartAt time.Time
}

// transportShards is how many transports the default client spreads users over.
const transportShards = 8

// DefaultMaxActive is the default bound on users running at once: enough for a waiting room
// holding tens of thousands of buyers, small enough to keep the driver within about 2 GiB.
const DefaultMaxActive = 60_000

// DefaultMaxConns is the default bound on the driver's connections for ordinary requests.
const DefaultMaxConns = 512

// Driver runs one scenario's herd against a target. Create it with New, then call Run once.
// Clock, Plan, Began and Annotate are safe to call from other goroutines during Run.
type Driver struct {
	cfg    Config
	sc     *Scenario
	seed   int64
	plan   *Plan
	clock  *Clock
	client *client
	rec    *recorder
	runID  string

	hist      *history.Writer
	ownHist   bool
	metricsF  *os.File
	beganMu   sync.Mutex
	began     int64
	beganOK   bool
	flowCount []int64
	flowMu    sync.Mutex
	out       *lines // the progress output (Printf)
	// lanes are the gates' scanners of the scan flow (scan.go).
	lanes gateLanes
}

// New checks cfg and builds the driver: the plan, the client and the outputs.
func New(cfg Config) (*Driver, error) {
	if cfg.Scenario == nil {
		return nil, errors.New("driver: no scenario")
	}
	if cfg.Target == "" {
		return nil, errors.New("driver: no target URL")
	}
	if !strings.HasPrefix(cfg.Target, "http://") && !strings.HasPrefix(cfg.Target, "https://") {
		return nil, fmt.Errorf("driver: target %q is not an http:// or https:// URL", cfg.Target)
	}
	if err := cfg.Shard.Validate(); err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	if err := CheckStartAt(cfg.StartAt, time.Now()); err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	d := &Driver{cfg: cfg, sc: cfg.Scenario, seed: cfg.Scenario.RunSeed(cfg.Seed), out: &lines{w: cfg.Progress}}
	if cfg.Pacer != nil {
		if cfg.Users < 1 {
			return nil, errors.New("driver: a Pacer needs Users > 0")
		}
		d.plan = newPlan(d.sc, d.seed, cfg.Pacer, cfg.Users)
	} else {
		p, err := NewPlan(d.sc, d.seed)
		if err != nil {
			return nil, fmt.Errorf("driver: %w", err)
		}
		d.plan = p
	}
	d.clock = cfg.Clock
	if d.clock == nil {
		d.clock = NewClock()
	}
	d.runID = cfg.RunID
	if d.runID == "" {
		d.runID = "r" + strconv.FormatInt(d.clock.Start().UnixMilli(), 36)
		if cfg.Shard.Count > 1 {
			d.runID += "s" + strconv.Itoa(cfg.Shard.Index)
		}
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var more []*http.Client
	maxConns := 0
	hc := cfg.HTTPClient
	if hc == nil {
		conns := cfg.MaxConns
		switch {
		case conns == 0:
			conns = DefaultMaxConns
		case conns < 0:
			conns = 0
		}
		maxConns = conns
		hc = &http.Client{Transport: NewTransport(conns), CheckRedirect: noRedirect}
		// A herd of goroutines on one http.Transport queues on its locks; with many
		// connections, spread users over several transports sharing the bound. (With few,
		// users hashed unevenly over the transports would wait for connections.)
		if conns == 0 || conns >= 4096 {
			for k := 0; k < transportShards; k++ {
				per := conns / transportShards
				more = append(more, &http.Client{Transport: NewTransport(per), CheckRedirect: noRedirect})
			}
		}
	}
	stream := &http.Client{Transport: NewTransport(0), CheckRedirect: noRedirect}
	timeout := d.sc.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	d.client = &client{base: strings.TrimRight(cfg.Target, "/"), hc: hc, more: more, stream: stream, timeout: timeout, clock: d.clock}
	if cfg.HTTPClient == nil && maxConns > 0 {
		d.client.slots = make(chan struct{}, maxConns)
	}
	d.flowCount = make([]int64, len(d.sc.Users))

	metrics := cfg.Metrics
	d.hist = cfg.History
	if cfg.OutDir != "" && (d.hist == nil || metrics == nil) {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("driver: create output directory: %w", err)
		}
	}
	if d.hist == nil && cfg.OutDir != "" {
		w, err := history.Create(filepath.Join(cfg.OutDir, history.FileName))
		if err != nil {
			return nil, fmt.Errorf("driver: %w", err)
		}
		d.hist, d.ownHist = w, true
	}
	if metrics == nil && cfg.OutDir != "" {
		f, err := os.Create(filepath.Join(cfg.OutDir, "metrics.jsonl"))
		if err != nil {
			d.closeOutputs()
			return nil, fmt.Errorf("driver: create metrics: %w", err)
		}
		d.metricsF, metrics = f, f
	}
	d.rec = newRecorder(d.clock, d.hist, metrics, cfg.OnRecord, d.client.inFlight.Load, d.client.streams.Load)
	d.rec.observer = cfg.Observer
	// The header goes first, before anything Annotate may write.
	header := &history.Record{Client: -1, Op: history.KindHeader, Header: &history.Header{
		Start: d.clock.Start().UnixNano(), Scenario: d.sc.Name, Seed: d.seed, Target: cfg.Target,
		Strategy: cfg.Strategy, DB: cfg.DB, Shard: cfg.Shard.String(),
	}}
	if d.hist != nil {
		if err := d.hist.Write(header); err != nil {
			d.closeOutputs()
			return nil, fmt.Errorf("driver: %w", err)
		}
	}
	return d, nil
}

// Run is New followed by Driver.Run.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	d, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return d.Run(ctx)
}

// Clock returns the run's clock: history times are nanoseconds since its zero.
func (d *Driver) Clock() *Clock { return d.clock }

// Plan returns the run's plan.
func (d *Driver) Plan() *Plan { return d.plan }

// RunID returns the label of the run's sessions and keys.
func (d *Driver) RunID() string { return d.runID }

// Began returns the offset on the run's clock at which arrivals started (arrival offsets of
// the plan count from it), and false before the set-up is done.
func (d *Driver) Began() (time.Duration, bool) {
	d.beganMu.Lock()
	defer d.beganMu.Unlock()
	return time.Duration(d.began), d.beganOK
}

// Annotate writes a record that is not a client operation, such as a fault's start or end,
// to the run's history (after its header, which New writes). Times must be on the run's clock (Clock().Now()). Client is set to
// -1 when it is 0.
func (d *Driver) Annotate(rec *history.Record) error {
	if rec.IsOperation() {
		return fmt.Errorf("annotate: %s is a client operation", rec.Op)
	}
	if rec.Client == 0 {
		rec.Client = -1
	}
	if err := d.rec.annotate(rec); err != nil {
		return fmt.Errorf("annotate: %w", err)
	}
	return nil
}

func (d *Driver) closeOutputs() error {
	var errs []error
	if d.ownHist && d.hist != nil {
		errs = append(errs, d.hist.Close())
		d.ownHist = false
	} else if d.hist != nil {
		errs = append(errs, d.hist.Flush())
	}
	if d.metricsF != nil {
		if err := d.metricsF.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close metrics: %w", err))
		}
		d.metricsF = nil
	}
	return errors.Join(errs...)
}

// drainBound is how long running users may take after the last arrival by default: the
// longest planned flow plus the request deadlines, plus a minute.
func (d *Driver) drainBound() time.Duration {
	if d.cfg.Drain > 0 {
		return d.cfg.Drain
	}
	sc := d.sc
	var longest time.Duration
	for _, f := range sc.Users {
		var t time.Duration
		switch f.Flow {
		case FlowBrowse:
			t = time.Duration(f.Pages.Max) * (f.Think.Max + sc.RequestTimeout + f.Patience)
		case FlowBuy:
			requests := 2*f.HoldTries + f.Retry + 1
			t = f.Think.Max + time.Duration(f.HoldTries)*2*sc.RequestTimeout + f.PayAfter.Max +
				time.Duration(f.Retry+1)*(sc.RequestTimeout+f.RetryBackoff)
			if sc.WaitingRoom.Enabled {
				t += sc.WaitingRoom.Timeout + sc.RequestTimeout
				requests++
			}
			// Each request may be shed and retried for as long as the user's patience lasts.
			t += time.Duration(requests) * f.Patience
		case FlowBot:
			t = f.Think.Max + time.Duration(f.Attempts)*(f.Interval+sc.RequestTimeout)
		}
		longest = max(longest, t)
	}
	return longest + time.Minute
}

// Run creates the events when asked, waits for Config.StartAt when it is set, then starts the
// users of its shard at their planned offsets (open model: an arrival never waits for the
// system under test), waits for them to finish, and returns the summary. Cancelling ctx stops
// the arrivals and the running users; their in-flight requests end as info records and Run
// returns the summary so far with ctx's error. The history and metrics are flushed (and closed
// when the driver opened them) before Run returns. Run must be called once.
func (d *Driver) Run(ctx context.Context) (sum *Summary, err error) {
	defer func() {
		if cerr := d.closeOutputs(); cerr != nil && err == nil {
			err = fmt.Errorf("driver: %w", cerr)
		}
	}()
	if d.cfg.CreateEvents {
		if err := d.createEvents(ctx); err != nil {
			return nil, fmt.Errorf("driver: %w", err)
		}
	}
	if err := d.waitForStart(ctx); err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	srvBefore, srvErr := d.readServer(ctx)
	began := d.clock.Now()
	d.beganMu.Lock()
	d.began, d.beganOK = began, true
	d.beganMu.Unlock()
	if d.cfg.Observer != nil {
		d.cfg.Observer.Begin(d)
	}
	ctx, stopWatch := d.watchFailures(ctx, began)
	defer stopWatch()

	users := d.plan.ShardUsers(d.cfg.Shard)
	userCtx, cancelUsers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelUsers()
	go func() {
		select {
		case <-ctx.Done():
			cancelUsers()
		case <-userCtx.Done():
		}
	}()

	// Metrics: one line a second, on the run's clock.
	tickDone := make(chan struct{})
	tickStop := make(chan struct{})
	d.rec.lastWin = began
	go func() {
		defer close(tickDone)
		next := began + int64(time.Second)
		t := time.NewTimer(time.Duration(next - d.clock.Now()))
		defer t.Stop()
		for {
			select {
			case <-tickStop:
				return
			case <-t.C:
				d.rec.tick(next)
				next += int64(time.Second)
				t.Reset(time.Duration(next - d.clock.Now()))
			}
		}
	}()
	prog := startProgress(d, len(users))

	var wg sync.WaitGroup
	maxActive := d.maxActive()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	idle := make(chan userJob)
	interrupted := false
dispatch:
	for _, i := range users {
		due, ok := d.plan.pacer.Pace(uint64(i))
		if !ok {
			break
		}
		at := began + int64(due)
		if wait := at - d.clock.Now(); wait > 0 {
			timer.Reset(time.Duration(wait))
			select {
			case <-ctx.Done():
				timer.Stop()
				interrupted = true
				break dispatch
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			interrupted = true
			break
		}
		if lag := d.clock.Now() - at; lag > 0 {
			d.rec.noteLag(time.Duration(lag))
		}
		if d.rec.historyErr() != nil {
			interrupted = true
			break
		}
		if d.rec.active.Load() >= maxActive {
			d.rec.dropped.Add(1)
			d.observeArrival(at, true)
			continue
		}
		d.observeArrival(at, false)
		d.rec.arrived.Add(1)
		d.rec.active.Add(1)
		wg.Add(1)
		job := userJob{index: i, due: at}
		select {
		case idle <- job: // a finished user's goroutine takes it, its stack already grown
		default:
			go d.worker(userCtx, &wg, idle, job)
		}
	}

	// Drain: wait for the running users, bounded.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	drain := time.NewTimer(d.drainBound())
	select {
	case <-done:
	case <-userCtx.Done():
		interrupted = true
		<-done
	case <-drain.C:
		interrupted = true
		cancelUsers()
		<-done
	}
	drain.Stop()
	end := d.clock.Now()
	var srvTime *ServerTime
	if srvBefore != nil && srvErr == nil {
		var after *ServerTime
		if after, srvErr = d.readServer(ctx); after != nil {
			srvTime = after.since(srvBefore)
		}
	}
	close(tickStop)
	<-tickDone
	d.rec.tick(end)
	prog.stop()

	sum = d.summary(end-began, len(users))
	sum.Server = srvTime
	sum.Attribution = attribute(sum, srvTime, srvErr)
	sum.Interrupted = interrupted
	if herr := d.rec.historyErr(); herr != nil {
		return sum, fmt.Errorf("driver: %w", herr)
	}
	if merr := d.rec.flushMetrics(); merr != nil {
		return sum, fmt.Errorf("driver: %w", merr)
	}
	if ctx.Err() != nil {
		return sum, fmt.Errorf("driver: %w", context.Cause(ctx))
	}
	return sum, nil
}

// userJob is one arrival handed to a worker goroutine.
type userJob struct {
	index int
	due   int64
}

// workerIdle is how long a goroutine whose user finished waits for the next arrival before it
// exits. Reusing goroutines spares each arrival a new goroutine and the growth of its stack to
// the depth of an HTTP call, which otherwise dominates the cost of a large herd.
const workerIdle = 2 * time.Second

// worker plays job's user, then the users handed to it on idle, until none comes for
// workerIdle or ctx ends.
func (d *Driver) worker(ctx context.Context, wg *sync.WaitGroup, idle <-chan userJob, job userJob) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		d.runUser(ctx, wg, job.index, job.due)
		t.Reset(workerIdle)
		select {
		case job = <-idle:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// serverMetricsTimeout bounds a reading of the target's metrics: a healthy server answers in
// milliseconds, and a run must not wait long on one that does not.
const serverMetricsTimeout = 5 * time.Second

// readServer reads the target's metrics (see ServerTime); nil without an error when it has
// none or Config.ServerMetrics is "-". A cancelled run still reads them, within
// serverMetricsTimeout (or the request timeout, if shorter).
func (d *Driver) readServer(ctx context.Context) (*ServerTime, error) {
	path := d.cfg.ServerMetrics
	switch path {
	case "-":
		return nil, nil
	case "":
		path = "/metrics"
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(d.client.timeout, serverMetricsTimeout))
	defer cancel()
	return readServerMetrics(ctx, d.client.stream, d.client.base+path)
}

// maxActive is the bound on users running at once.
func (d *Driver) maxActive() int64 {
	if d.cfg.MaxActive > 0 {
		return int64(d.cfg.MaxActive)
	}
	return DefaultMaxActive
}

// runUser plays user i, due at the given offset of the run's clock.
func (d *Driver) runUser(ctx context.Context, wg *sync.WaitGroup, i int, due int64) {
	defer wg.Done()
	defer d.rec.active.Add(-1)
	d.rec.noteArrival(time.Duration(d.clock.Now() - due))
	p := d.plan.User(i)
	d.flowMu.Lock()
	d.flowCount[p.FlowIndex]++
	d.flowMu.Unlock()
	u := user{caller: caller{index: p.Index, session: sessionID(d.runID, i)}, d: d, p: p, next: due}
	// The user's own context: its requests' deadlines hang off it rather than off the run's
	// context, whose lock every request would otherwise take twice.
	uctx, cancel := context.WithCancel(ctx)
	u.run(uctx)
	cancel()
	d.rec.finished.Add(1)
}

func (d *Driver) summary(elapsed int64, planned int) *Summary {
	s := &Summary{
		Scenario: d.sc.Name, Seed: d.seed, Shard: d.cfg.Shard.String(), Target: d.cfg.Target, RunID: d.runID, Scale: d.sc.ScaleFactor(),
		Start: d.clock.Start(), Elapsed: time.Duration(elapsed), Users: planned,
		Arrived: d.rec.arrived.Load(), Dropped: d.rec.dropped.Load(), Finished: d.rec.finished.Load(),
		Flows: map[string]int64{}, Ops: map[string]*OpSummary{}, MaxLag: time.Duration(d.rec.maxLag.Load()),
	}
	d.flowMu.Lock()
	for i, n := range d.flowCount {
		s.Flows[d.sc.Users[i].Flow] += n
	}
	d.flowMu.Unlock()
	delays := newDriverDelays()
	var flights []*hdr.Histogram
	hists := &Histograms{Ops: map[string]OpHistograms{}}
	d.rec.mu.Lock()
	for i, st := range d.rec.total {
		n := st.count()
		if n == 0 {
			continue
		}
		codes := map[string]int64{}
		for k, v := range st.codes {
			codes[k] = v
		}
		s.Ops[string(opKinds[i])] = &OpSummary{
			Requests: n, Outcomes: Outcomes{st.ok, st.fail, st.info, st.shed}, Errors: st.errors, Codes: codes,
			Intended: latencyOf(st.intended), Actual: latencyOf(st.actual),
			Lag: latencyOf(st.delays.lag), SlotWait: latencyOf(st.delays.slot),
			SlotWaits: st.delays.slotWaits, SlotStarved: st.delays.starved,
			Calm: &CalmLatency{Requests: d.rec.calm[i].n, Intended: latencyOf(d.rec.calm[i].intended), Actual: latencyOf(d.rec.calm[i].actual)},
		}
		delays.merge(&st.delays)
		flights = append(flights, st.delays.flight)
		hists.Ops[string(opKinds[i])] = encodeOp(st)
		s.Requests += n
		s.Outcomes.Ok += st.ok
		s.Outcomes.Fail += st.fail
		s.Outcomes.Info += st.info
		s.Outcomes.Shed += st.shed
		s.Errors += st.errors
	}
	s.Generator = GeneratorStats{
		Lag: latencyOf(delays.lag), ArrivalLag: latencyOf(d.rec.arrivalLag), SlotWait: latencyOf(delays.slot),
		SlotWaits: delays.slotWaits, SlotStarved: delays.starved, MaxConns: cap(d.client.slots),
		LagSeconds: time.Duration(delays.lagSum).Seconds(), SlotWaitSeconds: time.Duration(delays.slotSum).Seconds(),
		CPU:     cpuUse(d.rec.cpuSamples, d.rec.cpuOK, d.cfg.Saturation.withDefaults().MaxCPU),
		LagIdle: latencyOf(delays.lagIdle),
	}
	if g := &s.Generator; g.SlotWaitSeconds > 0 {
		g.TargetSlowdown, g.TargetSlowed = targetSlowdown(flights)
		if g.TargetSlowed {
			g.SlotWaitTargetSeconds = round3(g.SlotWaitSeconds * g.TargetSlowdown)
		}
	}
	hists.ArrivalLag = encodeHist(d.rec.arrivalLag)
	s.Histograms = hists
	d.rec.mu.Unlock()
	s.SeatMap = d.client.seatMap.stats()
	if elapsed > 0 {
		s.Throughput = float64(s.Requests) / time.Duration(elapsed).Seconds()
	}
	if s.Requests > 0 {
		s.ErrorRate = float64(s.Errors) / float64(s.Requests)
	}
	if d.hist != nil {
		s.HistoryRecords = d.hist.Count()
	}
	s.checkSLO(d.sc.SLO)
	s.GeneratorBound, s.GeneratorReasons = judgeGenerator(s, d.cfg.Saturation, d.maxActive())
	s.distrustSLO()
	return s
}
