package shadow

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/promreg"
	"stampede/internal/shadowreport"
)

// metrics are the shadow's series on the server's /metrics.
type metrics struct {
	// divergences counts the divergences by kind.
	divergences *prometheus.CounterVec
	// dropped counts the operations that found the queue full.
	dropped prometheus.Counter
	// queue is the operations waiting to be replayed.
	queue prometheus.Gauge
	// seconds is the latency of the replayed operations by role (primary, shadow) and operation.
	seconds *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		divergences: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stampede", Subsystem: "shadow", Name: "divergences_total",
			Help: "Decisions on which the shadow strategy differed from the primary, by kind.",
		}, []string{"kind"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "stampede", Subsystem: "shadow", Name: "dropped_total",
			Help: "Primary operations not replayed against the shadow because its queue was full.",
		}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "stampede", Subsystem: "shadow", Name: "queue_length",
			Help: "Primary operations waiting to be replayed against the shadow.",
		}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "stampede", Subsystem: "shadow", Name: "operation_duration_seconds",
			Help:    "Latency of the replayed operations on the primary and on the shadow, by role and operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}, []string{"role", "op"}),
	}
	var err error
	m.divergences = promreg.Register(reg, m.divergences, &err)
	m.dropped = promreg.Register(reg, m.dropped, &err)
	m.queue = promreg.Register(reg, m.queue, &err)
	m.seconds = promreg.Register(reg, m.seconds, &err)
	if err != nil {
		return nil, err
	}
	for _, k := range shadowreport.Kinds {
		m.divergences.WithLabelValues(k.Kind) // every kind present from the start, at 0
	}
	return m, nil
}

func (m *metrics) observe(k opKind, primary, shadow time.Duration) {
	m.seconds.WithLabelValues("primary", k.String()).Observe(primary.Seconds())
	m.seconds.WithLabelValues("shadow", k.String()).Observe(shadow.Seconds())
}
