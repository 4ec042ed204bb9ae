package checker

import (
	"fmt"
	"slices"
	"strings"
)

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
