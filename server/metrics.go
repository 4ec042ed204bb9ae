package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"stampede/internal/promreg"
	"stampede/internal/sqldb"
	"stampede/server/api"
	"stampede/strategies"
)

// serverMetrics are the HTTP and strategy metrics of one Server, registered on Config.Registry
// (never on the global default registry). The database pool's wait and hold times per connection
// tag are registered by whoever opens the pool (sqldb.NewMetrics(reg), done by Serve) on the same
// registry, so one /metrics shows them all. Safe for concurrent use.
type serverMetrics struct {
	// requests is the latency of every request in seconds, by route pattern (as registered on
	// the mux, e.g. "POST /events/{event_id}/holds", or "unmatched") and status class (2xx..5xx).
	requests *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// outcomes counts strategy operations (hold, confirm, release) by strategy and outcome:
	// "ok" or the stable error code the outcome maps to (seat_unavailable, hold_lost, ...).
	outcomes *prometheus.CounterVec
	// opSeconds is the latency of those operations inside the strategy, in seconds.
	opSeconds *prometheus.HistogramVec
}

// latencyBuckets span 0.1 ms to about 15 s, the range of a hold under a thundering herd.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2.5, 14)

// newServerMetrics creates the metrics and registers them, with the Go runtime and process
// collectors and the gauge of db's open pool connections, on reg. Collectors that reg already has (a second Server on one registry, or a
// caller that registered the Go collector itself) are shared rather than refused.
func newServerMetrics(reg prometheus.Registerer, db sqldb.DB) (*serverMetrics, error) {
	m := &serverMetrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "stampede", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Latency of HTTP requests by route pattern and status class.",
			Buckets: latencyBuckets,
		}, []string{"route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "stampede", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served (open waiting-room streams included).",
		}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stampede", Subsystem: "strategy", Name: "operations_total",
			Help: "Strategy operations by strategy, operation (hold, confirm, release) and outcome (ok or the error code).",
		}, []string{"strategy", "op", "outcome"}),
		opSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "stampede", Subsystem: "strategy", Name: "operation_duration_seconds",
			Help:    "Latency of strategy operations by strategy and operation.",
			Buckets: latencyBuckets,
		}, []string{"strategy", "op"}),
	}
	var err error
	m.requests = promreg.Register(reg, m.requests, &err)
	m.inFlight = promreg.Register(reg, m.inFlight, &err)
	m.outcomes = promreg.Register(reg, m.outcomes, &err)
	m.opSeconds = promreg.Register(reg, m.opSeconds, &err)
	promreg.Register(reg, collectors.NewGoCollector(), &err)
	promreg.Register(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &err)
	if db != nil {
		promreg.Register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "stampede", Subsystem: "db", Name: "pool_open_connections",
			Help: "Database connections the server's pool has open, idle and in use (the soak watches it for leaks).",
		}, func() float64 { return float64(db.OpenConns()) }), &err)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// instrument wraps the mux: it counts requests in flight, times each request under its route
// pattern and status class, and puts the server's logger into the request context for writeError.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inFlight.Inc()
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(api.WithLogger(r.Context(), s.cfg.Logger))
		defer func() {
			s.metrics.inFlight.Dec()
			// The mux records the matched pattern on the request it was given.
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.requests.WithLabelValues(route, statusClass(sw.status())).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusClass is "2xx" for 200..299 and so on.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// statusWriter remembers the status a handler wrote. It passes Flush (server-sent events) and
// Hijack through, and Unwrap lets http.ResponseController reach the connection.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Flush sends buffered data to the client (server-sent events need it).
func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection to the handler when the underlying writer allows it.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	return h.Hijack()
}

// ReadFrom passes the underlying writer's ReadFrom through, so that a body copied from a file
// is sent with sendfile(2) (the seat map's full form).
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

// writerOnly hides a writer's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metricsHandler serves the registry in the Prometheus text format.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{Registry: s.cfg.Registry})
}

// instrumented is a Strategy whose Hold, Confirm and Release are counted and timed in
// serverMetrics. New wraps Config.Strategy in it, so every caller (the hold handler, checkout)
// is measured the same way. Optional capabilities (Preparer, Runner, Closer) are not forwarded:
// Server keeps the strategy it was given for them.
type instrumented struct {
	strategies.Strategy
	m *serverMetrics
}

var _ strategies.Strategy = instrumented{}

func (i instrumented) observe(op string, start time.Time, err error) {
	name := i.Strategy.Name()
	i.m.opSeconds.WithLabelValues(name, op).Observe(time.Since(start).Seconds())
	outcome := "ok"
	if err != nil {
		outcome = errorCode(err)
		if errors.Is(err, context.Canceled) {
			outcome = "canceled"
		}
	}
	i.m.outcomes.WithLabelValues(name, op, outcome).Inc()
}

// Hold implements strategies.Strategy.
func (i instrumented) Hold(ctx context.Context, r strategies.HoldRequest) (strategies.Hold, error) {
	start := time.Now()
	h, err := i.Strategy.Hold(ctx, r)
	i.observe("hold", start, err)
	return h, err
}

// Confirm implements strategies.Strategy.
func (i instrumented) Confirm(ctx context.Context, r strategies.ConfirmRequest) (strategies.Booking, error) {
	start := time.Now()
	b, err := i.Strategy.Confirm(ctx, r)
	i.observe("confirm", start, err)
	return b, err
}

// Release implements strategies.Strategy.
func (i instrumented) Release(ctx context.Context, holdID string) error {
	start := time.Now()
	err := i.Strategy.Release(ctx, holdID)
	i.observe("release", start, err)
	return err
}
