package tickets

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"stampede/strategies"
)

// Store is where a gate records entries and cancellations; a *strategies.Store is one.
type Store interface {
	// Admit records the one entry of a ticket, atomically across gates (see
	// strategies.Store.Admit): *strategies.UsedError, ErrBookingCancelled, ErrBookingNotFound.
	Admit(ctx context.Context, e strategies.Entry) (strategies.Entry, error)
	// CancelBooking marks a booking cancelled or refunded.
	CancelBooking(ctx context.Context, bookingID, reason string) (strategies.Cancellation, error)
}

var _ Store = (*strategies.Store)(nil)

// Gate decides whether a ticket whose signature held is let in at the named gate. It returns
// the entry, or the store's refusals (*strategies.UsedError, ErrBookingCancelled,
// ErrBookingNotFound).
type Gate interface {
	Admit(ctx context.Context, gate string, c Claims) (strategies.Entry, error)
}

// GateFunc is a function seen as a Gate.
type GateFunc func(ctx context.Context, gate string, c Claims) (strategies.Entry, error)

// Admit implements Gate.
func (f GateFunc) Admit(ctx context.Context, gate string, c Claims) (strategies.Entry, error) {
	return f(ctx, gate, c)
}

// entry is the store entry of claims scanned at gate.
func entry(gate string, c Claims) strategies.Entry {
	return strategies.Entry{TicketID: c.TicketID, EventID: c.EventID, BookingID: c.Booking, Item: c.Item(), Gate: gate}
}

// exactlyOnce admits through the store's atomic Admit: one entry per ticket across every gate.
func exactlyOnce(st Store) Gate {
	return GateFunc(func(ctx context.Context, gate string, c Claims) (strategies.Entry, error) {
		return st.Admit(ctx, entry(gate, c))
	})
}

// perGateCache is broken on purpose: each gate trusts its own list of the tickets it let in,
// and treats the shared record of entries as best effort. It asks the store as the safe gate
// does (so cancelled bookings are still refused), but when the store says the ticket was
// already used at another gate, it lets the holder in anyway, because its own list has not seen
// that ticket: a screenshot shared with a friend gets two people in through two gates. A second
// scan at the same gate is refused.
type perGateCache struct {
	st   Store
	mu   sync.Mutex
	seen map[string]map[string]strategies.Entry // gate -> ticket id -> its entry here
}

var _ Gate = (*perGateCache)(nil)

func (p *perGateCache) Admit(ctx context.Context, gate string, c Claims) (strategies.Entry, error) {
	p.mu.Lock()
	if e, ok := p.seen[gate][c.TicketID]; ok {
		p.mu.Unlock()
		return strategies.Entry{}, &strategies.UsedError{First: e}
	}
	p.mu.Unlock()
	e, err := p.st.Admit(ctx, entry(gate, c))
	var used *strategies.UsedError
	if errors.As(err, &used) {
		e, err = used.First, nil
		e.Gate = gate // the gate's own answer: let in here, now
	}
	if err != nil {
		return strategies.Entry{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[gate] == nil {
		p.seen[gate] = map[string]strategies.Entry{}
	}
	p.seen[gate][c.TicketID] = e
	return e, nil
}

// variant is one registered kind of gate.
type variant struct {
	new    func(Store) Gate
	unsafe bool
	about  string
}

// DefaultGate is the gate the server runs unless told otherwise.
const DefaultGate = "exactly-once"

// variants is every gate by name, built here in one place.
var variants = map[string]variant{
	DefaultGate:      {new: exactlyOnce, about: "one entry per ticket across every gate, decided by the database"},
	"per-gate-cache": {new: func(st Store) Gate { return &perGateCache{st: st, seen: map[string]map[string]strategies.Entry{}} }, unsafe: true, about: "each gate trusts its own list: admits a ticket once per gate (broken on purpose)"},
}

// GateNames lists the registered gates, sorted.
func GateNames() []string {
	out := make([]string, 0, len(variants))
	for n := range variants {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// UnsafeGate reports whether the named gate admits tickets twice on purpose.
func UnsafeGate(name string) bool { return variants[name].unsafe }

// NewGate builds the named gate over st ("" is DefaultGate). Unsafe gates are refused unless
// allowUnsafe is set.
func NewGate(name string, st Store, allowUnsafe bool) (Gate, error) {
	if name == "" {
		name = DefaultGate
	}
	v, ok := variants[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("gate %q: unknown; choose one of %v", name, GateNames())
	case v.unsafe && !allowUnsafe:
		return nil, fmt.Errorf("gate %q admits tickets twice on purpose; pass --allow-unsafe to run it", name)
	case st == nil:
		return nil, errors.New("new gate: no store")
	}
	return v.new(st), nil
}
