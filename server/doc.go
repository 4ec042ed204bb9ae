// Package server is the reference booking server: the HTTP API of api.yaml (embedded, the
// contract's source of truth) over a strategies.Strategy, with the cached read path, admin
// endpoints and Prometheus metrics. It routes every endpoint, maps every error to its answer in
// one table (errors.go), and composes the capabilities that live in sub-packages: the waiting
// room (server/waitingroom), checkout with idempotency keys (server/checkout), the seat map
// served from shared snapshots (server/seatmap), the overload budget that sheds the herd by
// class of request so admitted buyers keep buying (server/overload), and the fake payment
// processor (server/payments); server/api is the vocabulary they share. Those never import the
// server, and the server never imports the harness.
//
// Files:
//
//	server.go      Config, Server, the routes (and which class of the overload budget each is)
//	new.go         New (builds the server and its areas), Run (their background work)
//	serve.go       Serve and Options: a whole server process
//	errors.go      the error table
//	metrics.go     HTTP and strategy metrics, the instrumented strategy
//	events.go      events: create, list, get; the hold path's event memo
//	holds.go       holds: take, read, release
//	ledger.go      bookings and GET /admin/ledger
//	search.go      GET /events/search
//	cache.go       the read-path cache in Redis
//	health.go      GET /healthz
//	failpoints.go  the chaos failpoints' admin endpoints
//	poolhog.go     the pool-exhaustion fault
//	contract.go    GET /api.yaml
package server
