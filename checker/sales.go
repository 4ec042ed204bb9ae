package checker

import (
	"fmt"
	"slices"
)

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
