package seatmap

import (
	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/promreg"
)

// How a read was served, the reads metric's label.
const (
	// served from a fresh snapshot
	readHit = "hit"
	// this request read the snapshot from the database
	readBuilt = "built"
	// shared a snapshot another request was reading
	readCoalesced = "coalesced"
	// freshness 0: read for this request alone
	readLive = "live"
)

type metrics struct {
	reads       *prometheus.CounterVec
	notModified prometheus.Counter
	readSeconds prometheus.Histogram
}

// newMetrics creates the metrics and registers them on reg, sharing those reg already has.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	var err error
	m := &metrics{
		reads: promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stampede_seatmap_reads_total",
			Help: "Seat-map requests answered, by how: hit (a fresh snapshot), built (read the snapshot), " +
				"coalesced (shared another request's read), live (freshness 0: read for this request).",
		}, []string{"result"}), &err),
		notModified: promreg.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stampede_seatmap_not_modified_total",
			Help: "Seat-map requests answered 304 Not Modified (If-None-Match named the current ETag).",
		}), &err),
		readSeconds: promreg.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "stampede_seatmap_read_seconds",
			Help:    "Time to read one seat-map snapshot from the strategy (the database, and Redis for redis-lock).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms .. about 4 s
		}), &err),
	}
	if err != nil {
		return nil, err
	}
	for _, r := range []string{readHit, readBuilt, readCoalesced, readLive} {
		m.reads.WithLabelValues(r)
	}
	return m, nil
}
