package strategies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// suite is one database (and one Redis) that every strategy's cases share; each case creates
// its own event and strategy instance, so cases do not see each other.
type suite struct {
	dialect string
	db      sqldb.DB
	rdb     *redis.Client
}

// fixture is one strategy instance with its own clock and a fresh event.
type fixture struct {
	tb    testing.TB
	name  string
	s     Strategy
	clock *testsvc.Clock
	store *Store
	db    sqldb.DB
	ev    Event
}

// conformanceEvent: section A is ten seats at the default price, B two at 7000; tier floor has
// 60 units, small 5.
func conformanceEvent() Event {
	return Event{ID: newID("ev_"), Name: "Conformance",
		Sections: []Section{{Name: "A", Rows: 1, SeatsPerRow: 10}, {Name: "B", Rows: 1, SeatsPerRow: 2, PriceCents: 7000}},
		Tiers:    []Tier{{Name: "floor", Quantity: 60}, {Name: "small", Quantity: 5}}}
}

// errNotYet marks a strategy that has not landed yet.
const notYet = "not implemented yet"

// build constructs the named strategy through the registry on the suite's database with a
// fresh clock and Redis prefix, and creates ev for it. It skips strategies that are not
// implemented yet.
func (su *suite) build(tb testing.TB, name string, ev Event, deps func(*Deps)) *fixture {
	tb.Helper()
	clock := &testsvc.Clock{}
	d := Deps{DB: su.db, Redis: su.rdb, KeyPrefix: "t:" + newID("") + ":", HoldTTL: time.Minute, Now: clock.Now}
	if deps != nil {
		deps(&d)
	}
	s, err := New(name, d, true)
	if err != nil && strings.Contains(err.Error(), notYet) {
		tb.Skipf("%s: %v", name, err)
	}
	if err != nil {
		tb.Fatalf("New(%s): %v", name, err)
	}
	if s.Name() != name {
		tb.Fatalf("New(%s).Name() = %q", name, s.Name())
	}
	if c, ok := s.(Closer); ok {
		tb.Cleanup(func() { _ = c.Close() })
	}
	ctx := context.Background()
	store := NewStore(su.db, clock.Now)
	ev, _, err = store.CreateEvent(ctx, ev)
	if err != nil {
		tb.Fatalf("CreateEvent: %v", err)
	}
	if p, ok := s.(Preparer); ok {
		if err := p.PrepareEvent(ctx, ev); err != nil {
			tb.Fatalf("PrepareEvent: %v", err)
		}
	}
	return &fixture{tb: tb, name: name, s: s, clock: clock, store: store, db: su.db, ev: ev}
}

func (f *fixture) hold(session string, seats ...string) (Hold, error) {
	return f.s.Hold(context.Background(), HoldRequest{EventID: f.ev.ID, Session: session, Seats: seats})
}

func (f *fixture) holdTTL(ttl time.Duration, session string, seats ...string) (Hold, error) {
	return f.s.Hold(context.Background(), HoldRequest{EventID: f.ev.ID, Session: session, Seats: seats, TTL: ttl})
}

func (f *fixture) holdGA(session, tier string, q int, ttl time.Duration) (Hold, error) {
	return f.s.Hold(context.Background(), HoldRequest{EventID: f.ev.ID, Session: session, Tier: tier, Quantity: q, TTL: ttl})
}

func (f *fixture) mustHold(session string, seats ...string) Hold {
	f.tb.Helper()
	h, err := f.hold(session, seats...)
	if err != nil {
		f.tb.Fatalf("Hold(%v) = %v, want a hold", seats, err)
	}
	return h
}

func (f *fixture) availability() Availability {
	f.tb.Helper()
	a, err := f.s.Availability(context.Background(), f.ev.ID)
	if err != nil {
		f.tb.Fatalf("Availability: %v", err)
	}
	return a
}

func (f *fixture) seat(id string) SeatState {
	f.tb.Helper()
	for _, s := range f.availability().Seats {
		if s.ID == id {
			return s
		}
	}
	f.tb.Fatalf("seat %s not in availability", id)
	return SeatState{}
}

func (f *fixture) tier(name string) TierState {
	f.tb.Helper()
	for _, t := range f.availability().Tiers {
		if t.Name == name {
			if t.Available+t.Held+t.Sold != t.Capacity {
				f.tb.Fatalf("tier %s: available %d + held %d + sold %d != capacity %d", name, t.Available, t.Held, t.Sold, t.Capacity)
			}
			return t
		}
	}
	f.tb.Fatalf("tier %s not in availability", name)
	return TierState{}
}

func (f *fixture) bookings() []Booking {
	f.tb.Helper()
	bs, err := f.store.Bookings(context.Background(), f.ev.ID)
	if err != nil {
		f.tb.Fatalf("Bookings: %v", err)
	}
	return bs
}

func (f *fixture) status(holdID string) string {
	f.tb.Helper()
	h, err := f.s.GetHold(context.Background(), holdID)
	if err != nil {
		f.tb.Fatalf("GetHold(%s): %v", holdID, err)
	}
	return h.Status
}

