package workloads

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"stampede/history"
)

// The scan flow: a fan buys as a buyer does, walks to the venue, and presents each ticket of
// the booking at one of the venue's gates; beside the genuine tickets come shared screenshots
// of them (the same code presented by someone else, at some gate, at the same moment) and
// forgeries made from them. Gates are concurrent scanners: each gate scans Lanes tickets at
// once and the rest queue, so the time in the queue shows in the scan's latency.

// FlowScan is the flow of a fan who buys and then goes through the gates.
const FlowScan = "scan"

// Forgery kinds a scan flow presents (history.Input.Forgery).
const (
	ForgeryBadSignature = "bad_signature" // one character of the signature changed
	ForgeryAlteredSeat  = "altered_seat"  // the claims name another seat or unit, signature kept
	ForgeryAlteredEvent = "altered_event" // the claims name another event, signature kept
	ForgeryTruncated    = "truncated"     // the code cut short
	ForgeryGarbage      = "garbage"       // a code-shaped string that was never a ticket
	// ForgeryOtherEvent is a genuine ticket presented at a gate of another event of the run.
	ForgeryOtherEvent = "other_event"
)

// ScanSpec is how the fans of a scan flow go through the gates.
type ScanSpec struct {
	// Gates is how many gates the venue has (default 4); Lanes how many scans each gate runs at
	// once (default 2).
	Gates int
	Lanes int
	// EnterAfter is the pause between the booking and the arrival at the gates (default 0).
	EnterAfter DurationRange
	// Forgeries is how many forged tickets come with each genuine ticket presented (0..100,
	// default 0; a fraction is the probability of one more), Screenshots how many shared
	// copies of it (0..20, default 0).
	Forgeries   float64
	Screenshots float64
	// Refund is the probability that the fan's booking is refunded (POST
	// /admin/bookings/{id}/cancel) before the fan walks to the gates, whose tickets must then
	// be refused.
	Refund float64
}

// fileScan mirrors the gates section of a scan flow.
type fileScan struct {
	Gates       *int   `yaml:"gates"`
	Lanes       *int   `yaml:"lanes"`
	EnterAfter  string `yaml:"enter_after"`
	Forgeries   any    `yaml:"forgeries"`
	Screenshots any    `yaml:"screenshots"`
	Refund      string `yaml:"refund"`
}

// scanSpec validates the gates section of a scan flow.
func (v *validator) scanSpec(field string, fs *fileScan) ScanSpec {
	s := ScanSpec{Gates: 4, Lanes: 2}
	if fs == nil {
		return s
	}
	s.Gates = v.intIn(field+".gates", fs.Gates, 1, 1000, s.Gates)
	s.Lanes = v.intIn(field+".lanes", fs.Lanes, 1, 1000, s.Lanes)
	s.EnterAfter = v.durationRange(field+".enter_after", fs.EnterAfter)
	s.Forgeries = v.perTicket(field+".forgeries", fs.Forgeries, 100)
	s.Screenshots = v.perTicket(field+".screenshots", fs.Screenshots, 20)
	s.Refund = v.fraction(field+".refund", fs.Refund)
	return s
}

// perTicket reads a count per ticket: a number in 0..limit.
func (v *validator) perTicket(field string, x any, limit float64) float64 {
	if x == nil {
		return 0
	}
	f, err := strconv.ParseFloat(fmt.Sprint(x), 64)
	if err != nil || math.IsNaN(f) {
		v.errf(field, "%v: want a number", x)
		return 0
	}
	if f < 0 || f > limit {
		v.errf(field, "%v: must be 0..%v", f, limit)
		return 0
	}
	return f
}

// ScanStep is one ticket presented at a gate.
type ScanStep struct {
	// Ticket is the index of the booking's ticket it is, or is made from.
	Ticket int    `json:"ticket"`
	Gate   string `json:"gate"`
	// Copy is 0 for the holder's own scan, k for the k-th shared screenshot; Forgery is the
	// kind of forgery, "" for a genuine ticket.
	Copy    int    `json:"copy,omitempty"`
	Forgery string `json:"forgery,omitempty"`
}

// GateName is the name of gate g (0-based) of the venue: gate-1, gate-2, ...
func GateName(g int) string { return "gate-" + strconv.Itoa(g+1) }

// planScans draws the steps of a fan with count tickets, after the buyer's draws.
func planScans(r *rand.Rand, s *ScanSpec, count int, otherEvent bool) []ScanStep {
	times := func(x float64) int {
		n := int(x)
		if r.Float64() < x-float64(n) {
			n++
		}
		return n
	}
	kinds := []string{ForgeryBadSignature, ForgeryAlteredSeat, ForgeryAlteredEvent, ForgeryTruncated, ForgeryGarbage}
	if otherEvent {
		kinds = append(kinds, ForgeryOtherEvent)
	}
	var out []ScanStep
	for t := range count {
		out = append(out, ScanStep{Ticket: t, Gate: GateName(r.IntN(s.Gates))})
		for c := range times(s.Screenshots) {
			out = append(out, ScanStep{Ticket: t, Gate: GateName(r.IntN(s.Gates)), Copy: c + 1})
		}
		for range times(s.Forgeries) {
			out = append(out, ScanStep{Ticket: t, Gate: GateName(r.IntN(s.Gates)), Forgery: kinds[r.IntN(len(kinds))]})
		}
	}
	return out
}

// issuedTicket is api.yaml's Ticket, as a booking's answer carries it.
type issuedTicket struct {
	TicketID string `json:"ticket_id"`
	Seat     string `json:"seat"`
	Unit     string `json:"unit"`
	Code     string `json:"code"`
}

