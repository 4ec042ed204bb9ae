package checker

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// reduce removes operations whose legality follows from the rest, and reports whether an
// operation after a confirmed sale is impossible. ops must be sorted by call. The reductions
// keep the verdict exact (the reduced history is linearizable exactly when the full one is):
//
//   - After the first confirmed sale returns (a checkout ok with a booking id, at time T), the
//     seat is sold to that booking forever, since a sold seat never becomes available. Every
//     operation called after T is ordered after the sale, so it is checked alone against that
//     state instead of being searched; only the operations called by T go to porcupine. The
//     first impossible one is appended to them, which makes that history illegal.
//   - An observer that needs the seat not available (a hold refused with seat_unavailable) or
//     held (a read saying held), called after hold H returned and returned before H could
//     expire or be released (or, for a read, checked out), must find the seat held by H or
//     sold in every linearization of the others; such observers are dropped. This is what
//     keeps hot seats cheap: the crowd refused while one buyer pays never reaches porcupine.
//   - An observer whose interval reaches an ok hold H's return and begins before H could end
//     (see overlapsHold) is dropped too, even when it began before H was called or H was
//     answered after it could expire: it fits right after H in any linearization of the rest.
//   - More generally, every operation called after an ok hold H returned and returned before
//     H could end (its effective expiry, or the first call of a release or checkout of H) is
//     decided on its own against "held by H" (certainHolds): one that is impossible there makes
//     the seat illegal, whatever the operations of unknown outcome around it did, and one that
//     leaves the seat held by H is dropped. This is what decides a hot seat full of unknown
//     outcomes: a hold granted, or a seat shown available, while another hold certainly held
//     it is caught without any search.
//
// When the seat is found illegal without a search, the returned operations are a witness: a
// short history that is illegal by itself (the sale or the hold and the operation that
// contradicts it), for the explanation. The returned slice reuses ops' memory.
func (lc *linChecker) reduce(ops []seatOp) ([]seatOp, bool) {
	// The sale.
	cut := len(ops)
	offender := -1
	var sale *seatOp
	for i := range ops {
		o := &ops[i]
		if o.kind == kCheckout && o.out == oOk && o.booking != 0 && (sale == nil || o.ret < sale.ret) {
			sale = o
		}
	}
	if sale != nil {
		t := sale.ret
		cut = sort.Search(len(ops), func(i int) bool { return ops[i].call > t })
		sold := seatState{st: stSold, hold: sale.hold, booking: sale.booking, floor: math.MinInt64}
		var buf [6]seatState
		for j := cut; j < len(ops); j++ {
			if len(lc.sm.next(sold, &ops[j], buf[:0])) == 0 && (offender < 0 || ops[j].ret < ops[offender].ret) {
				offender = j
			}
		}
	}
	if offender >= 0 {
		// The witness: the hold that bought the seat, the sale and the offender. The sale sold
		// the seat to its hold, and the offender, called after the sale returned, is
		// impossible in that state, so the three are illegal by themselves. Without the hold's
		// own operation (a hold record that named another id) the reduced seat is the witness.
		// This comes before the reductions below, which overwrite ops.
		for i := range ops[:cut] {
			if o := &ops[i]; o.kind == kHold && o.hold == sale.hold && o.out == oOk {
				h, s, off := *o, *sale, ops[offender]
				ops[0], ops[1], ops[2] = h, s, off
				return ops[:3], true
			}
		}
	}
	prefix := ops[:cut]

	// Hold windows.
	type window struct {
		start, endNA, endHeld int64
		at                    int // the hold's operation in prefix
	}
	relCall := make(map[int32]int64)
	coCall := make(map[int32]int64)
	for i := range ops {
		o := &ops[i]
		if o.hold == 0 {
			continue
		}
		switch o.kind {
		case kRelease:
			if c, ok := relCall[o.hold]; !ok || o.call < c {
				relCall[o.hold] = o.call
			}
		case kCheckout:
			if c, ok := coCall[o.hold]; !ok || o.call < c {
				coCall[o.hold] = o.call
			}
			// A checkout refused as hold_lost or hold_expired, or of unknown outcome, may free
			// the seat as a release does (seatModel.apply).
			if o.out == oInfo || o.out == oFail && o.code == fGone {
				if c, ok := relCall[o.hold]; !ok || o.call < c {
					relCall[o.hold] = o.call
				}
			}
		}
	}
	var wins []window
	observers := 0
	for i := range prefix {
		o := &prefix[i]
		switch {
		case o.kind == kHold && o.out == oOk:
			eff := lc.ix.hold(o.hold).eff
			w := window{start: o.ret, endNA: eff, endHeld: eff, at: i}
			if c, ok := relCall[o.hold]; ok {
				w.endNA = min(w.endNA, c)
				w.endHeld = min(w.endHeld, c)
			}
			if c, ok := coCall[o.hold]; ok {
				w.endHeld = min(w.endHeld, c)
			}
			// Kept even when empty (a hold answered after it could expire): an observer
			// overlapping its return still fits right after it.
			wins = append(wins, w)
		case isObserver(o):
			observers++
		}
	}
	kept := prefix
	if len(wins) > 0 {
		slices.SortFunc(wins, func(a, b window) int { return cmp.Compare(a.start, b.start) })
		// maxNA[i], maxHeld[i]: the latest window end among wins[:i+1]; heldBy[i] the window
		// that reaches maxHeld[i].
		maxNA := make([]int64, len(wins))
		maxHeld := make([]int64, len(wins))
		heldBy := make([]int, len(wins))
		for i, w := range wins {
			maxNA[i], maxHeld[i], heldBy[i] = w.endNA, w.endHeld, i
			if i > 0 {
				maxNA[i] = max(maxNA[i], maxNA[i-1])
				if maxHeld[i-1] > maxHeld[i] {
					maxHeld[i], heldBy[i] = maxHeld[i-1], heldBy[i-1]
				}
			}
		}
		drop, w, o, ok := lc.certainHolds(prefix, func(call, ret int64) (int, bool) {
			j := sort.Search(len(wins), func(k int) bool { return wins[k].start >= call }) - 1
			if j < 0 || ret >= maxHeld[j] {
				return 0, false
			}
			return wins[heldBy[j]].at, true
		})
		if ok {
			// The witness: the hold, then the operation that contradicts it.
			prefix[0], prefix[1] = prefix[w], prefix[o]
			return prefix[:2], true
		}
		kept = prefix[:0]
		for i := range prefix {
			o := prefix[i]
			if drop[i] {
				continue // leaves the seat held: see certainHolds
			}
			if isObserver(&o) {
				// The windows that started by the observer's return: one that ends after its
				// call lets it fit right after its hold (see overlapsHold).
				j := sort.Search(len(wins), func(k int) bool { return wins[k].start > o.ret }) - 1
				if j >= 0 {
					end := maxNA[j]
					if o.kind == kRead {
						end = maxHeld[j]
					}
					if o.call < end {
						continue
					}
				}
			}
			kept = append(kept, o)
		}
	}
	kept = dropNested(kept)
	if offender >= 0 {
		// The offender sits after the cut, so it does not overlap what kept reuses.
		kept = append(kept, ops[offender])
	}
	return kept, offender >= 0
}

