package sqldb

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics records, per connection tag, how long callers waited for a pooled connection and how
// long they kept it. It is safe for concurrent use.
type Metrics struct {
	wait *prometheus.HistogramVec
	hold *prometheus.HistogramVec

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
		tags: map[string]*TagStats{},
	}
	if reg != nil {
		reg.MustRegister(m.wait, m.hold)
	}
	return m
}

// Observe records one acquisition for tag.
func (m *Metrics) Observe(tag string, wait, hold time.Duration) {
	m.wait.WithLabelValues(tag).Observe(wait.Seconds())
	m.hold.WithLabelValues(tag).Observe(hold.Seconds())
	m.mu.Lock()
	s := m.tags[tag]
	if s == nil {
		s = &TagStats{}
		m.tags[tag] = s
	}
	s.Count++
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
