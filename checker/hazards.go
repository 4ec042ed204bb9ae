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

// measure counts every hazard of the history in ix. It must run after finalize and before the
// linearizability check, which consumes the seats' operations.
func measure(ix *index) Coverage {
	counts := make(map[history.Hazard]int)
	peaks := make(map[history.Hazard]int)

	// The seats: concurrent hold attempts and the last attempt on each.
	lastCall := make([]int64, len(ix.parts))
	var spans []span
	for k := range ix.parts {
		p := &ix.parts[k]
		spans = spans[:0]
		lastCall[k] = -1 << 63
		for i := range p.ops {
			if o := &p.ops[i]; o.kind == kHold {
				call := o.call + ix.widen
				spans = append(spans, span{call: call, ret: o.ret - ix.widen})
				lastCall[k] = max(lastCall[k], call)
			}
		}
		if p.unit {
			continue
		}
		n, peak, _ := overlaps(spans)
		counts[history.ConcurrentSeatHolds] += n
		if n > 0 {
			peaks[history.ConcurrentSeatHolds] = max(peaks[history.ConcurrentSeatHolds], peak)
		}
	}

	// The tiers.
	for _, spans := range ix.hz.tiers {
		n, peak, hit := overlaps(spans)
		counts[history.ConcurrentTierHolds] += n
		if n > 0 {
			peaks[history.ConcurrentTierHolds] = max(peaks[history.ConcurrentTierHolds], peak)
		}
		for i, s := range spans {
			if s.soldOut && hit[i] {
				counts[history.TierSoldOut]++
				break
			}
		}
	}

	// What happened to each hold.
	facts := make(map[int32]*holdFacts)
	fact := func(id int32) *holdFacts {
		f := facts[id]
		if f == nil {
			f = &holdFacts{}
			facts[id] = f
		}
		return f
	}
	for name, t := range ix.hz.released {
		if id, ok := ix.holdIDs[name]; ok {
			fact(id).released = t
		}
	}
	lastByKey := make(map[string]int64)
	expiredMid := make(map[int32]bool)
	confirmedLate := make(map[int32]bool)
	for i := range ix.checkouts {
		co := &ix.checkouts[i]
		if co.key != "" {
			if t, ok := lastByKey[co.key]; !ok || co.call > t {
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
			if co.out == oOk && (f.soldAt == 0 || co.ret < f.soldAt) {
				f.soldAt = co.ret
			}
		}
		if !h.known {
			continue
		}
		if co.call < h.expiry && h.expiry < co.ret {
			expiredMid[id] = true
		}
		if co.out == oOk && co.ret > h.expiry {
			confirmedLate[id] = true
		}
	}
	counts[history.ExpiredMidCheckout] = len(expiredMid)
	counts[history.ConfirmedAfterExpiry] = len(confirmedLate)

	// Checkouts against the fault windows, and the retries of unknown outcomes.
	var payment, crash, losing []*FaultWindow
	for i := range ix.faults {
		w := &ix.faults[i]
		if slices.Contains(ix.opts.PaymentFaults, w.Name) {
			payment = append(payment, w)
		}
		if slices.Contains(ix.opts.CrashFaults, w.Name) || w.Params[history.ParamFailpoint] != "" {
			crash = append(crash, w)
		}
		if slices.Contains(ix.opts.HoldLossFaults, w.Name) {
			losing = append(losing, w)
		}
	}
	inAny := func(call, ret int64, ws []*FaultWindow) bool {
		for _, w := range ws {
			if overlapsWindow(call, ret, w) {
				return true
			}
		}
		return false
	}
	for i := range ix.checkouts {
		co := &ix.checkouts[i]
		if co.out == oInfo {
			if co.key != "" && lastByKey[co.key] > co.call {
				counts[history.UnknownCheckoutRetried]++
			}
			if inAny(co.call, co.ret, payment) {
				counts[history.PSPAnswerLost]++
			}
		}
		if inAny(co.call, co.ret, crash) {
			counts[history.CrashMidCheckout]++
		}
	}

	// Holds: expired unbought, their seats held again, live when state was lost.
	end := ix.maxRet
	for id := int32(1); id < ix.nholds; id++ {
		h := ix.hold(id)
		if h.out != oOk {
			continue
		}
		f := facts[id]
		if f == nil {
			f = &holdFacts{}
		}
		call := h.call + ix.widen
		if h.known && h.expiry < end &&
			!(f.released != 0 && f.released < h.expiry) && !(f.bought && f.firstCheckout < h.expiry) {
			counts[history.HoldsExpired]++
		}
		if h.tier == "" && !f.bought {
			over := f.over()
			ok := over != 0
			if h.known && (!ok || h.expiry < over) {
				over, ok = h.expiry, true
			}
			if ok && slices.ContainsFunc(h.keys, func(k int32) bool { return lastCall[k] > over }) {
				counts[history.SeatReheld]++
			}
		}
		for _, w := range losing {
			ended := (f.over() != 0 && f.over() < w.Start) || (f.soldAt != 0 && f.soldAt < w.Start)
			if call <= w.End && h.known && w.Start < h.expiry && !ended {
				counts[history.HoldsAtStateLoss]++
				break
			}
		}
	}

	// Holds without a token, on the events whose waiting room was on.
	for event, n := range ix.hz.tokenless {
		if ix.roomOn[event] {
			counts[history.HoldsWithoutToken] += n
		}
	}

	cov := make(Coverage, 0, len(history.Hazards()))
	for _, h := range history.Hazards() {
		cov = append(cov, HazardCount{Hazard: h, Count: counts[h], Peak: peaks[h], Checks: checksFed(h)})
	}
	return cov
}
