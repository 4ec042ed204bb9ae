package checker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// idleFinding is one false sell-out: a seat refused (or shown held) while it had been idle
// for longer than the grace period.
type idleFinding struct {
	pid  int32
	y    seatOp
	hold int32
	end  int64
}

func keepEarliest(fs []idleFinding, n int) []idleFinding {
	slices.SortFunc(fs, func(a, b idleFinding) int {
		if c := cmp.Compare(a.y.call, b.y.call); c != 0 {
			return c
		}
		return cmp.Compare(a.pid, b.pid)
	})
	if len(fs) > n {
		fs = fs[:n]
	}
	return fs
}

// scanIdle finds, in one partition sorted by call, the holds refused with seat_unavailable
// and the reads reporting the seat held while the seat was idle: every hold that returned
// before was over (expired, or released) more than the grace period earlier, none of them
// was sold or may have been (an unknown checkout outcome counts as a possible sale), and no
// other hold, ok or of unknown outcome, could be holding the seat meanwhile. A hold whose
// expiry is not known never makes a seat idle. It returns the earliest findings (at most
// MaxExamples) and their count.
func (lc *linChecker) scanIdle(pid int32, ops []seatOp) ([]idleFinding, int) {
	ix := lc.ix
	observers := 0
	type holdOp struct {
		call, ret int64
		hold      int32
		out       outcome
	}
	var holds []holdOp
	for i := range ops {
		o := &ops[i]
		switch {
		case o.kind == kHold && o.out != oFail:
			holds = append(holds, holdOp{o.call, o.ret, o.hold, o.out})
		case isObserver(o):
			observers++
		}
	}
	if observers == 0 || len(holds) == 0 {
		return nil, 0
	}
	// The end of each hold: its expiry (plus the skew tolerance), or an ok release, whichever
	// came first; blocked when it may have been sold.
	blocked := make(map[int32]bool)
	released := make(map[int32]int64)
	for i := range ops {
		o := &ops[i]
		switch {
		case o.kind == kCheckout && (o.out != oFail || o.code == fSold):
			blocked[o.hold] = true
		case o.kind == kRelease && o.out == oOk:
			if r, ok := released[o.hold]; !ok || o.ret < r {
				released[o.hold] = o.ret
			}
		}
	}
	grace := int64(lc.opts.Grace)
	end := func(h int32) (int64, bool) {
		hi := ix.hold(h)
		if !hi.known || blocked[h] {
			return 0, false
		}
		e := hi.expiry + ix.skew + ix.widen
		if r, ok := released[h]; ok && r < e {
			e = r
		}
		return e, true
	}
	// Ok holds by return: prefix maximum of their ends (math.MaxInt64 once one is blocked).
	var okByRet []holdOp
	for _, h := range holds {
		if h.out == oOk {
			okByRet = append(okByRet, h)
		}
	}
	slices.SortFunc(okByRet, func(a, b holdOp) int { return cmp.Compare(a.ret, b.ret) })
	prefEnd := make([]int64, len(okByRet))
	prefHold := make([]int32, len(okByRet))
	for i, h := range okByRet {
		e, ok := end(h.hold)
		if !ok {
			e = math.MaxInt64
		}
		prefEnd[i], prefHold[i] = e, h.hold
		if i > 0 && prefEnd[i-1] >= e {
			prefEnd[i], prefHold[i] = prefEnd[i-1], prefHold[i-1]
		}
	}
	// All holds by call (ops are sorted by call): prefix maximum of how long each may keep the
	// seat from the observer's point of view: an ok hold until its return (if it returned
	// after the observer's call it is concurrent), an unknown one until its return plus the
	// longest lifetime seen.
	busy := make([]int64, len(holds))
	for i, h := range holds {
		b := h.ret
		if h.out == oInfo {
			b = h.ret + max(ix.maxTTL, ix.hold(h.hold).expiry-h.call) + ix.skew + grace
		}
		busy[i] = b
		if i > 0 {
			busy[i] = max(busy[i], busy[i-1])
		}
	}
	var found []idleFinding
	n := 0
	for i := range ops {
		y := &ops[i]
		if !isObserver(y) {
			continue
		}
		j := sort.Search(len(okByRet), func(k int) bool { return okByRet[k].ret >= y.call }) - 1
		if j < 0 || prefEnd[j] == math.MaxInt64 || y.call <= prefEnd[j]+grace {
			continue
		}
		k := sort.Search(len(holds), func(k int) bool { return holds[k].call > y.ret }) - 1
		if k >= 0 && busy[k] >= y.call {
			continue
		}
		n++
		if len(found) < lc.opts.MaxExamples {
			found = append(found, idleFinding{pid: pid, y: *y, hold: prefHold[j], end: prefEnd[j]})
		}
	}
	return found, n
}

