package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/server/api"
	"stampede/server/checkout"
	"stampede/server/overload"
	"stampede/server/seatmap"
	"stampede/server/shadow"
	"stampede/server/waitingroom"
	"stampede/strategies"
)

// New builds a Server from cfg. Config.DB and Config.Strategy are required. Each area
// initialises its own state: checkout.New, waitingroom.New, seatmap.New, overload.New, and
// initCache in cache.go. New registers the server's metrics on cfg.Registry (a new registry
// when nil).
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("new server: no database")
	}
	if cfg.Strategy == nil {
		return nil, errors.New("new server: no strategy")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	m, err := newServerMetrics(cfg.Registry, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("new server: register metrics: %w", err)
	}
	raw := cfg.Strategy
	deps := api.Deps{Table: errorTable, Registry: cfg.Registry, Logger: cfg.Logger, Now: cfg.Now}
	var sh *shadow.Shadow
	if cfg.Shadow != nil {
		sh, err = shadow.New(shadow.Config{Deps: deps, Strategy: cfg.Shadow, Store: cfg.ShadowStore, Queue: cfg.ShadowQueue})
		if err != nil {
			return nil, err
		}
		// The shadow sees the strategy's own answers and times; the server's metrics time the
		// strategy with the shadow's queueing included, as buyers see it.
		cfg.Strategy = instrumented{Strategy: sh.Wrap(raw), m: m}
	} else {
		cfg.Strategy = instrumented{Strategy: raw, m: m}
	}
	s := &Server{
		cfg:      cfg,
		mux:      http.NewServeMux(),
		strategy: raw,
		store:    strategies.BookingStore(raw, cfg.DB, cfg.Now),
		metrics:  m,
		events:   newEventMemo(),
		shadow:   sh,
	}
	if s.keys, err = ticketKeys(cfg.TicketSeed); err != nil {
		return nil, err
	}
	s.checkout, err = checkout.New(checkout.Config{
		Deps: deps, DB: cfg.DB, Strategy: cfg.Strategy, ChargesInTx: checkout.ChargesInTx(raw),
		Bookings: s.store, PSPURL: cfg.PSPURL, Failpoints: cfg.Failpoints,
		Lease: cfg.CheckoutLease, Idle: cfg.CheckoutIdle, Tickets: s.keys,
	})
	if err != nil {
		return nil, err
	}
	s.budget, err = overload.New(overload.Config{Deps: deps, MaxInFlight: cfg.MaxInFlight, QueueWait: cfg.OverloadWait,
		Target: cfg.OverloadTarget, MinInFlight: cfg.MinInFlight})
	if err != nil {
		return nil, err
	}
	// The waiting room admits at the pace the budget's adaptive limit allows: slower while the
	// admitted buyers' holds are slow, the configured rate again when they are fast.
	s.room, err = waitingroom.New(waitingroom.Config{
		Deps: deps, Redis: cfg.Redis, KeyPrefix: cfg.KeyPrefix, Secret: cfg.AdmissionSecret, Events: s.store,
		MaxQueueLength: cfg.MaxQueueLength, MaxStreamsPerSession: cfg.MaxStreamsPerSession, Pace: s.budget.Headroom,
	})
	if err != nil {
		return nil, err
	}
	s.seats, err = seatmap.New(seatmap.Config{Deps: deps, Source: cfg.Strategy, Freshness: cfg.SeatMapFreshness})
	if err != nil {
		return nil, err
	}
	if err := s.initTickets(deps); err != nil {
		return nil, err
	}
	if err := s.initCache(); err != nil {
		return nil, err
	}
	s.routes()
	s.handler = s.instrument(s.mux)
	return s, nil
}

// CloseStreams ends every open waiting-room stream with a final `shutdown` event and refuses
// new ones: the first step of a graceful shutdown (waitingroom.Room.CloseStreams).
func (s *Server) CloseStreams() { s.room.CloseStreams() }

// Run does the server's background work until ctx is done: the checkout completer
// (checkout.Service.Run), the waiting-room admitter (waitingroom.Room.Run), giving hogged
// connections back at the end (poolhog.go), and the
// strategy's own work (the status-expiry sweeper, unit-pool
// replenishment) when it is a strategies.Runner. When one of them fails, the others are stopped
// and Run returns that first error; errors caused by ctx ending are not errors.
func (s *Server) Run(ctx context.Context) error {
	jobs := []func(context.Context) error{s.checkout.Run, s.room.Run, s.runPoolHog}
	if r, ok := s.strategy.(strategies.Runner); ok {
		jobs = append(jobs, r.Run)
	}
	if s.shadow != nil {
		jobs = append(jobs, s.shadow.Run)
		if r, ok := s.shadow.Strategy().(strategies.Runner); ok {
			jobs = append(jobs, r.Run)
		}
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(jobs))
	for _, job := range jobs {
		go func() { errc <- job(inner) }()
	}
	var first error
	for range jobs {
		if err := <-errc; err != nil && first == nil && inner.Err() == nil {
			first = err
			cancel()
		}
	}
	return first
}
