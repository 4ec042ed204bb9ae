package checker

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"stampede/history"
)

// fuzzHistory builds a small history over two seats from fuzz bytes: five bytes an operation.
// Some reads are snapshots with an as_of before their call, and some refused holds are shed.
func fuzzHistory(data []byte) []history.Record {
	const start = int64(1700000000000000000)
	recs := []history.Record{{Client: -1, Op: history.KindHeader, Type: history.Ok, Header: &history.Header{Start: start}}}
	seats := [][]string{{"A"}, {"B"}, {"A", "B"}}
	holds, infos := 0, 0
	t := int64(0)
	// At most ten operations, four of unknown outcome: every input stays far below the
	// fuzzer's time limit (unknown outcomes are what makes illegal histories costly to prove).
	for i := 0; i+5 <= len(data) && len(recs) <= 10; i += 5 {
		b0, b1, b2, b3, b4 := data[i], data[i+1], data[i+2], data[i+3], data[i+4]
		t += int64(b1%16) * ms
		call, ret := t, t+int64(1+b2%20)*ms
		typ := [...]history.Type{history.Ok, history.Fail, history.Info}[int(b0>>2)%3]
		if typ == history.Info {
			if infos == 4 {
				typ = history.Ok
			}
			infos++
		}
		r := history.Record{Client: int(b3 % 5), Call: call, Ret: ret, Type: typ}
		seat := seats[int(b0>>4)%3]
		holdID := "h" + strconv.Itoa(1+int(b3)%max(holds, 1))
		switch b0 % 4 {
		case 0:
			r.Op, r.In = history.OpHold, history.Input{Event: "e", Session: "s", Seats: seat}
			switch typ {
			case history.Ok:
				holds++
				r.Out = history.Output{HoldID: "h" + strconv.Itoa(holds), Seats: seat,
					ExpiresAt: start + ret + int64(b4%40)*ms, TTLMillis: int64(b4 % 40)}
			case history.Fail:
				r.Out = history.Output{Code: codeSeatUnavailable}
				if b4&1 == 1 {
					r.Out.Seats = seat[:1]
				}
				if b4&2 == 2 {
					// Shed by an overloaded system: no effect, whatever seats it names.
					r.Type, r.Out.Code = history.Shed, "overloaded"
				}
			}
		case 1:
			r.Op, r.In = history.OpCheckout, history.Input{HoldID: holdID, Key: "k" + strconv.Itoa(int(b4%3))}
			switch typ {
			case history.Ok:
				r.Out = history.Output{BookingID: "b" + strconv.Itoa(int(b4%3))}
			case history.Fail:
				r.Out = history.Output{Code: [...]string{codeHoldExpired, codeHoldLost, codeHoldSold, codePaymentDeclined}[b4%4]}
			}
		case 2:
			r.Op, r.In = history.OpRelease, history.Input{HoldID: holdID}
			if typ == history.Fail {
				r.Out = history.Output{Code: codeHoldSold}
			}
		case 3:
			r.Op, r.In, r.Type = history.OpRead, history.Input{Event: "e"}, history.Ok
			st := [...][]string{nil, nil, nil}
			st[b4%3] = seat
			r.Out = history.Output{Available: st[0], Held: st[1], Sold: st[2]}
			if k := int64(b4/3) % 4; k > 0 {
				// A snapshot read: its map is as of the call, or up to 20ms before it.
				r.Out.AsOf = start + call - (k-1)*10*ms
			}
		}
		recs = append(recs, r)
	}
	if len(data)%2 == 1 && len(data) > 0 {
		// A fault that loses holds, somewhere in the history.
		at := int64(data[len(data)-1]%64) * ms
		recs = append(recs,
			history.Record{Client: -1, Op: history.KindFaultStart, Type: history.Ok, In: history.Input{Fault: "redis-restart"}, Call: at, Ret: at},
			history.Record{Client: -1, Op: history.KindFaultEnd, Type: history.Ok, In: history.Input{Fault: "redis-restart"}, Call: at + 5*ms, Ret: at + 5*ms})
	}
	return recs
}

// bruteForce decides one seat's history by trying every order consistent with real time,
// with no reduction and no cache: an independent judge of porcupine and of the reductions.
func bruteForce(m *seatModel, ops []seatOp, horizon int64) bool {
	rets := make([]int64, len(ops))
	for i, o := range ops {
		rets[i] = o.ret
		if o.out == oInfo {
			rets[i] = horizon
		}
	}
	done := make([]bool, len(ops))
	failed := make(map[string]bool) // (done operations, possible states) known to lead nowhere
	var search func(states []seatState, left int) bool
	search = func(states []seatState, left int) bool {
		if left == 0 {
			return true
		}
		slices.SortFunc(states, func(a, b seatState) int { return cmpState(a, b) })
		key := fmt.Sprint(done, states)
		if failed[key] {
			return false
		}
		// An operation may go next only if no pending one returned before it was called.
		minRet := int64(math.MaxInt64)
		for i := range ops {
			if !done[i] {
				minRet = min(minRet, rets[i])
			}
		}
		for i := range ops {
			if done[i] || ops[i].call > minRet {
				continue
			}
			var next []seatState
			for _, s := range states {
				for _, n := range m.next(s, &ops[i], nil) {
					if !slices.Contains(next, n) {
						next = append(next, n)
					}
				}
			}
			if len(next) == 0 {
				continue
			}
			done[i] = true
			ok := search(next, left-1)
			done[i] = false
			if ok {
				return true
			}
		}
		failed[key] = true
		return false
	}
	return search([]seatState{initialState}, len(ops))
}