// certainHolds decides, on their own, the operations that lie inside the certain lifetime of
// an ok hold. inside(call, ret) returns the position in ops of an ok hold H with H.ret < call
// and ret < end(H), where end(H) is the earlier of H's effective expiry and the first call of
// a release or checkout of H (any outcome), if there is one.
//
// Why this is sound. H took the seat at some point within its own interval, so in every
// linearization it comes before o (o was called after H returned). From then on only an
// operation on H itself (a release, a checkout that sells or gives up the seat) or H's expiry
// can change the seat's state: holds need the seat available, checkouts and releases of other
// holds are refused or no-ops while H holds it, reads and refusals change nothing. Operations
// on H are all called after o returned, so they come after o. H's expiry may only come
// before an operation returning at or after its effective expiry, and it raises the seat's
// floor to that expiry, which every later operation must return after; o returns before it,
// so an expiry ordered before o leaves o impossible. Hence in every linearization o finds
// the seat held by H (with a floor no later than o's return, as every step before it had to
// return after the floor). So:
//   - if o is impossible from "held by H" (a hold granted, a seat shown available or sold, a
//     checkout of another hold confirmed), no linearization exists: the seat is illegal, and
//     (H, o) is returned as the witness;
//   - if o leaves "held by H" as it was (a refusal, a read showing held, the no-op of another
//     hold's release or refused checkout), it is dropped: any
//     linearization of the others orders H and, after it, every operation that returned
//     before o was called, with the seat still held by H (the same argument), so o fits right
//     after the last of them and changes nothing after it; and removing it from a
//     linearization of the whole history leaves a linearization of the rest.
//
// Operations of unknown outcome return at the horizon and are never inside a lifetime. It
// returns which operations to drop, or, when one is impossible, the positions of the hold
// and of the earliest-returning impossible operation, and true.
func (lc *linChecker) certainHolds(ops []seatOp, inside func(call, ret int64) (int, bool)) (drop []bool, hold, offender int, illegal bool) {
	drop = make([]bool, len(ops))
	var buf [6]seatState
	offW, offO := -1, -1
	for i := range ops {
		o := &ops[i]
		if o.out == oInfo {
			continue
		}
		w, ok := inside(o.call, o.ret)
		if !ok {
			continue
		}
		h := &ops[w]
		held := seatState{st: stHeld, hold: h.hold, expiry: lc.ix.hold(h.hold).eff, floor: math.MinInt64}
		next := lc.sm.next(held, o, buf[:0])
		switch {
		case len(next) == 0:
			if offO < 0 || o.ret < ops[offO].ret {
				offW, offO = w, i
			}
		case len(next) == 1 && next[0] == held:
			drop[i] = true
		}
	}
	if offO >= 0 {
		return nil, offW, offO, true
	}
	return drop, 0, 0, false
}

