package checker

import (
	"fmt"
	"slices"
	"strings"
)

// chargeEvent is the event a charge's hold belongs to, "" when nobody knows the hold.
func (c *checks) chargeEvent(ch *Charge) string {
	if id, ok := c.ix.holdIDs[ch.Reference]; ok {
		return c.ix.hold(id).event
	}
	if h, ok := c.ledgerHolds[ch.Reference]; ok {
		return h.EventID
	}
	return ""
}

// chargesMatched: every charge the processor captured is matched by exactly one booking (and
// still captured) or by exactly one refund (and marked refunded), never both; every refund is
// of a known charge; every refund the booking system or a client was told about exists at the
// processor.
func (c *checks) chargesMatched() Verdict {
	v := Verdict{Check: CheckChargesMatched, Kind: Money}
	switch {
	case c.psp == nil:
		v.Status, v.Note = Skipped, "no processor ledger given"
		return v
	case len(c.ledgers) == 0:
		v.Status, v.Note = Skipped, "no ledger given: charges cannot be matched with bookings"
		return v
	}
	bookingsOf := make(map[string][]string)
	for _, l := range c.ledgers {
		for _, b := range l.Bookings {
			if b.ChargeID != "" {
				bookingsOf[b.ChargeID] = append(bookingsOf[b.ChargeID], b.BookingID)
			}
		}
	}
	refundsOf := make(map[string][]string)
	refundIDs := make(map[string]bool)
	for _, r := range c.psp.Refunds {
		refundsOf[r.ChargeID] = append(refundsOf[r.ChargeID], r.RefundID)
		refundIDs[r.RefundID] = true
	}
	var ex exampleSet
	charges := make(map[string]bool)
	for i := range c.psp.Charges {
		ch := &c.psp.Charges[i]
		charges[ch.ChargeID] = true
		if !c.covers(c.chargeEvent(ch)) {
			continue
		}
		v.Checked++
		bs, rs := bookingsOf[ch.ChargeID], refundsOf[ch.ChargeID]
		var msg string
		switch {
		case len(bs) == 0 && len(rs) == 0:
			msg = fmt.Sprintf("captured %d cents for hold %s, but neither a booking nor a refund matches it", ch.AmountCents, ch.Reference)
		case len(bs) > 1:
			msg = fmt.Sprintf("pays for %d bookings: %s", len(bs), strings.Join(bs, ", "))
		case len(rs) > 1:
			msg = fmt.Sprintf("refunded %d times: %s", len(rs), strings.Join(rs, ", "))
		case len(bs) == 1 && len(rs) == 1:
			msg = fmt.Sprintf("both booked (%s) and refunded (%s)", bs[0], rs[0])
		case len(rs) == 1 && ch.Status != chargeRefunded:
			msg = fmt.Sprintf("refunded by %s, but its status is %q", rs[0], ch.Status)
		case len(bs) == 1 && ch.Status != chargeCaptured:
			msg = fmt.Sprintf("pays for booking %s, but its status is %q", bs[0], ch.Status)
		default:
			continue
		}
		ce := Counterexample{Subject: "charge " + ch.ChargeID, Message: msg}
		c.atWall(&ce, ch.CreatedAt)
		ex.add(ce)
	}
	for _, r := range c.psp.Refunds {
		v.Checked++
		if !charges[r.ChargeID] {
			ex.add(Counterexample{Subject: "refund " + r.RefundID, Message: fmt.Sprintf("refunds charge %s, which the processor never captured", r.ChargeID)})
		}
	}
	for _, l := range c.ledgers {
		for _, r := range l.Refunds {
			v.Checked++
			if r.RefundID != "" && !refundIDs[r.RefundID] {
				ex.add(Counterexample{Subject: "refund " + r.RefundID, Event: l.EventID,
					Message: fmt.Sprintf("the booking system recorded it for hold %s, but the processor never made it", r.HoldID)})
			}
		}
	}
	for i := range c.ix.checkouts {
		co := &c.ix.checkouts[i]
		if co.refund == "" {
			continue
		}
		v.Checked++
		if !refundIDs[co.refund] {
			ops := []OpRef{c.checkoutRef(co, true)}
			ce := Counterexample{Subject: "refund " + co.refund, Ops: ops, Clients: clientsOf(ops),
				Message: fmt.Sprintf("client %d was told hold %s was refunded, but the processor never made the refund", co.client, co.hold)}
			c.at(&ce, co.ret)
			ex.add(ce)
		}
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

// idempotency: the processor never captured twice under one idempotency key nor kept two
// captures for one hold, and clients that retried a checkout with one key were never told
// two different bookings.
func (c *checks) idempotency() Verdict {
	v := Verdict{Check: CheckIdempotency, Kind: Money}
	var ex exampleSet
	if c.psp != nil {
		byKey := make(map[string][]string)
		byRef := make(map[string][]string)
		for i := range c.psp.Charges {
			ch := &c.psp.Charges[i]
			v.Checked++
			if ch.IdempotencyKey != "" {
				byKey[ch.IdempotencyKey] = append(byKey[ch.IdempotencyKey], ch.ChargeID)
			}
			if ch.Reference != "" && ch.Status == chargeCaptured {
				byRef[ch.Reference] = append(byRef[ch.Reference], ch.ChargeID)
			}
		}
		for _, k := range sortedKeys(byKey) {
			if ids := byKey[k]; len(ids) > 1 {
				ex.add(Counterexample{Subject: "key " + k, Message: fmt.Sprintf("the processor captured %d charges under one idempotency key: %s", len(ids), strings.Join(ids, ", "))})
			}
		}
		for _, r := range sortedKeys(byRef) {
			if ids := byRef[r]; len(ids) > 1 {
				ex.add(Counterexample{Subject: "hold " + r, Message: fmt.Sprintf("%d captured, unrefunded charges pay for one hold: %s", len(ids), strings.Join(ids, ", "))})
			}
		}
	}
	type attempt struct{ session, key string }
	told := make(map[attempt][]*checkoutRec)
	for i := range c.ix.checkouts {
		co := &c.ix.checkouts[i]
		if co.out != oOk || co.key == "" || co.booking == "" {
			continue
		}
		a := attempt{co.session, co.key}
		told[a] = append(told[a], co)
	}
	v.Checked += len(told)
	for _, cos := range told {
		for _, co := range cos[1:] {
			if co.booking != cos[0].booking {
				ops := []OpRef{c.checkoutRef(cos[0], false), c.checkoutRef(co, true)}
				ce := Counterexample{Subject: "key " + co.key, Ops: ops, Clients: clientsOf(ops),
					Message: fmt.Sprintf("one idempotency key answered two bookings: %s and %s", cos[0].booking, co.booking)}
				c.at(&ce, co.ret)
				ex.add(ce)
				break
			}
		}
	}
	if v.Checked == 0 {
		v.Status, v.Note = Skipped, "no processor ledger and no confirmed checkout with a key"
		return v
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

// bookingsCharged: every booking is paid by a charge the processor captured and did not
// refund, for the booking's hold and amount.
func (c *checks) bookingsCharged() Verdict {
	v := Verdict{Check: CheckBookingsCharged, Kind: Money}
	switch {
	case len(c.ledgers) == 0:
		v.Status, v.Note = Skipped, "no ledger given"
		return v
	case c.psp == nil:
		v.Status, v.Note = Skipped, "no processor ledger given"
		return v
	}
	charges := make(map[string]*Charge, len(c.psp.Charges))
	for i := range c.psp.Charges {
		charges[c.psp.Charges[i].ChargeID] = &c.psp.Charges[i]
	}
	var ex exampleSet
	for _, l := range c.ledgers {
		for i := range l.Bookings {
			b := &l.Bookings[i]
			v.Checked++
			ch := charges[b.ChargeID]
			var msg string
			switch {
			case b.ChargeID == "":
				msg = "has no charge"
			case ch == nil:
				msg = fmt.Sprintf("is paid by charge %s, which the processor never captured", b.ChargeID)
			case ch.Status != chargeCaptured:
				msg = fmt.Sprintf("is paid by charge %s, whose status is %q", b.ChargeID, ch.Status)
			case ch.Reference != "" && b.HoldID != "" && ch.Reference != b.HoldID:
				msg = fmt.Sprintf("is for hold %s, but its charge %s paid for hold %s", b.HoldID, ch.ChargeID, ch.Reference)
			case ch.AmountCents != b.AmountCents:
				msg = fmt.Sprintf("costs %d cents, but its charge %s captured %d", b.AmountCents, ch.ChargeID, ch.AmountCents)
			default:
				continue
			}
			ce := Counterexample{Subject: "booking " + b.BookingID, Event: b.EventID, Message: "the booking " + msg}
			c.atWall(&ce, b.CreatedAt)
			ex.add(ce)
		}
	}
	if v.Checked == 0 {
		v.Status, v.Note = Pass, "no bookings"
		return v
	}
	return ex.verdict(v, c.opts.MaxExamples)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
