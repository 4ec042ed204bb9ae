package waitingroom

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/promreg"
)

// metrics are the waiting room's metrics.
type metrics struct {
	length       *prometheus.GaugeVec
	rate         *prometheus.GaugeVec
	pace         prometheus.Gauge
	admitted     *prometheus.CounterVec
	wait         *prometheus.HistogramVec
	joins        *prometheus.CounterVec
	checks       *prometheus.CounterVec
	streams      prometheus.Gauge
	staleTickets prometheus.Counter
}

// newMetrics creates the metrics and registers them on reg, sharing those reg already has.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	var err error
	m := &metrics{
		length: promreg.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stampede_waiting_room_length", Help: "Sessions waiting in an event's queue, as of the last admission step.",
		}, []string{"event"}), &err),
		rate: promreg.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stampede_waiting_room_admit_rate", Help: "Admission rate of an event's queue at the last step, in sessions per second: its configured rate times the pace.",
		}, []string{"event"}), &err),
		pace: promreg.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stampede_waiting_room_pace", Help: "Share of the configured admission rates this process admits at (adaptive admission: the overload budget's headroom, 0.1 to 1).",
		}), &err),
		admitted: promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stampede_waiting_room_admitted_total", Help: "Sessions admitted by this process's admitter; rate() of it is the actual admission rate.",
		}, []string{"event"}), &err),
		wait: promreg.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stampede_waiting_room_wait_seconds", Help: "Time from joining the queue to admission (Redis clock).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 18), // 50 ms .. about 3.6 hours
		}, []string{"event"}), &err),
		joins: promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stampede_waiting_room_joins_total", Help: "Queue joins by outcome: new, waiting (joined again), admitted (already admitted).",
		}, []string{"event", "result"}), &err),
		checks: promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stampede_admission_checks_total", Help: "Admission token checks on holds by result.",
		}, []string{"result"}), &err),
		streams: promreg.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stampede_waiting_room_streams", Help: "Open queue SSE streams in this process.",
		}), &err),
		staleTickets: promreg.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stampede_waiting_room_stale_tickets_total", Help: "Tickets refused because their queue was reset (Redis lost it).",
		}), &err),
	}
	if err != nil {
		return nil, err
	}
	m.pace.Set(1)
	return m, nil
}

func (m *metrics) observeStep(event string, st admitStep) {
	m.length.WithLabelValues(event).Set(float64(st.Length))
	m.rate.WithLabelValues(event).Set(st.Rate)
	if len(st.Sessions) == 0 {
		return
	}
	m.admitted.WithLabelValues(event).Add(float64(len(st.Sessions)))
	h := m.wait.WithLabelValues(event)
	for _, w := range st.Waits {
		h.Observe(w.Seconds())
	}
}

func (m *metrics) joined(event, state string) { m.joins.WithLabelValues(event, state).Inc() }

func (m *metrics) checked(err error) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, errTokenMissing):
		result = "missing"
	case errors.Is(err, errTokenForged):
		result = "forged"
	case errors.Is(err, errTokenOtherEvent):
		result = "other_event"
	case errors.Is(err, errTokenOtherSession):
		result = "other_session"
	case errors.Is(err, errTokenExpired):
		result = "expired"
	default:
		result = "error"
	}
	m.checks.WithLabelValues(result).Inc()
}
