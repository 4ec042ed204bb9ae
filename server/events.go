package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"stampede/server/api"
	"stampede/strategies"
)

// eventSpec is api.yaml's EventSpec as a request body. starts_at is decoded here rather than
// by encoding/json so that a malformed date names its field.
type eventSpec struct {
	ID          string                  `json:"id"`
	Name        string                  `json:"name"`
	Performer   string                  `json:"performer"`
	Venue       string                  `json:"venue"`
	City        string                  `json:"city"`
	StartsAt    *string                 `json:"starts_at"`
	Sections    []strategies.Section    `json:"sections"`
	Tiers       []strategies.Tier       `json:"ga_tiers"`
	WaitingRoom *strategies.WaitingRoom `json:"waiting_room"`
}

func (sp eventSpec) event() (strategies.Event, error) {
	e := strategies.Event{
		ID: sp.ID, Name: sp.Name, Performer: sp.Performer, Venue: sp.Venue, City: sp.City,
		Sections: sp.Sections, Tiers: sp.Tiers, WaitingRoom: sp.WaitingRoom,
	}
	if sp.StartsAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *sp.StartsAt)
		if err != nil {
			return e, api.Invalid("starts_at", "starts_at %q: want an RFC 3339 date-time such as 2026-07-01T19:30:00Z", api.Truncate(*sp.StartsAt, 64))
		}
		e.StartsAt = &t
	}
	return e, nil
}

// handleCreateEvent is POST /admin/events: 201 with the event when it is new, 200 when an event
// with the same id and spec exists, 409 event_exists for the same id with another spec, 400 for
// an invalid spec. Strategies with per-event structures (strategies.Preparer) prepare the event
// on every successful call, not only the first: a create retried after a failed prepare completes
// the event, so PrepareEvent must be idempotent. The event's cached pages are dropped afterwards.
func (s *Server) handleCreateEvent(w http.ResponseWriter, r *http.Request) {
	var spec eventSpec
	if err := api.DecodeJSON(r, &spec); err != nil {
		writeError(w, r, err)
		return
	}
	e, err := spec.event()
	if err != nil {
		writeError(w, r, err)
		return
	}
	ctx := r.Context()
	ev, created, err := s.store.CreateEvent(ctx, e)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if p, ok := s.strategy.(strategies.Preparer); ok {
		if err := p.PrepareEvent(ctx, ev); err != nil {
			writeError(w, r, fmt.Errorf("prepare event %s for %s: %w", ev.ID, s.strategy.Name(), err))
			return
		}
	}
	if s.shadow != nil {
		// The shadow's copy never decides the answer: a failure is logged, and the shadow's
		// operations on the event end in shadow errors that its report shows.
		if err := s.shadow.CreateEvent(ctx, ev); err != nil {
			api.Logger(ctx).Warn("create event on the shadow", "event", ev.ID, "err", err)
		}
	}
	s.events.put(ev, s.cfg.Now())
	if err := s.invalidateEvent(ctx, ev.ID); err != nil {
		// The event exists and is prepared; a stale list for a cache TTL is not worth failing
		// the request the client would then retry.
		api.Logger(ctx).Warn("invalidate cached event pages", "event", ev.ID, "err", err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	api.WriteJSON(w, status, ev)
}

// eventList is the body of GET /events.
type eventList struct {
	Events []strategies.Event `json:"events"`
}

// handleListEvents is GET /events, through the read-path cache (listCacheKey).
func (s *Server) handleListEvents(w http.ResponseWriter, r *http.Request) {
	b, err := s.cached(r.Context(), listCacheKey, func(ctx context.Context) (any, error) {
		evs, err := s.store.ListEvents(ctx)
		if err != nil {
			return nil, err
		}
		return eventList{Events: evs}, nil
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteRawJSON(w, http.StatusOK, b)
}

// handleGetEvent is GET /events/{event_id}, through the read-path cache (eventCacheKey).
func (s *Server) handleGetEvent(w http.ResponseWriter, r *http.Request) {
	id, err := api.EventID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	b, err := s.cached(r.Context(), eventCacheKey(id), func(ctx context.Context) (any, error) {
		return s.store.GetEvent(ctx, id)
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteRawJSON(w, http.StatusOK, b)
}

// tierView is one general-admission tier as the ledger shows it (the seat map shows the same
// fields, server/seatmap).
type tierView struct {
	Name       string `json:"name"`
	Capacity   int64  `json:"capacity"`
	Available  int64  `json:"available"`
	Held       int64  `json:"held"`
	Sold       int64  `json:"sold"`
	PriceCents int64  `json:"price_cents,omitempty"`
}

func tierViews(ts []strategies.TierState) []tierView {
	out := make([]tierView, 0, len(ts))
	for _, t := range ts {
		out = append(out, tierView{Name: t.Name, Capacity: t.Capacity, Available: t.Available, Held: t.Held, Sold: t.Sold, PriceCents: t.PriceCents})
	}
	return out
}

// rfc3339 formats t as the contract writes times: RFC 3339 with nanoseconds, UTC.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// eventMemoTTL is how long the hold path trusts an event it has read. Specs never change once
// created; what can change at run time (the waiting room's rate) is not read from here.
const eventMemoTTL = time.Second

// eventMemo keeps the events the hold path looked up, so that a herd of holds does not read
// the events table once per request. It is safe for concurrent use. Unknown events are not
// remembered.
type eventMemo struct {
	mu sync.Mutex
	m  map[string]memoEntry
}

type memoEntry struct {
	ev     strategies.Event
	loaded time.Time
}

func newEventMemo() *eventMemo { return &eventMemo{m: map[string]memoEntry{}} }

func (m *eventMemo) get(id string, now time.Time) (strategies.Event, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[id]
	if !ok || now.Sub(e.loaded) > eventMemoTTL || now.Before(e.loaded) {
		return strategies.Event{}, false
	}
	return e.ev, true
}

func (m *eventMemo) put(ev strategies.Event, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[ev.ID] = memoEntry{ev: ev, loaded: now}
}

// event returns the event with id (strategies.ErrEventNotFound when there is none), from the
// memo when it is fresh.
func (s *Server) event(ctx context.Context, id string) (strategies.Event, error) {
	now := s.cfg.Now()
	if ev, ok := s.events.get(id, now); ok {
		return ev, nil
	}
	ev, err := s.store.GetEvent(ctx, id)
	if err != nil {
		return ev, err
	}
	s.events.put(ev, now)
	return ev, nil
}
