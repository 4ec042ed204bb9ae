package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// New builds a Server from cfg. Each area initialises its own state: initCheckout in
// checkout.go, initQueue in queue.go, initCache in cache.go.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	for _, init := range []func() error{s.initCheckout, s.initQueue, s.initCache} {
		if err := init(); err != nil {
			return nil, err
		}
	}
	s.routes()
	return s, nil
}

// Run does the server's background work (checkout completer, waiting-room admitter, the
// strategy's own sweeper) until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.runCheckout(ctx) }()
	go func() { errc <- s.runQueue(ctx) }()
	var first error
	for range 2 {
		if err := <-errc; err != nil && first == nil && ctx.Err() == nil {
			first = err
		}
	}
	return first
}
