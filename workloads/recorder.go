package workloads

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"stampede/history"
)

// opKinds are the client operations the driver records, in a fixed order (the index of an
// operation's statistics).
var opKinds = [...]history.Kind{history.OpJoin, history.OpBrowse, history.OpRead, history.OpHold, history.OpRelease, history.OpCheckout}

func opIndex(k history.Kind) int {
	for i, o := range opKinds {
		if o == k {
			return i
		}
	}
	return -1
}

// Latencies are recorded in microseconds, from 1 µs to one hour, with 3 significant digits.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
)

func newHist() *hdr.Histogram { return hdr.New(histLowest, histHighest, histDigits) }

// opStats accumulates one operation's outcomes and latencies, and the driver's own delays
// in sending it (see driverDelays).
type opStats struct {
	ok, fail, info, shed int64
	errors               int64
	codes                map[string]int64
	intended             *hdr.Histogram // from the moment the request was due
	actual               *hdr.Histogram // from the moment it was sent
	delays               driverDelays
}

func newOpStats() *opStats {
	return &opStats{codes: map[string]int64{}, intended: newHist(), actual: newHist(), delays: newDriverDelays()}
}

func (s *opStats) add(r *history.Record, intended int64, ex *exchange) {
	switch r.Type {
	case history.Ok:
		s.ok++
	case history.Fail:
		s.fail++
	case history.Shed:
		s.shed++
	default:
		s.info++
	}
	if isError(r) {
		s.errors++
	}
	if r.Out.Code != "" && s.codes != nil {
		s.codes[r.Out.Code]++
	}
	act, due := latenciesUS(r, intended)
	_ = s.actual.RecordValue(act)
	_ = s.intended.RecordValue(due)
	flight := int64(-1) // no answer: a deadline or a transport error cut its time short
	if r.Out.Status != 0 {
		flight = r.Ret - r.Call
	}
	s.delays.add(ex, intended, flight)
}

func (s *opStats) reset() {
	s.ok, s.fail, s.info, s.shed, s.errors = 0, 0, 0, 0, 0
	s.intended.Reset()
	s.actual.Reset()
	s.delays.reset()
}

func (s *opStats) count() int64 { return s.ok + s.fail + s.info + s.shed }

// driverDelays accumulates how late the driver began requests and how long they waited for
// one of its connection slots: the driver's own share of their latency. slotWaits counts the
// requests that waited and then got a slot, starved those that never got one. lagIdle is the
// lag of the requests that found a slot free (every request when the driver has no slots),
// flight how long the answered requests were in flight (sent to answered: the time they held
// their slot): attribution.go judges slot waits from them.
type driverDelays struct {
	lag, slot          *hdr.Histogram // microseconds; requests that did not wait count as 0
	lagIdle, flight    *hdr.Histogram // microseconds
	lagSum, slotSum    int64          // nanoseconds
	slotWaits, starved int64
}

func newDriverDelays() driverDelays {
	return driverDelays{lag: newHist(), slot: newHist(), lagIdle: newHist(), flight: newHist()}
}

// add takes one request: ex is what the client measured of it, intended when it was due,
// flight its time in flight in nanoseconds, negative when it had no answer.
func (d *driverDelays) add(ex *exchange, intended, flight int64) {
	var lag int64
	if ex.begin != 0 {
		lag = max(ex.begin-intended, 0)
	}
	wait := int64(ex.slotWait)
	d.lagSum += lag
	d.slotSum += wait
	switch {
	case ex.starved:
		d.starved++
	case wait > 0:
		d.slotWaits++
	default:
		_ = d.lagIdle.RecordValue(min(lag/1000, histHighest))
	}
	if flight >= 0 {
		_ = d.flight.RecordValue(min(max(flight/1000, histLowest), histHighest))
	}
	_ = d.lag.RecordValue(min(lag/1000, histHighest))
	_ = d.slot.RecordValue(min(wait/1000, histHighest))
}

func (d *driverDelays) reset() {
	d.lag.Reset()
	d.slot.Reset()
	d.lagIdle.Reset()
	d.flight.Reset()
	d.lagSum, d.slotSum, d.slotWaits, d.starved = 0, 0, 0, 0
}

