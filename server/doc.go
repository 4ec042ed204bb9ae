// Package server is the reference booking server: the HTTP API of api.yaml (embedded, the
// contract's source of truth) over a strategies.Strategy, with checkout and idempotency keys,
// the waiting room, the cached read path, admin endpoints and Prometheus metrics. The fake
// payment processor lives in server/payments. The server never imports the harness.
package server
