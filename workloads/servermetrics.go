package workloads

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The reference server exposes Prometheus metrics (GET /metrics, an extension of api.yaml).
// The driver reads them before the first arrival and after the last answer, and the
// difference says where the target's time went during the herd. A target without them (or
// with other names) is judged from the driver's side alone.

// Metric families the driver reads; see server/metrics.go, internal/sqldb/metrics.go and
// server/checkout. Families whose names start with queueFamilyPrefix or redisFamilyPrefix and
// end in _seconds are read as server queueing and Redis time when a target exposes them.
const (
	familyHTTP        = "stampede_http_request_duration_seconds"
	familyShed        = "stampede_http_shed_total"
	familyPoolWait    = "stampede_db_pool_wait_seconds"
	familyConnHold    = "stampede_db_conn_hold_seconds"
	familyStrategy    = "stampede_strategy_operation_duration_seconds"
	familyPayment     = "stampede_checkout_processor_seconds"
	queueFamilyPrefix = "stampede_http_queue"
	redisFamilyPrefix = "stampede_redis_"
	// chaosConnTag is the tag of the connections the pool-exhaustion fault hogs: the fault's
	// own, not the server's work.
	chaosConnTag = "chaos"
)

// ServerTime is where the target's time went during the herd, from its /metrics: the sums,
// in seconds, of the histograms the reference server exposes, between a reading before the
// first arrival and one after the last answer. Figures a target does not expose are zero, and
// their Exposed flag false.
type ServerTime struct {
	// HTTP is the time spent serving requests (stampede_http_request_duration_seconds), the
	// waiting-room streams left out (they last as long as buyers wait); Requests counts them.
	HTTP     float64 `json:"http_seconds"`
	Requests int64   `json:"http_requests"`
	// Queue is the time requests waited inside the server before being served (a
	// stampede_http_queue*_seconds histogram).
	Queue        float64 `json:"queue_seconds,omitempty"`
	QueueExposed bool    `json:"queue_exposed,omitempty"`
	// Shed counts the requests the server shed (stampede_http_shed_total).
	Shed        int64 `json:"shed,omitempty"`
	ShedExposed bool  `json:"shed_exposed,omitempty"`
	// PoolWait and ConnHold are, per connection tag, the time spent waiting for a pooled
	// database connection and holding one (stampede_db_pool_wait_seconds,
	// stampede_db_conn_hold_seconds); the tag of the pool-exhaustion fault is left out.
	PoolWait map[string]float64 `json:"pool_wait_seconds,omitempty"`
	ConnHold map[string]float64 `json:"conn_hold_seconds,omitempty"`
	// Strategy is the time inside the strategy's hold, confirm and release
	// (stampede_strategy_operation_duration_seconds), and StrategyDB the database part of it:
	// pool wait and connection hold of the tags hold and checkout.
	Strategy   float64 `json:"strategy_seconds"`
	StrategyDB float64 `json:"strategy_db_seconds"`
	// Payment is the time spent waiting for the payment processor
	// (stampede_checkout_processor_seconds).
	Payment float64 `json:"payment_seconds"`
	// Redis is the time in Redis commands (a stampede_redis_*_seconds histogram).
	Redis        float64 `json:"redis_seconds,omitempty"`
	RedisExposed bool    `json:"redis_exposed,omitempty"`
	// Restarted is set when a figure went down between the readings: the server restarted
	// during the herd, and the figures cover only its last process.
	Restarted bool `json:"restarted,omitempty"`
}

// readServerMetrics reads a target's metrics at url: nil without an error when the target
// has none (404); any other answer but 200 with the Prometheus text format is an error.
func readServerMetrics(ctx context.Context, hc *http.Client, url string) (*ServerTime, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read metrics: %s answered %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read metrics of %s: %w", url, err)
	}
	return serverTimeOf(fams), nil
}

// serverTimeOf sums the families the driver reads: cumulative figures since the server began.
func serverTimeOf(fams map[string]*dto.MetricFamily) *ServerTime {
	st := &ServerTime{PoolWait: map[string]float64{}, ConnHold: map[string]float64{}}
	for name, fam := range fams {
		switch {
		case name == familyHTTP:
			for _, m := range fam.GetMetric() {
				if strings.Contains(label(m, "route"), "/stream") {
					continue
				}
				sum, n := observed(m)
				st.HTTP += sum
				st.Requests += int64(n)
			}
		case name == familyShed:
			st.ShedExposed = true
			for _, m := range fam.GetMetric() {
				st.Shed += int64(m.GetCounter().GetValue())
			}
		case name == familyPoolWait, name == familyConnHold:
			into := st.PoolWait
			if name == familyConnHold {
				into = st.ConnHold
			}
			for _, m := range fam.GetMetric() {
				if tag := label(m, "tag"); tag != chaosConnTag {
					sum, _ := observed(m)
					into[tag] += sum
				}
			}
		case name == familyStrategy:
			st.Strategy += familySum(fam)
		case name == familyPayment:
			st.Payment += familySum(fam)
		case strings.HasPrefix(name, queueFamilyPrefix) && strings.HasSuffix(name, "_seconds"):
			st.Queue += familySum(fam)
			st.QueueExposed = true
		case strings.HasPrefix(name, redisFamilyPrefix) && strings.HasSuffix(name, "_seconds"):
			st.Redis += familySum(fam)
			st.RedisExposed = true
		}
	}
	for _, tag := range []string{"hold", "checkout"} {
		st.StrategyDB += st.PoolWait[tag] + st.ConnHold[tag]
	}
	return st
}

// label returns the value of a metric's label, or "".
func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// observed returns the sum and count of a histogram or summary metric.
func observed(m *dto.Metric) (float64, uint64) {
	if h := m.GetHistogram(); h != nil {
		return h.GetSampleSum(), h.GetSampleCount()
	}
	if s := m.GetSummary(); s != nil {
		return s.GetSampleSum(), s.GetSampleCount()
	}
	return 0, 0
}

func familySum(fam *dto.MetricFamily) float64 {
	var sum float64
	for _, m := range fam.GetMetric() {
		s, _ := observed(m)
		sum += s
	}
	return sum
}

// since returns what happened between an earlier reading and st. When a figure went down the
// server restarted in between: st alone is returned, marked Restarted.
func (st *ServerTime) since(before *ServerTime) *ServerTime {
	d := *st
	d.PoolWait, d.ConnHold = map[string]float64{}, map[string]float64{}
	down := false
	sub := func(a, b float64) float64 {
		if a < b-1e-9 {
			down = true
		}
		return max(a-b, 0)
	}
	d.HTTP = sub(st.HTTP, before.HTTP)
	d.Requests = int64(sub(float64(st.Requests), float64(before.Requests)))
	d.Queue = sub(st.Queue, before.Queue)
	d.Shed = int64(sub(float64(st.Shed), float64(before.Shed)))
	d.Strategy = sub(st.Strategy, before.Strategy)
	d.StrategyDB = sub(st.StrategyDB, before.StrategyDB)
	d.Payment = sub(st.Payment, before.Payment)
	d.Redis = sub(st.Redis, before.Redis)
	for tag, v := range st.PoolWait {
		d.PoolWait[tag] = sub(v, before.PoolWait[tag])
	}
	for tag, v := range st.ConnHold {
		d.ConnHold[tag] = sub(v, before.ConnHold[tag])
	}
	for tag := range before.ConnHold {
		if _, ok := st.ConnHold[tag]; !ok {
			down = true // a tag the server knew is gone: a new process
		}
	}
	if down {
		after := *st
		after.Restarted = true
		return &after
	}
	return &d
}
