package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"stampede/internal/testsvc"
	"stampede/server/api"
	"stampede/server/overload"
	"stampede/strategies"
)

func TestHoldRequestValidation(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "postgres")
	e := newEnv(t, "pessimistic", tdb)
	id := e.createEvent()
	path := "/events/" + id + "/holds"

	tests := []struct {
		name    string
		path    string
		session string
		body    any
		status  int
		code    string
		field   string
	}{
		{name: "no session", session: "", body: `{"seats":["A-1-1"]}`, status: 400, code: "invalid_request", field: "X-Session-Id"},
		{name: "bad session", session: "has space", body: `{"seats":["A-1-1"]}`, status: 400, code: "invalid_request", field: "X-Session-Id"},
		{name: "bad JSON", body: `{"seats":["A-1-1"`, status: 400, code: "invalid_request"},
		{name: "empty body", body: ``, status: 400, code: "invalid_request"},
		{name: "neither", body: `{}`, status: 400, code: "invalid_request", field: "seats"},
		{name: "both", body: `{"seats":["A-1-1"],"tier":"floor","quantity":1}`, status: 400, code: "invalid_request", field: "seats"},
		{name: "no seats", body: `{"seats":[]}`, status: 400, code: "invalid_request", field: "seats"},
		{name: "eleven seats", body: `{"seats":["A-1-1","A-1-2","A-1-3","A-1-4","A-1-5","A-2-1","A-2-2","A-2-3","A-2-4","A-2-5","B-1-1"]}`, status: 400, code: "too_many_seats", field: "seats"},
		{name: "duplicate seat", body: `{"seats":["A-1-1","A-1-1"]}`, status: 400, code: "invalid_request", field: "seats[1]"},
		{name: "empty seat id", body: `{"seats":[""]}`, status: 400, code: "invalid_request", field: "seats[0]"},
		{name: "seats not an array", body: `{"seats":"A-1-1"}`, status: 400, code: "invalid_request", field: "seats"},
		{name: "seat id a number", body: `{"seats":[7]}`, status: 400, code: "invalid_request", field: "seats"},
		{name: "quantity a string", body: `{"tier":"floor","quantity":"2"}`, status: 400, code: "invalid_request", field: "quantity"},
		{name: "quantity zero", body: `{"tier":"floor","quantity":0}`, status: 400, code: "invalid_request", field: "quantity"},
		{name: "quantity eleven", body: `{"tier":"floor","quantity":11}`, status: 400, code: "invalid_request", field: "quantity"},
		{name: "tier without quantity", body: `{"tier":"floor"}`, status: 400, code: "invalid_request", field: "quantity"},
		{name: "quantity without tier", body: `{"quantity":2}`, status: 400, code: "invalid_request", field: "tier"},
		{name: "oversized", body: `{"seats":["A-1-1"],"pad":"` + strings.Repeat("x", api.MaxBodyBytes) + `"}`, status: 413, code: "body_too_large"},
		{name: "unknown seat", body: `{"seats":["A-1-1","Z-9-9"]}`, status: 404, code: "seat_not_found"},
		{name: "unknown tier", body: `{"tier":"balcony","quantity":1}`, status: 404, code: "tier_not_found"},
		{name: "unknown event", path: "/events/nope/holds", body: `{"seats":["A-1-1"]}`, status: 404, code: "event_not_found"},
		{name: "bad event id", path: "/events/" + strings.Repeat("e", 65) + "/holds", body: `{"seats":["A-1-1"]}`, status: 400, code: "invalid_request", field: "event_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path
			if p == "" {
				p = path
			}
			session := tc.session
			if session == "" && tc.field != "X-Session-Id" {
				session = "buyer-1"
			}
			e.with(t).wantError(tc.status, tc.code, tc.field, http.MethodPost, p, session, tc.body)
		})
	}
	// Nothing was held by the refused requests: A-1-1 is still available.
	e.holdSeats(id, "buyer-2", "A-1-1")
}