// merge adds o's figures to d's.
func (d *driverDelays) merge(o *driverDelays) {
	d.lag.Merge(o.lag)
	d.slot.Merge(o.slot)
	d.lagIdle.Merge(o.lagIdle)
	d.flight.Merge(o.flight)
	d.lagSum += o.lagSum
	d.slotSum += o.slotSum
	d.slotWaits += o.slotWaits
	d.starved += o.starved
}

// businessCodes are 4xx answers that are normal outcomes of a herd (somebody else got the
// seat), not errors of the system under test or of the driver.
var businessCodes = map[string]bool{
	"seat_unavailable": true, "sold_out": true, "not_admitted": true, "waiting_room_off": true,
	"hold_expired": true, "hold_lost": true, "hold_sold": true, "payment_declined": true,
}

// isError reports whether r counts against the error rate: every unknown outcome, and every
// failure that is not a business outcome of the contract. A shed request is not an error: it
// is the system protecting itself as the contract allows, counted on its own.
func isError(r *history.Record) bool {
	switch r.Type {
	case history.Info:
		return true
	case history.Fail:
		return !businessCodes[r.Out.Code]
	}
	return false
}

// MetricsLine is one line of metrics.jsonl: what completed during one second of the run.
// Latencies are in milliseconds, measured from the actual send (P50..Max) and from the
// moment the request was due (P99Intended). Ok, Fail, Info and Shed count the outcomes.
type MetricsLine struct {
	// T is the end of the window, in seconds since the run's start; Unix is its wall clock in ms.
	T    float64 `json:"t"`
	Unix int64   `json:"unix_ms"`
	// Requests completed in the window, and Rate the same per second.
	Requests int64   `json:"requests"`
	Rate     float64 `json:"rate"`
	Ok       int64   `json:"ok"`
	Fail     int64   `json:"fail"`
	Info     int64   `json:"info"`
	Shed     int64   `json:"shed"`
	Errors   int64   `json:"errors"`
	// InFlight is the number of ordinary requests under way at the end of the window, Streams
	// the waiting-room streams open then (they have connections of their own); Active the users.
	InFlight int64 `json:"in_flight"`
	Streams  int64 `json:"streams"`
	Active   int64 `json:"active_users"`
	Arrived  int64 `json:"arrived"`
	Dropped  int64 `json:"dropped"`
	// The driver's own state: the 99th percentile and the largest of its lag (how late it
	// began the window's requests after they were due), how many of them waited for one of its
	// connection slots, the 99th percentile of those waits over all its requests, how many
	// never got a slot, and the CPU its process used (cores; 0 where it is not measured).
	LagP99      float64 `json:"lag_p99_ms"`
	LagMax      float64 `json:"lag_max_ms"`
	SlotWaits   int64   `json:"slot_waits"`
	SlotWaitP99 float64 `json:"slot_wait_p99_ms"`
	SlotStarved int64   `json:"slot_starved"`
	CPU         float64 `json:"cpu_cores"`
	// Ops has one entry per operation that completed in the window.
	Ops map[string]OpWindow `json:"ops"`
}

