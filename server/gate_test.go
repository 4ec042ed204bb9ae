package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/testsvc"
	"stampede/server/overload"
	"stampede/server/tickets"
)

// bookingWithTickets is the part of a booking answer the gate tests read.
type bookingWithTickets struct {
	BookingID string           `json:"booking_id"`
	Seats     []string         `json:"seats"`
	Tickets   []tickets.Ticket `json:"tickets"`
}

// buy holds seats (or a GA quantity) for session and checks out, returning the booking.
func (e *testEnv) buy(eventID, session string, body map[string]any) bookingWithTickets {
	e.tb.Helper()
	var h holdView
	e.must(http.StatusCreated, http.MethodPost, "/events/"+eventID+"/holds", session, body).decode(e.tb, &h)
	var b bookingWithTickets
	e.mustWith(http.StatusCreated, map[string]string{"Idempotency-Key": "k-" + h.HoldID}, http.MethodPost,
		"/holds/"+h.HoldID+"/checkout", session, map[string]string{"payment_method": "card_ok"}).decode(e.tb, &b)
	return b
}

// scan presents code at gate for eventID.
func (e *testEnv) scan(gate, eventID, code string) response {
	e.tb.Helper()
	return e.call(http.MethodPost, "/gates/"+gate+"/scan", "", map[string]string{"event_id": eventID, "ticket": code})
}

// dbCalls is how many pooled connections the server's database handed out so far, all tags.
func (tdb *testDB) dbCalls() int64 {
	var n int64
	for _, s := range tdb.metrics.Snapshot() {
		n += s.Count
	}
	return n
}

// redisCounter counts the commands a Redis client sends.
type redisCounter struct{ n atomic.Int64 }

