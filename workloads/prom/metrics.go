package prom

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/history"
	"stampede/workloads"
)

// Names of the metrics, for dashboards and tests.
const (
	// RequestsTotal counts completed requests by operation and outcome (ok, fail, info).
	RequestsTotal = "stampede_driver_requests_total"
	// RequestSeconds is the latency of requests by operation, from the send to the answer.
	RequestSeconds = "stampede_driver_request_duration_seconds"
	// IntendedSeconds is the latency of requests by operation from the moment each was due (the
	// user's arrival or the end of its planned pause), as its user saw it: a driver that fell
	// behind shows here and not in RequestSeconds (coordinated omission).
	IntendedSeconds = "stampede_driver_request_intended_duration_seconds"
	// InFlight is the number of requests under way.
	InFlight = "stampede_driver_requests_in_flight"
	// ActiveUsers is the number of users running.
	ActiveUsers = "stampede_driver_active_users"
	// ArrivalsTotal counts arrivals by result: started, or dropped because MaxActive users were
	// running (the driver's load shedding).
	ArrivalsTotal = "stampede_driver_arrivals_total"
	// LagSeconds is the generator lag: how late each arrival was handed to a user after the
	// moment the arrival profile meant.
	LagSeconds = "stampede_driver_generator_lag_seconds"
	// FaultActive is, per fault, the number of its windows open now (1 during a window).
	FaultActive = "stampede_driver_fault_active"
)

// latencyBuckets span 0.1 ms to about 90 s. The first fourteen are the reference server's
// (0.1 ms x 2.5^k), so that the driver's and the server's histograms line up on a dashboard;
// two more hold waiting-room joins and requests that ran into their deadline.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2.5, 16)

// outcomes are the label values of a request's outcome, in the order of outcomeIndex.
var outcomes = [...]history.Type{history.Ok, history.Fail, history.Info}

func outcomeIndex(t history.Type) int {
	switch t {
	case history.Ok:
		return 0
	case history.Fail:
		return 1
	}
	return 2
}

// opMetrics are one operation's series, looked up once so that a record costs no label hashing.
type opMetrics struct {
	outcome  [len(outcomes)]prometheus.Counter
	latency  prometheus.Observer
	intended prometheus.Observer
}

// Metrics are a driver's live metrics on one registry. They implement workloads.Observer: give
// them to the driver as Config.Observer. Every method is safe for concurrent use.
//
// One Metrics follows one driver at a time; given to several drivers in turn (a runner's
// successive runs), its counters go on and its gauges follow the driver that began last. To
// keep runs apart, build each its own Metrics on prometheus.WrapRegistererWith(labels, reg),
// every one with the same label names (a run label, say) and its own values.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	intended *prometheus.HistogramVec
	arrivals *prometheus.CounterVec
	lag      prometheus.Histogram
	faults   *prometheus.GaugeVec

	ops              map[history.Kind]*opMetrics // read-only after New
	started, dropped prometheus.Counter
	driver           atomic.Pointer[workloads.Driver]

	mu   sync.Mutex
	open map[faultWindow]bool // fault windows started and not yet ended
}

// faultWindow names one window of a fault: its fault and its start on the run's clock, which
// its start and end records share.
type faultWindow struct {
	fault string
	start int64
}

var _ workloads.Observer = (*Metrics)(nil)

// New creates the metrics and registers them on reg. It fails when reg has metrics of these
// names already (another Metrics on the same registry).
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestsTotal, Help: "Requests the driver completed, by operation and outcome (ok: took effect; fail: certainly did not; info: unknown).",
		}, []string{"op", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: RequestSeconds, Help: "Latency of the driver's requests by operation, from the send to the answer.", Buckets: latencyBuckets,
		}, []string{"op"}),
		intended: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: IntendedSeconds, Help: "Latency of the driver's requests by operation, from the moment each was due to the answer (corrected for coordinated omission).", Buckets: latencyBuckets,
		}, []string{"op"}),
		arrivals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ArrivalsTotal, Help: "Arrivals of virtual users by result: started, or dropped because too many users were running.",
		}, []string{"result"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: LagSeconds, Help: "Generator lag: how late each arrival was handed to a user after its planned moment.", Buckets: latencyBuckets,
		}),
		faults: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: FaultActive, Help: "Windows of a fault open now (1 while the fault is injected, 0 after it recovered).",
		}, []string{"fault"}),
		ops:  map[history.Kind]*opMetrics{},
		open: map[faultWindow]bool{},
	}
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: InFlight, Help: "Requests the driver has under way (sent, or waiting for a connection).",
	}, func() float64 { return m.gauge((*workloads.Driver).InFlight) })
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: ActiveUsers, Help: "Virtual users running.",
	}, func() float64 { return m.gauge((*workloads.Driver).ActiveUsers) })
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.intended, m.arrivals, m.lag, m.faults, inFlight, active} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every operation's series exist from the start, at zero, so that a dashboard shows a
	// rate of 0 rather than no data for an operation the scenario does not use yet.
	for _, op := range workloads.Operations() {
		m.ops[op] = m.series(op)
	}
	m.started = m.arrivals.WithLabelValues("started")
	m.dropped = m.arrivals.WithLabelValues("dropped")
	return m, nil
}

// series looks up op's series.
func (m *Metrics) series(op history.Kind) *opMetrics {
	om := &opMetrics{latency: m.latency.WithLabelValues(string(op)), intended: m.intended.WithLabelValues(string(op))}
	for i, o := range outcomes {
		om.outcome[i] = m.requests.WithLabelValues(string(op), string(o))
	}
	return om
}

// gauge reads one of the driver's gauges, 0 before a driver began.
func (m *Metrics) gauge(read func(*workloads.Driver) int64) float64 {
	d := m.driver.Load()
	if d == nil {
		return 0
	}
	return float64(read(d))
}

// Begin makes the gauges follow d.
func (m *Metrics) Begin(d *workloads.Driver) { m.driver.Store(d) }

// Arrival counts an arrival and observes its lag.
func (m *Metrics) Arrival(lag time.Duration, dropped bool) {
	if dropped {
		m.dropped.Inc()
	} else {
		m.started.Inc()
	}
	m.lag.Observe(lag.Seconds())
}

// Record counts a client operation and observes its latencies, or opens or closes a fault
// window. A fault whose injection failed (its start record is a fail) opens no window.
func (m *Metrics) Record(rec *history.Record, due int64) {
	switch rec.Op {
	case history.KindHeader:
		return
	case history.KindFaultStart, history.KindFaultEnd:
		m.fault(rec)
		return
	}
	om := m.ops[rec.Op]
	if om == nil {
		om = m.series(rec.Op) // an operation this version does not know: counted all the same
	}
	om.outcome[outcomeIndex(rec.Type)].Inc()
	om.latency.Observe(time.Duration(rec.Ret - rec.Call).Seconds())
	om.intended.Observe(time.Duration(rec.Ret - min(due, rec.Call)).Seconds())
}

func (m *Metrics) fault(rec *history.Record) {
	w := faultWindow{fault: rec.In.Fault, start: rec.Call}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case rec.Op == history.KindFaultStart && rec.Type == history.Ok && !m.open[w]:
		m.open[w] = true
		m.faults.WithLabelValues(w.fault).Inc()
	case rec.Op == history.KindFaultEnd && m.open[w]:
		delete(m.open, w)
		m.faults.WithLabelValues(w.fault).Dec()
	}
}
