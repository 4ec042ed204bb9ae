package sqldb

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics records, per connection tag, how long callers waited for a pooled connection and how
// long they kept it, and how many statements and round trips to the database ran on it. It is
// safe for concurrent use.
type Metrics struct {
	wait  *prometheus.HistogramVec
	hold  *prometheus.HistogramVec
	stmts *prometheus.CounterVec
	trips *prometheus.CounterVec

	mu   sync.Mutex
	tags map[string]*TagStats
}

// TagStats are running totals for one tag.
type TagStats struct {
	Count     int64         `json:"count"`
	WaitTotal time.Duration `json:"wait_total_ns"`
	WaitMax   time.Duration `json:"wait_max_ns"`
	HoldTotal time.Duration `json:"hold_total_ns"`
	HoldMax   time.Duration `json:"hold_max_ns"`
	// Statements counts the SQL statements run; RoundTrips the exchanges with the database
	// they took, BEGIN, COMMIT and ROLLBACK included (see Trips).
	Statements int64 `json:"statements"`
	RoundTrips int64 `json:"round_trips"`
}

// NewMetrics creates the metrics and registers them with reg when reg is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.0001, 2.5, 14) // 0.1ms .. ~15s
	m := &Metrics{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "stampede", Subsystem: "db", Name: "pool_wait_seconds",
			Help: "Time spent waiting for a pooled database connection, per connection tag.", Buckets: buckets,
		}, []string{"tag"}),
		hold: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "stampede", Subsystem: "db", Name: "conn_hold_seconds",
			Help: "Time a database connection was held, per connection tag.", Buckets: buckets,
		}, []string{"tag"}),
		stmts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stampede", Subsystem: "db", Name: "statements_total",
			Help: "SQL statements run, per connection tag.",
		}, []string{"tag"}),
		trips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stampede", Subsystem: "db", Name: "round_trips_total",
			Help: "Round trips to the database (statements, BEGIN, COMMIT, ROLLBACK), per connection tag.",
		}, []string{"tag"}),
		tags: map[string]*TagStats{},
	}
	if reg != nil {
		reg.MustRegister(m.wait, m.hold, m.stmts, m.trips)
	}
	return m
}

// Observe records one acquisition for tag.
func (m *Metrics) Observe(tag string, wait, hold time.Duration) {
	m.observe(tag, wait, hold, Trips{})
}

// Trips counts what one acquisition of a connection sent to the database. A statement is one
// round trip (PostgreSQL's extended protocol sends parse, bind and execute together, and pgx
// prepares a statement once per connection; MySQL's arguments are interpolated client-side),
// and so are BEGIN, COMMIT and ROLLBACK.
type Trips struct {
	Statements int64
	RoundTrips int64
}

func (t *Trips) statement() { t.Statements++; t.RoundTrips++ }
func (t *Trips) control()   { t.RoundTrips++ }

// observe records one acquisition for tag with what it sent.
func (m *Metrics) observe(tag string, wait, hold time.Duration, n Trips) {
	m.wait.WithLabelValues(tag).Observe(wait.Seconds())
	m.hold.WithLabelValues(tag).Observe(hold.Seconds())
	if n.Statements > 0 {
		m.stmts.WithLabelValues(tag).Add(float64(n.Statements))
	}
	if n.RoundTrips > 0 {
		m.trips.WithLabelValues(tag).Add(float64(n.RoundTrips))
	}
	m.mu.Lock()
	s := m.tags[tag]
	if s == nil {
		s = &TagStats{}
		m.tags[tag] = s
	}
	s.Count++
	s.Statements += n.Statements
	s.RoundTrips += n.RoundTrips
	s.WaitTotal += wait
	s.HoldTotal += hold
	s.WaitMax = max(s.WaitMax, wait)
	s.HoldMax = max(s.HoldMax, hold)
	m.mu.Unlock()
}

// Snapshot returns a copy of the totals per tag.
func (m *Metrics) Snapshot() map[string]TagStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]TagStats, len(m.tags))
	for k, v := range m.tags {
		out[k] = *v
	}
	return out
}
