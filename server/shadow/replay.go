package shadow

import (
	"context"
	"errors"
	"fmt"
	"stampede/internal/shadowreport"
	"time"

	"stampede/strategies"
)

// holdState is a hold the primary granted, as the shadow follows it.
type holdState struct {
	event, session string
	seats          []string
	tier           string
	quantity       int
	expires        time.Time
	keys           []string
	// b is the shadow's hold for it; empty when the shadow refused it. Written by the hold's
	// replay, read by later replays of the same hold, which wait for it (call.deps).
	b string
}

// call is one operation scheduled against the shadow: it runs once the calls it depends on
// (earlier calls on one of its keys) are done.
type call struct {
	o    *op
	hs   *holdState
	deps []*call
	done chan struct{}
}

// holdKeys are the keys that order replays of a hold and of what follows it: its seats, or its
// tier, and the hold itself.
func holdKeys(event string, seats []string, tier, holdID string) []string {
	var out []string
	for _, id := range seats {
		out = append(out, event+"\x00"+id)
	}
	if tier != "" {
		out = append(out, tierKey(event, tier))
	}
	if holdID != "" {
		out = append(out, "hold\x00"+holdID)
	}
	return out
}

// holdsPruneEvery is how often, in replayed operations, holds long expired are forgotten.
const holdsPruneEvery = 4096

// holdMemory is how long past its expiry a hold is remembered: a confirm may still arrive
// (checkout's slowest payment), later ones are answered expired by both strategies anyway.
const holdMemory = 10 * time.Minute

func (s *Shadow) pruneHolds(now time.Time) {
	s.scheduled++
	if s.scheduled%holdsPruneEvery != 0 {
		return
	}
	for id, hs := range s.holds {
		if now.Sub(hs.expires) > holdMemory {
			delete(s.holds, id)
		}
	}
	for k, c := range s.busy {
		select {
		case <-c.done:
			delete(s.busy, k)
		default:
		}
	}
}

// schedule makes o's call, to run after the calls still running on any of its keys. It
// returns nil, counting the operation as skipped, when the primary's outcome was not a decision
// or the hold is unknown to the shadow (granted before it started, or its grant was dropped or
// skipped). It follows the primary's holds: a grant is remembered, a release or confirm the
// primary accepted forgets it.
func (s *Shadow) schedule(o *op) *call {
	s.pruneHolds(o.at)
	acode := code(s.cfg.Table, o.err)
	if !decided(acode) {
		s.results.skip()
		return nil
	}
	c := &call{o: o, done: make(chan struct{})}
	var keys []string
	switch {
	case o.kind == opHold && o.err == nil:
		c.hs = &holdState{
			event: o.req.EventID, session: o.req.Session, seats: o.req.Seats, tier: o.req.Tier,
			quantity: o.req.Quantity, expires: o.hold.Expires,
			keys: holdKeys(o.req.EventID, o.req.Seats, o.req.Tier, o.hold.ID),
		}
		keys = c.hs.keys
		s.holds[o.hold.ID] = c.hs
	case o.kind == opHold:
		keys = holdKeys(o.req.EventID, o.req.Seats, o.req.Tier, "")
	default:
		c.hs = s.holds[o.holdID]
		if c.hs == nil {
			s.results.skip()
			return nil
		}
		if acode == "ok" {
			delete(s.holds, o.holdID)
		}
		keys = c.hs.keys
	}
	seen := map[*call]bool{}
	for _, k := range keys {
		if d := s.busy[k]; d != nil && !seen[d] {
			select {
			case <-d.done:
			default:
				c.deps = append(c.deps, d)
				seen[d] = true
			}
		}
		s.busy[k] = c
	}
	return c
}

