// Package external is a booking system that runs elsewhere as a system under test, known by
// the base URL of its booking API (server/api.yaml). Stampede's payment processor runs in this
// process on the address the system was told to pay through, so the money is reconciled for
// it as for the reference server. The run starts, stops and restarts nothing else: faults
// that need a handle it lacks (the server's process, its database, Redis, the proxies, the
// reference server's admin endpoints) return sut.ErrUnsupported saying what is missing.
package external

import (
	"context"
	"errors"

	"stampede/sut"
	"stampede/sut/processor"
)

// System is a booking system at a URL, with the processor it pays through.
type System struct {
	url     string
	pspAddr string
	pspSeed int64
	psp     *processor.Processor
}

var _ sut.System = (*System)(nil)

// Option configures a System.
type Option func(*System)

// WithPSPSeed seeds the processor's failure decisions; the default is 1.
func WithPSPSeed(seed int64) Option { return func(s *System) { s.pspSeed = seed } }

// New describes the booking system whose API is at url (http:// or https://), paying through
// a processor that will listen on pspAddr (host:port). Nothing runs until Start.
func New(url, pspAddr string, opts ...Option) *System {
	s := &System{url: url, pspAddr: pspAddr, pspSeed: 1}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Start starts the processor on its address.
func (s *System) Start(ctx context.Context) error {
	if s.psp != nil {
		return errors.New("external system: already started")
	}
	p, err := processor.Start(ctx, s.pspAddr, s.pspSeed)
	if err != nil {
		return err
	}
	s.psp = p
	return nil
}

// Stop stops the processor; it is safe to call more than once.
func (s *System) Stop(context.Context) error {
	if s.psp != nil {
		s.psp.Close()
		s.psp = nil
	}
	return nil
}

// URL is the system's base URL.
func (s *System) URL() string { return s.url }

// PSP is the processor's base URL, empty before Start.
func (s *System) PSP() string {
	if s.psp == nil {
		return ""
	}
	return s.psp.URL()
}

// Handles hold only the processor: the rest of the system is out of the run's reach.
func (s *System) Handles() sut.Handles { return sut.Handles{PSP: s.PSP()} }

// Settle does nothing: settling open checkouts is an extension of the reference server's.
func (s *System) Settle(context.Context) error { return nil }

// Ledgers reads the system's ledger of each event and the processor's.
func (s *System) Ledgers(ctx context.Context, events []string) (sut.Ledgers, error) {
	return sut.ReadLedgers(ctx, sut.Server{URL: s.url}, sut.Processor{URL: s.PSP()}, events)
}