// countingCharge is a ChargeFunc that counts its calls and runs during (when set) before it
// answers.
type countingCharge struct {
	calls  atomic.Int32
	during func(h Hold)
	err    error
}

func (c *countingCharge) fn(ctx context.Context, h Hold) (Charge, error) {
	n := c.calls.Add(1)
	if c.during != nil {
		c.during(h)
	}
	if c.err != nil {
		return Charge{}, c.err
	}
	return Charge{ID: fmt.Sprintf("ch_%s_%d", h.ID, n), AmountCents: h.AmountCents}, nil
}

// eventually retries fn until it succeeds or timeout passes. SQL strategies, whose expiry
// follows the test clock, succeed on the first try; strategies whose expiry is real time (Redis
// TTLs) get the time they need.
func eventually(tb testing.TB, timeout time.Duration, what string, fn func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: still %v after %s", what, err, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sweeper is the status-expiry (and pessimistic) sweep, run once.
type sweeper interface {
	Sweep(ctx context.Context) (int, error)
}

// TestConformance runs one suite for every safe strategy on every database.
func TestConformance(t *testing.T) {
	forEachSafe(t, 24, func(t *testing.T, su *suite, name string) {
		for _, c := range conformanceCases {
			t.Run(c.name, func(t *testing.T) { c.run(t, su, name) })
		}
	})
}

// forEachSafe runs fn as a subtest for every safe strategy on every database, the databases in
// parallel, each with a pool of conns connections and a private Redis.
func forEachSafe(t *testing.T, conns int, fn func(t *testing.T, su *suite, name string)) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			_, rdb := testsvc.RedisClient(t)
			su := &suite{dialect: dialect, db: openDB(t, dialect, conns), rdb: rdb}
			for _, name := range Safe() {
				t.Run(name, func(t *testing.T) { fn(t, su, name) })
			}
		})
	}
}

var conformanceCases = []struct {
	name string
	run  func(t *testing.T, su *suite, name string)
}{
	{"contention one holder per seat", testContention},
	{"multi-seat all or nothing", testAllOrNothing},
	{"ga never oversells", testGANeverOversells},
	{"expiry makes seats sellable", testExpiry},
	{"sweeper releases stale holds", testSweeper},
	{"release", testRelease},
	{"confirm books", testConfirm},
	{"confirm after expiry with seats untouched", testConfirmAfterExpiry},
	{"confirm when the charge fails", testChargeFails},
	{"hold taken before confirm", testTakenBeforeConfirm},
	{"hold lost during the charge", testLostDuringCharge},
	{"two confirms one booking", testDoubleConfirm},
	{"unknown and invalid", testUnknownAndInvalid},
	{"holds ledger", testHoldsLedger},
}

// raceHolds runs hold(i) for i in [0, n) from n goroutines released at once, and returns each
// call's hold and error by i.
func raceHolds(n int, hold func(i int) (Hold, error)) ([]Hold, []error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	holds := make([]Hold, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			holds[i], errs[i] = hold(i)
		}()
	}
	close(start)
	wg.Wait()
	return holds, errs
}

// testContention: 32 goroutines, four per seat, hold eight seats at once. Exactly one holds each
// seat; every other gets ErrUnavailable.
func testContention(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	const workers, seats = 32, 8
	holds, errs := raceHolds(workers, func(i int) (Hold, error) {
		return f.hold(fmt.Sprintf("s%d", i), SeatID("A", 1, i%seats+1))
	})
	winners := map[string]string{}
	for i := range workers {
		seat := SeatID("A", 1, i%seats+1)
		switch {
		case errs[i] == nil:
			if prev, ok := winners[seat]; ok {
				t.Fatalf("seat %s held twice: holds %s and %s", seat, prev, holds[i].ID)
			}
			winners[seat] = holds[i].ID
		case !errors.Is(errs[i], ErrUnavailable):
			t.Fatalf("Hold(%s) #%d = %v, want a hold or ErrUnavailable", seat, i, errs[i])
		}
	}
	if len(winners) != seats {
		t.Fatalf("%d seats got a holder, want exactly %d: %v", len(winners), seats, winners)
	}
	held := 0
	for _, s := range f.availability().Seats {
		if s.Status == SeatHeld {
			held++
			if winners[s.ID] != s.HoldID && s.HoldID != "" {
				t.Fatalf("seat %s shows hold %s, want the winner %s", s.ID, s.HoldID, winners[s.ID])
			}
		}
	}
	if held != seats {
		t.Fatalf("availability shows %d held seats, want %d", held, seats)
	}
}

