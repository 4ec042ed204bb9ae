package checker

import (
	"fmt"
	"slices"
	"strings"

	"stampede/history"
)

// The gate checks judge the scans of a run (history.OpScan records) with the ledger's record
// of entries, tickets and cancellations:
//
//   - gate-once: no ticket admitted twice (two ok scans of one ticket in the history, or two
//     entries of one ticket in the ledger);
//   - gate-forgeries: no forged ticket admitted (an ok scan of a forgery, or a ledger entry of
//     a ticket the system never issued);
//   - gate-answered: every genuine ticket presented was admitted once, or refused with a reason
//     that holds (ticket_used when it was admitted elsewhere, booking_cancelled when its
//     booking was cancelled, booking_not_found); a genuine ticket refused as forged, or as used
//     when it was never admitted, is a violation;
//   - gate-overwhelmed: no genuine ticket was turned away because the scanners were
//     overwhelmed: a holder whose every presentation was shed (503 overloaded) or timed out
//     and who was never admitted. Shed and timed-out genuine scans are counted in its note
//     whatever the verdict.
//
// Each is Skipped when the history has no scan, and NotExercised when its hazards
// (history.ForgedScans, DuplicateScans, CancelledScans) never occurred.

// Names of the gate checks.
const (
	CheckGateOnce        = "gate-once"
	CheckGateForgeries   = "gate-forgeries"
	CheckGateAnswered    = "gate-answered"
	CheckGateOverwhelmed = "gate-overwhelmed"
)

// Refusal codes of a scan (api.yaml Error.code).
const (
	codeTicketUsed       = "ticket_used"
	codeBookingCancelled = "booking_cancelled"
	codeBookingNotFound  = "booking_not_found"
)

// scanOp is one scan of the history.
type scanOp struct {
	rec       int
	client    int
	event     string
	gate      string
	ticket    string
	forgery   string
	copy      int
	call, ret int64
	typ       history.Type
	code      string
	firstGate string
}

// scanLog is what the gate checks keep of the history: its scans.
type scanLog struct {
	scans []scanOp
}

// scan takes a scan record.
func (l *scanLog) scan(i int, r *history.Record) {
	l.scans = append(l.scans, scanOp{rec: i, client: r.Client, event: r.In.Event, gate: r.In.Gate, ticket: r.In.TicketID,
		forgery: r.In.Forgery, copy: r.In.Copy, call: r.Call, ret: r.Ret, typ: r.Type, code: r.Out.Code, firstGate: r.Out.FirstGate})
}

// byTicket groups the genuine scans by ticket, in history order.
func (l *scanLog) byTicket() (map[string][]*scanOp, []string) {
	m := map[string][]*scanOp{}
	var order []string
	for i := range l.scans {
		s := &l.scans[i]
		if s.forgery != "" {
			continue
		}
		if _, ok := m[s.ticket]; !ok {
			order = append(order, s.ticket)
		}
		m[s.ticket] = append(m[s.ticket], s)
	}
	return m, order
}

// hazards adds the gate hazards to counts: forged presentations, genuine tickets presented
// more than once with two presentations in flight together, and presentations of tickets of
// cancelled bookings (as the server answered them).
func (l *scanLog) hazards(counts map[history.Hazard]int) {
	for i := range l.scans {
		s := &l.scans[i]
		switch {
		case s.forgery != "":
			counts[history.ForgedScans]++
		case s.code == codeBookingCancelled:
			counts[history.CancelledScans]++
		}
	}
	m, _ := l.byTicket()
	for _, ss := range m {
		spans := make([]span, len(ss))
		for i, s := range ss {
			spans[i] = span{call: s.call, ret: s.ret}
		}
		if n, _, _ := overlaps(spans); n > 0 {
			counts[history.DuplicateScans]++
		}
	}
}

