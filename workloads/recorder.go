package workloads

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
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

// opStats accumulates one operation's outcomes and latencies.
type opStats struct {
	ok, fail, info int64
	errors         int64
	codes          map[string]int64
	intended       *hdr.Histogram // from the moment the request was due
	actual         *hdr.Histogram // from the moment it was sent
}

func newOpStats() *opStats {
	return &opStats{codes: map[string]int64{}, intended: newHist(), actual: newHist()}
}

func (s *opStats) add(r *history.Record, intended int64) {
	switch r.Type {
	case history.Ok:
		s.ok++
	case history.Fail:
		s.fail++
	default:
		s.info++
	}
	if isError(r) {
		s.errors++
	}
	if r.Out.Code != "" && s.codes != nil {
		s.codes[r.Out.Code]++
	}
	act := max((r.Ret-r.Call)/1000, histLowest)
	due := max((r.Ret-min(intended, r.Call))/1000, histLowest)
	_ = s.actual.RecordValue(min(act, histHighest))
	_ = s.intended.RecordValue(min(due, histHighest))
}

func (s *opStats) reset() {
	s.ok, s.fail, s.info, s.errors = 0, 0, 0, 0
	s.intended.Reset()
	s.actual.Reset()
}

func (s *opStats) count() int64 { return s.ok + s.fail + s.info }

// businessCodes are 4xx answers that are normal outcomes of a herd (somebody else got the
// seat), not errors of the system under test or of the driver.
var businessCodes = map[string]bool{
	"seat_unavailable": true, "sold_out": true, "not_admitted": true, "waiting_room_off": true,
	"hold_expired": true, "hold_lost": true, "hold_sold": true, "payment_declined": true,
}

// isError reports whether r counts against the error rate: every unknown outcome, and every
// failure that is not a business outcome of the contract.
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
// moment the request was due (P99Intended).
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
	Errors   int64   `json:"errors"`
	// InFlight is the number of requests under way at the end of the window; Active the users.
	InFlight int64 `json:"in_flight"`
	Active   int64 `json:"active_users"`
	Arrived  int64 `json:"arrived"`
	Dropped  int64 `json:"dropped"`
	// Ops has one entry per operation that completed in the window.
	Ops map[string]OpWindow `json:"ops"`
}

// OpWindow is one operation's part of a MetricsLine.
type OpWindow struct {
	Count       int64   `json:"count"`
	Ok          int64   `json:"ok"`
	Fail        int64   `json:"fail"`
	Info        int64   `json:"info"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
	P99Intended float64 `json:"p99_intended_ms"`
}

func ms(us int64) float64 { return float64(us) / 1000 }

// recorder streams records to the history, keeps per-operation totals for the summary and
// writes one metrics line a second. It is safe for concurrent use.
type recorder struct {
	clock    *Clock
	hist     *history.Writer
	onRecord func(*history.Record)
	inFlight func() int64

	mu      sync.Mutex
	total   [len(opKinds)]*opStats
	window  [len(opKinds)]*opStats
	lastWin int64
	last    MetricsLine
	metrics *bufio.Writer
	merr    error

	arrived, dropped, active, finished atomic.Int64
	maxLag                             atomic.Int64
	herr                               atomic.Pointer[error]
}

func newRecorder(clock *Clock, hist *history.Writer, metrics io.Writer, onRecord func(*history.Record), inFlight func() int64) *recorder {
	r := &recorder{clock: clock, hist: hist, onRecord: onRecord, inFlight: inFlight}
	for i := range opKinds {
		r.total[i] = newOpStats()
		r.window[i] = newOpStats()
		r.window[i].codes = nil
	}
	if metrics != nil {
		r.metrics = bufio.NewWriterSize(metrics, 64<<10)
	}
	return r
}

// record writes one completed operation; intended is when it was due on the run's clock.
func (r *recorder) record(rec *history.Record, intended int64) {
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
	r.total[i].add(rec, intended)
	r.window[i].add(rec, intended)
	r.mu.Unlock()
}

// annotate writes a record that is not a client operation (a fault record) to the history.
func (r *recorder) annotate(rec *history.Record) error {
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
		Active:   r.active.Load(),
		Arrived:  r.arrived.Load(),
		Dropped:  r.dropped.Load(),
		Ops:      map[string]OpWindow{},
	}
	for i, w := range r.window {
		n := w.count()
		if n == 0 {
			continue
		}
		line.Requests += n
		line.Ok += w.ok
		line.Fail += w.fail
		line.Info += w.info
		line.Errors += w.errors
		line.Ops[string(opKinds[i])] = OpWindow{
			Count: n, Ok: w.ok, Fail: w.fail, Info: w.info,
			P50: ms(w.actual.ValueAtQuantile(50)), P90: ms(w.actual.ValueAtQuantile(90)),
			P99: ms(w.actual.ValueAtQuantile(99)), Max: ms(w.actual.Max()),
			P99Intended: ms(w.intended.ValueAtQuantile(99)),
		}
		w.reset()
	}
	if elapsed > 0 {
		line.Rate = float64(line.Requests) / elapsed
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
