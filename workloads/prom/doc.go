// Package prom exports a running driver's live metrics to Prometheus: request rate, outcomes
// and latency per operation (from the send, and from the moment the request was due), requests
// in flight, running users, arrivals started and dropped, the driver's own lateness (generator
// lag) and the fault windows open. Metrics implements workloads.Observer; give it to the driver
// as Config.Observer and serve its registry with Listen (`stampede drive --metrics-addr`).
//
// The metrics go to a registry passed in, never the global default. Their latency buckets
// begin as the reference server's do, so that a dashboard puts the two side by side.
//
// metrics.go holds the metrics and the observer, serve.go the HTTP endpoint, remote.go the
// Pusher that sends them to a Prometheus remote-write endpoint (protocol 2.0) instead.
package prom