// OpWindow is one operation's part of a MetricsLine.
type OpWindow struct {
	Count       int64   `json:"count"`
	Ok          int64   `json:"ok"`
	Fail        int64   `json:"fail"`
	Info        int64   `json:"info"`
	Shed        int64   `json:"shed,omitempty"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
	P99Intended float64 `json:"p99_intended_ms"`
}

func ms(us int64) float64 { return float64(us) / 1000 }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// recorder streams records to the history, keeps per-operation totals for the summary and
// writes one metrics line a second. It is safe for concurrent use.
type recorder struct {
	clock    *Clock
	hist     *history.Writer
	onRecord func(*history.Record)
	// inFlight and streams count the requests and waiting-room streams under way.
	inFlight, streams func() int64
	observer          Observer // nil: none

	mu     sync.Mutex
	total  [len(opKinds)]*opStats
	window [len(opKinds)]*opStats
	// calm has, per operation, the latencies of the requests the target took on (neither shed
	// nor refused for want of admission) that met no fault window from their due time to their
	// answer: what OpSummary.Calm reports and the SLOs judge. faults are the fault windows
	// annotated so far.
	calm    [len(opKinds)]*calmStats
	faults  []faultSpan
	lastWin int64
	last    MetricsLine
	metrics *bufio.Writer
	merr    error
	// arrivalLag is how late each user started after its arrival was due (microseconds).
	arrivalLag *hdr.Histogram
	// cpu is the process's CPU time at the last tick, cpuSamples its use (cores) in each full
	// window since; cpuOK is false where it is not measured.
	cpu        time.Duration
	cpuOK      bool
	cpuSamples []float64

	arrived, dropped, active, finished atomic.Int64
	maxLag                             atomic.Int64
	herr                               atomic.Pointer[error]
}

func newRecorder(clock *Clock, hist *history.Writer, metrics io.Writer, onRecord func(*history.Record), inFlight, streams func() int64) *recorder {
	r := &recorder{clock: clock, hist: hist, onRecord: onRecord, inFlight: inFlight, streams: streams, arrivalLag: newHist()}
	for i := range opKinds {
		r.total[i] = newOpStats()
		r.window[i] = newOpStats()
		r.window[i].codes = nil
		r.calm[i] = &calmStats{intended: newHist(), actual: newHist()}
	}
	if metrics != nil {
		r.metrics = bufio.NewWriterSize(metrics, 64<<10)
	}
	r.cpu, r.cpuOK = processCPU()
	return r
}

// record writes one completed operation; intended is when it was due on the run's clock, ex
// what the client measured of it.
func (r *recorder) record(rec *history.Record, intended int64, ex exchange) {
	if r.observer != nil {
		r.observer.Record(rec, intended)
	}
	if r.hist != nil {
		if err := r.hist.Write(rec); err != nil {
			r.herr.CompareAndSwap(nil, &err)
		}
	}
	if r.onRecord != nil {
		r.onRecord(rec)
	}
	i := opIndex(rec.Op)
	if i < 0 {
		return
	}
	r.mu.Lock()
	r.total[i].add(rec, intended, &ex)
	r.window[i].add(rec, intended, &ex)
	if calmKind(rec) && !r.faultedLocked(min(intended, rec.Call), rec.Ret) {
		r.calm[i].add(rec, intended)
	}
	r.mu.Unlock()
}

// calmStats are one operation's latencies outside the fault windows (recorder.calm).
type calmStats struct {
	n                int64
	intended, actual *hdr.Histogram
}

func (c *calmStats) add(r *history.Record, intended int64) {
	c.n++
	act, due := latenciesUS(r, intended)
	_ = c.actual.RecordValue(act)
	_ = c.intended.RecordValue(due)
}

// latenciesUS are r's latencies in microseconds, within the histograms' range: from its
// sending (act) and from its due time (due).
func latenciesUS(r *history.Record, intended int64) (act, due int64) {
	act = min(max((r.Ret-r.Call)/1000, histLowest), histHighest)
	due = min(max((r.Ret-min(intended, r.Call))/1000, histLowest), histHighest)
	return act, due
}

// calmKind reports whether r is a request the target took on: not shed, and not a hold refused
// because its user skipped the waiting room (a bot's, answered at the door). The SLOs judge
// the latency the admitted buyers saw; shed and refused requests are counted on their own.
func calmKind(r *history.Record) bool {
	return r.Type != history.Shed && r.Out.Code != codeNotAdmitted
}

// faultSpan is one fault window as the fault records annotate it: from its injection to its
// recovery (open while it lasts).
type faultSpan struct {
	fault      string
	start, end int64
	open       bool
}

// noteFault opens or closes a fault window from a fault record. A fault that could not be
// injected opens none.
func (r *recorder) noteFault(rec *history.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case rec.Op == history.KindFaultStart && rec.Type == history.Ok:
		r.faults = append(r.faults, faultSpan{fault: rec.In.Fault, start: rec.Call, open: true})
	case rec.Op == history.KindFaultEnd:
		// A fault that lingers (history.ParamLinger) still reaches what it slowed in its window
		// until the linger is over: so far its window reaches, for the calm latencies.
		linger, _ := time.ParseDuration(rec.In.Params[history.ParamLinger])
		for k := range r.faults {
			if f := &r.faults[k]; f.open && f.fault == rec.In.Fault && f.start == rec.Call {
				f.end, f.open = rec.Ret+max(int64(linger), 0), false
			}
		}
	}
}

// faultedLocked reports whether [from, to] meets a fault window; r.mu is held.
func (r *recorder) faultedLocked(from, to int64) bool {
	for _, f := range r.faults {
		if f.start <= to && (f.open || f.end >= from) {
			return true
		}
	}
	return false
}

// noteArrival takes how late a user started after its arrival was due.
func (r *recorder) noteArrival(lag time.Duration) {
	r.mu.Lock()
	_ = r.arrivalLag.RecordValue(min(max(int64(lag), 0)/1000, histHighest))
	r.mu.Unlock()
}

// annotate writes a record that is not a client operation (a fault record) to the history.
func (r *recorder) annotate(rec *history.Record) error {
	r.noteFault(rec)
	if r.observer != nil {
		r.observer.Record(rec, 0)
	}
	if r.hist == nil {
		return nil
	}
	if err := r.hist.Write(rec); err != nil {
		return err
	}
	if r.onRecord != nil {
		r.onRecord(rec)
	}
	return nil
}

// historyErr returns the first history write error, or nil.
func (r *recorder) historyErr() error {
	if p := r.herr.Load(); p != nil {
		return *p
	}
	return nil
}

// tick closes the current window at now and writes its metrics line.
func (r *recorder) tick(now int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	elapsed := float64(now-r.lastWin) / float64(time.Second)
	r.lastWin = now
	line := MetricsLine{
		T:        float64(now) / float64(time.Second),
		Unix:     r.clock.At(time.Duration(now)).UnixMilli(),
		InFlight: r.inFlight(),
		Streams:  r.streams(),
		Active:   r.active.Load(),
		Arrived:  r.arrived.Load(),
		Dropped:  r.dropped.Load(),
		Ops:      map[string]OpWindow{},
	}
	if cpu, ok := processCPU(); ok && r.cpuOK && elapsed > 0 {
		line.CPU = round2((cpu - r.cpu).Seconds() / elapsed)
		if elapsed >= 0.5 {
			// A short last window says little about the process's load.
			r.cpuSamples = append(r.cpuSamples, line.CPU)
		}
		r.cpu = cpu
	}
	delays := newDriverDelays()
	for i, w := range r.window {
		n := w.count()
		if n == 0 {
			continue
		}
		line.Requests += n
		line.Ok += w.ok
		line.Fail += w.fail
		line.Info += w.info
		line.Shed += w.shed
		line.Errors += w.errors
		delays.merge(&w.delays)
		line.Ops[string(opKinds[i])] = OpWindow{
			Count: n, Ok: w.ok, Fail: w.fail, Info: w.info, Shed: w.shed,
			P50: ms(w.actual.ValueAtQuantile(50)), P90: ms(w.actual.ValueAtQuantile(90)),
			P99: ms(w.actual.ValueAtQuantile(99)), Max: ms(w.actual.Max()),
			P99Intended: ms(w.intended.ValueAtQuantile(99)),
		}
		w.reset()
	}
	if elapsed > 0 {
		line.Rate = float64(line.Requests) / elapsed
	}
	if line.Requests > 0 {
		line.LagP99, line.LagMax = ms(delays.lag.ValueAtQuantile(99)), ms(delays.lag.Max())
		line.SlotWaits, line.SlotStarved = delays.slotWaits, delays.starved
		line.SlotWaitP99 = ms(delays.slot.ValueAtQuantile(99))
	}
	r.last = line
	if r.metrics != nil && r.merr == nil {
		b, err := json.Marshal(&line)
		if err == nil {
			b = append(b, '\n')
			_, err = r.metrics.Write(b)
		}
		if err == nil {
			// One line a second: flush it, so that a dashboard can follow the run.
			err = r.metrics.Flush()
		}
		if err != nil {
			r.merr = fmt.Errorf("write metrics: %w", err)
		}
	}
}

// lastLine returns the most recent metrics line (for the progress display).
func (r *recorder) lastLine() MetricsLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// totals returns the number of ok, fail, info and shed records so far.
func (r *recorder) totals() (ok, fail, info, shed int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.total {
		ok += s.ok
		fail += s.fail
		info += s.info
		shed += s.shed
	}
	return ok, fail, info, shed
}

// flushMetrics flushes the metrics file.
func (r *recorder) flushMetrics() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.merr != nil {
		return r.merr
	}
	if r.metrics != nil {
		if err := r.metrics.Flush(); err != nil {
			return fmt.Errorf("flush metrics: %w", err)
		}
	}
	return nil
}

// noteLag keeps the largest lateness of a user's start.
func (r *recorder) noteLag(lag time.Duration) {
	for {
		cur := r.maxLag.Load()
		if int64(lag) <= cur || r.maxLag.CompareAndSwap(cur, int64(lag)) {
			return
		}
	}
}
