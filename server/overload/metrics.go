package overload

import (
	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/promreg"
)

// metrics are the budget's metrics, every one labelled by class; each class's series exist
// from the start, at 0.
type metrics struct {
	shed     *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
	away     *prometheus.GaugeVec
	wait     *prometheus.HistogramVec
	limit    prometheus.Gauge
}

// newMetrics creates the metrics and registers them on reg, sharing those reg already has.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	var err error
	m := &metrics{
		shed: promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stampede", Subsystem: "http", Name: "shed_total",
			Help: "Requests refused 503 overloaded (nothing done), by class: browse, join, hold, checkout.",
		}, []string{"class"}), &err),
		inFlight: promreg.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "stampede", Subsystem: "http", Name: "class_requests_in_flight",
			Help: "Requests in flight under the overload budget, by class (open waiting-room streams are not counted).",
		}, []string{"class"}), &err),
		away: promreg.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "stampede", Subsystem: "http", Name: "class_requests_away",
			Help: "Requests in flight that wait on something outside the server (the payment processor) and so do not count toward the overload budget now, by class.",
		}, []string{"class"}), &err),
		wait: promreg.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "stampede", Subsystem: "http", Name: "queue_wait_seconds",
			Help:    "Time requests over their class's share of the budget waited for room, let in or refused, by class.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12), // 0.5 ms .. about 1 s
		}, []string{"class"}), &err),
		limit: promreg.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "stampede", Subsystem: "http", Name: "concurrency_limit",
			Help: "Requests in flight the overload budget allows now, every class together: the adaptive limit, or max-in-flight when it is fixed (0: no bound).",
		}), &err),
	}
	if err != nil {
		return nil, err
	}
	for _, c := range Classes {
		m.shed.WithLabelValues(c.String())
		m.inFlight.WithLabelValues(c.String())
		m.away.WithLabelValues(c.String())
	}
	return m, nil
}
