// Package processor runs stampede's payment processor (server/payments) in this process, for
// a system under test to pay through: the reference server a run starts, or a booking system
// that runs elsewhere and was told where to find it. Its ledger is the checker's source of
// truth for money, and the psp-* faults switch its failure modes.
package processor

import (
	"context"
	"fmt"
	"net"

	"stampede/server/payments"
)

// Processor is a payment processor serving on a listener of its own until Close.
type Processor struct {
	url    string
	cancel context.CancelFunc
	done   chan struct{}
}

// Start listens on addr (host:port; port 0 picks a free one) and serves a processor whose
// failure decisions are seeded with seed, built with opts after the seed (for example
// payments.WithAdminToken). It serves until Close, whatever becomes of ctx
// after Start returns: the run still reads its ledger after the herd's context ends.
func Start(ctx context.Context, addr string, seed int64, opts ...payments.Option) (*Processor, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("payment processor: listen on %s: %w", addr, err)
	}
	p := payments.New(append([]payments.Option{payments.WithSeed(seed)}, opts...)...)
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = payments.Serve(pctx, ln, p) // ends when pctx is cancelled by Close
	}()
	return &Processor{url: "http://" + ln.Addr().String(), cancel: cancel, done: done}, nil
}

// URL is the processor's base URL (http://host:port).
func (p *Processor) URL() string { return p.url }

// Close stops the processor and waits until it has; it is safe to call more than once.
func (p *Processor) Close() {
	p.cancel()
	<-p.done
}
