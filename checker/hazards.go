package checker

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"stampede/history"
)

// Measuring the hazards. Most counts come from the index once it is final (holds with their
// expiries, checkouts, the seats' operations, the fault windows); hazardLog keeps, as the
// records stream by, the little the index drops: hold attempts on general-admission tiers
// (the index keeps no refusal of a tier), holds without an admission token, and ok releases.
// Times are on the run axis as recorded, without the widening of merged shards.

// tierKey names a general-admission tier of one event.
type tierKey struct{ event, tier string }

// span is one operation's interval; soldOut marks a tier hold refused as sold_out.
type span struct {
	call, ret int64
	soldOut   bool
}

// hazardLog is what the hazards need from the records beyond the index.
type hazardLog struct {
	// tiers are the hold attempts that reached each tier's inventory.
	tiers map[tierKey][]span
	// tokenless counts, per event, the hold attempts sent without an admission token.
	tokenless map[string]int
	// released is the earliest call of an ok release, per hold id.
	released map[string]int64
}

func newHazardLog() hazardLog {
	return hazardLog{tiers: make(map[tierKey][]span), tokenless: make(map[string]int), released: make(map[string]int64)}
}

// reachedInventory reports whether a hold attempt got as far as the seats or the tier: it was
// granted, its outcome is unknown, or the inventory refused it. Refusals before the inventory
// (not admitted, bad requests) raced nobody.
func reachedInventory(r *history.Record) bool {
	return r.Type != history.Fail || r.Out.Code == codeSeatUnavailable || r.Out.Code == codeSoldOut
}

// hold takes a hold record.
func (l *hazardLog) hold(r *history.Record) {
	if r.In.Token == "" {
		l.tokenless[r.In.Event]++
	}
	if r.In.Tier != "" && reachedInventory(r) {
		k := tierKey{r.In.Event, r.In.Tier}
		l.tiers[k] = append(l.tiers[k], span{call: r.Call, ret: r.Ret, soldOut: r.Type == history.Fail && r.Out.Code == codeSoldOut})
	}
}

// release takes a release record.
func (l *hazardLog) release(r *history.Record) {
	if r.Type != history.Ok || r.In.HoldID == "" {
		return
	}
	if t, ok := l.released[r.In.HoldID]; !ok || r.Call < t {
		l.released[r.In.HoldID] = r.Call
	}
}

// overlaps counts the spans that overlap another (each was called before the other returned),
// marks them in hit, and returns the peak: the most spans in flight at one instant. A span
// that returned at the very moment another was called does not overlap it.
func overlaps(spans []span) (n, peak int, hit []bool) {
	if len(spans) == 0 {
		return 0, 0, nil
	}
	slices.SortFunc(spans, func(a, b span) int {
		if c := cmp.Compare(a.call, b.call); c != 0 {
			return c
		}
		return cmp.Compare(a.ret, b.ret)
	})
	rets := make([]int64, len(spans))
	for i, s := range spans {
		rets[i] = s.ret
	}
	slices.Sort(rets)
	hit = make([]bool, len(spans))
	peak = 1
	before := int64(math.MinInt64) // the latest return among spans called strictly earlier
	for i := 0; i < len(spans); {
		// The group of spans called at one instant.
		j := i
		for j < len(spans) && spans[j].call == spans[i].call {
			j++
		}
		t := spans[i].call
		longSame := 0 // spans of the group that last beyond their call
		for k := i; k < j; k++ {
			if spans[k].ret > t {
				longSame++
			}
		}
		var next int64 = -1
		if j < len(spans) {
			next = spans[j].call
		}
		for k := i; k < j; k++ {
			s := spans[k]
			switch {
			case before > t:
				hit[k] = true // an earlier one was still in flight
			case s.ret > t && longSame > 1:
				hit[k] = true // another called at the same instant
			case next >= 0 && next < s.ret:
				hit[k] = true // a later one was called before this returned
			}
		}
		// In flight at t: called by t and not yet returned.
		ended := sort.Search(len(rets), func(x int) bool { return rets[x] > t })
		peak = max(peak, j-ended)
		for k := i; k < j; k++ {
			before = max(before, spans[k].ret)
		}
		i = j
	}
	for _, h := range hit {
		if h {
			n++
		}
	}
	return n, peak, hit
}

