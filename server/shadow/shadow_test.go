package shadow_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"stampede/internal/shadowreport"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/server/api"
	"stampede/server/shadow"
	"stampede/strategies"
)

// table classifies answers as the server's does for the strategies' errors.
var table = slices.Concat(api.Common, api.Unknown)

// pair is a primary strategy on a fresh database and a Shadow over a shadow strategy on its own
// namespace of that database, with one event created on both.
type pair struct {
	primary, wrapped strategies.Strategy
	shadowed         strategies.Strategy
	sh               *shadow.Shadow
	event            strategies.Event
}

// shadowEvent has section A: 2 rows of 10 seats (the tests' contention), section B: 20 rows of
// 25 (the benchmark's), and a GA tier of 40.
func shadowEvent() strategies.Event {
	return strategies.Event{ID: "ev1", Name: "Shadow night",
		Sections: []strategies.Section{{Name: "A", Rows: 2, SeatsPerRow: 10}, {Name: "B", Rows: 20, SeatsPerRow: 25}},
		Tiers:    []strategies.Tier{{Name: "floor", Quantity: 40}}}
}

// newPair builds the pair; wrap, when set, wraps the shadow strategy (to make it fail).
func newPair(t testing.TB, dialect, primary, shadowName string, cfg shadow.Config, wrap func(strategies.Strategy) strategies.Strategy) *pair {
	t.Helper()
	ctx := context.Background()
	dsn := testsvc.DB(t, dialect)
	db, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: 24})
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(db.Close)
	if err := strategies.Migrate(ctx, db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	sdsn, err := sqldb.Namespace(ctx, db, dsn, "shadow")
	if err != nil {
		t.Fatalf("Namespace: %v", err)
	}
	sdb, err := sqldb.Open(ctx, sdsn, sqldb.Options{MaxConns: 24})
	if err != nil {
		t.Fatalf("open shadow namespace: %v", err)
	}
	t.Cleanup(func() {
		sdb.Close()
		if dialect == "mysql" {
			if _, err := db.Exec(context.Background(), "test", "DROP DATABASE IF EXISTS `"+shadowDBName(t, sdsn)+"`"); err != nil {
				t.Logf("drop shadow database: %v", err)
			}
		}
	})
	if err := strategies.Migrate(ctx, sdb); err != nil {
		t.Fatalf("migrate shadow namespace: %v", err)
	}
	a, err := strategies.New(primary, strategies.Deps{DB: db}, true)
	if err != nil {
		t.Fatalf("strategy %s: %v", primary, err)
	}
	b, err := strategies.New(shadowName, strategies.Deps{DB: sdb}, true)
	if err != nil {
		t.Fatalf("shadow strategy %s: %v", shadowName, err)
	}
	p := &pair{primary: a, shadowed: b}
	if wrap != nil {
		b = wrap(b)
	}
	cfg.Deps = api.Deps{Table: table, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Now: time.Now}
	cfg.Strategy, cfg.Store = b, strategies.NewStore(sdb, nil)
	if p.sh, err = shadow.New(cfg); err != nil {
		t.Fatalf("shadow.New: %v", err)
	}
	p.wrapped = p.sh.Wrap(a)
	ev, _, err := strategies.NewStore(db, nil).CreateEvent(ctx, shadowEvent())
	if err != nil {
		t.Fatalf("create event: %v", err)
	}
	for _, s := range []strategies.Strategy{a} {
		if pr, ok := s.(strategies.Preparer); ok {
			if err := pr.PrepareEvent(ctx, ev); err != nil {
				t.Fatalf("prepare event: %v", err)
			}
		}
	}
	if err := p.sh.CreateEvent(ctx, ev); err != nil {
		t.Fatalf("shadow CreateEvent: %v", err)
	}
	p.event = ev
	testsvc.Go(t, p.sh.Run)
	return p
}

