package checker

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

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
