package seatmap

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"stampede/server/api"
	"stampede/strategies"
)

// Source reads an event's availability from where the strategy keeps it; a
// strategies.Strategy is one. Availability returns strategies.ErrEventNotFound for an unknown
// event, and sets AsOf to the time it judged expiry at, taken before it read.
type Source interface {
	Availability(ctx context.Context, eventID string) (strategies.Availability, error)
}

// SourceFunc is a function seen as a Source.
type SourceFunc func(ctx context.Context, eventID string) (strategies.Availability, error)

// Availability implements Source.
func (f SourceFunc) Availability(ctx context.Context, eventID string) (strategies.Availability, error) {
	return f(ctx, eventID)
}

var (
	_ Source = SourceFunc(nil)
	_ Source = strategies.Strategy(nil)
)

// Config is what Snapshots are built from.
type Config struct {
	// Deps are the server's error table (Errors are this package's rows of it), the registry
	// of the seat map's metrics and the clock freshness is measured with. Required.
	api.Deps
	// Source reads availability; required.
	Source Source
	// Freshness is how long after its read began a snapshot is served; 0 reads the database
	// for every request.
	Freshness time.Duration
}

// readTimeout bounds a snapshot read shared by several requests: it is not cancelled when
// the request that started it goes away.
const readTimeout = 10 * time.Second

// Snapshots are the seat-map snapshots of one server process, one per event read within the
// freshness. They are safe for concurrent use.
type Snapshots struct {
	src   Source
	fresh time.Duration
	now   func() time.Time
	table api.Table
	m     *metrics
	// seed keys the ETags' hash; a new process has new ETags.
	seed maphash.Seed

	group singleflight.Group
	mu    sync.Mutex
	snaps map[string]*snapshot
}

// New builds Snapshots from cfg and registers their metrics. A negative freshness is an error.
func New(cfg Config) (*Snapshots, error) {
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("new seat map: %w", err)
	}
	if cfg.Source == nil {
		return nil, errors.New("new seat map: no availability source")
	}
	if cfg.Freshness < 0 {
		return nil, fmt.Errorf("new seat map: freshness must not be negative, got %s", cfg.Freshness)
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("new seat map: register metrics: %w", err)
	}
	return &Snapshots{
		src: cfg.Source, fresh: cfg.Freshness, now: cfg.Now, table: cfg.Table, m: m,
		seed: maphash.MakeSeed(), snaps: map[string]*snapshot{},
	}, nil
}

// get returns a snapshot of the event that began less than the freshness before this call,
// and how it was had (readHit, readBuilt, readCoalesced or readLive). Errors are the source's.
func (s *Snapshots) get(ctx context.Context, eventID string) (*snapshot, string, error) {
	arrival := s.now()
	if s.fresh <= 0 {
		snap, err := s.read(ctx, eventID)
		return snap, readLive, err
	}
	if snap := s.current(eventID, arrival); snap != nil {
		return snap, readHit, nil
	}
	// A read this request joins may have begun too long before it arrived (a slow read); then
	// it waits for the next one, which begins after that one ended, so after the arrival: two
	// rounds at most.
	var snap *snapshot
	result := readCoalesced
	for range 2 {
		ran := false
		v, err, _ := s.group.Do(eventID, func() (any, error) {
			ran = true
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
			defer cancel()
			snap, err := s.read(rctx, eventID)
			if err != nil {
				return nil, err
			}
			s.keep(eventID, snap)
			return snap, nil
		})
		if err != nil {
			return nil, result, err
		}
		if ran {
			result = readBuilt
		}
		snap = v.(*snapshot)
		if arrival.Sub(snap.readAt) < s.fresh {
			break
		}
	}
	return snap, result, nil
}

// current returns the event's snapshot when it is fresh at now, else nil.
func (s *Snapshots) current(eventID string, now time.Time) *snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.snaps[eventID]
	if snap == nil || !s.freshAt(snap, now) {
		return nil
	}
	return snap
}

// freshAt reports whether snap may be served at now. A snapshot from the future (the clock
// went back) is not.
func (s *Snapshots) freshAt(snap *snapshot, now time.Time) bool {
	return !now.Before(snap.readAt) && now.Sub(snap.readAt) < s.fresh
}

// keep makes snap the event's snapshot and drops the other events' snapshots that are no
// longer fresh, so that memory holds only what may still be served.
func (s *Snapshots) keep(eventID string, snap *snapshot) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.snaps {
		if !s.freshAt(old, now) {
			delete(s.snaps, id)
		}
	}
	s.snaps[eventID] = snap
}

// read reads a new snapshot of the event from the source.
func (s *Snapshots) read(ctx context.Context, eventID string) (*snapshot, error) {
	readAt := s.now()
	start := time.Now()
	a, err := s.src.Availability(ctx, eventID)
	s.m.readSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, err
	}
	return newSnapshot(a, readAt, s.seed), nil
}
