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
//
// The returned slice reuses ops' memory.
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
	prefix := ops[:cut]

	// Hold windows.
	type window struct{ start, endNA, endHeld int64 }
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
			w := window{start: o.ret, endNA: eff, endHeld: eff}
			if c, ok := relCall[o.hold]; ok {
				w.endNA = min(w.endNA, c)
				w.endHeld = min(w.endHeld, c)
			}
			if c, ok := coCall[o.hold]; ok {
				w.endHeld = min(w.endHeld, c)
			}
			if w.endNA > w.start {
				wins = append(wins, w)
			}
		case isObserver(o):
			observers++
		}
	}
	kept := prefix
	if observers > 0 && len(wins) > 0 {
		slices.SortFunc(wins, func(a, b window) int { return cmp.Compare(a.start, b.start) })
		// maxNA[i], maxHeld[i]: the latest window end among wins[:i+1].
		maxNA := make([]int64, len(wins))
		maxHeld := make([]int64, len(wins))
		for i, w := range wins {
			maxNA[i], maxHeld[i] = w.endNA, w.endHeld
			if i > 0 {
				maxNA[i] = max(maxNA[i], maxNA[i-1])
				maxHeld[i] = max(maxHeld[i], maxHeld[i-1])
			}
		}
		kept = prefix[:0]
		for i := range prefix {
			o := prefix[i]
			if isObserver(&o) {
				// The windows that started strictly before the observer's call.
				j := sort.Search(len(wins), func(k int) bool { return wins[k].start >= o.call }) - 1
				if j >= 0 {
					end := maxNA[j]
					if o.kind == kRead {
						end = maxHeld[j]
					}
					if o.ret < end {
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