// testAllOrNothing: 32 goroutines ask for overlapping windows of three seats. The seats held
// afterwards are exactly the union of the successful holds, with no seat in two of them.
func testAllOrNothing(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	// First a certain conflict: A-1-2 is held, so A-1-1..3 fails and leaves A-1-1 and A-1-3 free.
	f.mustHold("first", "A-1-2")
	_, err := f.hold("second", "A-1-1", "A-1-2", "A-1-3")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Hold(A-1-1..3) with A-1-2 held = %v, want ErrUnavailable", err)
	}
	var ue *UnavailableError
	if errors.As(err, &ue) && !slices.Equal(ue.Seats, []string{"A-1-2"}) {
		t.Fatalf("UnavailableError names %v, want [A-1-2]", ue.Seats)
	}
	for _, id := range []string{"A-1-1", "A-1-3"} {
		if s := f.seat(id); s.Status != SeatAvailable {
			t.Fatalf("after a failed multi-seat hold, %s is %s, want available", id, s.Status)
		}
	}

	g := su.build(t, name, conformanceEvent(), nil)
	const workers = 32
	holds, errs := raceHolds(workers, func(i int) (Hold, error) {
		k := i%8 + 1
		// Ask in descending order: strategies must impose their own lock order.
		return g.hold(fmt.Sprintf("s%d", i), SeatID("A", 1, k+2), SeatID("A", 1, k+1), SeatID("A", 1, k))
	})
	owner := map[string]string{}
	for i := range workers {
		if errs[i] != nil {
			if !errors.Is(errs[i], ErrUnavailable) {
				t.Fatalf("Hold #%d = %v, want a hold or ErrUnavailable", i, errs[i])
			}
			continue
		}
		if len(holds[i].Seats) != 3 {
			t.Fatalf("hold %s has seats %v, want 3", holds[i].ID, holds[i].Seats)
		}
		for _, s := range holds[i].Seats {
			if prev, ok := owner[s]; ok {
				t.Fatalf("seat %s in holds %s and %s", s, prev, holds[i].ID)
			}
			owner[s] = holds[i].ID
		}
	}
	if len(owner) == 0 {
		t.Fatalf("no multi-seat hold succeeded; want at least one")
	}
	for _, s := range g.availability().Seats {
		_, owned := owner[s.ID]
		if (s.Status == SeatHeld) != owned {
			t.Fatalf("seat %s is %s, but owned by a successful hold = %v: a failed hold left a partial claim", s.ID, s.Status, owned)
		}
	}
}

// testGANeverOversells: 32 goroutines take 1-3 units of a 60-unit tier until it is sold out;
// the successful quantities sum to exactly 60. Then a confirm and a release move the counts.
func testGANeverOversells(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	const workers = 32
	start := make(chan struct{})
	var wg sync.WaitGroup
	var total atomic.Int64
	var mu sync.Mutex
	var holds []Hold
	errc := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			q := 1 + i%3
			for tries := 0; tries < 200; tries++ {
				h, err := f.holdGA(fmt.Sprintf("s%d", i), "floor", q, 0)
				switch {
				case err == nil:
					total.Add(int64(q))
					mu.Lock()
					holds = append(holds, h)
					mu.Unlock()
				case errors.Is(err, ErrSoldOut) && q > 1:
					q = 1
				case errors.Is(err, ErrSoldOut):
					return
				default:
					errc <- fmt.Errorf("Hold(floor, %d): %w", q, err)
					return
				}
			}
			errc <- fmt.Errorf("worker %d still holding after 200 tries", i)
		}()
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if got := total.Load(); got != 60 {
		t.Fatalf("held %d units of a 60-unit tier, want exactly 60", got)
	}
	if tr := f.tier("floor"); tr.Held != 60 || tr.Available != 0 || tr.Sold != 0 {
		t.Fatalf("tier after the herd = %+v, want 60 held", tr)
	}
	if _, err := f.holdGA("late", "floor", 1, 0); !errors.Is(err, ErrSoldOut) {
		t.Fatalf("Hold on a sold-out tier = %v, want ErrSoldOut", err)
	}
	sold, freed := holds[0], holds[1]
	if _, err := f.s.Confirm(context.Background(), ConfirmRequest{HoldID: sold.ID}); err != nil {
		t.Fatalf("Confirm GA hold: %v", err)
	}
	if err := f.s.Release(context.Background(), freed.ID); err != nil {
		t.Fatalf("Release GA hold: %v", err)
	}
	tr := f.tier("floor")
	if tr.Sold != int64(sold.Quantity) || tr.Available != int64(freed.Quantity) || tr.Held != 60-int64(sold.Quantity+freed.Quantity) {
		t.Fatalf("tier after a confirm of %d and a release of %d = %+v", sold.Quantity, freed.Quantity, tr)
	}
}