// gateLanes are the scanners of every gate of a run: a gate scans at most lanes tickets at
// once. The zero value is ready.
type gateLanes struct {
	mu    sync.Mutex
	gates map[string]chan struct{}
}

// acquire waits for a lane of gate (lanes per gate) and returns its release; false when ctx
// ended first.
func (g *gateLanes) acquire(ctx context.Context, gate string, lanes int) (func(), bool) {
	g.mu.Lock()
	if g.gates == nil {
		g.gates = map[string]chan struct{}{}
	}
	ch := g.gates[gate]
	if ch == nil {
		ch = make(chan struct{}, lanes)
		g.gates[gate] = ch
	}
	g.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, true
	case <-ctx.Done():
		return nil, false
	}
}

// scan plays a fan: the purchase, a refund when planned, the walk, then every step at once,
// each presented by its own person (its own session) through the gate's lanes.
func (u *user) scan(ctx context.Context) {
	booked, bookingID := u.buy(ctx)
	if len(booked) == 0 {
		return
	}
	spec := &u.d.sc.Users[u.p.FlowIndex].Scan
	if u.p.Refund {
		u.patiently(ctx, func() history.Record {
			return u.d.client.cancel(ctx, &u.caller, u.p.Event, bookingID, u.d.cfg.AdminToken)
		})
	}
	if !u.sleep(ctx, u.p.EnterAfter) {
		return
	}
	var wg sync.WaitGroup
	for k, st := range u.p.Scans {
		if st.Ticket >= len(booked) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &user{caller: caller{index: u.index, session: u.session + "/" + strconv.Itoa(k)}, d: u.d, p: u.p, next: u.next}
			release, ok := u.d.lanes.acquire(ctx, st.Gate, spec.Lanes)
			if !ok {
				return
			}
			defer release()
			tk := booked[st.Ticket]
			event, code := u.p.Event, tk.Code
			if st.Forgery != "" {
				event, code = u.forge(st, tk)
			}
			in := history.Input{Event: u.p.Event, Gate: st.Gate, TicketID: tk.TicketID, Forgery: st.Forgery, Copy: st.Copy}
			p.patiently(ctx, func() history.Record { return u.d.client.scanTicket(ctx, &p.caller, event, code, in) })
		}()
	}
	wg.Wait()
}

// forge makes the forgery st of a genuine ticket, deterministic in the ticket and the step:
// the event the gate is for, and the code presented.
func (u *user) forge(st ScanStep, tk issuedTicket) (event, code string) {
	event = u.p.Event
	parts := strings.Split(tk.Code, ".")
	switch st.Forgery {
	case ForgeryBadSignature:
		if len(parts) == 3 && len(parts[1]) > 4 {
			b := []byte(parts[1])
			b[3] = flip(b[3])
			return event, parts[0] + "." + string(b) + "." + parts[2]
		}
	case ForgeryAlteredSeat, ForgeryAlteredEvent:
		if len(parts) == 3 {
			if claims, err := base64.RawURLEncoding.DecodeString(parts[0]); err == nil {
				var c map[string]any
				if json.Unmarshal(claims, &c) == nil {
					switch {
					case st.Forgery == ForgeryAlteredEvent:
						c["e"] = u.otherEvent()
					case c["s"] != nil:
						c["s"] = fmt.Sprint(c["s"]) + "9"
					default:
						c["u"] = fmt.Sprint(c["u"]) + "9"
					}
					b, _ := json.Marshal(c)
					return event, base64.RawURLEncoding.EncodeToString(b) + "." + parts[1] + "." + parts[2]
				}
			}
		}
	case ForgeryTruncated:
		return event, tk.Code[:len(tk.Code)*2/3]
	case ForgeryOtherEvent:
		return u.otherEvent(), tk.Code
	}
	// Garbage, and any ticket not of the documented form.
	return event, base64.RawURLEncoding.EncodeToString([]byte("forged:"+tk.TicketID+":"+st.Gate)) + ".AAAA.AAAA"
}

// otherEvent is another event of the run than the user's, or a made-up one.
func (u *user) otherEvent() string {
	for _, e := range u.d.plan.events {
		if e != u.p.Event {
			return e
		}
	}
	return u.p.Event + "-x"
}

func flip(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

// scanTicket sends POST /gates/{gate}/scan and records it as in (a scan record).
func (c *client) scanTicket(ctx context.Context, who *caller, event, code string, in history.Input) history.Record {
	body, _ := json.Marshal(map[string]string{"event_id": event, "ticket": code})
	a := c.do(ctx, who, http.MethodPost, "/gates/"+url.PathEscape(in.Gate)+"/scan", nil, body)
	rec := a.record(who.index, history.OpScan, in)
	if a.code == "ticket_used" {
		var e struct {
			Error struct {
				FirstGate       string `json:"first_gate"`
				FirstAdmittedAt string `json:"first_admitted_at"`
			} `json:"error"`
		}
		if json.Unmarshal(a.body, &e) == nil {
			rec.Out.FirstGate = e.Error.FirstGate
			if t, err := time.Parse(time.RFC3339Nano, e.Error.FirstAdmittedAt); err == nil {
				rec.Out.FirstAt = t.UnixNano()
			}
		}
	}
	return rec
}

// cancel sends POST /admin/bookings/{id}/cancel (reason refunded) and records it.
func (c *client) cancel(ctx context.Context, who *caller, event, bookingID, token string) history.Record {
	a := c.do(ctx, who, http.MethodPost, "/admin/bookings/"+url.PathEscape(bookingID)+"/cancel", adminHeaders(token), []byte(`{"reason":"refunded"}`))
	rec := a.record(who.index, history.OpCancel, history.Input{Event: event, Session: who.session})
	rec.Out.BookingID = bookingID
	return rec
}
