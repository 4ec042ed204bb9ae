package shadow_test

import (
	"context"
	"errors"
	"fmt"
	"stampede/internal/shadowreport"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/server/shadow"
	"stampede/strategies"
)

// failing is a shadow strategy that breaks: every Hold, Release and Confirm fails at once, or
// stalls until its context ends.
type failing struct {
	strategies.Strategy
	stall bool
	calls atomic.Int64
}

var errBroken = errors.New("the shadow's database is gone")

func (f *failing) fail(ctx context.Context) error {
	f.calls.Add(1)
	if f.stall {
		<-ctx.Done()
		return ctx.Err()
	}
	return errBroken
}

func (f *failing) Hold(ctx context.Context, _ strategies.HoldRequest) (strategies.Hold, error) {
	return strategies.Hold{}, f.fail(ctx)
}

func (f *failing) Release(ctx context.Context, _ string) error { return f.fail(ctx) }

func (f *failing) Confirm(ctx context.Context, _ strategies.ConfirmRequest) (strategies.Booking, error) {
	return strategies.Booking{}, f.fail(ctx)
}

// script is a fixed sequence of holds, releases and confirms with known answers; it returns the
// primary's answer to each, as text.
func script(t *testing.T, st strategies.Strategy) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	hold := func(session string, seats ...string) strategies.Hold {
		h, err := st.Hold(ctx, strategies.HoldRequest{EventID: "ev1", Session: session, Seats: seats})
		out = append(out, fmt.Sprintf("hold %s %v: %v %v", session, seats, h.Seats, err))
		return h
	}
	a := hold("alice", "A-1-1", "A-1-2")
	hold("bob", "A-1-2")
	b := hold("bob", "A-1-3")
	out = append(out, fmt.Sprint("release alice: ", st.Release(ctx, a.ID)))
	c := hold("carol", "A-1-2")
	_, err := st.Confirm(ctx, strategies.ConfirmRequest{HoldID: c.ID, Session: "carol"})
	out = append(out, fmt.Sprint("confirm carol: ", err))
	out = append(out, fmt.Sprint("release carol: ", errors.Is(st.Release(ctx, c.ID), strategies.ErrHoldSold)))
	hold("dave", "A-1-2")
	_, err = st.Confirm(ctx, strategies.ConfirmRequest{HoldID: b.ID, Session: "bob"})
	out = append(out, fmt.Sprint("confirm bob: ", err))
	return out
}

// TestFailingShadowKeepsPrimaryAnswers: a shadow that fails every call, and one that stalls on
// every call, change none of the primary's answers (the same script answers as on a primary
// without a shadow, and 16 goroutines racing for 8 seats get exactly one hold each); the failures
// are reported as shadow errors, and a stalled shadow's full queue drops operations instead of
// holding the primary up.
func TestFailingShadowKeepsPrimaryAnswers(t *testing.T) {
	bare := newPair(t, "postgres", "status-expiry", "status-expiry", shadow.Config{}, nil)
	want := script(t, bare.primary)
	for _, tc := range []struct {
		name  string
		stall bool
		cfg   shadow.Config
	}{
		{name: "errors", cfg: shadow.Config{}},
		{name: "stalls past its timeout", stall: true, cfg: shadow.Config{Timeout: 20 * time.Millisecond}},
		{name: "stalls with a full queue", stall: true, cfg: shadow.Config{Timeout: time.Hour, Workers: 1, Queue: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f *failing
			p := newPair(t, "postgres", "status-expiry", "status-expiry", tc.cfg, func(s strategies.Strategy) strategies.Strategy {
				f = &failing{Strategy: s, stall: tc.stall}
				return f
			})
			got := script(t, p.wrapped)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("step %d with a shadow that %s: %s, want %s (no shadow)", i, tc.name, got[i], want[i])
				}
			}
			ops := int64(len(got))
			var wg sync.WaitGroup
			var mu sync.Mutex
			winners := map[string]int{}
			for w := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					seat := strategies.SeatID("A", 2, w%8+1)
					_, err := p.wrapped.Hold(context.Background(), strategies.HoldRequest{EventID: "ev1", Session: fmt.Sprint("w", w), Seats: []string{seat}})
					mu.Lock()
					defer mu.Unlock()
					ops++
					if err == nil {
						winners[seat]++
					} else if !errors.Is(err, strategies.ErrUnavailable) {
						t.Errorf("hold %s: %v", seat, err)
					}
				}()
			}
			wg.Wait()
			for w := range 8 {
				if seat := strategies.SeatID("A", 2, w+1); winners[seat] != 1 {
					t.Errorf("seat %s: %d holds granted, want 1", seat, winners[seat])
				}
			}
			if tc.cfg.Queue > 0 {
				r := p.sh.Report()
				if r.Dropped == 0 || r.Dropped+int64(r.Pending) > ops {
					t.Fatalf("stalled shadow with a queue of %d: %d dropped, %d pending of %d operations, want drops", tc.cfg.Queue, r.Dropped, r.Pending, ops)
				}
				return
			}
			r := settle(t, p.sh, ops)
			var errs int64
			for _, k := range r.Kinds {
				if k.Kind != shadowreport.KindError {
					t.Errorf("kind %s (%d), want only shadow errors", k.Kind, k.Count)
					continue
				}
				errs = k.Count
				if want := map[bool]string{false: "internal", true: "timeout"}[tc.stall]; k.Examples[0].Shadow != want {
					t.Errorf("example %+v: want the shadow's answer %s", k.Examples[0], want)
				}
			}
			// Every hold is replayed and fails; releases and confirms of holds the shadow never
			// had are skipped.
			if errs == 0 || errs != r.Replayed || f.calls.Load() != r.Replayed {
				t.Errorf("%d shadow errors, %d replayed, %d calls to the shadow: want every replay an error", errs, r.Replayed, f.calls.Load())
			}
		})
	}
}