// overlapsHold is why an observer o (a refusal, or a read saying held) is dropped when, for
// some ok hold H, o.ret >= H.ret and o.call < end(H), end(H) being the earlier of H's
// effective expiry and the first call of a release or of a checkout of H that may free the
// seat (of any checkout, for a read, which also needs the seat not sold). Dropping an
// operation only relaxes a history; what must be shown is that every linearization L of the
// rest extends to one with o. Put o right after H and after every operation that returned
// before o was called (the real-time order asks no more of o's predecessors). Those
// operations returned before end(H): none is an operation on H that may end it (those are
// called at end(H) or later, after they returned, so they come after them), and H cannot
// expire before any of them (that needs a return at or after its effective expiry), and
// nothing else changes a seat H holds (the chain's holds need it available). So o finds the
// seat held by H, as it needs, with a floor no later than H's return, hence than o's. No
// operation that must follow o (called after o.ret >= H.ret) comes before that point: it
// follows H, and every operation that returned before o's call, by the real-time order. So
// the order is a linearization with o, and the verdict is unchanged.
//
// dropNested removes every observer whose interval contains the interval of another observer
// at least as demanding (a read saying held is as demanding as a refusal, which only needs
// the seat not available): it can be ordered right beside that one, where the state already
// satisfies it, and its wider interval constrains nothing more. Identical intervals keep one.
// ops must be sorted by call; the result reuses its memory.
func dropNested(ops []seatOp) []seatOp {
	n := observers(ops)
	if n < 2 {
		return ops
	}
	drop := make([]bool, len(ops))
	// Scan by decreasing call (then increasing ret, so that of identical intervals the first
	// seen is kept), tracking the smallest return among observers called at or after this one.
	idx := make([]int, 0, n)
	for i := range ops {
		if isObserver(&ops[i]) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(ops[b].call, ops[a].call); c != 0 {
			return c
		}
		return cmp.Compare(ops[a].ret, ops[b].ret)
	})
	minAll, minHeld := int64(math.MaxInt64), int64(math.MaxInt64)
	for _, i := range idx {
		o := &ops[i]
		held := o.kind == kRead
		if (held && minHeld <= o.ret) || (!held && minAll <= o.ret) {
			drop[i] = true
			continue
		}
		minAll = min(minAll, o.ret)
		if held {
			minHeld = min(minHeld, o.ret)
		}
	}
	kept := ops[:0]
	for i := range ops {
		if !drop[i] {
			kept = append(kept, ops[i])
		}
	}
	return kept
}

// foldAnon takes out of ops (sorted by call) the holds of unknown outcome whose id nobody
// learned and returns them as the chain of the seat's model, in the order the model may take
// them, with the remaining operations (reusing ops' memory).
//
// Such a hold is what makes a hot seat expensive to search: porcupine must consider it
// before and after every operation called after it, as it never returned; a run that loses
// a fifth of its answers leaves hundreds of them on one seat. Folded, each is a step the
// model may take just before any operation (applyChain), and the search no longer branches
// on them.
//
// Why the verdict is the same. A hold of unknown outcome either took the seat at some point of
// the linearization after which every operation returns at or after its call, or did nothing
// (it can always be put last). applyChain allows exactly the first, raising the floor to the
// call so that the operations after it return after it; so every linearization the folded
// model finds is one of the full history: folding never makes a violation pass. Conversely,
// the chain holds are ordered by call with expiries that never decrease, so each may do
// whatever a later one may (it may be placed wherever the later one can, and expire
// whenever it can): in a linearization of the full history, the holds that took the seat can
// be swapped for the earliest ones of the chain, taken in chain order, leaving states that
// dominate (seatModel.dominates), which is the one order the model tries. A hold whose
// expiry would break that order (a fault that loses holds made it end earlier) or comes
// before its call stays an operation.
func (lc *linChecker) foldAnon(ops []seatOp) ([]seatOp, []anonHold) {
	var chain []anonHold
	lastEff := int64(math.MinInt64)
	kept := ops[:0]
	for i := range ops {
		o := ops[i]
		if o.kind == kHold && o.out == oInfo {
			if h := lc.ix.hold(o.hold); h.anon && h.eff >= o.call && h.eff >= lastEff {
				chain = append(chain, anonHold{call: o.call, hold: o.hold})
				lastEff = h.eff
				continue
			}
		}
		kept = append(kept, o)
	}
	return kept, chain
}