// overlapsWindow reports whether [call, ret] meets the fault window w (both ends included: an
// instantaneous fault is a window of one instant).
func overlapsWindow(call, ret int64, w *FaultWindow) bool {
	return call <= w.End && w.Start <= ret
}

// holdFacts is what the checkouts and releases say about one hold.
type holdFacts struct {
	// bought is set when a checkout of the hold was answered ok or has an unknown outcome;
	// firstCheckout is the earliest call of such a checkout.
	bought        bool
	firstCheckout int64
	// soldAt is the earliest return of an ok checkout (0 when none).
	soldAt int64
	// released is the earliest call of an ok release; gone the earliest call of a checkout
	// refused as hold_expired or hold_lost (0 when none).
	released, gone int64
}

// over returns the earliest call of an operation that ended the hold unsold, or 0.
func (f *holdFacts) over() int64 {
	if f.released == 0 || (f.gone != 0 && f.gone < f.released) {
		return f.gone
	}
	return f.released
}

// earliest lowers *t to call, 0 meaning unset.
func earliest(t *int64, call int64) {
	if *t == 0 || call < *t {
		*t = call
	}
}

// tally is the counts of one measure.
type tally struct {
	ix            *index
	counts, peaks map[history.Hazard]int
	// lastCall is the latest call of a hold attempt on each partition (seat).
	lastCall []int64
	spans    []span
}

// newTally starts measuring the hazards of ix, which must be final. Every partition must then
// go through seat while its operations are loaded (before the linearizability check consumes
// them), and finish counts the rest.
func newTally(ix *index) *tally {
	return &tally{ix: ix, counts: make(map[history.Hazard]int), peaks: make(map[history.Hazard]int),
		lastCall: make([]int64, len(ix.parts))}
}

// finish counts the hazards that do not need the seats' operations and returns the coverage.
func (t *tally) finish() Coverage {
	ix := t.ix
	lastCall := t.lastCall
	t.tiers()
	facts := t.checkouts()
	t.holds(facts, lastCall)
	for event, n := range ix.hz.tokenless {
		if ix.roomOn[event] {
			t.counts[history.HoldsWithoutToken] += n
		}
	}
	cov := make(Coverage, 0, len(history.Hazards()))
	for _, h := range history.Hazards() {
		cov = append(cov, HazardCount{Hazard: h, Count: t.counts[h], Peak: t.peaks[h], Checks: checksFed(h)})
	}
	return cov
}

// concurrent adds the overlapping spans of one seat or tier to hazard h.
func (t *tally) concurrent(h history.Hazard, spans []span) []bool {
	n, peak, hit := overlaps(spans)
	t.counts[h] += n
	if n > 0 {
		t.peaks[h] = max(t.peaks[h], peak)
	}
	return hit
}

// seat counts the concurrent hold attempts on partition k and notes the latest call of a hold
// attempt on it.
func (t *tally) seat(k int32) {
	ix := t.ix
	p := &ix.parts[k]
	t.spans = t.spans[:0]
	t.lastCall[k] = math.MinInt64
	for i := range p.ops {
		if o := &p.ops[i]; o.kind == kHold {
			call := o.call + ix.widen
			t.spans = append(t.spans, span{call: call, ret: o.ret - ix.widen})
			t.lastCall[k] = max(t.lastCall[k], call)
		}
	}
	if !p.unit {
		t.concurrent(history.ConcurrentSeatHolds, t.spans)
	}
}

// tiers counts the concurrent hold attempts on each tier and the tiers sold out under them.
func (t *tally) tiers() {
	for _, spans := range t.ix.hz.tiers {
		hit := t.concurrent(history.ConcurrentTierHolds, spans)
		for i, s := range spans {
			if s.soldOut && hit[i] {
				t.counts[history.TierSoldOut]++
				break
			}
		}
	}
}