// testExpiry: a hold past its expiry leaves its seat (and GA units) sellable, by the
// implicit-status rule, without any sweeper.
func testExpiry(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	first, err := f.holdTTL(time.Second, "first", "A-1-1")
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	ga, err := f.holdGA("first", "small", 5, time.Second)
	if err != nil {
		t.Fatalf("Hold GA: %v", err)
	}
	if _, err := f.hold("second", "A-1-1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Hold of a held seat = %v, want ErrUnavailable", err)
	}
	f.clock.Advance(2 * time.Second)
	var second Hold
	eventually(t, 5*time.Second, "hold an expired hold's seat", func() error {
		var err error
		second, err = f.hold("second", "A-1-1")
		return err
	})
	if got := f.status(first.ID); got != StatusExpired {
		t.Fatalf("GetHold(expired hold).Status = %s, want expired", got)
	}
	if s := f.seat("A-1-1"); s.Status != SeatHeld || (s.HoldID != "" && s.HoldID != second.ID) {
		t.Fatalf("seat after the second hold = %+v, want held by %s", s, second.ID)
	}
	eventually(t, 5*time.Second, "hold an expired GA hold's units", func() error {
		_, err := f.holdGA("second", "small", 5, 0)
		return err
	})
	if got := f.status(ga.ID); got != StatusExpired {
		t.Fatalf("GetHold(expired GA hold).Status = %s, want expired", got)
	}
	if tr := f.tier("small"); tr.Held != 5 || tr.Available != 0 {
		t.Fatalf("tier small after re-holding expired units = %+v, want 5 held", tr)
	}
	// An expired hold that nobody replaced shows its seat as available.
	third, err := f.holdTTL(time.Second, "third", "A-1-2")
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	f.clock.Advance(2 * time.Second)
	eventually(t, 5*time.Second, "expired seat shows available", func() error {
		if s := f.seat("A-1-2"); s.Status != SeatAvailable {
			return fmt.Errorf("seat A-1-2 of expired hold %s is %s", third.ID, s.Status)
		}
		return nil
	})
}

