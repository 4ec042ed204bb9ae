package payments

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ListenAndServe runs a new Processor (built with opts) on addr until ctx is done, then shuts it
// down. It returns nil after a shutdown caused by ctx, and the listener's error otherwise.
func ListenAndServe(ctx context.Context, addr string, opts ...Option) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, New(opts...))
}

// Serve runs p on ln until ctx is done. It takes ownership of ln. On shutdown it first releases
// the requests p is holding (Close), then waits up to five seconds for answers in flight.
func Serve(ctx context.Context, ln net.Listener, p *Processor) error {
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		p.Close()
		return fmt.Errorf("serve processor: %w", err)
	case <-ctx.Done():
	}
	p.Close()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down processor: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve processor: %w", err)
	}
	return nil
}
