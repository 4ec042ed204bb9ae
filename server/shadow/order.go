package shadow

import (
	"sync"
	"time"

	"stampede/server/api"
	"stampede/strategies"
)

// opKind is what a primary operation was.
type opKind uint8

const (
	opHold opKind = iota
	opRelease
	opConfirm
)

func (k opKind) String() string {
	switch k {
	case opHold:
		return "hold"
	case opRelease:
		return "release"
	}
	return "confirm"
}

// op is one operation the primary decided, with its answer.
type op struct {
	kind opKind
	// start and end are the stamps of the primary call; taken marks an operation replayed ahead
	// of its turn (guarded by Shadow.mu).
	start, end uint64
	taken      bool
	// req is a hold's request, hold the primary's hold when granted.
	req  strategies.HoldRequest
	hold strategies.Hold
	// holdID and session name the hold a release or confirm was for.
	holdID, session string
	err             error
	// took is the primary's latency; at is when it answered.
	took time.Duration
	at   time.Time
}

// claim is who has a seat in the model: a primary hold until it expires, or a sale (hold
// empty, no expiry).
type claim struct {
	hold    string
	expires time.Time
}

// takenAt reports whether the claim still holds the seat at t.
func (c claim) takenAt(t time.Time) bool { return c.hold == "" || t.Before(c.expires) }

// model is the primary's seats as its own answers left them: seat key -> the primary hold that
// holds it until its expiry, or its sale. It only orders the replay; it never judges. Owned by
// Run.
type model struct {
	holder map[string]claim
	// seats are the seat keys of each primary hold granted on named seats.
	seats map[string][]string
	// tiers are the general-admission tiers by tier key; units the tier key and quantity of
	// each primary hold granted on a tier.
	tiers map[string]*tierModel
	units map[string]tierHold

	// capMu guards capacity, which CreateEvent writes from a request: tier key -> units.
	capMu    sync.Mutex
	capacity map[string]int64
}

// tierModel is one tier in the model: its sold units and its live holds.
type tierModel struct {
	sold  int64
	holds map[string]tierHold
}

// tierHold is a primary hold on a tier.
type tierHold struct {
	tier     string
	quantity int64
	expires  time.Time
}

func newModel() *model {
	return &model{holder: map[string]claim{}, seats: map[string][]string{}, tiers: map[string]*tierModel{},
		units: map[string]tierHold{}, capacity: map[string]int64{}}
}

func tierKey(event, tier string) string { return event + "\x00tier\x00" + tier }

// setCapacity records the tiers of an event.
func (m *model) setCapacity(e strategies.Event) {
	m.capMu.Lock()
	defer m.capMu.Unlock()
	for _, t := range e.Tiers {
		m.capacity[tierKey(e.ID, t.Name)] = t.Quantity
	}
}

// left returns the units of a tier that were neither held nor sold when the primary answered at
// t, and false when the tier's capacity is unknown.
func (m *model) left(key string, at time.Time) (int64, bool) {
	m.capMu.Lock()
	c, ok := m.capacity[key]
	m.capMu.Unlock()
	if !ok {
		return 0, false
	}
	tm := m.tiers[key]
	if tm == nil {
		return c, true
	}
	c -= tm.sold
	for id, h := range tm.holds {
		switch {
		case at.Before(h.expires):
			c -= h.quantity
		case at.Sub(h.expires) > holdMemory:
			delete(tm.holds, id)
			delete(m.units, id)
		}
	}
	return c, true
}

func (m *model) tier(key string) *tierModel {
	tm := m.tiers[key]
	if tm == nil {
		tm = &tierModel{holds: map[string]tierHold{}}
		m.tiers[key] = tm
	}
	return tm
}

// taken reports whether the seat key k was held or sold when the primary answered at t.
func (m *model) taken(k string, t time.Time) bool {
	c, ok := m.holder[k]
	return ok && c.takenAt(t)
}

// seatKeys are the keys of a hold request's named seats (none for a general-admission hold).
func seatKeys(r strategies.HoldRequest) []string {
	out := make([]string, len(r.Seats))
	for i, id := range r.Seats {
		out[i] = r.EventID + "\x00" + id
	}
	return out
}

// code is the stable code of a primary or shadow answer: "ok", or api's code for err.
func code(t api.Table, err error) string {
	if err == nil {
		return "ok"
	}
	return t.Code(err)
}

// decided reports whether a code is a decision (ok or a business refusal) rather than an
// outcome nobody knows (an internal error, a timeout).
func decided(c string) bool { return c != api.CodeInternal && c != api.CodeUnavailable }

// consistent reports whether the primary's answer to o fits the model as it stands: a hold it
// granted finds its seats free, a hold it refused as unavailable finds one of them taken.
func (m *model) consistent(t api.Table, o *op) bool {
	if o.kind != opHold {
		return true
	}
	c := code(t, o.err)
	if o.req.Tier != "" {
		left, known := m.left(tierKey(o.req.EventID, o.req.Tier), o.at)
		switch {
		case !known:
			return true
		case c == "ok":
			return left >= int64(o.req.Quantity)
		case c == api.CodeSoldOut:
			return left < int64(o.req.Quantity)
		}
		return true
	}
	switch c {
	case "ok":
		for _, k := range seatKeys(o.req) {
			if m.taken(k, o.at) {
				return false
			}
		}
		return true
	case api.CodeSeatUnavailable:
		for _, k := range seatKeys(o.req) {
			if m.taken(k, o.at) {
				return true
			}
		}
		return false
	}
	return true
}