// TestStrategies runs the hold endpoints over HTTP for every safe strategy on both databases:
// the main flow (hold, conflict, read, release, GA, a strategy-level confirm, bookings, the
// ledger), contention for one pair of seats, and expiry. One database per dialect and one
// server per strategy serve all three; each case has its own event.
func TestStrategies(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			tdb := newTestDB(t, dialect)
			for _, name := range strategies.Safe() {
				t.Run(name, func(t *testing.T) {
					e := newEnv(t, name, tdb)
					t.Run("flow", func(t *testing.T) { holdFlow(t, e.with(t)) })
					t.Run("contention", func(t *testing.T) { holdContention(t, e.with(t)) })
					t.Run("expiry", func(t *testing.T) {
						if name == "redis-lock" {
							// Its holds live on Redis's clock: a short, real TTL.
							holdExpiry(t, newEnv(t, name, tdb, withHoldTTL(2*time.Second)), true)
							return
						}
						holdExpiry(t, e.with(t), false)
					})
				})
			}
		})
	}
}

func holdFlow(t *testing.T, e *testEnv) {
	id := e.createEvent()
	holds := "/events/" + id + "/holds"
	// Creating it again prepares it again (strategies.Preparer); that must not add inventory:
	// the tiny tier below still has exactly 3 units.
	e.must(http.StatusOK, http.MethodPost, "/admin/events", "", testEventSpec(id))

	// A hold: 201 with the contract's fields.
	h := e.holdSeats(id, "alice", "A-1-2", "A-1-1")
	exp, err := time.Parse(time.RFC3339Nano, h.ExpiresAt)
	if err != nil || !strings.HasSuffix(h.ExpiresAt, "Z") {
		t.Fatalf("expires_at %q: want RFC 3339 UTC (%v)", h.ExpiresAt, err)
	}
	if h.HoldID == "" || h.EventID != id || h.Session != "alice" || h.Status != "held" || h.TTLMillis != testHoldTTL.Milliseconds() {
		t.Errorf("hold = %+v, want an id, event %s, session alice, status held, ttl_ms %d", h, id, testHoldTTL.Milliseconds())
	}
	if d := time.Until(exp) - testHoldTTL; d < -10*time.Second || d > 10*time.Second {
		t.Errorf("expires_at %s is not about %s from now", h.ExpiresAt, testHoldTTL)
	}
	slices.Sort(h.Seats)
	if !slices.Equal(h.Seats, []string{"A-1-1", "A-1-2"}) || h.AmountCents != 2*strategies.DefaultPriceCents {
		t.Errorf("hold seats %v amount %d, want A-1-1, A-1-2 for %d", h.Seats, h.AmountCents, 2*strategies.DefaultPriceCents)
	}

	// Another session cannot take an overlapping set; nothing of it is held (all or nothing).
	eb := e.wantError(http.StatusConflict, "seat_unavailable", "", http.MethodPost, holds, "bob", map[string]any{"seats": []string{"A-1-3", "A-1-2"}})
	// Every strategy names the seats; some can only tell which of the requested seats were
	// involved, so the list must hold A-1-2 and nothing that was not asked for.
	if !slices.Contains(eb.Error.Seats, "A-1-2") || slices.ContainsFunc(eb.Error.Seats, func(s string) bool { return s != "A-1-2" && s != "A-1-3" }) {
		t.Errorf("seat_unavailable seats = %v, want A-1-2 and at most A-1-3 besides", eb.Error.Seats)
	}
	e.holdSeats(id, "carol", "A-1-3")

	// Reading a hold: its own session only.
	var got holdView
	e.must(http.StatusOK, http.MethodGet, "/holds/"+h.HoldID, "alice", nil).decode(t, &got)
	if got.HoldID != h.HoldID || got.Status != "held" || got.ExpiresAt == "" {
		t.Errorf("GET hold = %+v, want %s held", got, h.HoldID)
	}
	e.wantError(http.StatusForbidden, "not_your_hold", "", http.MethodGet, "/holds/"+h.HoldID, "bob", nil)
	e.wantError(http.StatusNotFound, "hold_not_found", "", http.MethodGet, "/holds/h_nope", "alice", nil)
	e.wantError(http.StatusBadRequest, "invalid_request", "X-Session-Id", http.MethodGet, "/holds/"+h.HoldID, "", nil)

	// Release: not by another session; 204, and 204 again; the seats are sellable again.
	e.wantError(http.StatusForbidden, "not_your_hold", "", http.MethodDelete, "/holds/"+h.HoldID, "bob", nil)
	e.wantError(http.StatusNotFound, "hold_not_found", "", http.MethodDelete, "/holds/h_nope", "alice", nil)
	e.must(http.StatusNoContent, http.MethodDelete, "/holds/"+h.HoldID, "alice", nil)
	e.must(http.StatusNoContent, http.MethodDelete, "/holds/"+h.HoldID, "alice", nil)
	e.must(http.StatusOK, http.MethodGet, "/holds/"+h.HoldID, "alice", nil).decode(t, &got)
	if got.Status != "released" {
		t.Errorf("released hold status = %q, want released", got.Status)
	}
	bobs := e.holdSeats(id, "bob", "A-1-1", "A-1-2")

	// General admission: quantities until the tier runs out.
	var ga holdView
	e.must(http.StatusCreated, http.MethodPost, holds, "dave", map[string]any{"tier": "tiny", "quantity": 2}).decode(t, &ga)
	if ga.Tier != "tiny" || ga.Quantity != 2 || ga.AmountCents != 5000 {
		t.Errorf("GA hold = %+v, want tier tiny, quantity 2, 5000 cents", ga)
	}
	e.wantError(http.StatusConflict, "sold_out", "", http.MethodPost, holds, "erin", map[string]any{"tier": "tiny", "quantity": 2})
	e.must(http.StatusCreated, http.MethodPost, holds, "erin", map[string]any{"tier": "tiny", "quantity": 1})

	// A strategy-level confirm (checkout's payment is another endpoint): the booking is
	// readable, the sold hold cannot be released, and the ledger shows it.
	b, err := e.srv.cfg.Strategy.Confirm(context.Background(), strategies.ConfirmRequest{
		HoldID: bobs.HoldID, Session: "bob",
		Charge: func(ctx context.Context, h strategies.Hold) (strategies.Charge, error) {
			return strategies.Charge{ID: "ch_test_" + h.ID, AmountCents: h.AmountCents}, nil
		},
	})
	if err != nil {
		t.Fatalf("Confirm(%s): %v", bobs.HoldID, err)
	}
	e.wantError(http.StatusConflict, "hold_sold", "", http.MethodDelete, "/holds/"+bobs.HoldID, "bob", nil)
	var bv bookingView
	e.must(http.StatusOK, http.MethodGet, "/bookings/"+b.ID, "", nil).decode(t, &bv)
	slices.Sort(bv.Seats)
	if bv.BookingID != b.ID || bv.HoldID != bobs.HoldID || bv.ChargeID != "ch_test_"+bobs.HoldID || bv.AmountCents != 10000 || !slices.Equal(bv.Seats, []string{"A-1-1", "A-1-2"}) {
		t.Errorf("GET booking = %+v, want booking %s of hold %s, 10000 cents, seats A-1-1 A-1-2", bv, b.ID, bobs.HoldID)
	}
	if _, err := time.Parse(time.RFC3339Nano, bv.CreatedAt); err != nil {
		t.Errorf("created_at %q: %v", bv.CreatedAt, err)
	}
	e.wantError(http.StatusNotFound, "booking_not_found", "", http.MethodGet, "/bookings/b_nope", "", nil)

	var l ledger
	e.must(http.StatusOK, http.MethodGet, "/admin/ledger?event="+id, "", nil).decode(t, &l)
	if l.EventID != id || len(l.Bookings) != 1 || l.Bookings[0].BookingID != b.ID {
		t.Fatalf("ledger bookings = %+v, want exactly booking %s", l.Bookings, b.ID)
	}
	seat := map[string]ledgerSeat{}
	for _, s := range l.Seats {
		seat[s.ID] = s
	}
	if s := seat["A-1-1"]; s.Status != "sold" || s.BookingID != b.ID {
		t.Errorf("ledger A-1-1 = %+v, want sold to %s", s, b.ID)
	}
	if s := seat["A-1-3"]; s.Status != "held" {
		t.Errorf("ledger A-1-3 = %+v, want held", s)
	}
	if s := seat["A-1-4"]; s.Status != "available" || s.BookingID != "" {
		t.Errorf("ledger A-1-4 = %+v, want available", s)
	}
	holdStatus := map[string]string{}
	for _, hv := range l.Holds {
		holdStatus[hv.HoldID] = hv.Status
	}
	if holdStatus[ga.HoldID] != "held" || holdStatus[bobs.HoldID] != "" {
		t.Errorf("ledger holds = %v, want the GA hold %s held and the sold hold %s not listed", holdStatus, ga.HoldID, bobs.HoldID)
	}
	for _, tv := range l.Tiers {
		if tv.Name == "tiny" && (tv.Capacity != 3 || tv.Held != 3 || tv.Available != 0 || tv.Sold != 0) {
			t.Errorf("ledger tier tiny = %+v, want capacity 3, held 3", tv)
		}
	}
	if l.Refunds == nil {
		t.Errorf("ledger refunds is null, want an array")
	}
	e.wantError(http.StatusBadRequest, "invalid_request", "event", http.MethodGet, "/admin/ledger", "", nil)
	e.wantError(http.StatusNotFound, "event_not_found", "", http.MethodGet, "/admin/ledger?event=nope", "", nil)
}

