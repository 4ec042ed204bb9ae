package checker

import "fmt"

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