func (c *redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// alterClaims re-encodes a code's claims with change applied, keeping its signature and tag.
func alterClaims(tb testing.TB, code string, change func(c map[string]any)) string {
	tb.Helper()
	parts := strings.Split(code, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		tb.Fatalf("decode claims of %q: %v", code, err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		tb.Fatalf("decode claims %s: %v", raw, err)
	}
	change(c)
	raw, _ = json.Marshal(c)
	parts[0] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// TestGateScan: tickets come with the booking, GET /bookings and the ledger; every kind of
// forgery is refused from the ticket alone, with no database or Redis call (counted); a
// genuine ticket is admitted once and then refused as used with the first entry; a refunded
// booking's ticket is refused, on both databases.
func TestGateScan(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			tdb := newTestDB(t, dialect)
			e := newEnv(t, "status-expiry", tdb, withPSP())
			rc := &redisCounter{}
			e.rdb.AddHook(rc)
			ev, other := e.createEvent(), e.createEvent()

			b := e.buy(ev, "fan-1", map[string]any{"seats": []string{"A-1-1", "A-1-2"}})
			ga := e.buy(ev, "fan-2", map[string]any{"tier": "floor", "quantity": 2})
			ob := e.buy(other, "fan-3", map[string]any{"seats": []string{"A-1-1"}})
			if len(b.Tickets) != 2 || b.Tickets[0].Seat != "A-1-1" || len(ga.Tickets) != 2 || ga.Tickets[0].Tier != "floor" {
				t.Fatalf("booking tickets = %+v and %+v, want one per seat and one per GA unit", b.Tickets, ga.Tickets)
			}
			var got bookingWithTickets
			e.must(http.StatusOK, http.MethodGet, "/bookings/"+b.BookingID, "", nil).decode(t, &got)
			if len(got.Tickets) != 2 || got.Tickets[1] != b.Tickets[1] {
				t.Fatalf("GET /bookings tickets = %+v, want those of the checkout %+v", got.Tickets, b.Tickets)
			}
			// Verifiable offline with the public key alone.
			if c, err := tickets.VerifySignature(e.srv.keys.PublicKey(), b.Tickets[0].Code); err != nil || c.Seat != "A-1-1" || c.Booking != b.BookingID || c.EventID != ev {
				t.Fatalf("VerifySignature = %+v, %v; want A-1-1 of %s on %s", c, err, b.BookingID, ev)
			}

			code := b.Tickets[0].Code
			parts := strings.Split(code, ".")
			sig := []byte(parts[1])
			sig[5] ^= 0x01
			forgeries := []struct{ name, code, want string }{
				{"bad signature", parts[0] + "." + string(sig) + "." + parts[2], "ticket_invalid"},
				{"altered seat", alterClaims(t, code, func(c map[string]any) { c["s"] = "A-2-5" }), "ticket_invalid"},
				{"altered event", alterClaims(t, code, func(c map[string]any) { c["e"] = other }), "ticket_invalid"},
				{"truncated", code[:len(code)-7], "ticket_invalid"},
				{"truncated to the claims", parts[0], "ticket_invalid"},
				{"garbage", "not-a-ticket", "ticket_invalid"},
				{"other event", ob.Tickets[0].Code, "wrong_event"},
			}
			calls, cmds := tdb.dbCalls(), rc.n.Load()
			for _, f := range forgeries {
				r := e.scan("north", ev, f.code)
				if r.status != http.StatusForbidden || r.errBody(t).Error.Code != f.want {
					t.Errorf("scan of %s = %d %s, want 403 %s", f.name, r.status, r.body, f.want)
				}
			}
			if n, m := tdb.dbCalls()-calls, rc.n.Load()-cmds; n != 0 || m != 0 {
				t.Fatalf("%d forged scans made %d database calls and %d Redis commands, want none", len(forgeries), n, m)
			}

			// Admitted once; the same ticket anywhere after is ticket_used with the first entry.
			var entry struct {
				Admitted   bool   `json:"admitted"`
				TicketID   string `json:"ticket_id"`
				Gate       string `json:"gate"`
				AdmittedAt string `json:"admitted_at"`
			}
			e.must(http.StatusOK, http.MethodPost, "/gates/north/scan", "", map[string]string{"event_id": ev, "ticket": code}).decode(t, &entry)
			if !entry.Admitted || entry.TicketID != b.Tickets[0].TicketID || entry.Gate != "north" {
				t.Fatalf("first scan = %+v, want %s admitted at north", entry, b.Tickets[0].TicketID)
			}
			for _, g := range []string{"north", "south"} {
				eb := e.wantError(http.StatusConflict, "ticket_used", "", http.MethodPost, "/gates/"+g+"/scan", "", map[string]string{"event_id": ev, "ticket": code})
				if eb.Error.FirstGate != "north" || eb.Error.FirstAdmittedAt != entry.AdmittedAt {
					t.Fatalf("second scan at %s = %+v, want first entry north at %s", g, eb.Error, entry.AdmittedAt)
				}
			}

			// Refunded after the sale: the unused ticket is refused; replays of it too.
			e.must(http.StatusOK, http.MethodPost, "/admin/bookings/"+ga.BookingID+"/cancel", "", map[string]string{"reason": "refunded"})
			for range 2 {
				e.wantError(http.StatusGone, "booking_cancelled", "", http.MethodPost, "/gates/east/scan", "", map[string]string{"event_id": ev, "ticket": ga.Tickets[0].Code})
			}
			e.wantError(http.StatusBadRequest, "invalid_request", "reason", http.MethodPost, "/admin/bookings/"+ga.BookingID+"/cancel", "", map[string]string{"reason": "lost"})
			e.wantError(http.StatusBadRequest, "invalid_request", "ticket", http.MethodPost, "/gates/east/scan", "", map[string]string{"event_id": ev})
			e.wantError(http.StatusBadRequest, "invalid_request", "gate", http.MethodPost, "/gates/b%20ad/scan", "", map[string]string{"event_id": ev, "ticket": code})

			var l struct {
				Bookings []bookingWithTickets `json:"bookings"`
				Entries  []struct {
					TicketID string `json:"ticket_id"`
					Gate     string `json:"gate"`
				} `json:"entries"`
				Cancellations []struct {
					BookingID string `json:"booking_id"`
					Reason    string `json:"reason"`
				} `json:"cancellations"`
			}
			e.must(http.StatusOK, http.MethodGet, "/admin/ledger?event="+ev, "", nil).decode(t, &l)
			if len(l.Entries) != 1 || l.Entries[0].TicketID != b.Tickets[0].TicketID || len(l.Cancellations) != 1 ||
				l.Cancellations[0].Reason != "refunded" || len(l.Bookings) != 2 || len(l.Bookings[0].Tickets) == 0 {
				t.Fatalf("ledger = %+v, want the bookings with tickets, one entry and one refund", l)
			}
			e.wantMetrics(`stampede_gate_scans_total{result="admitted"} 1`, `stampede_gate_scans_total{result="ticket_invalid"} 6`,
				`stampede_gate_scans_total{result="ticket_used"} 2`, `stampede_gate_scans_total{result="booking_cancelled"} 2`)
		})
	}
}

