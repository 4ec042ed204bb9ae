// Package server is the reference booking server: the HTTP API of api.yaml (embedded, the
// contract's source of truth) over a strategies.Strategy, with checkout and idempotency keys,
// the waiting room, the cached read path, admin endpoints and Prometheus metrics. The fake
// payment processor lives in server/payments. The server never imports the harness.
//
// Waiting room. An event with a waiting room has a queue in Redis, shared by every server
// process: sessions are admitted in the order they joined, at the event's rate (changeable at
// run time), and get an HMAC-signed admission token bound to session and event that holds need.
// When Redis loses the queue (a restart without persistence), the queue is not rebuilt or
// silently reordered: tickets carry the run id of their queue, so old tickets are answered 404
// ticket_not_found saying the queue was reset, sessions that join again get places in a new
// queue in their new join order, and tokens already issued stay valid until they expire, since
// they are checked without Redis. waitingroom.go has the details.
package server
