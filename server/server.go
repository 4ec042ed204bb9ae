package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"stampede/internal/admintoken"
	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
	"stampede/server/api"
	"stampede/server/checkout"
	"stampede/server/overload"
	"stampede/server/seatmap"
	"stampede/server/shadow"
	"stampede/server/tickets"
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
	// SeatMapFreshness is how long one snapshot of an event's seat map is shared by all its
	// readers (server/seatmap); 0 reads the database for every request.
	SeatMapFreshness time.Duration
	// MaxInFlight is the overload budget: requests in flight, shared by the classes of request
	// in rank order (server/overload); 0 means no bound. OverloadWait is how long a request over
	// its class's share waits for room before it is refused; 0 means 50 ms.
	MaxInFlight  int
	OverloadWait time.Duration
	// OverloadTarget makes the limit of requests in flight adaptive: it follows the holds'
	// service time against this target, between MinInFlight and MaxInFlight (server/overload);
	// 0 keeps it at MaxInFlight.
	OverloadTarget time.Duration
	MinInFlight    int
	// Shadow, when set, is a second strategy, over ShadowStore (its own copy of the inventory),
	// that replays every decision of Strategy without changing it (server/shadow); ShadowQueue
	// bounds the operations waiting for it (0: shadow.DefaultQueue).
	Shadow      strategies.Strategy
	ShadowStore *strategies.Store
	ShadowQueue int
	// TicketSeed is the 32-byte seed of the key that signs tickets (strategies.Store.TicketSeed
	// keeps one per database); nil picks a random one, and tickets then do not outlive the
	// process.
	TicketSeed []byte
	// Gate names the gate that admits scanned tickets (tickets.GateNames); empty means
	// tickets.DefaultGate. AllowUnsafeGate lets a gate broken on purpose run.
	Gate            string
	AllowUnsafeGate bool
	// MaxSeatsPerHold bounds the seat ids of one hold (400 too_many_seats); 0 means
	// DefaultMaxSeatsPerHold. MaxHeaderBytes bounds a request's header lines (431
	// headers_too_large); 0 means no bound here (net/http's own still applies).
	MaxSeatsPerHold int
	MaxHeaderBytes  int
	// MaxQueueLength and MaxStreamsPerSession bound the waiting room (waitingroom.Config): the
	// sessions waiting in one event's queue (503 queue_full) and the queue streams one session
	// has open (429 too_many_streams); 0 means no bound.
	MaxQueueLength       int
	MaxStreamsPerSession int
	// AdminToken locks the /admin/* endpoints (internal/admintoken); empty leaves them open.
	AdminToken string
	Logger     *slog.Logger
	Now        func() time.Time
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

	// Each area keeps its state in its own type: the waiting room, checkout, the seat map and
	// the overload budget in their packages, the read-path cache in cache.go.
	checkout *checkout.Service
	room     *waitingroom.Room
	seats    *seatmap.Snapshots
	budget   *overload.Budget
	cache    *cacheState
	// shadow replays the strategy's decisions against Config.Shadow; nil without one.
	shadow *shadow.Shadow
	// tickets are the gate: ticket keys, scans and cancellations (server/tickets).
	tickets *tickets.Service
	keys    *tickets.Keys
}

