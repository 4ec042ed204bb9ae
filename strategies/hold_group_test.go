package strategies

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// groupedStrategies are the strategies whose single-seat holds share batches on MySQL.
var groupedStrategies = []string{"pessimistic", "status-expiry", "skip-locked"}

// TestHoldGroups: 150 concurrent single-seat holds of 100 seats, a third of them asking for a
// seat another also asks for, with at most two batches in flight so that holds must share
// them. Exactly one hold wins each seat; every other is refused naming it; each winner's hold
// row carries its own session, seat, price and expiry; and the holds ran in fewer batches
// than there were holds.
func TestHoldGroups(t *testing.T) {
	_, rdb := testsvc.RedisClient(t)
	su := &suite{dialect: "mysql", db: openDB(t, "mysql", 24), rdb: rdb}
	for _, name := range groupedStrategies {
		t.Run(name, func(t *testing.T) {
			ev := Event{ID: newID("ev_"), Name: "Groups",
				Sections: []Section{{Name: "A", Rows: 4, SeatsPerRow: 20}, {Name: "B", Rows: 1, SeatsPerRow: 20, PriceCents: 7000}}}
			f := su.build(t, name, ev, func(d *Deps) { d.HoldGroups = 2 })
			var seats []string
			price := map[string]int64{}
			for _, s := range f.availability().Seats {
				seats = append(seats, s.ID)
				price[s.ID] = s.PriceCents
			}
			if len(seats) != 100 {
				t.Fatalf("event has %d seats, want 100", len(seats))
			}
			groups := baseOf(t, f.s).groups
			batches0, members0 := groups.batches.Load(), groups.members.Load()
			const workers = 150
			holds, errs := raceHolds(workers, func(i int) (Hold, error) {
				return f.hold(fmt.Sprintf("s%d", i), seats[i%len(seats)])
			})
			winners := map[string]int{}
			for i := range workers {
				seat := seats[i%len(seats)]
				var ue *UnavailableError
				switch {
				case errs[i] == nil:
					if prev, ok := winners[seat]; ok {
						t.Fatalf("seat %s held twice: by s%d and s%d", seat, prev, i)
					}
					winners[seat] = i
				case errors.As(errs[i], &ue):
					if len(ue.Seats) != 1 || ue.Seats[0] != seat {
						t.Errorf("hold of %s refused naming %v", seat, ue.Seats)
					}
				default:
					t.Fatalf("Hold(%s) #%d = %v, want a hold or ErrUnavailable", seat, i, errs[i])
				}
			}
			if len(winners) != len(seats) {
				t.Fatalf("%d seats got a holder, want all %d", len(winners), len(seats))
			}
			for seat, i := range winners {
				h := holds[i]
				got, err := f.s.GetHold(context.Background(), h.ID)
				if err != nil {
					t.Fatalf("GetHold(%s) = %v", h.ID, err)
				}
				if got.Session != fmt.Sprintf("s%d", i) || len(got.Seats) != 1 || got.Seats[0] != seat ||
					got.AmountCents != price[seat] || h.AmountCents != price[seat] || !got.Expires.Equal(h.Expires) || got.Status != StatusHeld {
					t.Errorf("hold of %s by s%d reads back as %+v (answered %+v), want its session, seat, price %d and expiry",
						seat, i, got, h, price[seat])
				}
				if st := f.seat(seat); st.Status != SeatHeld || st.HoldID != h.ID {
					t.Errorf("seat %s is %s by %q, want held by %s", seat, st.Status, st.HoldID, h.ID)
				}
			}
			var rows int64
			if err := f.db.QueryRow(context.Background(), "test", "SELECT COUNT(*) FROM holds WHERE event_id = ?", []any{&rows}, f.ev.ID); err != nil {
				t.Fatal(err)
			}
			if rows != int64(len(seats)) {
				t.Errorf("%d hold rows, want one per seat (%d)", rows, len(seats))
			}
			batches, members := groups.batches.Load()-batches0, groups.members.Load()-members0
			if members != workers || batches >= workers/2 {
				t.Errorf("%d holds ran in %d batches, want %d holds in fewer than %d", members, batches, workers, workers/2)
			}
			t.Logf("%d holds in %d batches", members, batches)
		})
	}
}