// testSweeper: for strategies with a sweeper, one sweep turns expired holds' rows back to
// available in the database, and Run does it on its own.
func testSweeper(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), func(d *Deps) { d.SweepInterval = 10 * time.Millisecond })
	sw, ok := f.s.(sweeper)
	if !ok {
		t.Skipf("%s has no sweeper", name)
	}
	ctx := context.Background()
	h := f.mustHold("a", "A-1-1", "A-1-2")
	ga, err := f.holdGA("a", "small", 3, 0)
	if err != nil {
		t.Fatalf("Hold GA: %v", err)
	}
	// A hold of another event, swept in the same pass, and a hold whose seat a later hold took
	// after it expired: the sweep frees the first and leaves the seat to the later holder.
	ev2, _, err := f.store.CreateEvent(ctx, conformanceEvent())
	if err != nil {
		t.Fatalf("CreateEvent: %v", err)
	}
	if p, ok := f.s.(Preparer); ok {
		if err := p.PrepareEvent(ctx, ev2); err != nil {
			t.Fatalf("PrepareEvent: %v", err)
		}
	}
	other, err := f.s.Hold(ctx, HoldRequest{EventID: ev2.ID, Session: "a", Seats: []string{"A-1-1"}})
	if err != nil {
		t.Fatalf("Hold of the other event: %v", err)
	}
	overtaken := f.mustHold("a", "A-1-5")
	if n, err := sw.Sweep(ctx); err != nil {
		t.Fatalf("Sweep before expiry: %v", err)
	} else if got := rawHoldStatus(t, f.db, h.ID); got != StatusHeld {
		t.Fatalf("a sweep before expiry (%d swept) left hold status %s, want held", n, got)
	}
	f.clock.Advance(2 * time.Minute)
	later := f.mustHold("c", "A-1-5")
	n, err := sw.Sweep(ctx)
	if err != nil || n < 4 {
		t.Fatalf("Sweep = %d, %v; want at least the 4 expired holds", n, err)
	}
	for _, seat := range [][2]string{{f.ev.ID, "A-1-1"}, {f.ev.ID, "A-1-2"}, {ev2.ID, "A-1-1"}} {
		if got := rawSeatStatus(t, f.db, seat[0], seat[1]); got != SeatAvailable {
			t.Fatalf("seat %s of %s after the sweep is %s, want available", seat[1], seat[0], got)
		}
	}
	if got := rawSeatStatus(t, f.db, f.ev.ID, "A-1-5"); got != SeatHeld {
		t.Fatalf("seat A-1-5 of the unexpired hold %s after the sweep is %s, want held", later.ID, got)
	}
	for _, id := range []string{h.ID, ga.ID, other.ID, overtaken.ID} {
		if got := rawHoldStatus(t, f.db, id); got != StatusExpired {
			t.Fatalf("hold row %s after the sweep is %s, want expired", id, got)
		}
	}
	var heldUnits int
	if err := f.db.QueryRow(ctx, "test", "SELECT COUNT(*) FROM ga_units WHERE hold_id = ? AND status = 'held'", []any{&heldUnits}, ga.ID); err != nil {
		t.Fatalf("count units: %v", err)
	} else if heldUnits != 0 {
		t.Fatalf("%d unit rows still held by the swept GA hold %s, want 0", heldUnits, ga.ID)
	}
	if _, err := f.holdGA("b", "small", 5, 0); err != nil {
		t.Fatalf("Hold of the swept GA units = %v, want a hold", err)
	}
	if err := f.s.Release(ctx, h.ID); err != nil {
		t.Fatalf("Release of a swept hold = %v, want nil", err)
	}

	// Run sweeps by itself at its interval, for the strategies whose background work is the
	// sweeper (others run other work, such as pool replenishment).
	if name != "status-expiry" && name != "pessimistic" {
		return
	}
	h2 := f.mustHold("b", "A-1-3")
	f.clock.Advance(2 * time.Minute)
	runner := f.s.(Runner)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(rctx) }()
	eventually(t, 10*time.Second, "Run sweeps the expired hold", func() error {
		if got := rawSeatStatus(t, f.db, f.ev.ID, "A-1-3"); got != SeatAvailable {
			return fmt.Errorf("seat A-1-3 of hold %s is %s", h2.ID, got)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
}

func rawSeatStatus(tb testing.TB, db sqldb.DB, eventID, seat string) string {
	tb.Helper()
	var s string
	if err := db.QueryRow(context.Background(), "test", "SELECT status FROM seats WHERE event_id = ? AND seat_id = ?", []any{&s}, eventID, seat); err != nil {
		tb.Fatalf("read seat %s: %v", seat, err)
	}
	return s
}

func rawHoldStatus(tb testing.TB, db sqldb.DB, holdID string) string {
	tb.Helper()
	var s string
	if err := db.QueryRow(context.Background(), "test", "SELECT status FROM holds WHERE id = ?", []any{&s}, holdID); err != nil {
		tb.Fatalf("read hold %s: %v", holdID, err)
	}
	return s
}

// testRelease: release frees the seats and units, is idempotent, and refuses a sold hold.
func testRelease(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	ctx := context.Background()
	h := f.mustHold("a", "A-1-1", "B-1-1")
	if err := f.s.Release(ctx, h.ID); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := f.status(h.ID); got != StatusReleased {
		t.Fatalf("GetHold after release = %s, want released", got)
	}
	for _, id := range []string{"A-1-1", "B-1-1"} {
		if s := f.seat(id); s.Status != SeatAvailable {
			t.Fatalf("seat %s after release is %s, want available", id, s.Status)
		}
	}
	if err := f.s.Release(ctx, h.ID); err != nil {
		t.Fatalf("second Release = %v, want nil (idempotent)", err)
	}
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID}); !errors.Is(err, ErrHoldExpired) {
		t.Fatalf("Confirm of a released hold = %v, want ErrHoldExpired", err)
	}
	h2 := f.mustHold("b", "A-1-1")
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h2.ID}); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if err := f.s.Release(ctx, h2.ID); !errors.Is(err, ErrHoldSold) {
		t.Fatalf("Release of a sold hold = %v, want ErrHoldSold", err)
	}
	if s := f.seat("A-1-1"); s.Status != SeatSold {
		t.Fatalf("seat of a sold hold after a refused release is %s, want sold", s.Status)
	}
	if err := f.s.Release(ctx, "h_0000000000000000"); !errors.Is(err, ErrHoldNotFound) {
		t.Fatalf("Release(unknown) = %v, want ErrHoldNotFound", err)
	}
	ga, err := f.holdGA("c", "small", 4, 0)
	if err != nil {
		t.Fatalf("Hold GA: %v", err)
	}
	if err := f.s.Release(ctx, ga.ID); err != nil {
		t.Fatalf("Release GA: %v", err)
	}
	if err := f.s.Release(ctx, ga.ID); err != nil {
		t.Fatalf("second Release GA = %v, want nil", err)
	}
	if tr := f.tier("small"); tr.Available != 5 || tr.Held != 0 {
		t.Fatalf("tier after releasing a GA hold = %+v, want 5 available", tr)
	}
}

