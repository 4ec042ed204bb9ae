// Package failpoint gives the reference server named points in its critical paths (after the
// charge and before the confirm, inside a strategy's transaction, between the Redis lock and
// the database write) where a chaos schedule can make something happen at exactly that moment:
// crash the process, delay, fail, or block until released. A point costs one atomic load when
// nothing is armed, and nothing at all on a nil *Set.
//
// The chaos package arms points through the server's admin endpoint (PUT /admin/failpoints/
// {name}); points count their hits while armed, so a schedule can fire "on the 500th hold".
package failpoint

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Names of the points the reference server evaluates.
const (
	AfterHold      = "after-hold"       // a hold was taken, before the answer is sent
	InHoldTx       = "in-hold-tx"       // inside a strategy's hold transaction, rows locked
	BeforeCharge   = "before-charge"    // checkout: key recorded, processor not yet called
	AfterCharge    = "after-charge"     // checkout: charged, not yet confirmed
	InConfirmTx    = "in-confirm-tx"    // inside a strategy's confirm transaction
	AfterRedisLock = "after-redis-lock" // redis-lock: lock checked, database not yet written
	BeforeRefund   = "before-refund"    // checkout: hold lost, refund not yet issued
)

// Known lists every point, for validation and `stampede chaos list`.
var Known = []string{AfterHold, InHoldTx, BeforeCharge, AfterCharge, InConfirmTx, AfterRedisLock, BeforeRefund}

// Action kinds.
const (
	Count = "count" // only count hits
	Crash = "crash" // SIGKILL the process at the point (the server-crash fault, at a chosen moment)
	Delay = "delay" // sleep Delay at the point
	Error = "error" // return ErrInjected from the point
	Block = "block" // wait at the point until the action is changed or removed (or ctx ends)
)

// ErrInjected is what an Error action makes the point return.
var ErrInjected = errors.New("failpoint: injected error")

// Action is what an armed point does once its hit count reaches From (1-based; 0 means from
// the first hit), for Times hits (0 means every hit from then on).
type Action struct {
	Kind  string        `json:"action"`
	From  int64         `json:"from,omitempty"`
	Times int64         `json:"times,omitempty"`
	Delay time.Duration `json:"delay_ns,omitempty"`
}

// Validate reports what is wrong with a.
func (a Action) Validate() error {
	switch a.Kind {
	case Count, Crash, Error, Block:
	case Delay:
		if a.Delay <= 0 || a.Delay > 10*time.Minute {
			return fmt.Errorf("delay: must be in (0, 10m], got %s", a.Delay)
		}
	default:
		return fmt.Errorf("action %q: want count, crash, delay, error or block", a.Kind)
	}
	if a.From < 0 || a.Times < 0 {
		return fmt.Errorf("from and times must not be negative")
	}
	return nil
}

type point struct {
	action  Action
	hits    atomic.Int64
	fired   atomic.Int64
	release chan struct{} // closed when a Block action is replaced or removed
}

// Set is the armed points of one process. The zero value is not usable; a nil *Set is a valid,
// permanently disarmed set. It is safe for concurrent use.
type Set struct {
	armed atomic.Int32
	mu    sync.RWMutex
	pts   map[string]*point
	// kill ends the process for a Crash action; tests replace it.
	kill func()
}

// New returns an empty Set.
func New() *Set {
	return &Set{pts: map[string]*point{}, kill: func() { _ = syscall.Kill(syscall.Getpid(), syscall.SIGKILL) }}
}

// Eval is called at the point named name. It returns nil at once when nothing is armed.
func (s *Set) Eval(ctx context.Context, name string) error {
	if s == nil || s.armed.Load() == 0 {
		return nil
	}
	s.mu.RLock()
	p := s.pts[name]
	s.mu.RUnlock()
	if p == nil {
		return nil
	}
	n := p.hits.Add(1)
	a := p.action
	if a.Kind == Count || n < a.From {
		return nil
	}
	if a.Times > 0 && p.fired.Add(1) > a.Times {
		return nil
	}
	switch a.Kind {
	case Crash:
		s.kill()
		<-ctx.Done() // the process is gone; in tests, the caller's context decides
		return ctx.Err()
	case Delay:
		t := time.NewTimer(a.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case Error:
		return fmt.Errorf("%s: %w", name, ErrInjected)
	case Block:
		select {
		case <-p.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Armed reports whether an action is set at the point named name, so that a caller with a
// faster path that has no place for the point can take the path that has it.
func (s *Set) Armed(name string) bool {
	if s == nil || s.armed.Load() == 0 {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.pts[name] != nil
}

// Arm sets the action of a point, resetting its hit count. Arming a point that is blocking
// releases the requests waiting there.
func (s *Set) Arm(name string, a Action) error {
	if !known(name) {
		return fmt.Errorf("failpoint %q: unknown; known: %v", name, Known)
	}
	if err := a.Validate(); err != nil {
		return fmt.Errorf("failpoint %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.pts[name]; old != nil {
		close(old.release)
	} else {
		s.armed.Add(1)
	}
	s.pts[name] = &point{action: a, release: make(chan struct{})}
	return nil
}

// Disarm removes a point's action, releasing blocked requests. Disarming an unarmed point is
// not an error.
func (s *Set) Disarm(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.pts[name]; old != nil {
		close(old.release)
		delete(s.pts, name)
		s.armed.Add(-1)
	}
}

// Status is one armed point as the admin endpoint shows it.
type Status struct {
	Name   string `json:"name"`
	Action Action `json:"action"`
	Hits   int64  `json:"hits"`
}

// List returns the armed points with their hit counts, sorted by name.
func (s *Set) List() []Status {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Status, 0, len(s.pts))
	for n, p := range s.pts {
		out = append(out, Status{Name: n, Action: p.action, Hits: p.hits.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func known(name string) bool {
	for _, k := range Known {
		if k == name {
			return true
		}
	}
	return false
}