func (c *checks) scanRef(s *scanOp) OpRef {
	text := fmt.Sprintf("scan of %s at %s", s.ticket, s.gate)
	if s.forgery != "" {
		text = fmt.Sprintf("scan of a forgery (%s) of %s at %s", s.forgery, s.ticket, s.gate)
	} else if s.copy > 0 {
		text = fmt.Sprintf("scan of screenshot %d of %s at %s", s.copy, s.ticket, s.gate)
	}
	text += " " + string(s.typ)
	if s.code != "" {
		text += " " + s.code
	}
	return OpRef{Index: s.rec, Client: s.client, Op: string(history.OpScan), Type: string(s.typ), Call: s.call, Ret: s.ret, Text: text}
}

// gateLedger is what the ledgers say of the gates: every ticket issued, the entries per
// ticket and the cancelled bookings. known is false when no ledger carries tickets (a system
// without the gate extension, or no ledger).
type gateLedger struct {
	known     bool
	issued    map[string]bool
	entries   map[string][]LedgerEntry
	cancelled map[string]bool
	bookingOf map[string]string // ticket -> booking
}

func (c *checks) gateLedger() gateLedger {
	g := gateLedger{issued: map[string]bool{}, entries: map[string][]LedgerEntry{}, cancelled: map[string]bool{}, bookingOf: map[string]string{}}
	for _, l := range c.ledgers {
		for _, b := range l.Bookings {
			for _, t := range b.Tickets {
				g.known = true
				g.issued[t.TicketID] = true
				g.bookingOf[t.TicketID] = b.BookingID
			}
		}
		for _, e := range l.Entries {
			g.entries[e.TicketID] = append(g.entries[e.TicketID], e)
		}
		for _, x := range l.Cancellations {
			g.cancelled[x.BookingID] = true
		}
	}
	return g
}

// gates runs the four gate checks.
func (c *checks) gates() []Verdict {
	names := []string{CheckGateOnce, CheckGateForgeries, CheckGateAnswered, CheckGateOverwhelmed}
	out := make([]Verdict, len(names))
	if len(c.ix.scans.scans) == 0 {
		for i, n := range names {
			out[i] = Verdict{Check: n, Kind: Safety, Status: Skipped, Note: "no scan in the history"}
		}
		return out
	}
	gl := c.gateLedger()
	m, order := c.ix.scans.byTicket()
	out[0] = c.gateOnce(m, order, gl)
	out[1] = c.gateForgeries(gl)
	out[2] = c.gateAnswered(m, order, gl)
	out[3] = c.gateOverwhelmed(m, order, gl)
	return out
}