// holdContention: many sessions race for one pair of seats over HTTP; exactly one gets them.
func holdContention(t *testing.T, e *testEnv) {
	id := e.createEvent()
	const n = 16
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := e.call(http.MethodPost, "/events/"+id+"/holds", fmt.Sprintf("s%d", i), map[string]any{"seats": []string{"B-1-1", "B-1-2"}})
			statuses[i] = r.status
		}()
	}
	close(start)
	wg.Wait()
	var won, lost int
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			won++
		case http.StatusConflict:
			lost++
		}
	}
	if won != 1 || lost != n-1 {
		t.Errorf("%d concurrent holds of B-1-1,B-1-2: statuses %v, want one 201 and %d 409", n, statuses, n-1)
	}
}

// holdExpiry: an expired hold reads as expired, its seats can be held again, and releasing it
// is still 204 without touching the new holder's seat. The server's clock is moved past the
// TTL, or, with realTime, the test waits for the short TTL to pass.
func holdExpiry(t *testing.T, e *testEnv, realTime bool) {
	id := e.createEvent()
	h := e.holdSeats(id, "alice", "A-2-1")
	var got holdView
	if realTime {
		deadline := time.Now().Add(10 * time.Second)
		for got.Status != "expired" && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			e.must(http.StatusOK, http.MethodGet, "/holds/"+h.HoldID, "alice", nil).decode(t, &got)
		}
	} else {
		e.clock.Advance(testHoldTTL + time.Second)
		e.must(http.StatusOK, http.MethodGet, "/holds/"+h.HoldID, "alice", nil).decode(t, &got)
	}
	if got.Status != "expired" {
		t.Fatalf("hold after its TTL: status %q, want expired", got.Status)
	}
	bob := e.holdSeats(id, "bob", "A-2-1")
	// Releasing the expired hold must not give back the seat bob holds now.
	e.must(http.StatusNoContent, http.MethodDelete, "/holds/"+h.HoldID, "alice", nil)
	e.wantError(http.StatusConflict, "seat_unavailable", "", http.MethodPost, "/events/"+id+"/holds", "carol", map[string]any{"seats": []string{"A-2-1"}})
	if realTime {
		return // bob's short hold may itself have expired by now
	}
	e.must(http.StatusOK, http.MethodGet, "/holds/"+bob.HoldID, "bob", nil).decode(t, &got)
	if got.Status != "held" {
		t.Errorf("bob's hold after alice released her expired one: %q, want held", got.Status)
	}
}