// testConfirm: confirm charges once and books the seats at their prices.
func testConfirm(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	ctx := context.Background()
	h := f.mustHold("buyer", "B-1-2", "A-1-5")
	if h.AmountCents != 5000+7000 {
		t.Fatalf("hold amount = %d, want 12000", h.AmountCents)
	}
	var ch countingCharge
	b, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Session: "buyer", Charge: ch.fn})
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if ch.calls.Load() != 1 {
		t.Fatalf("charge called %d times, want 1", ch.calls.Load())
	}
	want := []string{"A-1-5", "B-1-2"}
	got := slices.Sorted(slices.Values(b.Seats))
	if !slices.Equal(got, want) || b.HoldID != h.ID || b.EventID != f.ev.ID || b.AmountCents != 12000 || !strings.HasPrefix(b.ChargeID, "ch_") || b.ID == "" {
		t.Fatalf("booking = %+v, want seats %v, hold %s, 12000 cents, a charge id", b, want, h.ID)
	}
	for _, id := range want {
		if s := f.seat(id); s.Status != SeatSold || (s.BookingID != "" && s.BookingID != b.ID) {
			t.Fatalf("seat %s after confirm = %+v, want sold to %s", id, s, b.ID)
		}
	}
	gh, err := f.s.GetHold(ctx, h.ID)
	if err != nil || gh.Status != StatusSold || gh.BookingID != b.ID {
		t.Fatalf("GetHold after confirm = %+v, %v; want sold with booking %s", gh, err, b.ID)
	}
	if bs := f.bookings(); len(bs) != 1 || bs[0].ID != b.ID || bs[0].AmountCents != 12000 {
		t.Fatalf("Bookings = %+v, want just %s", bs, b.ID)
	}
	if got, err := f.store.GetBooking(ctx, b.ID); err != nil || got.HoldID != h.ID {
		t.Fatalf("GetBooking = %+v, %v", got, err)
	}
	if _, err := f.hold("other", "A-1-5"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Hold of a sold seat = %v, want ErrUnavailable", err)
	}
	// GA: the amount is the tier price times the quantity.
	ga, err := f.holdGA("buyer", "floor", 3, 0)
	if err != nil {
		t.Fatalf("Hold GA: %v", err)
	}
	stable := "b_ga_" + ga.ID
	gb, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: ga.ID, BookingID: stable, Charge: ch.fn})
	if err != nil || gb.ID != stable || gb.Quantity != 3 || gb.Tier != "floor" || gb.AmountCents != 3*DefaultPriceCents {
		t.Fatalf("Confirm GA = %+v, %v; want booking %s of 3 floor units at 15000", gb, err, stable)
	}
	if tr := f.tier("floor"); tr.Sold != 3 || tr.Held != 0 || tr.Available != 57 {
		t.Fatalf("tier after a GA confirm = %+v, want 3 sold", tr)
	}
}

// testConfirmAfterExpiry: a hold that expired while paying is still booked when nobody took
// its seats.
func testConfirmAfterExpiry(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	ctx := context.Background()
	h := f.mustHold("slow", "A-1-7")
	ga, err := f.holdGA("slow", "small", 2, 0)
	if err != nil {
		t.Fatalf("Hold GA: %v", err)
	}
	f.clock.Advance(2 * time.Minute)
	if got := f.status(h.ID); got != StatusExpired {
		t.Fatalf("GetHold = %s, want expired", got)
	}
	var ch countingCharge
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Charge: ch.fn}); err != nil {
		t.Fatalf("Confirm of an expired hold with untouched seats = %v, want a booking", err)
	}
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: ga.ID, Charge: ch.fn}); err != nil {
		t.Fatalf("Confirm of an expired GA hold with units left = %v, want a booking", err)
	}
	if s := f.seat("A-1-7"); s.Status != SeatSold {
		t.Fatalf("seat = %s, want sold", s.Status)
	}
	if tr := f.tier("small"); tr.Sold != 2 {
		t.Fatalf("tier = %+v, want 2 sold", tr)
	}
}

// testChargeFails: an error from the charge is returned wrapped, and nothing is booked.
func testChargeFails(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	ctx := context.Background()
	h := f.mustHold("a", "A-1-4")
	declined := errors.New("card declined")
	ch := countingCharge{err: declined}
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Charge: ch.fn}); !errors.Is(err, declined) {
		t.Fatalf("Confirm with a failing charge = %v, want it to wrap the charge error", err)
	}
	if len(f.bookings()) != 0 {
		t.Fatalf("a failed charge booked something: %+v", f.bookings())
	}
	if got := f.status(h.ID); got != StatusHeld {
		t.Fatalf("hold after a failed charge is %s, want still held", got)
	}
	if s := f.seat("A-1-4"); s.Status != SeatHeld {
		t.Fatalf("seat after a failed charge is %s, want held", s.Status)
	}
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID}); err != nil {
		t.Fatalf("Confirm after a failed charge = %v, want a booking", err)
	}
}

// testTakenBeforeConfirm: a hold that expired and whose seat someone else took is refused
// before any charge.
func testTakenBeforeConfirm(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	ctx := context.Background()
	h, err := f.holdTTL(time.Second, "late", "A-1-6")
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	f.clock.Advance(2 * time.Second)
	eventually(t, 5*time.Second, "take the expired seat", func() error { _, err := f.hold("fast", "A-1-6"); return err })
	var ch countingCharge
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Charge: ch.fn}); !errors.Is(err, ErrHoldExpired) {
		t.Fatalf("Confirm of a hold whose seat was taken = %v, want ErrHoldExpired", err)
	}
	if ch.calls.Load() != 0 {
		t.Fatalf("charge called %d times, want 0: nothing may be charged for a hold already lost", ch.calls.Load())
	}
	// The same for general admission: the expired units were held by someone else.
	ga, err := f.holdGA("late", "small", 5, time.Second)
	if err != nil {
		t.Fatalf("Hold GA: %v", err)
	}
	f.clock.Advance(2 * time.Second)
	eventually(t, 5*time.Second, "take the expired units", func() error { _, err := f.holdGA("fast", "small", 5, 0); return err })
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: ga.ID, Charge: ch.fn}); !errors.Is(err, ErrHoldExpired) {
		t.Fatalf("Confirm of a GA hold whose units were taken = %v, want ErrHoldExpired", err)
	}
	if ch.calls.Load() != 0 {
		t.Fatalf("charge called %d times, want 0", ch.calls.Load())
	}
	if len(f.bookings()) != 0 {
		t.Fatalf("bookings = %+v, want none", f.bookings())
	}
	if tr := f.tier("small"); tr.Held != 5 || tr.Sold != 0 {
		t.Fatalf("tier = %+v, want the 5 units held by the second buyer", tr)
	}
}

