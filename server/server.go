package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
	"stampede/server/checkout"
	"stampede/server/waitingroom"
	"stampede/strategies"
)

// Config is what a Server is built from.
type Config struct {
	DB sqldb.DB
	// Strategy moves seats; New replaces it with a wrapper that counts and times Hold, Confirm
	// and Release (see instrumented), so use the Server's copy of the Config, not the caller's.
	Strategy strategies.Strategy
	// Redis backs the waiting room and the read-path cache (and redis-lock).
	Redis *redis.Client
	// KeyPrefix namespaces the server's Redis keys.
	KeyPrefix string
	// PSPURL is the payment processor's base URL.
	PSPURL string
	// HoldTTL is the default hold lifetime.
	HoldTTL time.Duration
	// Registry receives the server's metrics; nil means a new one.
	Registry *prometheus.Registry
	// AdmissionSecret signs waiting-room admission tokens.
	AdmissionSecret []byte
	// Failpoints are the points a chaos schedule arms through /admin/failpoints; nil disables
	// them (the endpoints then answer 404).
	Failpoints *failpoint.Set
	// CheckoutLease is how long a checkout execution owns its idempotency key; 0 means 45 s.
	// It must outlast the slowest payment. CheckoutIdle is how long an unfinished key must be
	// untouched before the completer resumes it; 0 means a minute.
	CheckoutLease time.Duration
	CheckoutIdle  time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
}

// Server is the reference booking server's HTTP handler.
type Server struct {
	cfg Config
	mux *http.ServeMux
	// handler is mux behind the metrics middleware.
	handler http.Handler
	// strategy is the strategy as given, for its optional capabilities (Preparer);
	// cfg.Strategy is the instrumented wrapper.
	strategy strategies.Strategy
	// store is the shared inventory (events, bookings).
	store   *strategies.Store
	metrics *serverMetrics
	events  *eventMemo
	// hog holds pooled connections for the pool-exhaustion fault (poolhog.go).
	hog poolHog

	// Each area keeps its state in its own type: the waiting room and checkout in their
	// packages, the read-path cache in cache.go.
	checkout *checkout.Service
	room     *waitingroom.Room
	cache    *cacheState
}

// routes maps every endpoint of api.yaml to its handler. Handlers live in one file per area:
// events.go, holds.go, search.go, ledger.go, health.go, failpoints.go, poolhog.go, contract.go,
// and in the waiting room's and checkout's packages. TestContractRouted keeps them and api.yaml
// in step.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.Handle("GET /metrics", s.metricsHandler())
	s.mux.HandleFunc("GET /api.yaml", s.handleContract)
	s.mux.HandleFunc("GET /admin/failpoints", s.handleListFailpoints)
	s.mux.HandleFunc("POST /admin/checkout/settle", s.checkout.HandleSettle)
	s.mux.HandleFunc("PUT /admin/failpoints/{name}", s.handleArmFailpoint)
	s.mux.HandleFunc("DELETE /admin/failpoints/{name}", s.handleDisarmFailpoint)
	s.mux.HandleFunc("PUT /admin/pool-hog", s.handlePoolHog)
	s.mux.HandleFunc("DELETE /admin/pool-hog", s.handlePoolRelease)
	s.mux.HandleFunc("POST /admin/events", s.handleCreateEvent)
	s.mux.HandleFunc("GET /events", s.handleListEvents)
	s.mux.HandleFunc("GET /events/search", s.handleSearch)
	s.mux.HandleFunc("GET /events/{event_id}", s.handleGetEvent)
	s.mux.HandleFunc("GET /events/{event_id}/seats", s.handleSeats)
	s.mux.HandleFunc("POST /events/{event_id}/queue", s.room.HandleJoin)
	s.mux.HandleFunc("GET /queue/{ticket}", s.room.HandleStatus)
	s.mux.HandleFunc("GET /queue/{ticket}/stream", s.room.HandleStream)
	s.mux.HandleFunc("POST /events/{event_id}/holds", s.handleHold)
	s.mux.HandleFunc("GET /holds/{hold_id}", s.handleGetHold)
	s.mux.HandleFunc("DELETE /holds/{hold_id}", s.handleRelease)
	s.mux.HandleFunc("POST /holds/{hold_id}/checkout", s.checkout.Handle)
	s.mux.HandleFunc("GET /bookings/{booking_id}", s.handleGetBooking)
	s.mux.HandleFunc("GET /admin/ledger", s.handleLedger)
	s.mux.HandleFunc("PUT /admin/events/{event_id}/waiting-room", s.room.HandleSetRate)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func notImplemented(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotImplemented)
	_, _ = w.Write([]byte(`{"error":{"code":"internal","message":"not implemented yet"}}`))
}