func cmpState(a, b seatState) int {
	return cmp.Or(cmp.Compare(a.st, b.st), cmp.Compare(a.hold, b.hold), cmp.Compare(a.booking, b.booking),
		cmp.Compare(a.expiry, b.expiry), cmp.Compare(a.floor, b.floor))
}

// FuzzCheck feeds random small histories to the checker: it must never panic or error, never
// be undecided, and its linearizability verdict on every seat must match the brute force.
func FuzzCheck(f *testing.F) {
	f.Add([]byte{0, 1, 5, 0, 20, 1, 1, 5, 0, 1, 0, 2, 5, 1, 20})
	f.Add([]byte{0, 0, 9, 1, 3, 0, 1, 9, 2, 3, 5, 30, 4, 0, 0, 1, 1, 1, 0, 0})
	f.Add([]byte{32, 0, 5, 0, 39, 8, 1, 30, 1, 0, 1, 2, 2, 0, 0, 3, 3, 1, 0, 1, 19, 15, 1, 0, 2})
	f.Add([]byte{0, 0, 3, 0, 5, 16, 0, 3, 0, 5, 4, 1, 4, 1, 1, 1, 15, 2, 0, 0, 3, 2, 2, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := fuzzHistory(data)
		opts := Options{ClockSkew: time.Duration(len(data)%3) * time.Millisecond, Timeout: 10 * time.Second, MaxExamples: 100, MaxVisualizations: -1,
			HoldLossFaults: restartLosesHolds}
		res, err := Check(context.Background(), Input{History: recs, Options: opts})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		v := res.Verdict(CheckLinearizability)
		if v.Status == Unknown {
			t.Fatalf("undecided on a tiny history: %+v", v)
		}
		got := map[string]bool{}
		for _, ce := range v.Examples {
			got[ce.Seat] = true
			culprits := 0
			for _, op := range ce.Ops {
				if op.Culprit {
					culprits++
				}
			}
			// The first illegal cut always ends at the return of some operation: only a
			// timed-out search leaves a counterexample without a culprit.
			if culprits == 0 || !ce.HasTime {
				t.Errorf("counterexample without a culprit or a time: %+v", ce)
			}
		}
		agreeWithBruteForce(t, recs, opts, got)
	})
}

// agreeWithBruteForce holds the checker's verdict on every seat (illegal names the seats it
// failed) to the brute force on the seat's whole, unreduced history.
func agreeWithBruteForce(t *testing.T, recs []history.Record, opts Options, illegal map[string]bool) {
	t.Helper()
	wo, _ := opts.withDefaults()
	ix := newIndex(wo)
	for i := range recs {
		ix.add(i, &recs[i])
	}
	ix.finalize()
	m := &seatModel{ix: ix}
	for _, p := range ix.parts {
		if want := !bruteForce(m, p.ops, ix.horizon); illegal[p.seat] != want {
			t.Fatalf("seat %s: checker says illegal=%v, brute force %v\nhistory: %+v", p.seat, illegal[p.seat], want, recs)
		}
	}
}

// judgeAgainstBruteForce checks recs and compares the verdict on every seat with the brute
// force on the seat's whole, unreduced history; broken says the history must fail.
func judgeAgainstBruteForce(t *testing.T, recs []history.Record, broken bool) {
	t.Helper()
	opts := advOptions()
	res, err := Check(context.Background(), Input{History: recs, Options: opts})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	v := res.Verdict(CheckLinearizability)
	if v.Status == Unknown {
		t.Fatalf("undecided: %+v", v)
	}
	if broken && v.Status != Fail {
		t.Fatalf("a broken history passed: %s", v.Status)
	}
	got := map[string]bool{}
	for _, ce := range v.Examples {
		got[ce.Seat] = true
	}
	agreeWithBruteForce(t, recs, opts, got)
}

// FuzzHotSeat generates small adversarial hot-seat histories (the generator of the hot-seat
// benchmark, at a size the brute force can judge) from a seed and a broken server, and holds
// the checker to the brute force on every seat; a history the server broke must fail.
func FuzzHotSeat(f *testing.F) {
	for seed := range uint64(4) {
		for b := range uint8(len(advBugs) + 1) {
			f.Add(seed, b, uint8(14))
		}
	}
	f.Fuzz(func(t *testing.T, seed uint64, bug, ops uint8) {
		cfg := advConfig{Seed: seed, Seats: 2, Ops: 4 + int(ops%13), Clients: 4, InfoRate: 0.3, SaleRate: 0.2,
			TTL: 40 * time.Millisecond, Bug: advBug(int(bug) % (len(advBugs) + 1)), BugAfter: 0}
		var recs []history.Record
		injected := adversarial(cfg, func(r *history.Record) { recs = append(recs, *r) })
		judgeAgainstBruteForce(t, recs, injected > 0)
	})
}