func shadowDBName(t testing.TB, dsn string) string {
	t.Helper()
	d, err := sqldb.MySQLDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(d, "mysql://"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.DBName
}

// settle waits until every one of ops primary operations has been replayed, skipped or dropped.
func settle(t testing.TB, sh *shadow.Shadow, ops int64) shadowreport.Report {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := sh.Report()
		if r.Replayed+r.Skipped+r.Dropped >= ops && r.Pending == 0 {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shadow did not settle: %d replayed, %d skipped, %d dropped, %d pending of %d operations",
				r.Replayed, r.Skipped, r.Dropped, r.Pending, ops)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// herd runs workers goroutines, each doing rounds of: hold a seat among the first seats (or two
// GA units), then confirm or release it, or let it be. It returns how many strategy operations it
// made.
func herd(t testing.TB, st strategies.Strategy, workers, rounds, seats int) int64 {
	t.Helper()
	ctx := context.Background()
	var ops sync.Map
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			n := int64(0)
			for range rounds {
				r := strategies.HoldRequest{EventID: "ev1", Session: fmt.Sprintf("s%d", w)}
				if rng.IntN(5) == 0 {
					r.Tier, r.Quantity = "floor", 2
				} else {
					i := rng.IntN(seats)
					r.Seats = []string{strategies.SeatID("A", i/10+1, i%10+1)}
					if rng.IntN(4) == 0 && i+1 < seats {
						r.Seats = append(r.Seats, strategies.SeatID("A", (i+1)/10+1, (i+1)%10+1))
					}
				}
				h, err := st.Hold(ctx, r)
				n++
				if err != nil {
					if !errors.Is(err, strategies.ErrUnavailable) && !errors.Is(err, strategies.ErrSoldOut) {
						t.Errorf("Hold(%v) = %v, want a hold or a refusal", r.Seats, err)
					}
					continue
				}
				switch rng.IntN(3) {
				case 0:
					_, err = st.Confirm(ctx, strategies.ConfirmRequest{HoldID: h.ID, Session: h.Session})
					n++
				case 1:
					err = st.Release(ctx, h.ID)
					n++
				}
				if err != nil {
					t.Errorf("after Hold(%v): %v", r.Seats, err)
				}
			}
			ops.Store(w, n)
		}()
	}
	close(start)
	wg.Wait()
	total := int64(0)
	ops.Range(func(_, v any) bool { total += v.(int64); return true })
	return total
}

// seatStates is every seat's status and every tier's counts, to compare two inventories.
func seatStates(t testing.TB, st strategies.Strategy) map[string]string {
	t.Helper()
	av, err := st.Availability(context.Background(), "ev1")
	if err != nil {
		t.Fatalf("Availability: %v", err)
	}
	out := map[string]string{}
	for _, s := range av.Seats {
		out[s.ID] = s.Status
	}
	for _, tr := range av.Tiers {
		out["tier "+tr.Name] = fmt.Sprintf("available %d held %d sold %d", tr.Available, tr.Held, tr.Sold)
	}
	return out
}

// TestSelfShadowAgrees: a safe strategy shadowing itself under contention (16 goroutines over 8
// seats and a GA tier, on both databases) finds no divergence, drops nothing, and leaves the
// shadow's inventory in exactly the primary's state.
func TestSelfShadowAgrees(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		for _, name := range []string{"status-expiry", "skip-locked", "pessimistic"} {
			t.Run(dialect+"/"+name, func(t *testing.T) {
				p := newPair(t, dialect, name, name, shadow.Config{}, nil)
				ops := herd(t, p.wrapped, 16, 25, 8)
				r := settle(t, p.sh, ops)
				if r.Divergences != 0 || r.Dropped != 0 {
					t.Fatalf("self-shadow of %s: %d divergences, %d dropped, want none: %+v", name, r.Divergences, r.Dropped, r.Kinds)
				}
				if r.Replayed == 0 || r.Replayed+r.Skipped != ops {
					t.Fatalf("replayed %d + skipped %d, want the %d operations, most replayed", r.Replayed, r.Skipped, ops)
				}
				want, got := seatStates(t, p.primary), seatStates(t, p.shadowed)
				for k, v := range want {
					if got[k] != v {
						t.Errorf("%s: primary %q, shadow %q", k, v, got[k])
					}
				}
				if len(r.Latency) == 0 || r.Latency[0].Op != "hold" || r.Latency[0].Shadow.Count == 0 {
					t.Errorf("Latency = %+v, want hold latencies of both", r.Latency)
				}
			})
		}
	}
}