// TestGateDoubleEntry presents one ticket at two gates at once, many times over: exactly one
// scan of each ticket is admitted, on both databases. The per-gate-cache gate, broken on
// purpose, lets the same ticket in at both gates; without --allow-unsafe it is refused.
func TestGateDoubleEntry(t *testing.T) {
	if _, err := tickets.NewGate("per-gate-cache", nil, false); err == nil || !strings.Contains(err.Error(), "allow-unsafe") {
		t.Fatalf("NewGate(per-gate-cache) without allowUnsafe = %v, want a refusal naming --allow-unsafe", err)
	}
	if err := (Options{Strategy: "status-expiry", DB: "postgres://x@127.0.0.1/test", Gate: "per-gate-cache"}).Validate(); err == nil {
		t.Fatalf("Options with gate per-gate-cache and no AllowUnsafe validated, want a refusal")
	}
	for _, dialect := range testsvc.Dialects {
		for _, gate := range []string{tickets.DefaultGate, "per-gate-cache"} {
			t.Run(dialect+"/"+gate, func(t *testing.T) {
				e := newEnv(t, "status-expiry", newTestDB(t, dialect), withPSP(), withGate(gate))
				ev := e.createEvent()
				b := e.buy(ev, "fan", map[string]any{"tier": "floor", "quantity": 8})
				admitted := make([]atomic.Int32, len(b.Tickets))
				var wg sync.WaitGroup
				for i, tk := range b.Tickets {
					for _, g := range []string{"west", "east"} {
						wg.Add(1)
						go func() {
							defer wg.Done()
							r := e.scan(g, ev, tk.Code)
							switch {
							case r.status == http.StatusOK:
								admitted[i].Add(1)
							case r.status != http.StatusConflict || r.errBody(t).Error.Code != "ticket_used":
								t.Errorf("scan of %s at %s = %d %s, want 200 or 409 ticket_used", tk.TicketID, g, r.status, r.body)
							}
						}()
					}
				}
				wg.Wait()
				twice := 0
				for i := range admitted {
					switch n := admitted[i].Load(); {
					case n == 2:
						twice++
					case n != 1:
						t.Errorf("ticket %s admitted %d times at two gates at once, want once", b.Tickets[i].TicketID, n)
					}
				}
				if gate == tickets.DefaultGate && twice != 0 {
					t.Fatalf("%d of %d tickets admitted at both gates, want none", twice, len(b.Tickets))
				}
				if gate == "per-gate-cache" && twice != len(b.Tickets) {
					t.Fatalf("per-gate-cache admitted %d of %d tickets at both gates, want all (it trusts each gate's own list)", twice, len(b.Tickets))
				}
			})
		}
	}
}

// TestGateScanBudget fills the overload budget: a genuine ticket's scan is shed (503
// overloaded, it did nothing), while forgeries are still refused for what they are, before the
// budget, so that a flood of them cannot take the room genuine tickets need.
func TestGateScanBudget(t *testing.T) {
	e := newEnv(t, "status-expiry", newTestDB(t, testsvc.Dialects[0]), withPSP(), withBudget(1, time.Millisecond))
	ev := e.createEvent()
	b := e.buy(ev, "fan", map[string]any{"seats": []string{"A-1-1"}})
	release, err := e.srv.budget.Acquire(context.Background(), overload.Checkout)
	if err != nil {
		t.Fatalf("Acquire = %v", err)
	}
	r := e.scan("north", ev, b.Tickets[0].Code)
	if r.status != http.StatusServiceUnavailable || r.errBody(t).Error.Code != "overloaded" || r.header.Get("Retry-After") == "" {
		t.Fatalf("genuine scan on a full budget = %d %s, want 503 overloaded with Retry-After", r.status, r.body)
	}
	if r := e.scan("north", ev, b.Tickets[0].Code[:40]); r.status != http.StatusForbidden || r.errBody(t).Error.Code != "ticket_invalid" {
		t.Fatalf("forged scan on a full budget = %d %s, want 403 ticket_invalid", r.status, r.body)
	}
	release()
	e.must(http.StatusOK, http.MethodPost, "/gates/north/scan", "", map[string]string{"event_id": ev, "ticket": b.Tickets[0].Code})
}