// replay runs c against the shadow strategy once its dependencies are done, and compares the
// shadow's answer with the primary's.
func (s *Shadow) replay(ctx context.Context, c *call) {
	defer close(c.done)
	for _, d := range c.deps {
		select {
		case <-d.done:
		case <-ctx.Done():
			return
		}
	}
	o := c.o
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	b := s.cfg.Strategy
	var (
		berr error
		took time.Duration
	)
	switch o.kind {
	case opHold:
		r := o.req
		if o.err == nil {
			// The shadow's hold lives as long as the primary's has left, so both expire together.
			r.TTL = o.hold.Expires.Sub(s.cfg.Now())
			if r.TTL < time.Millisecond {
				s.results.skip()
				return
			}
		}
		t := time.Now()
		var h strategies.Hold
		h, berr = b.Hold(cctx, r)
		took = time.Since(t)
		switch {
		case berr == nil && o.err == nil:
			c.hs.b = h.ID
		case berr == nil:
			// The shadow granted what the primary refused: give it back, so that the shadow
			// keeps the primary's state.
			if err := b.Release(cctx, h.ID); err != nil {
				s.cfg.Logger.Warn("shadow: release a hold the primary refused", "strategy", b.Name(), "hold", h.ID, "err", err)
			}
		}
	case opRelease:
		if c.hs.b == "" {
			s.results.skip()
			return
		}
		t := time.Now()
		berr = b.Release(cctx, c.hs.b)
		took = time.Since(t)
	case opConfirm:
		if c.hs.b == "" {
			s.results.skip()
			return
		}
		t := time.Now()
		_, berr = b.Confirm(cctx, strategies.ConfirmRequest{HoldID: c.hs.b, Session: c.hs.session})
		took = time.Since(t)
	}
	if ctx.Err() != nil && errors.Is(berr, context.Canceled) {
		return // the server is stopping: not a finding
	}
	s.record(o, c.hs, berr, took)
}

// record compares the shadow's answer berr with the primary's and keeps the finding.
func (s *Shadow) record(o *op, hs *holdState, berr error, took time.Duration) {
	acode, bcode := code(s.cfg.Table, o.err), code(s.cfg.Table, berr)
	if errors.Is(berr, context.DeadlineExceeded) {
		bcode = "timeout"
	}
	s.results.replayed(o.kind, o.took, took)
	s.metrics.observe(o.kind, o.took, took)
	kind := compare(o.kind, acode, bcode)
	if kind == "" {
		return
	}
	d := shadowreport.Divergence{
		Kind: kind, Op: o.kind.String(), At: o.at.UTC(), Primary: acode, Shadow: bcode,
		PrimaryHold: o.holdID, AfterDrops: s.droppedSoFar(),
	}
	if o.kind == opHold {
		d.Event, d.Seats, d.Tier, d.Quantity = o.req.EventID, o.req.Seats, o.req.Tier, o.req.Quantity
		d.PrimaryHold = o.hold.ID
	} else if hs != nil {
		d.Event, d.Seats, d.Tier, d.Quantity = hs.event, hs.seats, hs.tier, hs.quantity
	}
	if berr != nil && kind == shadowreport.KindError {
		d.Detail = berr.Error()
	}
	s.results.diverge(d)
	s.metrics.divergences.WithLabelValues(kind).Inc()
	s.cfg.Logger.Debug("shadow divergence", "kind", kind, "op", d.Op, "event", d.Event, "seats", fmt.Sprint(d.Seats),
		"primary", acode, "shadow", bcode)
}

// compare names the divergence between the primary's answer a and the shadow's b to one
// operation, or returns "" when they agree.
func compare(k opKind, a, b string) string {
	switch {
	case !decided(b) || b == "timeout":
		return shadowreport.KindError
	case a == b:
		return ""
	}
	switch k {
	case opHold:
		if a == "ok" {
			return shadowreport.KindHoldRefused
		}
		if b == "ok" {
			return shadowreport.KindHoldGranted
		}
	case opConfirm:
		if a == "ok" {
			return shadowreport.KindConfirmRefused
		}
		if b == "ok" {
			return shadowreport.KindConfirmSold
		}
	case opRelease:
		return shadowreport.KindReleaseDiffers
	}
	return shadowreport.KindOutcomeDiffers
}

func (s *Shadow) droppedSoFar() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}
