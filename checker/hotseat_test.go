package checker

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"stampede/history"
)

// hotSeatRun reads the recorded hot-seat run kept in testdata: stampede run
// scenarios/hot-seat.yaml --strategy status-expiry --db postgres --seed 8 on a loaded
// machine, 14739 seat operations on five seats, 1200 holds of unknown outcome. Before its
// anonymous holds were folded into the seat model, two of its seats were undecided after 30 s.
func hotSeatRun(t *testing.T) []history.Record {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "hotseat", "status-expiry-postgres-seed8.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := history.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func checkLin(t *testing.T, recs []history.Record, opts Options) *Verdict {
	t.Helper()
	res, err := Check(context.Background(), Input{History: recs, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return res.Verdict(CheckLinearizability)
}

// TestHotSeatRunDecided holds the recorded hot-seat run to a decision within the 10 s budget
// per seat: it passes, and the same run with a violation injected fails.
func TestHotSeatRunDecided(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a recorded run of 17614 records")
	}
	opts := DefaultOptions()
	opts.Timeout = 10 * time.Second
	opts.MaxVisualizations = -1
	recs := hotSeatRun(t)
	began := time.Now()
	if v := checkLin(t, recs, opts); v.Status != Pass {
		t.Fatalf("linearizability = %s (%d): %+v", v.Status, v.Count, v.Examples)
	}
	t.Logf("decided in %s", time.Since(began))

	// The first ok hold of seat A-1-10 that lasts, and a point well inside its life.
	var h *history.Record
	for i := range recs {
		r := &recs[i]
		if r.Op == history.OpHold && r.Type == history.Ok && len(r.Out.Seats) > 0 && r.Out.TTLMillis > 0 {
			h = r
			break
		}
	}
	if h == nil {
		t.Fatal("the run has no ok hold")
	}
	seat := h.Out.Seats[0]
	last := recs[len(recs)-1].Ret
	inject := func(extra ...history.Record) []history.Record {
		return append(append([]history.Record(nil), recs...), extra...)
	}
	hold := func(id string, call, ret int64) history.Record {
		return history.Record{Client: 9000, Op: history.OpHold, Type: history.Ok, Call: call, Ret: ret,
			In:  history.Input{Event: h.In.Event, Session: "x", Seats: []string{seat}},
			Out: history.Output{HoldID: id, Seats: []string{seat}, TTLMillis: 60000}}
	}
	checkout := func(id, booking string, call, ret int64) history.Record {
		return history.Record{Client: 9001, Op: history.OpCheckout, Type: history.Ok, Call: call, Ret: ret,
			In: history.Input{HoldID: id, Key: id}, Out: history.Output{BookingID: booking}}
	}
	s := int64(time.Second)
	for _, tc := range []struct {
		name  string
		extra []history.Record
	}{
		// A hold confirmed after the run, then another hold of the seat granted and confirmed:
		// the seat sold twice.
		{"double sale", []history.Record{
			hold("x1", last+s, last+s+1), checkout("x1", "b1", last+2*s, last+2*s+1),
			hold("x2", last+3*s, last+3*s+1), checkout("x2", "b2", last+4*s, last+4*s+1),
		}},
		// A seat shown available while a confirmed sale holds it.
		{"stale read", []history.Record{
			hold("x1", last+s, last+s+1), checkout("x1", "b1", last+2*s, last+2*s+1),
			{Client: 9002, Op: history.OpRead, Type: history.Ok, Call: last + 3*s, Ret: last + 3*s + 1,
				In: history.Input{Event: h.In.Event}, Out: history.Output{Available: []string{seat}}},
		}},
		// A hold granted while another, answered long before and never released, held the seat.
		{"double hold", []history.Record{
			hold("x1", last+s, last+s+1), hold("x2", last+2*s, last+2*s+1),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := checkLin(t, inject(tc.extra...), opts)
			if v.Status != Fail {
				t.Fatalf("linearizability = %s (%d), want fail", v.Status, v.Count)
			}
			if len(v.Examples) == 0 || v.Examples[0].Seat != seat {
				t.Fatalf("counterexamples %+v, want seat %s", v.Examples, seat)
			}
		})
	}
}

// TestFoldedAnonHolds pins the folding of anonymous holds of unknown outcome on small seats,
// each also judged by the brute force on the unfolded history: a refusal only such a hold
// explains passes, and fails when taking the seat then would leave a later hold impossible.
func TestFoldedAnonHolds(t *testing.T) {
	const start = int64(1700000000000000000)
	head := history.Record{Client: -1, Op: history.KindHeader, Type: history.Ok, Header: &history.Header{Start: start}}
	seat := []string{"A"}
	okHold := func(id string, call, ret, ttl int64) history.Record {
		return history.Record{Client: 1, Op: history.OpHold, Type: history.Ok, Call: call * ms, Ret: ret * ms,
			In:  history.Input{Event: "e", Session: "s", Seats: seat},
			Out: history.Output{HoldID: id, Seats: seat, TTLMillis: ttl}}
	}
	lost := func(call int64) history.Record {
		return history.Record{Client: 2, Op: history.OpHold, Type: history.Info, Call: call * ms, Ret: (call + 1) * ms,
			In: history.Input{Event: "e", Session: "s", Seats: seat}}
	}
	refused := func(call, ret int64) history.Record {
		return history.Record{Client: 3, Op: history.OpHold, Type: history.Fail, Call: call * ms, Ret: ret * ms,
			In: history.Input{Event: "e", Session: "s", Seats: seat}, Out: history.Output{Code: codeSeatUnavailable}}
	}
	release := func(id string, call, ret int64) history.Record {
		return history.Record{Client: 1, Op: history.OpRelease, Type: history.Ok, Call: call * ms, Ret: ret * ms,
			In: history.Input{HoldID: id}}
	}
	for _, tc := range []struct {
		name string
		recs []history.Record
		want Status
	}{
		// h1 (TTL 100 ms) is released; the refusal after it is explained only by the lost hold.
		{"lost hold explains a refusal", []history.Record{head, okHold("h1", 0, 1, 100), release("h1", 2, 3), lost(5), refused(50, 60)}, Pass},
		{"no lost hold, the refusal is wrong", []history.Record{head, okHold("h1", 0, 1, 100), release("h1", 2, 3), refused(50, 60)}, Fail},
		// The lost hold would still hold the seat (until 105 ms at the earliest) when h2 is granted.
		{"lost hold cannot explain both", []history.Record{head, okHold("h1", 0, 1, 100), release("h1", 2, 3), lost(5), refused(50, 60), okHold("h2", 70, 80, 100)}, Fail},
		// Two lost holds: the second is taken after the first expired.
		{"two lost holds in turn", []history.Record{head, okHold("h1", 0, 1, 100), release("h1", 2, 3), lost(5), lost(6), refused(50, 60), refused(130, 140)}, Pass},
		// A refusal that began before h2 was called and ended after it was answered fits
		// right after it; one that ended after h2 was released does not need it.
		{"refusal overlapping a hold's return", []history.Record{head, refused(5, 25), okHold("h2", 10, 20, 100)}, Pass},
		{"refusal after the hold was released", []history.Record{head, okHold("h2", 10, 20, 100), release("h2", 21, 22), refused(23, 30)}, Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{ClockSkew: time.Millisecond, Timeout: 10 * time.Second, MaxExamples: 10, MaxVisualizations: -1}
			v := checkLin(t, tc.recs, opts)
			if v.Status != tc.want {
				t.Fatalf("linearizability = %s, want %s: %+v", v.Status, tc.want, v.Examples)
			}
			got := map[string]bool{}
			for _, ce := range v.Examples {
				got[ce.Seat] = true
			}
			agreeWithBruteForce(t, tc.recs, opts, got)
		})
	}
}
