package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"stampede/server/overload"
	"stampede/server/payments"
	"stampede/strategies"
)

// slowSeats is a strategy whose availability reads wait for gate: browsing that occupies the
// server.
type slowSeats struct {
	strategies.Strategy
	gate <-chan struct{}
}

func (s slowSeats) Availability(ctx context.Context, eventID string) (strategies.Availability, error) {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return strategies.Availability{}, ctx.Err()
	}
	return s.Strategy.Availability(ctx, eventID)
}

// TestOverloadShedsBrowseFirst: a server whose budget is saturated by slow browsing refuses
// more browsing 503 overloaded with Retry-After, counts it, and still serves holds, checkout,
// health and metrics.
func TestOverloadShedsBrowseFirst(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "postgres")
	gate := make(chan struct{})
	const budget = 10
	e := newEnv(t, "status-expiry", tdb, withPSP(), withBudget(budget, 20*time.Millisecond),
		withStrategy(func(st strategies.Strategy) strategies.Strategy { return slowSeats{st, gate} }))
	id := e.createEvent()
	seats := "/events/" + id + "/seats"

	// Browsing up to its ceiling, stuck in the database read.
	slow := overload.Ceiling(overload.Browse, budget)
	done := make(chan int, slow)
	for range slow {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, e.url+seats, nil)
			resp, err := e.client.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.budget.InFlight(overload.Browse) < slow {
		if time.Now().After(deadline) {
			t.Fatalf("%d browse requests in flight after 10 s, want %d", e.srv.budget.InFlight(overload.Browse), slow)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// More browsing is refused, with Retry-After.
	for _, p := range []string{seats, "/events", "/events/" + id} {
		r := e.call(http.MethodGet, p, "", nil)
		if r.status != http.StatusServiceUnavailable || r.errBody(t).Error.Code != "overloaded" || r.header.Get("Retry-After") != "1" {
			t.Errorf("GET %s with browsing saturated = %d %s Retry-After %q, want 503 overloaded with Retry-After 1", p, r.status, r.body, r.header.Get("Retry-After"))
		}
	}

	// A buyer still holds and pays.
	h := e.holdSeats(id, "buyer", "A-1-1")
	var b struct {
		BookingID string `json:"booking_id"`
	}
	e.mustWith(http.StatusCreated, map[string]string{"Idempotency-Key": "key-buyer-1"}, http.MethodPost,
		"/holds/"+h.HoldID+"/checkout", "buyer", map[string]string{"payment_method": "card_ok"}).decode(t, &b)
	e.must(http.StatusOK, http.MethodGet, "/bookings/"+b.BookingID, "", nil)
	e.must(http.StatusOK, http.MethodGet, "/holds/"+h.HoldID, "buyer", nil)

	// Health and metrics are never refused.
	e.must(http.StatusOK, http.MethodGet, "/healthz", "", nil)
	e.wantMetrics(
		`stampede_http_shed_total{class="browse"} 3`,
		`stampede_http_shed_total{class="hold"} 0`,
		`stampede_http_shed_total{class="checkout"} 0`,
		`stampede_http_class_requests_in_flight{class="browse"} 5`,
		`stampede_http_request_duration_seconds_count{route="GET /events",status="5xx"} 1`,
	)

	close(gate)
	for range slow {
		if st := <-done; st != http.StatusOK {
			t.Errorf("a slow browse request that was let in = %d, want 200", st)
		}
	}
	if n := e.srv.budget.InFlight(overload.Browse); n != 0 {
		t.Errorf("browse in flight after every answer = %d, want 0", n)
	}
}

// TestSlowProcessorLeavesBudgetToHolds: checkouts waiting on a slow payment processor fill a
// budget of 4, yet holds and browsing are still served, because a checkout steps out of the
// budget while it waits on the processor; the checkouts then complete.
func TestSlowProcessorLeavesBudgetToHolds(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "postgres")
	const budget = 4
	e := newEnv(t, "status-expiry", tdb, withPSP(), withBudget(budget, 20*time.Millisecond))
	id := e.createEvent()
	var holds []holdView
	for i := range budget {
		holds = append(holds, e.holdSeats(id, fmt.Sprintf("buyer-%d", i), fmt.Sprintf("A-1-%d", i+1)))
	}
	if err := e.psp.SetFaults(payments.Faults{LatencyMS: 2000}); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, budget)
	for i, h := range holds {
		go func() {
			r := e.callWith(map[string]string{"Idempotency-Key": fmt.Sprintf("checkout-key-%d", i)}, http.MethodPost,
				"/holds/"+h.HoldID+"/checkout", fmt.Sprintf("buyer-%d", i), map[string]string{"payment_method": "card_ok"})
			done <- r.status
		}()
	}
	// Every checkout is in, and waiting on the processor.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(e.must(http.StatusOK, http.MethodGet, "/metrics", "", nil).body), `stampede_http_class_requests_away{class="checkout"} 4`) {
		if time.Now().After(deadline) {
			t.Fatalf("%d checkouts in flight after 10 s, want %d waiting on the processor (%d already answered)", e.srv.budget.InFlight(overload.Checkout), budget, len(done))
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The budget is full of checkouts, all of them waiting on the processor: a buyer still
	// holds, and browsing is still answered.
	e.holdSeats(id, "late-buyer", "A-2-1")
	e.must(http.StatusOK, http.MethodGet, "/events/"+id+"/seats", "", nil)
	for range budget {
		if st := <-done; st != http.StatusCreated {
			t.Errorf("a checkout that waited on the slow processor = %d, want 201", st)
		}
	}
	e.wantMetrics(`stampede_http_class_requests_away{class="checkout"} 0`, `stampede_http_shed_total{class="hold"} 0`)
}
