package prom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Endpoint serves a registry's metrics on GET /metrics over HTTP while a run goes.
type Endpoint struct {
	ln   net.Listener
	srv  *http.Server
	done chan error
}

// Listen listens on addr (host:port; port 0 picks a free one) and serves g's metrics on
// /metrics, in the Prometheus text and OpenMetrics formats, until Close. An error gathering
// the metrics is answered with status 500 rather than with part of them.
func Listen(addr string, g prometheus.Gatherer) (*Endpoint, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	e := &Endpoint{ln: ln, done: make(chan error, 1),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { e.done <- e.srv.Serve(ln) }()
	return e, nil
}

// Addr returns the address the endpoint listens on, host:port.
func (e *Endpoint) Addr() string { return e.ln.Addr().String() }

// Close stops serving, letting a scrape under way finish for up to five seconds.
func (e *Endpoint) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	if serr := <-e.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("stop serving metrics: %w", err)
	}
	return nil
}