// TestHoldNeedsAdmission: on an event with a waiting room, a hold needs this session's
// admission token for this event, which the session gets through the queue, on both databases.
func TestHoldNeedsAdmission(t *testing.T) {
	t.Parallel()
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			tdb := newTestDB(t, dialect)
			e := newEnv(t, "status-expiry", tdb)
			e.run()
			ev, other := e.createWaitingRoomEvent(1000), e.createWaitingRoomEvent(1000)
			path := "/events/" + ev + "/holds"
			token := e.admit(ev, "alice")
			otherToken := e.admit(other, "alice")

			e.wantError(http.StatusForbidden, "not_admitted", "", http.MethodPost, path, "alice", map[string]any{"seats": []string{"A-1-1"}})
			e.wantError(http.StatusForbidden, "not_admitted", "", http.MethodPost, path, "alice", map[string]any{"seats": []string{"A-1-1"}, "admission_token": "forged"})
			e.wantError(http.StatusForbidden, "not_admitted", "", http.MethodPost, path, "bob", map[string]any{"seats": []string{"A-1-1"}, "admission_token": token})
			e.wantError(http.StatusForbidden, "not_admitted", "", http.MethodPost, path, "alice", map[string]any{"seats": []string{"A-1-1"}, "admission_token": otherToken})
			// Refused holds took nothing; the admitted session gets the seat.
			e.must(http.StatusCreated, http.MethodPost, path, "alice", map[string]any{"seats": []string{"A-1-1"}, "admission_token": token})
			// An event without a waiting room ignores tokens.
			plain := e.createEvent()
			e.must(http.StatusCreated, http.MethodPost, "/events/"+plain+"/holds", "bob", map[string]any{"seats": []string{"A-1-1"}})
			// The waiting room counts its checks on the server's registry.
			metrics := string(e.must(http.StatusOK, http.MethodGet, "/metrics", "", nil).body)
			for _, want := range []string{
				`stampede_admission_checks_total{result="missing"} 1`,
				`stampede_admission_checks_total{result="forged"} 1`,
				`stampede_admission_checks_total{result="other_session"} 1`,
				`stampede_admission_checks_total{result="other_event"} 1`,
				`stampede_admission_checks_total{result="ok"} 1`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}

// FuzzHoldRequest checks the hold request's decoding and validation together: no body panics,
// every refusal is a 4xx invalid_request, and every accepted request is exactly one of 1..10
// distinct non-empty seats or a tier with a quantity of 1..10.
func FuzzHoldRequest(f *testing.F) {
	for _, s := range []string{
		`{"seats":["A-1-1"]}`, `{"tier":"floor","quantity":2}`, `{"seats":["A-1-1"],"tier":"f","quantity":1}`,
		`{"seats":[]}`, `{"seats":["A","A"]}`, `{"quantity":"2","tier":"x"}`, `{"tier":"x","quantity":11}`, `{}`, `null`,
		`{"seats":null}`, `{"seats":[""]}`, `{"tier":"","quantity":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/events/e/holds", strings.NewReader(body))
		var hr holdRequest
		err := api.DecodeJSON(r, &hr)
		if err == nil {
			err = hr.validate(0)
		}
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 || ae.Message == "" ||
				ae.Code != api.CodeInvalidRequest && ae.Code != api.CodeTooManySeats && ae.Code != api.CodeBodyTooLarge {
				t.Fatalf("hold request %q refused with %#v, want a 4xx invalid_request (or a limit's code) with a message", body, err)
			}
			return
		}
		switch {
		case hr.Seats != nil:
			seats := *hr.Seats
			if hr.Tier != nil || hr.Quantity != nil || len(seats) < 1 || len(seats) > DefaultMaxSeatsPerHold {
				t.Fatalf("hold request %q accepted as %+v", body, hr)
			}
			seen := map[string]bool{}
			for _, s := range seats {
				if s == "" || len(s) > maxSeatIDLen || seen[s] {
					t.Fatalf("hold request %q accepted with seat %q", body, s)
				}
				seen[s] = true
			}
		case hr.Tier == nil || *hr.Tier == "" || hr.Quantity == nil || *hr.Quantity < 1 || *hr.Quantity > maxQuantityPerHold:
			t.Fatalf("hold request %q accepted as tier %v quantity %v", body, hr.Tier, hr.Quantity)
		}
	})
}

// TestHoldAdmissionBeforeBudget: a hold's admission token is checked before the overload
// budget. With the budget full, a bot's hold without a token is still answered 403
// not_admitted (it took no slot and reached no strategy), while an admitted buyer's hold is
// shed 503 overloaded with Retry-After, and taken once the slot is free.
func TestHoldAdmissionBeforeBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "status-expiry", newTestDB(t, testsvc.Dialects[0]), withBudget(1, time.Millisecond))
	e.run()
	ev := e.createWaitingRoomEvent(1000)
	path := "/events/" + ev + "/holds"
	token := e.admit(ev, "fan")
	release, err := e.srv.budget.Acquire(context.Background(), overload.Checkout)
	if err != nil {
		t.Fatalf("Acquire(checkout) on an empty budget of 1 = %v", err)
	}
	e.wantError(http.StatusForbidden, "not_admitted", "", http.MethodPost, path, "bot", map[string]any{"seats": []string{"A-1-1"}})
	r := e.call(http.MethodPost, path, "fan", map[string]any{"seats": []string{"A-1-1"}, "admission_token": token})
	if r.status != http.StatusServiceUnavailable || r.errBody(t).Error.Code != "overloaded" || r.header.Get("Retry-After") == "" {
		t.Fatalf("admitted hold on a full budget = %d %s, want 503 overloaded with Retry-After", r.status, r.body)
	}
	release()
	e.must(http.StatusCreated, http.MethodPost, path, "fan", map[string]any{"seats": []string{"A-1-1"}, "admission_token": token})
	if got := e.srv.budget.InFlight(overload.Hold); got != 0 {
		t.Errorf("holds in flight after the holds answered = %d, want 0", got)
	}
}
