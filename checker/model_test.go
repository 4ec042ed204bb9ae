package checker

import (
	"math"
	"slices"
	"testing"
)

// testModel returns a seat model over an index with two holds: h1 (id 1) expiring (after the
// tolerance) at 1000 and h2 (id 2) at 5000.
func testModel(t testing.TB) *seatModel {
	t.Helper()
	ix := newIndex(Options{})
	ix.addHoldInfo(holdInfo{name: "h1", eff: 1000, expiry: 1000, known: true})
	ix.addHoldInfo(holdInfo{name: "h2", eff: 5000, expiry: 5000, known: true})
	ix.bookingNames = append(ix.bookingNames, "b1", "b2")
	return &seatModel{ix: ix}
}

func TestModelStep(t *testing.T) {
	const lo = math.MinInt64
	avail := seatState{st: stAvail, floor: lo}
	held1 := seatState{st: stHeld, hold: 1, expiry: 1000, floor: lo}
	held2 := seatState{st: stHeld, hold: 2, expiry: 5000, floor: lo}
	expired1 := seatState{st: stAvail, hold: 1, floor: 1000}
	sold1 := seatState{st: stSold, hold: 1, booking: 1, floor: lo}
	sold1unknown := seatState{st: stSold, hold: 1, floor: lo}
	sold2 := seatState{st: stSold, hold: 2, booking: 2, floor: lo}
	op := func(k opKind, out outcome, hold, booking int32, ret int64) *seatOp {
		return &seatOp{kind: k, out: out, hold: hold, booking: booking, call: 0, ret: ret}
	}
	refused := &seatOp{kind: kHold, out: oFail, code: fUnavailable, ret: 500}
	gone := func(h int32) *seatOp { return &seatOp{kind: kCheckout, out: oFail, code: fGone, hold: h, ret: 500} }
	soldFail := func(k opKind, h int32) *seatOp { return &seatOp{kind: k, out: oFail, code: fSold, hold: h, ret: 500} }
	read := func(s status, ret int64) *seatOp { return &seatOp{kind: kRead, out: oOk, read: s, ret: ret} }

	tests := []struct {
		name string
		from seatState
		op   *seatOp
		want []seatState
	}{
		{"hold an available seat", avail, op(kHold, oOk, 1, 0, 10), []seatState{held1}},
		{"hold a held seat before expiry", held1, op(kHold, oOk, 2, 0, 999), nil},
		{"hold a held seat once its hold may have expired", held1, op(kHold, oOk, 2, 0, 1000), []seatState{{st: stHeld, hold: 2, expiry: 5000, floor: 1000}}},
		{"hold a sold seat", sold1, op(kHold, oOk, 2, 0, 1<<40), nil},
		{"refusal of a held seat", held1, refused, []seatState{held1}},
		{"refusal of an available seat", avail, refused, nil},
		{"refusal of a sold seat", sold1, refused, []seatState{sold1}},
		{"info hold of an available seat", avail, op(kHold, oInfo, 1, 0, 10), []seatState{avail, held1}},
		{"confirm own hold", held1, op(kCheckout, oOk, 1, 1, 10), []seatState{sold1}},
		{"confirm own expired hold nobody took", expired1, op(kCheckout, oOk, 1, 1, 2000), []seatState{{st: stSold, hold: 1, booking: 1, floor: 1000}}},
		{"confirm own hold after expiry, from held", held1, op(kCheckout, oOk, 1, 1, 2000), []seatState{sold1, {st: stSold, hold: 1, booking: 1, floor: 1000}}},
		{"confirm someone else's hold", held2, op(kCheckout, oOk, 1, 1, 10), nil},
		{"confirm a released hold", avail, op(kCheckout, oOk, 1, 1, 10), nil},
		{"confirm a sold seat with another hold", sold2, op(kCheckout, oOk, 1, 1, 10), nil},
		{"replay of the same booking", sold1, op(kCheckout, oOk, 1, 1, 10), []seatState{sold1}},
		{"second booking for the same hold", sold1, op(kCheckout, oOk, 1, 2, 10), nil},
		{"booking learned after an unknown outcome", sold1unknown, op(kCheckout, oOk, 1, 1, 10), []seatState{sold1}},
		{"info checkout of own hold", held1, op(kCheckout, oInfo, 1, 0, 10), []seatState{held1, sold1unknown, expired1, {st: stSold, hold: 1, floor: 1000}, {st: stAvail, hold: 1, floor: lo}}},
		{"hold_expired on an unsold seat", held2, gone(1), []seatState{held2}},
		{"hold_lost ends the hold's own seat", held1, gone(1), []seatState{held1, {st: stAvail, hold: 1, floor: lo}}},
		{"hold_expired on the hold's own sale", sold1, gone(1), nil},
		{"hold_sold on the hold's own sale", sold1, soldFail(kCheckout, 1), []seatState{sold1}},
		{"hold_sold on a held seat", held1, soldFail(kCheckout, 1), nil},
		{"release own hold", held1, op(kRelease, oOk, 1, 0, 10), []seatState{avail}},
		{"release own expired hold", expired1, op(kRelease, oOk, 1, 0, 2000), []seatState{{st: stAvail, floor: 1000}}},
		{"release a hold that lost the seat", held2, op(kRelease, oOk, 1, 0, 10), []seatState{held2}},
		{"release a sold hold", sold1, op(kRelease, oOk, 1, 0, 10), nil},
		{"info release of a sold hold", sold1, op(kRelease, oInfo, 1, 0, 10), []seatState{sold1}},
		{"release refused as sold", sold1, soldFail(kRelease, 1), []seatState{sold1}},
		{"read available", avail, read(stAvail, 10), []seatState{avail}},
		{"read available on an unexpired hold", held1, read(stAvail, 999), nil},
		{"read available on an expired hold", held1, read(stAvail, 1000), []seatState{expired1}},
		{"read held on an expired hold", held1, read(stHeld, 2000), []seatState{held1}},
		{"read sold on a sold seat", sold1, read(stSold, 10), []seatState{sold1}},
		{"read available on a sold seat", sold1, read(stAvail, 1<<40), nil},
		{"operation returning before an expiry already taken", expired1, read(stAvail, 999), nil},
	}
	m := testModel(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.next(tt.from, tt.op, nil)
			if !sameStates(got, tt.want) {
				t.Errorf("next(%s, %s) = %v, want %v", m.describeState(tt.from), m.describeOp(tt.op), got, tt.want)
			}
		})
	}
}

func sameStates(a, b []seatState) bool {
	if len(a) != len(b) {
		return false
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

func TestStateHashAgreesWithEquality(t *testing.T) {
	a := seatState{st: stHeld, hold: 3, expiry: 77, floor: 5}
	b := a
	if a.hash() != b.hash() {
		t.Fatalf("equal states hash differently")
	}
	c := a
	c.floor = 6
	if a.hash() == c.hash() {
		t.Errorf("states differing in floor hash the same (allowed, but a sign the mix is weak)")
	}
}