// checkouts counts the hazards of the checkouts (expiries during and before them, retries of
// unknown outcomes, those caught in payment and crash windows) and returns what they and the
// releases say about each hold.
func (t *tally) checkouts() map[int32]*holdFacts {
	ix := t.ix
	facts := make(map[int32]*holdFacts)
	fact := func(id int32) *holdFacts {
		f := facts[id]
		if f == nil {
			f = &holdFacts{}
			facts[id] = f
		}
		return f
	}
	for name, call := range ix.hz.released {
		if id, ok := ix.holdIDs[name]; ok {
			fact(id).released = call
		}
	}
	lastByKey := make(map[string]int64)
	expiredMid := make(map[int32]bool)
	confirmedLate := make(map[int32]bool)
	for i := range ix.checkouts {
		co := &ix.checkouts[i]
		if co.key != "" {
			if c, ok := lastByKey[co.key]; !ok || co.call > c {
				lastByKey[co.key] = co.call
			}
		}
		id, ok := ix.holdIDs[co.hold]
		if !ok || co.hold == "" {
			continue
		}
		h := ix.hold(id)
		if co.out == oFail && (co.code == codeHoldExpired || co.code == codeHoldLost) {
			earliest(&fact(id).gone, co.call)
		}
		if co.out != oFail {
			f := fact(id)
			if !f.bought || co.call < f.firstCheckout {
				f.firstCheckout = co.call
			}
			f.bought = true
			if co.out == oOk {
				earliest(&f.soldAt, co.ret)
			}
		}
		if h.known && co.call < h.expiry && h.expiry < co.ret {
			expiredMid[id] = true
		}
		if h.known && co.out == oOk && co.ret > h.expiry {
			confirmedLate[id] = true
		}
	}
	t.counts[history.ExpiredMidCheckout] = len(expiredMid)
	t.counts[history.ConfirmedAfterExpiry] = len(confirmedLate)

	payment := ix.windows(func(w *FaultWindow) bool { return slices.Contains(ix.opts.PaymentFaults, w.Name) })
	crash := ix.windows(func(w *FaultWindow) bool {
		return slices.Contains(ix.opts.CrashFaults, w.Name) || w.Params[history.ParamFailpoint] != ""
	})
	for i := range ix.checkouts {
		co := &ix.checkouts[i]
		if co.out == oInfo {
			if co.key != "" && lastByKey[co.key] > co.call {
				t.counts[history.UnknownCheckoutRetried]++
			}
			if anyWindow(co.call, co.ret, payment) {
				t.counts[history.PSPAnswerLost]++
			}
		}
		if anyWindow(co.call, co.ret, crash) {
			t.counts[history.CrashMidCheckout]++
		}
	}
	return facts
}

// holds counts the holds that expired unbought, whose seats were held again after they ended,
// and that were live when a fault lost the state that keeps them.
func (t *tally) holds(facts map[int32]*holdFacts, lastCall []int64) {
	ix := t.ix
	losing := ix.windows(func(w *FaultWindow) bool { return slices.Contains(ix.opts.HoldLossFaults, w.Name) })
	for id := int32(1); id < ix.nholds; id++ {
		h := ix.hold(id)
		if h.out != oOk {
			continue
		}
		f := facts[id]
		if f == nil {
			f = &holdFacts{}
		}
		if h.known && h.expiry < ix.maxRet &&
			!(f.released != 0 && f.released < h.expiry) && !(f.bought && f.firstCheckout < h.expiry) {
			t.counts[history.HoldsExpired]++
		}
		if h.tier == "" && !f.bought {
			over := f.over()
			if h.known && (over == 0 || h.expiry < over) {
				over = h.expiry
			}
			if over != 0 && slices.ContainsFunc(h.keys, func(k int32) bool { return lastCall[k] > over }) {
				t.counts[history.SeatReheld]++
			}
		}
		call := h.call + ix.widen
		for _, w := range losing {
			ended := (f.over() != 0 && f.over() < w.Start) || (f.soldAt != 0 && f.soldAt < w.Start)
			if call <= w.End && h.known && w.Start < h.expiry && !ended {
				t.counts[history.HoldsAtStateLoss]++
				break
			}
		}
	}
}

// windows returns the fault windows that match.
func (ix *index) windows(match func(*FaultWindow) bool) []*FaultWindow {
	var out []*FaultWindow
	for i := range ix.faults {
		if match(&ix.faults[i]) {
			out = append(out, &ix.faults[i])
		}
	}
	return out
}

// anyWindow reports whether [call, ret] meets one of the windows.
func anyWindow(call, ret int64, ws []*FaultWindow) bool {
	return slices.ContainsFunc(ws, func(w *FaultWindow) bool { return overlapsWindow(call, ret, w) })
}