// TestBrokenShadowDiverges: status-expiry shadowed by status-expiry-blind. For each of six seats
// a buyer's hold expires, eight buyers race for the seat (one wins), then the first buyer's late
// confirm arrives: the primary refuses it, the blind shadow sells the seat. Every seat is named
// in a confirm_sold divergence, and nothing else diverges.
func TestBrokenShadowDiverges(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			p := newPair(t, dialect, "status-expiry", "status-expiry-blind", shadow.Config{Examples: 10}, nil)
			ctx := context.Background()
			const seats = 6
			ops := int64(0)
			late := make([]strategies.Hold, seats)
			for i := range seats {
				h, err := p.wrapped.Hold(ctx, strategies.HoldRequest{EventID: "ev1", Session: "late",
					Seats: []string{strategies.SeatID("A", 1, i+1)}, TTL: 300 * time.Millisecond})
				if err != nil {
					t.Fatalf("first hold of seat %d: %v", i, err)
				}
				late[i] = h
				ops++
			}
			time.Sleep(time.Until(late[seats-1].Expires) + 100*time.Millisecond)
			var wg sync.WaitGroup
			var mu sync.Mutex
			winners := map[string]int{}
			for i := range seats {
				for w := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						seat := strategies.SeatID("A", 1, i+1)
						_, err := p.wrapped.Hold(ctx, strategies.HoldRequest{EventID: "ev1", Session: fmt.Sprintf("racer%d", w), Seats: []string{seat}})
						mu.Lock()
						defer mu.Unlock()
						ops++
						if err == nil {
							winners[seat]++
						} else if !errors.Is(err, strategies.ErrUnavailable) {
							t.Errorf("racing hold of %s: %v", seat, err)
						}
					}()
				}
			}
			wg.Wait()
			for i := range seats {
				seat := strategies.SeatID("A", 1, i+1)
				if winners[seat] != 1 {
					t.Fatalf("seat %s: %d racing holds granted by the primary, want 1", seat, winners[seat])
				}
				_, err := p.wrapped.Confirm(ctx, strategies.ConfirmRequest{HoldID: late[i].ID, Session: "late"})
				ops++
				if err == nil {
					t.Fatalf("primary confirmed the expired hold of %s, whose seat another buyer holds", seat)
				}
			}
			r := settle(t, p.sh, ops)
			named := map[string]bool{}
			for _, k := range r.Kinds {
				if k.Kind != shadowreport.KindConfirmSold {
					t.Errorf("divergence kind %s (%d): %+v; want only confirm_sold", k.Kind, k.Count, k.Examples)
					continue
				}
				if k.Count != seats {
					t.Errorf("confirm_sold: %d, want %d", k.Count, seats)
				}
				for _, d := range k.Examples {
					if d.Primary == "ok" || d.Shadow != "ok" || d.Op != "confirm" || len(d.Seats) != 1 || d.At.IsZero() {
						t.Errorf("example %+v: want a confirm the primary refused and the shadow sold, with its seat and time", d)
					}
					named[d.Seats[0]] = true
				}
			}
			for i := range seats {
				if seat := strategies.SeatID("A", 1, i+1); !named[seat] {
					t.Errorf("seat %s is named in no divergence; report %+v", seat, r)
				}
			}
		})
	}
}
