package shadow_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/testsvc"
	"stampede/server/api"
	"stampede/server/shadow"
	"stampede/strategies"
)

// BenchmarkPrimaryWithShadow measures what a shadow costs the primary: one op is a hold of a seat
// and its release on status-expiry over PostgreSQL, from 4 goroutines, with no shadow, with a
// healthy shadow (status-expiry on its own schema), with one that fails every call, and with one
// that stalls on every call (its queue fills and operations are dropped). Compare ns/op:
//
//	go test -run '^$' -bench BenchmarkPrimaryWithShadow -benchtime 2000x ./server/shadow/
func BenchmarkPrimaryWithShadow(b *testing.B) {
	cases := []struct {
		name string
		cfg  shadow.Config
		wrap func(strategies.Strategy) strategies.Strategy
		none bool
	}{
		{name: "none", none: true},
		{name: "healthy"},
		{name: "failing", wrap: func(s strategies.Strategy) strategies.Strategy { return &failing{Strategy: s} }},
		{name: "stalled", cfg: shadow.Config{Timeout: time.Hour, Workers: 1, Queue: 64},
			wrap: func(s strategies.Strategy) strategies.Strategy { return &failing{Strategy: s, stall: true} }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			p := newPair(b, "postgres", "status-expiry", "status-expiry", tc.cfg, tc.wrap)
			st := p.wrapped
			if tc.none {
				st = p.primary
			}
			var next atomic.Int64
			b.SetParallelism(2) // 2 x GOMAXPROCS goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					i := next.Add(1) % 500
					seat := strategies.SeatID("B", int(i/25)+1, int(i%25)+1)
					h, err := st.Hold(ctx, strategies.HoldRequest{EventID: "ev1", Session: "bench", Seats: []string{seat}})
					if err != nil {
						continue // another goroutine holds it this instant
					}
					if err := st.Release(ctx, h.ID); err != nil {
						b.Error(fmt.Sprint("release: ", err))
					}
				}
			})
			b.StopTimer()
			r := p.sh.Report()
			b.ReportMetric(float64(r.Dropped), "dropped")
		})
	}
}

// instant is a primary or shadow strategy that decides at once without any I/O: every hold is
// granted, every release and confirm accepted. It isolates what the shadow's bookkeeping costs.
type instant struct {
	strategies.Strategy
	n atomic.Int64
}

func (s *instant) Name() string { return "instant" }

func (s *instant) Hold(_ context.Context, r strategies.HoldRequest) (strategies.Hold, error) {
	return strategies.Hold{ID: fmt.Sprint("h", s.n.Add(1)), EventID: r.EventID, Seats: r.Seats, Expires: time.Now().Add(time.Minute)}, nil
}

func (s *instant) Release(context.Context, string) error { return nil }

func (s *instant) Confirm(context.Context, strategies.ConfirmRequest) (strategies.Booking, error) {
	return strategies.Booking{}, nil
}

// BenchmarkShadowOverhead measures the time the shadow adds to each primary operation, with
// the primary's own work taken out (an instant primary): no shadow, an instant shadow that keeps
// up, and a stalled one whose queue (64) is full so that every operation is dropped.
//
//	go test -run '^$' -bench BenchmarkShadowOverhead ./server/shadow/
func BenchmarkShadowOverhead(b *testing.B) {
	for _, tc := range []struct {
		name   string
		shadow strategies.Strategy
		cfg    shadow.Config
	}{
		{name: "none"},
		{name: "instant", shadow: &instant{}},
		{name: "stalled", shadow: &failing{Strategy: &instant{}, stall: true}, cfg: shadow.Config{Timeout: time.Hour, Workers: 1, Queue: 64}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var st strategies.Strategy = &instant{}
			var sh *shadow.Shadow
			if tc.shadow != nil {
				cfg := tc.cfg
				cfg.Deps = api.Deps{Table: table, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Now: time.Now}
				cfg.Strategy, cfg.Store = tc.shadow, strategies.NewStore(nil, nil)
				var err error
				if sh, err = shadow.New(cfg); err != nil {
					b.Fatal(err)
				}
				st = sh.Wrap(st)
				testsvc.Go(b, sh.Run)
			}
			var next atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					i := next.Add(1)
					seat := strategies.SeatID("B", int(i%20)+1, int(i%25)+1)
					h, _ := st.Hold(ctx, strategies.HoldRequest{EventID: "ev1", Session: "bench", Seats: []string{seat}})
					_ = st.Release(ctx, h.ID)
				}
			})
			b.StopTimer()
			if sh != nil {
				b.ReportMetric(float64(sh.Report().Dropped)/float64(2*b.N), "dropped/op")
			}
		})
	}
}