// testLostDuringCharge: the hold expires during the charge and another buyer takes the seat
// before the charge returns. Strategies that charge outside any transaction must answer
// ErrHoldLost (the caller refunds) with nothing booked for the loser. Pessimistic charges while
// holding the seat's row lock, so nobody can take the seat during the charge: the other buyer's
// hold must wait until the confirm is done, and then fails.
func testLostDuringCharge(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	ctx := context.Background()
	h, err := f.holdTTL(2*time.Second, "payer", "A-1-8")
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if name == "pessimistic" {
		var lockErr error
		ch := countingCharge{during: func(Hold) {
			// The seat row is locked by the confirm's transaction: a NOWAIT lock attempt fails.
			lockErr = f.db.Tx(ctx, "test", func(tx sqldb.Tx) error {
				return tx.Query(ctx, "SELECT seat_id FROM seats WHERE event_id = ? AND seat_id = ? FOR UPDATE NOWAIT",
					func(sqldb.Rows) error { return nil }, f.ev.ID, "A-1-8")
			})
		}}
		if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Charge: ch.fn}); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		if lockErr == nil {
			t.Fatalf("during the charge the seat row could be locked by another transaction; want it locked by the confirm")
		}
		return
	}
	var other Hold
	ch := countingCharge{during: func(Hold) {
		f.clock.Advance(time.Minute)
		eventually(t, 10*time.Second, "take the seat during the charge", func() error {
			var err error
			other, err = f.hold("thief", "A-1-8")
			return err
		})
	}}
	_, err = f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Charge: ch.fn})
	if !errors.Is(err, ErrHoldLost) {
		t.Fatalf("Confirm after the seat was taken during the charge = %v, want ErrHoldLost", err)
	}
	if ch.calls.Load() != 1 {
		t.Fatalf("charge called %d times, want 1", ch.calls.Load())
	}
	if len(f.bookings()) != 0 {
		t.Fatalf("bookings = %+v, want none", f.bookings())
	}
	if s := f.seat("A-1-8"); s.Status != SeatHeld || (s.HoldID != "" && s.HoldID != other.ID) {
		t.Fatalf("seat after the lost confirm = %+v, want held by %s", s, other.ID)
	}
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: other.ID}); err != nil {
		t.Fatalf("Confirm of the winner = %v, want a booking", err)
	}
	// The same for general admission: all five units of the tier go to another buyer while the
	// first one pays.
	ga, err := f.holdGA("payer", "small", 5, 2*time.Second)
	if err != nil {
		t.Fatalf("Hold GA: %v", err)
	}
	gch := countingCharge{during: func(Hold) {
		f.clock.Advance(time.Minute)
		eventually(t, 10*time.Second, "take the units during the charge", func() error {
			_, err := f.holdGA("thief", "small", 5, 0)
			return err
		})
	}}
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: ga.ID, Charge: gch.fn}); !errors.Is(err, ErrHoldLost) {
		t.Fatalf("Confirm after the units were taken during the charge = %v, want ErrHoldLost", err)
	}
	if gch.calls.Load() != 1 {
		t.Fatalf("charge called %d times, want 1", gch.calls.Load())
	}
	if tr := f.tier("small"); tr.Held != 5 || tr.Sold != 0 {
		t.Fatalf("tier after the lost GA confirm = %+v, want 5 held by the thief, none sold", tr)
	}
}

// testDoubleConfirm: concurrent confirms of one hold make one booking; a retried confirm with
// the same booking id gets the same booking; another booking id is ErrHoldSold.
func testDoubleConfirm(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	ctx := context.Background()
	for _, stable := range []bool{true, false} {
		h := f.mustHold("a", "A-1-9")
		const n = 4
		var wg sync.WaitGroup
		books := make([]Booking, n)
		errs := make([]error, n)
		var ch countingCharge
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req := ConfirmRequest{HoldID: h.ID, Charge: ch.fn}
				if stable {
					req.BookingID = "b_stable_" + h.ID
				}
				books[i], errs[i] = f.s.Confirm(ctx, req)
			}()
		}
		close(start)
		wg.Wait()
		ids := map[string]bool{}
		for i := range n {
			switch {
			case errs[i] == nil:
				ids[books[i].ID] = true
			case errors.Is(errs[i], ErrHoldSold) || errors.Is(errs[i], ErrHoldLost):
			default:
				t.Fatalf("concurrent Confirm #%d (stable id %v) = %v, want a booking, ErrHoldSold or ErrHoldLost", i, stable, errs[i])
			}
		}
		var mine []Booking
		for _, b := range f.bookings() {
			if b.HoldID == h.ID {
				mine = append(mine, b)
			}
		}
		if len(mine) != 1 || len(ids) != 1 || !ids[mine[0].ID] {
			t.Fatalf("%d concurrent confirms (stable id %v) made bookings %+v and answered ids %v; want exactly one", n, stable, mine, ids)
		}
		if stable {
			again, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, BookingID: mine[0].ID, Charge: ch.fn})
			if err != nil || again.ID != mine[0].ID {
				t.Fatalf("retried Confirm with the same booking id = %+v, %v; want booking %s", again, err, mine[0].ID)
			}
			if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, BookingID: "b_other_" + h.ID, Charge: ch.fn}); !errors.Is(err, ErrHoldSold) {
				t.Fatalf("Confirm with another booking id = %v, want ErrHoldSold", err)
			}
			// Free the seat for the second round: a new event would do, but one seat is enough.
			f = su.build(t, name, conformanceEvent(), nil)
		}
	}
}