// touches reports whether o may change one of keys (seat or tier keys).
func (m *model) touches(o *op, keys []string) bool {
	mine := m.keysOf(o)
	for _, a := range mine {
		for _, b := range keys {
			if a == b {
				return true
			}
		}
	}
	return false
}

// keysOf returns the seat keys, or the tier key, that o acts on.
func (m *model) keysOf(o *op) []string {
	if o.kind == opHold {
		if o.req.Tier != "" {
			return []string{tierKey(o.req.EventID, o.req.Tier)}
		}
		return seatKeys(o.req)
	}
	if th, ok := m.units[o.holdID]; ok {
		return []string{th.tier}
	}
	return m.seats[o.holdID]
}

// apply moves the model by the primary's answer to o.
func (m *model) apply(o *op) {
	if o.err != nil {
		return
	}
	switch o.kind {
	case opHold:
		if o.req.Tier != "" {
			th := tierHold{tier: tierKey(o.req.EventID, o.req.Tier), quantity: int64(o.req.Quantity), expires: o.hold.Expires}
			m.tier(th.tier).holds[o.hold.ID] = th
			m.units[o.hold.ID] = th
			return
		}
		keys := seatKeys(o.req)
		for _, k := range keys {
			m.holder[k] = claim{hold: o.hold.ID, expires: o.hold.Expires}
		}
		m.seats[o.hold.ID] = keys
	case opRelease:
		if th, ok := m.units[o.holdID]; ok {
			delete(m.tier(th.tier).holds, o.holdID)
			delete(m.units, o.holdID)
		}
		for _, k := range m.seats[o.holdID] {
			if m.holder[k].hold == o.holdID {
				delete(m.holder, k)
			}
		}
		delete(m.seats, o.holdID)
	case opConfirm:
		if th, ok := m.units[o.holdID]; ok {
			tm := m.tier(th.tier)
			delete(tm.holds, o.holdID)
			delete(m.units, o.holdID)
			tm.sold += th.quantity
		}
		for _, k := range m.seats[o.holdID] {
			m.holder[k] = claim{}
		}
		delete(m.seats, o.holdID)
	}
}

// scanLimit bounds how far order looks for an operation that fits the model, so that a batch
// of answers no order explains (a grant that was dropped, a hold that expired) costs linear
// time, not quadratic.
const scanLimit = 64

// order returns batch, and any operations of ahead that must go first, in an order the primary
// could have decided them in (see the package comment), and moves the model through it.
// Operations of ahead that are used are marked taken.
//
// A release or confirm never goes before the grant of its own hold: while that grant waits in
// the batch for the release that explains it, the release or confirm waits too (placed first,
// it would find the hold unknown to the shadow and be skipped, leaving the shadow's hold live).
func (s *Shadow) order(batch, ahead []*op) []*op {
	out := make([]*op, 0, len(batch))
	rest := batch
	waiting := map[string]bool{} // holds granted in rest, not yet placed
	for _, o := range batch {
		if o.kind == opHold && o.err == nil {
			waiting[o.hold.ID] = true
		}
	}
	fits := func(o *op) bool {
		if o.kind != opHold && waiting[o.holdID] {
			return false
		}
		return s.model.consistent(s.cfg.Table, o)
	}
	for len(rest) > 0 {
		i := -1
		for j := 0; j < len(rest) && j < scanLimit; j++ {
			if fits(rest[j]) {
				i = j
				break
			}
		}
		if i < 0 {
			if x := s.lookAhead(rest[0], ahead, fits); x != nil {
				s.take(x)
				rest, out = s.place(x, rest, ahead, out)
				continue
			}
			i = 0
		}
		o := rest[i]
		if o.kind == opHold {
			delete(waiting, o.hold.ID)
		}
		if i == 0 {
			rest = rest[1:]
		} else {
			rest = append(rest[:i], rest[i+1:]...)
		}
		rest, out = s.place(o, rest, ahead, out)
	}
	return out
}

// place appends o to out and moves the model by it. A release the primary accepted is preceded
// by the refusals it overlaps (started before it ended) on its seats or tier that the model
// still explains, from rest or ahead: the primary refused them before the release took effect,
// though the release ended first, and replayed after it they would find the seats free. It
// returns rest without the refusals it moved.
func (s *Shadow) place(o *op, rest, ahead []*op, out []*op) ([]*op, []*op) {
	if o.kind == opRelease && o.err == nil {
		keys := s.model.keysOf(o)
		refusedFirst := func(x *op) bool {
			return x.kind == opHold && x.err != nil && x.start < o.end && s.model.touches(x, keys) &&
				s.model.consistent(s.cfg.Table, x)
		}
		kept := rest[:0]
		for j, x := range rest {
			if j < scanLimit && refusedFirst(x) {
				out = append(out, x)
				continue
			}
			kept = append(kept, x)
		}
		rest = kept
		for _, x := range ahead {
			s.mu.Lock()
			taken := x.taken
			s.mu.Unlock()
			if !taken && refusedFirst(x) {
				s.take(x)
				out = append(out, x)
			}
		}
	}
	s.model.apply(o)
	return rest, append(out, o)
}

// lookAhead finds an operation of ahead, not yet taken, that fits the model and touches a seat
// of blocked: the grant that explains a refusal, the release that explains a grant.
func (s *Shadow) lookAhead(blocked *op, ahead []*op, fits func(*op) bool) *op {
	if blocked.kind != opHold {
		return nil
	}
	keys := s.model.keysOf(blocked)
	for _, x := range ahead {
		s.mu.Lock()
		taken := x.taken
		s.mu.Unlock()
		if taken || !s.model.touches(x, keys) || !fits(x) {
			continue
		}
		return x
	}
	return nil
}