func (c *checks) gateOnce(m map[string][]*scanOp, order []string, gl gateLedger) Verdict {
	v := Verdict{Check: CheckGateOnce, Kind: Safety}
	var ex exampleSet
	for _, t := range order {
		v.Checked++
		var ops []OpRef
		var second int64
		for _, s := range m[t] {
			if s.typ == history.Ok {
				ops = append(ops, c.scanRef(s))
				if len(ops) == 2 {
					second = s.ret
				}
			}
		}
		if len(ops) > 1 {
			ce := Counterexample{Subject: "ticket " + t, Event: m[t][0].event, Ops: ops, Clients: clientsOf(ops),
				Message: fmt.Sprintf("ticket %s was admitted %d times (%s)", t, len(ops), gatesOf(ops))}
			c.at(&ce, second)
			ex.add(ce)
		}
	}
	for t, es := range gl.entries {
		if len(es) > 1 && len(m[t]) == 0 {
			ex.add(Counterexample{Subject: "ticket " + t, Event: es[0].EventID,
				Message: fmt.Sprintf("the ledger has %d entries of ticket %s", len(es), t)})
		}
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

// gatesOf lists the gates of scan refs ("at gate-1 and gate-3").
func gatesOf(ops []OpRef) string {
	var gs []string
	for _, o := range ops {
		if _, g, ok := strings.Cut(o.Text, " at "); ok {
			g, _, _ = strings.Cut(g, " ")
			gs = append(gs, g)
		}
	}
	return "at " + strings.Join(gs, " and ")
}

func (c *checks) gateForgeries(gl gateLedger) Verdict {
	v := Verdict{Check: CheckGateForgeries, Kind: Safety}
	var ex exampleSet
	for i := range c.ix.scans.scans {
		s := &c.ix.scans.scans[i]
		if s.forgery == "" {
			continue
		}
		v.Checked++
		if s.typ == history.Ok {
			ops := []OpRef{c.scanRef(s)}
			ce := Counterexample{Subject: "ticket " + s.ticket, Event: s.event, Ops: ops, Clients: clientsOf(ops),
				Message: fmt.Sprintf("a forgery (%s) of ticket %s was admitted at %s", s.forgery, s.ticket, s.gate)}
			c.at(&ce, s.ret)
			ex.add(ce)
		}
	}
	if gl.known {
		for t, es := range gl.entries {
			if !gl.issued[t] {
				ce := Counterexample{Subject: "ticket " + t, Event: es[0].EventID,
					Message: fmt.Sprintf("the ledger has an entry at %s of ticket %s, which no booking issued", es[0].Gate, t)}
				c.atWall(&ce, es[0].AdmittedAt)
				ex.add(ce)
			}
		}
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

func (c *checks) gateAnswered(m map[string][]*scanOp, order []string, gl gateLedger) Verdict {
	v := Verdict{Check: CheckGateAnswered, Kind: Safety}
	var ex exampleSet
	for _, t := range order {
		ss := m[t]
		v.Checked++
		admitted := slices.ContainsFunc(ss, func(s *scanOp) bool { return s.typ == history.Ok })
		unknown := slices.ContainsFunc(ss, func(s *scanOp) bool { return s.typ == history.Info })
		entered := admitted || unknown || len(gl.entries[t]) > 0
		for _, s := range ss {
			if s.typ != history.Fail {
				continue
			}
			var why string
			switch s.code {
			case codeTicketUsed:
				if !entered {
					why = "refused as already used (first at " + s.firstGate + "), but it was never admitted"
				}
			case codeBookingCancelled:
				if gl.known && !gl.cancelled[gl.bookingOf[t]] {
					why = "refused as cancelled, but the ledger has no cancellation of its booking"
				}
			case codeBookingNotFound:
				if gl.known && gl.issued[t] {
					why = "refused as of an unknown booking, but the ledger has the booking"
				}
			case "":
				why = "refused without a stated reason"
			default:
				why = "a genuine ticket refused as " + s.code
			}
			if why != "" {
				ops := []OpRef{c.scanRef(s)}
				ce := Counterexample{Subject: "ticket " + t, Event: s.event, Ops: ops, Clients: clientsOf(ops),
					Message: fmt.Sprintf("ticket %s at %s: %s", t, s.gate, why)}
				c.at(&ce, s.ret)
				ex.add(ce)
			}
		}
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

func (c *checks) gateOverwhelmed(m map[string][]*scanOp, order []string, gl gateLedger) Verdict {
	v := Verdict{Check: CheckGateOverwhelmed, Kind: Availability}
	var ex exampleSet
	shed, timedOut := 0, 0
	for _, t := range order {
		ss := m[t]
		v.Checked++
		let := false
		var own []*scanOp
		for _, s := range ss {
			switch s.typ {
			case history.Shed:
				shed++
			case history.Info:
				timedOut++
			}
			let = let || s.typ == history.Ok || s.typ == history.Fail
			if s.copy == 0 {
				own = append(own, s)
			}
		}
		// Turned away: the holder presented it, and no presentation got an answer or in.
		if let || len(own) == 0 || len(gl.entries[t]) > 0 {
			continue
		}
		var ops []OpRef
		for _, s := range own {
			ops = append(ops, c.scanRef(s))
		}
		last := own[len(own)-1]
		ce := Counterexample{Subject: "ticket " + t, Event: last.event, Ops: ops, Clients: clientsOf(ops),
			Message: fmt.Sprintf("the holder of ticket %s was turned away at %s: every scan was shed or timed out", t, last.gate)}
		c.at(&ce, last.ret)
		ex.add(ce)
	}
	v = ex.verdict(v, c.opts.MaxExamples)
	v.Note = fmt.Sprintf("%d scans of genuine tickets shed, %d timed out", shed, timedOut)
	return v
}