// testUnknownAndInvalid: unknown things and malformed requests get their sentinels.
func testUnknownAndInvalid(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	ctx := context.Background()
	tests := []struct {
		name string
		req  HoldRequest
		want error
	}{
		{"unknown event", HoldRequest{EventID: "no-such-event", Seats: []string{"A-1-1"}}, ErrEventNotFound},
		{"unknown event GA", HoldRequest{EventID: "no-such-event", Tier: "floor", Quantity: 1}, ErrEventNotFound},
		{"unknown seat", HoldRequest{EventID: f.ev.ID, Seats: []string{"A-1-1", "Z-1-1"}}, ErrSeatNotFound},
		{"unknown tier", HoldRequest{EventID: f.ev.ID, Tier: "balcony", Quantity: 1}, ErrTierNotFound},
		{"nothing asked", HoldRequest{EventID: f.ev.ID}, ErrInvalid},
		{"seats and tier", HoldRequest{EventID: f.ev.ID, Seats: []string{"A-1-1"}, Tier: "floor", Quantity: 1}, ErrInvalid},
		{"duplicate seat", HoldRequest{EventID: f.ev.ID, Seats: []string{"A-1-1", "A-1-1"}}, ErrInvalid},
		{"eleven seats", HoldRequest{EventID: f.ev.ID, Seats: strings.Split("A-1-1,A-1-2,A-1-3,A-1-4,A-1-5,A-1-6,A-1-7,A-1-8,A-1-9,A-1-10,B-1-1", ",")}, ErrInvalid},
		{"quantity zero", HoldRequest{EventID: f.ev.ID, Tier: "floor"}, ErrInvalid},
		{"quantity eleven", HoldRequest{EventID: f.ev.ID, Tier: "floor", Quantity: 11}, ErrInvalid},
		{"negative ttl", HoldRequest{EventID: f.ev.ID, Seats: []string{"A-1-1"}, TTL: -time.Second}, ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := f.s.Hold(ctx, tt.req); !errors.Is(err, tt.want) {
			t.Fatalf("%s: Hold(%+v) = %v, want %v", tt.name, tt.req, err, tt.want)
		}
	}
	for _, s := range f.availability().Seats {
		if s.Status != SeatAvailable {
			t.Fatalf("after refused holds seat %s is %s, want available", s.ID, s.Status)
		}
	}
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: "h_0000000000000000"}); !errors.Is(err, ErrHoldNotFound) {
		t.Fatalf("Confirm(unknown) = %v, want ErrHoldNotFound", err)
	}
	if _, err := f.s.GetHold(ctx, "h_0000000000000000"); !errors.Is(err, ErrHoldNotFound) {
		t.Fatalf("GetHold(unknown) = %v, want ErrHoldNotFound", err)
	}
	if _, err := f.s.Availability(ctx, "no-such-event"); !errors.Is(err, ErrEventNotFound) {
		t.Fatalf("Availability(unknown) = %v, want ErrEventNotFound", err)
	}
}

// testHoldsLedger: Holds lists the unsold holds with their statuses.
func testHoldsLedger(t *testing.T, su *suite, name string) {
	f := su.build(t, name, conformanceEvent(), nil)
	ctx := context.Background()
	held := f.mustHold("a", "A-1-1")
	released := f.mustHold("b", "A-1-2")
	sold := f.mustHold("c", "A-1-3")
	expiring, err := f.holdTTL(time.Second, "d", "A-1-4")
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if err := f.s.Release(ctx, released.ID); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: sold.ID}); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	f.clock.Advance(2 * time.Second)
	want := map[string]string{held.ID: StatusHeld, released.ID: StatusReleased, expiring.ID: StatusExpired}
	eventually(t, 5*time.Second, "holds ledger", func() error {
		hs, err := f.s.Holds(ctx, f.ev.ID)
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, h := range hs {
			got[h.ID] = h.Status
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("Holds = %v, want %v", got, want)
		}
		return nil
	})
}