// TestHoldGroupsCancelWhileQueued: a hold whose caller gives up while it waits in the queue
// leaves it, answers the caller's error, and takes nothing; the batch in flight is not
// disturbed.
func TestHoldGroupsCancelWhileQueued(t *testing.T) {
	_, rdb := testsvc.RedisClient(t)
	su := &suite{dialect: "mysql", db: openDB(t, "mysql", 8), rdb: rdb}
	f := su.build(t, "status-expiry", conformanceEvent(), func(d *Deps) { d.HoldGroups = 1 })
	groups := baseOf(t, f.s).groups
	ctx := context.Background()
	// A transaction holds A-1-1's row lock: the first hold's batch waits for it.
	locked, unlock := make(chan struct{}), make(chan struct{})
	lockDone := make(chan error, 1)
	go func() {
		lockDone <- f.db.Tx(ctx, "test", func(tx sqldb.Tx) error {
			var n int64
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM seats WHERE event_id = ? AND seat_id = ? FOR UPDATE", []any{&n}, f.ev.ID, "A-1-1"); err != nil {
				return err
			}
			close(locked)
			<-unlock
			return nil
		})
	}()
	<-locked
	first := make(chan error, 1)
	go func() {
		_, err := f.hold("first", "A-1-1")
		first <- err
	}()
	eventually(t, 10*time.Second, "the first batch in flight", func() error {
		groups.mu.Lock()
		defer groups.mu.Unlock()
		if groups.inflight != 1 || len(groups.queue) != 0 {
			return fmt.Errorf("%d batches in flight and %d holds queued", groups.inflight, len(groups.queue))
		}
		return nil
	})
	qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := f.s.Hold(qctx, HoldRequest{EventID: f.ev.ID, Session: "second", Seats: []string{"A-1-2"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued hold whose context ended = %v, want context.DeadlineExceeded", err)
	}
	groups.mu.Lock()
	queued := len(groups.queue)
	groups.mu.Unlock()
	if queued != 0 {
		t.Fatalf("%d holds still queued after their caller gave up, want 0", queued)
	}
	close(unlock)
	if err := <-lockDone; err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the hold in flight = %v, want a hold", err)
	}
	if st := f.seat("A-1-2"); st.Status != SeatAvailable {
		t.Fatalf("seat of the abandoned hold is %s, want available", st.Status)
	}
	f.mustHold("third", "A-1-2")
}

// TestHoldGroupsTake: a batch is the first waiting hold and the queued holds of the same event
// and lock after it, at most HoldGroupMax; a hold whose caller gave up gets its error and
// leaves; the others keep their order.
func TestHoldGroupsTake(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	var queue []*groupedHold
	add := func(ctx context.Context, lock, event string) *groupedHold {
		m := &groupedHold{ctx: ctx, lock: lock, r: HoldRequest{EventID: event}, done: make(chan groupedResult, 1)}
		queue = append(queue, m)
		return m
	}
	gone := add(done, "", "e1")
	var want []*groupedHold
	want = append(want, add(live, "", "e1"))
	other := add(live, "", "e2")
	locked := add(live, lockSeatsAll, "e1")
	for range HoldGroupMax + 3 {
		want = append(want, add(live, "", "e1"))
	}
	overflow := want[HoldGroupMax:]
	want = want[:HoldGroupMax]
	g := &holdGroups{queue: queue}
	got := g.take()
	if len(got) != HoldGroupMax {
		t.Fatalf("batch of %d holds, want %d", len(got), HoldGroupMax)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("batch member %d is not the %d-th waiting hold of e1 without a lock", i, i)
		}
	}
	select {
	case res := <-gone.done:
		if !errors.Is(res.err, context.Canceled) {
			t.Fatalf("abandoned hold got %v, want context.Canceled", res.err)
		}
	default:
		t.Fatal("abandoned hold got no answer")
	}
	rest := append([]*groupedHold{other, locked}, overflow...)
	if len(g.queue) != len(rest) {
		t.Fatalf("%d holds left queued, want %d", len(g.queue), len(rest))
	}
	for i := range rest {
		if g.queue[i] != rest[i] {
			t.Fatalf("queued hold %d out of order", i)
		}
	}
	if next := g.take(); len(next) != 1 || next[0] != other {
		t.Fatalf("next batch has %d holds, want e2's alone", len(next))
	}
}

// baseOf is the shared part of a SQL strategy.
func baseOf(t *testing.T, s Strategy) *sqlBase {
	t.Helper()
	switch s := s.(type) {
	case *pessimistic:
		return &s.sqlBase
	case *statusExpiry:
		return &s.sqlBase
	case *SkipLocked:
		return &s.sqlBase
	}
	t.Fatalf("%s is not a SQL strategy", s.Name())
	return nil
}

// TestGroupable: a hold that could make the database refuse a statement of the batch runs alone.
func TestGroupable(t *testing.T) {
	ok := HoldRequest{EventID: "e", Session: "s", Seats: []string{"A-1-1"}, TTL: time.Minute}
	if !groupable(ok) {
		t.Fatalf("groupable(%+v) = false, want true", ok)
	}
	for name, r := range map[string]HoldRequest{
		"session not UTF-8": {EventID: "e", Session: "s\xff", Seats: []string{"A-1-1"}, TTL: time.Minute},
		"seat not UTF-8":    {EventID: "e", Session: "s", Seats: []string{"A-\xc3"}, TTL: time.Minute},
		"event not UTF-8":   {EventID: "e\x80", Session: "s", Seats: []string{"A-1-1"}, TTL: time.Minute},
		"lifetime too long": {EventID: "e", Session: "s", Seats: []string{"A-1-1"}, TTL: maxGroupedTTL + time.Hour},
	} {
		if groupable(r) {
			t.Errorf("%s: groupable = true, want false", name)
		}
	}
}