// exampleSet gathers counterexamples, keeping a bounded number, and counts all of them.
type exampleSet struct {
	n   int
	all []Counterexample
}

const maxGathered = 10000

func (s *exampleSet) add(ce Counterexample) {
	s.n++
	if len(s.all) < maxGathered {
		s.all = append(s.all, ce)
	}
}

// verdict sorts the examples (timed ones first, earliest first) and fills v.
func (s *exampleSet) verdict(v Verdict, maxEx int) Verdict {
	slices.SortStableFunc(s.all, func(a, b Counterexample) int {
		switch {
		case a.HasTime && !b.HasTime:
			return -1
		case !a.HasTime && b.HasTime:
			return 1
		}
		return cmp.Compare(a.Time, b.Time)
	})
	if s.n > 0 {
		v.Status, v.Count = Fail, s.n
		v.Examples = s.all[:min(len(s.all), maxEx)]
	} else {
		v.Status = Pass
	}
	return v
}

// checks runs the invariant, money and availability checks over an index and the ledgers.
type checks struct {
	ix      *index
	lc      *linChecker
	opts    Options
	ledgers []*Ledger
	psp     *PSPLedger

	bookingByID   map[string]*Booking
	bookingByHold map[string][]*Booking
	ledgerHolds   map[string]*LedgerHold
	covered       map[string]bool // events with a ledger; nil means every event
}

func newChecks(ix *index, lc *linChecker, opts Options, ledgers []*Ledger, psp *PSPLedger) *checks {
	c := &checks{ix: ix, lc: lc, opts: opts, ledgers: ledgers, psp: psp,
		bookingByID: make(map[string]*Booking), bookingByHold: make(map[string][]*Booking),
		ledgerHolds: make(map[string]*LedgerHold)}
	if len(ledgers) > 0 {
		c.covered = make(map[string]bool)
	}
	for _, l := range ledgers {
		if l.EventID == "" {
			c.covered = nil
		} else if c.covered != nil {
			c.covered[l.EventID] = true
		}
		for i := range l.Bookings {
			b := &l.Bookings[i]
			c.bookingByID[b.BookingID] = b
			c.bookingByHold[b.HoldID] = append(c.bookingByHold[b.HoldID], b)
		}
		for i := range l.Holds {
			c.ledgerHolds[l.Holds[i].HoldID] = &l.Holds[i]
		}
	}
	return c
}

// covers reports whether the ledgers speak for event (an unknown event is assumed covered).
func (c *checks) covers(event string) bool {
	return c.covered == nil || event == "" || c.covered[event]
}

// at fills a counterexample's time and fault from a run-axis time.
func (c *checks) at(ce *Counterexample, t int64) {
	ce.Time, ce.HasTime = t, true
	ce.Fault = c.ix.faultAt(t)
}

// atWall fills a counterexample's time from a ledger timestamp, when there is one and a
// header to place it on the run axis.
func (c *checks) atWall(ce *Counterexample, t time.Time) {
	if t.IsZero() {
		return
	}
	if rt, ok := c.ix.wallToRun(t.UnixNano()); ok {
		c.at(ce, rt)
	}
}

func (c *checks) seatName(event, seat string) string {
	if c.ix.multiEvent() || (len(c.ledgers) > 1 && event != "") {
		return event + "/" + seat
	}
	return seat
}

// checkoutRef renders a checkout record as an OpRef.
func (c *checks) checkoutRef(co *checkoutRec, culprit bool) OpRef {
	text := fmt.Sprintf("checkout %s key %s %s", co.hold, co.key, toTypeString(co.out))
	switch {
	case co.out == oOk:
		text += ": booking " + co.booking
	case co.code != "":
		text += ": " + co.code
	}
	return OpRef{Index: int(co.rec), Client: int(co.client), Op: "checkout", Type: toTypeString(co.out),
		Call: co.call, Ret: co.ret, Text: text, Culprit: culprit}
}