// routes maps every endpoint of api.yaml to its handler. Handlers live in one file per area:
// events.go, holds.go, search.go, ledger.go, health.go, failpoints.go, poolhog.go, contract.go,
// and in the waiting room's, checkout's and the seat map's packages. TestContractRouted keeps
// them and api.yaml in step. The buyers' routes are under the overload budget by class
// (browse < join < hold < checkout, see server/overload); health, metrics, the contract and the
// admin routes never are (and every /admin/* route is behind the admin token), so they are never refused for load.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.Handle("GET /metrics", s.metricsHandler())
	s.mux.HandleFunc("GET /api.yaml", s.handleContract)
	s.mux.Handle("GET /admin/failpoints", s.admin(s.handleListFailpoints))
	s.mux.Handle("POST /admin/checkout/settle", s.admin(s.checkout.HandleSettle))
	s.mux.Handle("PUT /admin/failpoints/{name}", s.admin(s.handleArmFailpoint))
	s.mux.Handle("DELETE /admin/failpoints/{name}", s.admin(s.handleDisarmFailpoint))
	s.mux.Handle("PUT /admin/pool-hog", s.admin(s.handlePoolHog))
	s.mux.Handle("DELETE /admin/pool-hog", s.admin(s.handlePoolRelease))
	s.mux.Handle("POST /admin/events", s.admin(s.handleCreateEvent))
	s.mux.Handle("GET /events", s.under(overload.Browse, s.handleListEvents))
	s.mux.Handle("GET /events/search", s.under(overload.Browse, s.handleSearch))
	s.mux.Handle("GET /events/{event_id}", s.under(overload.Browse, s.handleGetEvent))
	s.mux.Handle("GET /events/{event_id}/seats", s.under(overload.Browse, s.seats.Handle))
	s.mux.Handle("POST /events/{event_id}/queue", s.under(overload.Join, s.room.HandleJoin))
	s.mux.Handle("GET /queue/{ticket}", s.under(overload.Join, s.room.HandleStatus))
	// A stream is let in like a join but holds no slot while it stays open.
	s.mux.Handle("GET /queue/{ticket}/stream", s.budget.Gate(overload.Join, http.HandlerFunc(s.room.HandleStream)))
	// A hold's admission token is checked before the budget (handleHold): a bot without one
	// is refused 403 without taking a slot or touching the strategy.
	s.mux.HandleFunc("POST /events/{event_id}/holds", s.handleHold)
	s.mux.Handle("GET /holds/{hold_id}", s.under(overload.Hold, s.handleGetHold))
	s.mux.Handle("DELETE /holds/{hold_id}", s.under(overload.Hold, s.handleRelease))
	s.mux.Handle("POST /holds/{hold_id}/checkout", s.under(overload.Checkout, s.checkout.Handle))
	s.mux.Handle("GET /bookings/{booking_id}", s.under(overload.Checkout, s.handleGetBooking))
	s.mux.Handle("GET /admin/ledger", s.admin(s.handleLedger))
	s.mux.Handle("GET /admin/shadow", s.admin(s.handleShadow))
	// A scan's signature is checked before the budget: only a genuine ticket takes a slot,
	// as a checkout would (see tickets.Config.Admission).
	s.mux.HandleFunc("POST /gates/{gate}/scan", s.tickets.HandleScan)
	s.mux.Handle("POST /admin/bookings/{booking_id}/cancel", s.admin(s.tickets.HandleCancel))
	s.mux.Handle("PUT /admin/events/{event_id}/waiting-room", s.admin(s.room.HandleSetRate))
}

// admin locks h behind the admin token (Config.AdminToken): without it a request is refused 401
// unauthorized in the contract's error shape.
func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return admintoken.Require(s.cfg.AdminToken, h, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, admintoken.ErrUnauthorized)
	})
}

// under puts h under the overload budget as a request of class c.
func (s *Server) under(c overload.Class, h http.HandlerFunc) http.Handler { return s.budget.Wrap(c, h) }

// ServeHTTP implements http.Handler. Requests whose headers are over Config.MaxHeaderBytes are
// refused 431 headers_too_large before any route sees them.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.MaxHeaderBytes > 0 && headerBytes(r) > s.cfg.MaxHeaderBytes {
		writeError(w, r, &api.Error{Status: http.StatusRequestHeaderFieldsTooLarge, Code: api.CodeHeadersTooLarge,
			Message: fmt.Sprintf("request headers: larger than %d bytes", s.cfg.MaxHeaderBytes)})
		return
	}
	s.handler.ServeHTTP(w, r)
}

// headerBytes is the size of r's request line and header lines as sent.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

func notImplemented(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotImplemented)
	_, _ = w.Write([]byte(`{"error":{"code":"internal","message":"not implemented yet"}}`))
}
