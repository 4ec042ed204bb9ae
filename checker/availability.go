package checker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
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

// asAnnounced returns h with the expiry its client was told, when the history has the hold's
// answer and that expiry is earlier than the one the ledger records: a system that answers one
// expiry and keeps another has leaked the hold, however consistent its own ledger is.
func (c *checks) asAnnounced(h *LedgerHold) *LedgerHold {
	id, ok := c.ix.holdIDs[h.HoldID]
	if !ok {
		return h
	}
	hi := c.ix.hold(id)
	told := hi.expiresAt
	if told == 0 && hi.known && c.ix.header != nil {
		told = c.ix.header.Start + hi.expiry
	}
	if told == 0 || !time.Unix(0, told).Before(h.ExpiresAt) {
		return h
	}
	a := *h
	a.ExpiresAt = time.Unix(0, told)
	return &a
}

// leakedHolds: seats (and general-admission units) still held at the end of the run by holds
// that had expired more than the grace period before it, by the expiry the system announced to
// the client (asAnnounced) or recorded, whichever is earlier.
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
			h = c.asAnnounced(h)
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