func (c *checks) holdRef(h *holdInfo) OpRef {
	return OpRef{Index: int(h.rec), Client: int(h.client), Op: "hold", Type: toTypeString(h.out),
		Call: h.call + c.ix.widen, Ret: h.ret - c.ix.widen, Text: fmt.Sprintf("hold %s (session %s) %s", h.name, h.session, h.out)}
}

func toTypeString(o outcome) string { return o.String() }

func clientsOf(ops []OpRef) []int {
	var cs []int
	for _, o := range ops {
		if !slices.Contains(cs, o.Client) {
			cs = append(cs, o.Client)
		}
	}
	slices.Sort(cs)
	return cs
}

// noDoubleSale: no seat (or general-admission unit) sold to two bookings, whether the clients
// were told so (two ok checkouts of different holds or bookings covering one seat) or the
// ledger says so (two bookings with one seat); no tier sold beyond its capacity.
func (c *checks) noDoubleSale() Verdict {
	v := Verdict{Check: CheckNoDoubleSale, Kind: Safety}
	var ex exampleSet
	// What clients were told.
	type sale struct {
		co   *checkoutRec
		hold int32
	}
	bySeat := make(map[int32][]sale)
	for i := range c.ix.checkouts {
		co := &c.ix.checkouts[i]
		if co.out != oOk {
			continue
		}
		id, ok := c.ix.holdIDs[co.hold]
		if !ok {
			continue
		}
		for _, k := range c.ix.hold(id).keys {
			bySeat[k] = append(bySeat[k], sale{co, id})
		}
	}
	v.Checked = len(bySeat)
	keys := make([]int32, 0, len(bySeat))
	for k := range bySeat {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sales := bySeat[k]
		first := sales[0]
		for _, s := range sales[1:] {
			if s.hold == first.hold && (s.co.booking == first.co.booking || s.co.booking == "" || first.co.booking == "") {
				continue
			}
			p := &c.ix.parts[k]
			ops := []OpRef{c.checkoutRef(first.co, false), c.checkoutRef(s.co, true)}
			ce := Counterexample{Subject: p.noun() + " " + c.ix.partName(p), Event: p.event, Seat: p.seat,
				Message: fmt.Sprintf("clients were told two sales: booking %q (hold %s) and booking %q (hold %s)",
					first.co.booking, first.co.hold, s.co.booking, s.co.hold),
				Ops: ops, Clients: clientsOf(ops)}
			c.at(&ce, max(first.co.ret, s.co.ret))
			ex.add(ce)
			break
		}
	}
	// What the ledgers say.
	for _, l := range c.ledgers {
		seen := make(map[string]*Booking)
		sold := make(map[string]int)
		for i := range l.Bookings {
			b := &l.Bookings[i]
			if b.Tier != "" && len(b.Seats) == 0 {
				sold[b.Tier] += b.Quantity
				continue
			}
			for _, s := range b.Seats {
				v.Checked++
				if prev, dup := seen[s]; dup && prev.BookingID != b.BookingID {
					ce := Counterexample{Subject: "seat " + c.seatName(l.EventID, s), Event: l.EventID, Seat: s,
						Message: fmt.Sprintf("the ledger has two bookings for it: %s (hold %s) and %s (hold %s)",
							prev.BookingID, prev.HoldID, b.BookingID, b.HoldID)}
					c.atWall(&ce, b.CreatedAt)
					ex.add(ce)
					continue
				}
				seen[s] = b
			}
		}
		for _, t := range l.GATiers {
			if n := sold[t.Name]; n > t.Capacity {
				ex.add(Counterexample{Subject: "tier " + t.Name, Event: l.EventID,
					Message: fmt.Sprintf("bookings sum to %d units of a tier of capacity %d", n, t.Capacity)})
			}
		}
	}
	if v.Checked == 0 {
		v.Status, v.Note = Skipped, "no confirmed sale in the history and no ledger"
		return v
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

// bookingsExist: every booking a client was told about (an ok checkout) is in the ledger, for
// the hold the client paid for and its seats; and no booking exists for a hold whose every
// checkout was refused in a way that promises nothing was booked.
func (c *checks) bookingsExist() Verdict {
	v := Verdict{Check: CheckBookingsExist, Kind: Safety}
	if len(c.ledgers) == 0 {
		v.Status, v.Note = Skipped, "no ledger given"
		return v
	}
	var ex exampleSet
	type holdFate struct {
		maybeBooked bool
		refused     []*checkoutRec
	}
	fates := make(map[string]*holdFate)
	for i := range c.ix.checkouts {
		co := &c.ix.checkouts[i]
		f := fates[co.hold]
		if f == nil {
			f = &holdFate{}
			fates[co.hold] = f
		}
		switch {
		case co.out != oFail:
			f.maybeBooked = true
		case co.code == codeHoldExpired || co.code == codeHoldLost || co.code == codePaymentDeclined:
			f.refused = append(f.refused, co)
		default:
			f.maybeBooked = true // hold_sold, in progress, conflicts: the hold may well be booked
		}
		if co.out != oOk {
			continue
		}
		var hi *holdInfo
		if id, ok := c.ix.holdIDs[co.hold]; ok {
			hi = c.ix.hold(id)
			if !c.covers(hi.event) {
				continue
			}
		}
		v.Checked++
		ops := []OpRef{c.checkoutRef(co, true)}
		ce := Counterexample{Subject: "booking " + co.booking, Ops: ops, Clients: clientsOf(ops)}
		if hi != nil {
			ce.Event = hi.event
		}
		c.at(&ce, co.ret)
		var b *Booking
		if co.booking != "" {
			b = c.bookingByID[co.booking]
		} else if bs := c.bookingByHold[co.hold]; len(bs) > 0 {
			b = bs[0]
		}
		switch {
		case b == nil:
			ce.Message = fmt.Sprintf("client %d was told hold %s was booked, but the ledger has no such booking", co.client, co.hold)
			ex.add(ce)
		case b.HoldID != "" && co.hold != "" && b.HoldID != co.hold:
			ce.Message = fmt.Sprintf("the ledger has the booking for hold %s, but client %d paid for hold %s", b.HoldID, co.client, co.hold)
			ex.add(ce)
		case hi != nil && hi.tier == "" && len(b.Seats) > 0 && !sameSeats(c.ix, hi, b.Seats):
			ce.Message = fmt.Sprintf("the ledger books seats %v, but hold %s was for %v", b.Seats, co.hold, holdSeats(c.ix, hi))
			ex.add(ce)
		}
	}
	for _, l := range c.ledgers {
		for i := range l.Bookings {
			b := &l.Bookings[i]
			f := fates[b.HoldID]
			if f == nil || f.maybeBooked || len(f.refused) == 0 {
				continue
			}
			v.Checked++
			var ops []OpRef
			for _, co := range f.refused {
				ops = append(ops, c.checkoutRef(co, false))
			}
			ce := Counterexample{Subject: "booking " + b.BookingID, Event: b.EventID,
				Message: fmt.Sprintf("the ledger books hold %s, but every checkout of it was refused (%s)", b.HoldID, f.refused[0].code),
				Ops:     ops, Clients: clientsOf(ops)}
			c.at(&ce, f.refused[len(f.refused)-1].ret)
			ex.add(ce)
		}
	}
	if v.Checked == 0 {
		v.Status, v.Note = Skipped, "no confirmed checkout in the history"
		return v
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

func holdSeats(ix *index, h *holdInfo) []string {
	out := make([]string, 0, len(h.keys))
	for _, k := range h.keys {
		out = append(out, ix.parts[k].seat)
	}
	slices.Sort(out)
	return out
}

func sameSeats(ix *index, h *holdInfo, seats []string) bool {
	a := holdSeats(ix, h)
	b := slices.Clone(seats)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// seatStates: every seat of the ledger is in exactly one known state, consistent with the
// bookings (sold exactly when a booking has it) and the holds (held only by a hold).
func (c *checks) seatStates() Verdict {
	v := Verdict{Check: CheckSeatStates, Kind: Safety}
	var ex exampleSet
	for _, l := range c.ledgers {
		if len(l.Seats) == 0 {
			continue
		}
		booked := make(map[string][]string)
		for _, b := range l.Bookings {
			for _, s := range b.Seats {
				booked[s] = append(booked[s], b.BookingID)
			}
		}
		heldBy := make(map[string]bool)
		for _, h := range l.Holds {
			if h.Status == "" || h.Status == holdStatusHeld {
				for _, s := range h.Seats {
					heldBy[s] = true
				}
			}
		}
		seen := make(map[string]bool, len(l.Seats))
		for _, s := range l.Seats {
			v.Checked++
			bad := func(format string, args ...any) {
				ex.add(Counterexample{Subject: "seat " + c.seatName(l.EventID, s.ID), Event: l.EventID, Seat: s.ID,
					Message: fmt.Sprintf(format, args...)})
			}
			if seen[s.ID] {
				bad("the seat map lists it more than once")
				continue
			}
			seen[s.ID] = true
			bs := booked[s.ID]
			switch s.Status {
			case seatSold:
				switch {
				case len(bs) == 0:
					bad("sold, but no booking has it")
				case s.BookingID != "" && !slices.Contains(bs, s.BookingID):
					bad("sold to booking %s, but the bookings with it are %v", s.BookingID, bs)
				}
			case seatAvailable, seatHeld:
				if len(bs) > 0 {
					bad("%s, but booking %s has it", s.Status, strings.Join(bs, ", "))
				} else if s.Status == seatHeld && len(l.Holds) > 0 && !heldBy[s.ID] {
					bad("held, but no active hold has it")
				}
			default:
				bad("status %q is not available, held or sold", s.Status)
			}
		}
		var missing []string
		for s := range booked {
			if !seen[s] {
				missing = append(missing, s)
			}
		}
		slices.Sort(missing)
		for _, s := range missing {
			ex.add(Counterexample{Subject: "seat " + c.seatName(l.EventID, s), Event: l.EventID, Seat: s,
				Message: fmt.Sprintf("booking %s has it, but the seat map does not", booked[s][0])})
		}
	}
	if v.Checked == 0 {
		v.Status = Skipped
		v.Note = "no ledger with a seat map given"
		return v
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

// gaCapacity: for every general-admission tier, sold + held + available == capacity with no
// negative count, and sold equals the units the bookings of the tier add up to.
func (c *checks) gaCapacity() Verdict {
	v := Verdict{Check: CheckGACapacity, Kind: Safety}
	var ex exampleSet
	for _, l := range c.ledgers {
		booked := make(map[string]int)
		hasBookings := make(map[string]bool)
		for _, b := range l.Bookings {
			if b.Tier != "" {
				booked[b.Tier] += b.Quantity
				hasBookings[b.Tier] = true
			}
		}
		for _, t := range l.GATiers {
			v.Checked++
			bad := func(format string, args ...any) {
				ex.add(Counterexample{Subject: "tier " + t.Name, Event: l.EventID, Message: fmt.Sprintf(format, args...)})
			}
			switch {
			case t.Sold < 0 || t.Held < 0 || t.Available < 0:
				bad("negative count: sold %d, held %d, available %d", t.Sold, t.Held, t.Available)
			case t.Sold+t.Held+t.Available != t.Capacity:
				bad("sold %d + held %d + available %d = %d, capacity is %d", t.Sold, t.Held, t.Available, t.Sold+t.Held+t.Available, t.Capacity)
			case hasBookings[t.Name] && booked[t.Name] != t.Sold:
				bad("sold %d, but its bookings add up to %d units", t.Sold, booked[t.Name])
			}
		}
	}
	if v.Checked == 0 {
		v.Status, v.Note = Skipped, "no ledger with general-admission tiers given"
		return v
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

// admission: when the waiting room was on for an event (some join in the history was
// admitted), every ok hold on it belongs to a session that joined the room (ok or unknown
// outcome) before the hold returned.
func (c *checks) admission() Verdict {
	v := Verdict{Check: CheckAdmission, Kind: Safety}
	if len(c.ix.roomOn) == 0 {
		v.Status, v.Note = Skipped, "the waiting room was off (no admitted join in the history)"
		return v
	}
	var ex exampleSet
	for id := int32(1); id < c.ix.nholds; id++ {
		h := c.ix.hold(id)
		if h.out != oOk || !c.ix.roomOn[h.event] {
			continue
		}
		v.Checked++
		call, ok := c.ix.joins[joinKey{h.event, h.session}]
		if ok && call <= h.ret-c.ix.widen {
			continue
		}
		ops := []OpRef{c.holdRef(h)}
		ce := Counterexample{Subject: "session " + h.session, Event: h.event,
			Message: fmt.Sprintf("hold %s was granted to a session the waiting room never admitted", h.name),
			Ops:     ops, Clients: clientsOf(ops)}
		c.at(&ce, h.ret-c.ix.widen)
		ex.add(ce)
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

// falseSellOuts reports the findings of scanIdle: the sold-out a buyer sees on an idle seat.
func (c *checks) falseSellOuts(rep *linReport) Verdict {
	v := Verdict{Check: CheckFalseSellOuts, Kind: Availability, Checked: rep.stats.Partitions}
	if rep.stats.Partitions == 0 {
		v.Status, v.Note = Skipped, "no seat operations in the history"
		return v
	}
	if rep.idleN == 0 {
		v.Status = Pass
		return v
	}
	v.Status, v.Count = Fail, rep.idleN
	for _, f := range rep.idle {
		p := &c.ix.parts[f.pid]
		h := c.ix.hold(f.hold)
		what := "a hold was refused as seat_unavailable"
		if f.y.kind == kRead {
			what = "a read showed it held"
		}
		idle := time.Duration(f.y.call - f.end)
		ops := []OpRef{c.holdRef(h), c.lc.opRef(&f.y, true)}
		ce := Counterexample{Subject: "seat " + c.ix.partName(p), Event: p.event, Seat: p.seat,
			Message: fmt.Sprintf("%s %s after its last hold %s ended unsold", what, idle.Round(time.Millisecond), h.name),
			Ops:     ops, Clients: clientsOf(ops)}
		c.at(&ce, f.y.call+c.ix.widen)
		v.Examples = append(v.Examples, ce)
	}
	v.Note = fmt.Sprintf("grace %s", c.opts.Grace)
	return v
}

// leakedHolds: seats (and general-admission units) still held at the end of the run by holds
// that had expired more than the grace period before it.
func (c *checks) leakedHolds() Verdict {
	v := Verdict{Check: CheckLeakedHolds, Kind: Availability}
	if len(c.ledgers) == 0 {
		v.Status, v.Note = Skipped, "no ledger given"
		return v
	}
	if c.ix.header == nil {
		v.Status, v.Note = Skipped, "the history has no header, so the end of the run has no wall-clock time"
		return v
	}
	endWall := c.ix.header.Start + c.ix.maxRet
	limit := time.Unix(0, endWall).Add(-c.opts.Grace - time.Duration(c.ix.skew))
	var ex exampleSet
	unjudged := 0
	for _, l := range c.ledgers {
		if len(l.Holds) == 0 {
			for _, s := range l.Seats {
				if s.Status == seatHeld {
					unjudged++
				}
			}
			for _, t := range l.GATiers {
				unjudged += min(t.Held, 1)
			}
			continue
		}
		covering := make(map[string][]*LedgerHold)
		active := make(map[string]int)
		for i := range l.Holds {
			h := &l.Holds[i]
			if h.Status != "" && h.Status != holdStatusHeld {
				continue
			}
			for _, s := range h.Seats {
				covering[s] = append(covering[s], h)
			}
			if h.Tier != "" && !h.ExpiresAt.Before(limit) {
				active[h.Tier] += h.Quantity
			}
		}
		for _, s := range l.Seats {
			if s.Status != seatHeld {
				continue
			}
			v.Checked++
			hs := covering[s.ID]
			if len(hs) == 0 {
				continue // seat-states reports a held seat without a hold
			}
			latest := hs[0]
			for _, h := range hs[1:] {
				if h.ExpiresAt.After(latest.ExpiresAt) {
					latest = h
				}
			}
			if latest.ExpiresAt.Before(limit) {
				ce := Counterexample{Subject: "seat " + c.seatName(l.EventID, s.ID), Event: l.EventID, Seat: s.ID,
					Message: fmt.Sprintf("still held at the end by hold %s, which expired %s before the run ended",
						latest.HoldID, time.Unix(0, endWall).Sub(latest.ExpiresAt).Round(time.Millisecond))}
				c.atWall(&ce, latest.ExpiresAt)
				ex.add(ce)
			}
		}
		for _, t := range l.GATiers {
			if t.Held == 0 {
				continue
			}
			v.Checked++
			if t.Held > active[t.Name] {
				ex.add(Counterexample{Subject: "tier " + t.Name, Event: l.EventID,
					Message: fmt.Sprintf("%d units still held at the end, but unexpired holds account for %d", t.Held, active[t.Name])})
			}
		}
	}
	switch {
	case v.Checked == 0 && unjudged > 0:
		v.Status, v.Note = Skipped, "the ledger lists held seats but no holds"
		return v
	case v.Checked == 0:
		v.Status, v.Note = Pass, "nothing held at the end"
		return v
	}
	v.Note = fmt.Sprintf("grace %s", c.opts.Grace)
	return ex.verdict(v, c.opts.MaxExamples)
}
