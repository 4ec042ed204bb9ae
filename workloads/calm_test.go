package workloads

import (
	"testing"
	"time"

	"stampede/history"
)

// TestCalmOutsideFaults: the latencies the SLOs judge leave out every request that met a fault
// window (from its due time to its answer), shed requests and holds refused at the door, and
// a fault that could not be injected opens no window.
func TestCalmOutsideFaults(t *testing.T) {
	sec := int64(time.Second)
	r := newRecorder(NewClock(), nil, nil, nil, func() int64 { return 0 }, func() int64 { return 0 })
	fault := func(op history.Kind, name string, typ history.Type, call, ret int64) {
		t.Helper()
		if err := r.annotate(&history.Record{Client: -1, Op: op, In: history.Input{Fault: name}, Call: call, Ret: ret, Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	hold := func(due, call, ret int64, typ history.Type, code string) {
		r.record(&history.Record{Op: history.OpHold, Call: call, Ret: ret, Type: typ, Out: history.Output{Status: 200, Code: code}}, due, exchange{})
	}
	hold(0, 0, sec/10, history.Ok, "") // calm: before any fault
	fault(history.KindFaultStart, "psp-delay", history.Ok, 2*sec, 2*sec)
	hold(sec, sec, 3*sec, history.Ok, "")              // answered inside the window
	hold(sec, 3*sec/2, 3*sec/2+sec/10, history.Ok, "") // due and answered before it: calm
	fault(history.KindFaultEnd, "psp-delay", history.Ok, 2*sec, 4*sec)
	hold(3*sec, 5*sec, 5*sec+sec/10, history.Ok, "")                           // due inside the window, sent after: not calm
	hold(5*sec, 5*sec, 5*sec+sec/10, history.Shed, "")                         // shed: not calm
	hold(5*sec, 5*sec, 5*sec+sec/10, history.Fail, codeNotAdmitted)            // a bot at the door: not calm
	hold(5*sec, 5*sec, 5*sec+sec/5, history.Fail, "seat_unavailable")          // refused by the strategy: calm
	fault(history.KindFaultStart, "redis-restart", history.Fail, 6*sec, 6*sec) // never injected
	fault(history.KindFaultEnd, "redis-restart", history.Fail, 6*sec, 6*sec)
	hold(6*sec, 6*sec, 7*sec, history.Ok, "") // calm: no window was opened
	fault(history.KindFaultStart, "pool-exhaustion", history.Ok, 8*sec, 8*sec)
	hold(9*sec, 9*sec, 9*sec+sec/10, history.Ok, "") // inside a window still open

	c := r.calm[opIndex(history.OpHold)]
	if c.n != 4 {
		t.Errorf("calm holds = %d, want 4 (before the fault, before the window, refused by the strategy, after the failed fault)", c.n)
	}
	if got, want := time.Duration(c.intended.Max())*time.Microsecond, time.Second; got < want-time.Millisecond || got > want+time.Millisecond {
		t.Errorf("calm hold max = %s, want about %s", got, want)
	}
	if n := r.total[opIndex(history.OpHold)].count(); n != 9 {
		t.Errorf("all holds = %d, want 9", n)
	}
}

// TestCalmAfterLingeringFault: a fault whose end record carries a linger (psp-delay's delay:
// a charge delayed at the window's last instant answers that much later, holding what it
// holds) reaches that far past its window; a request after the linger is calm again.
func TestCalmAfterLingeringFault(t *testing.T) {
	sec := int64(time.Second)
	r := newRecorder(NewClock(), nil, nil, nil, func() int64 { return 0 }, func() int64 { return 0 })
	for _, rec := range []*history.Record{
		{Client: -1, Op: history.KindFaultStart, In: history.Input{Fault: "psp-delay"}, Call: sec, Ret: sec, Type: history.Ok},
		{Client: -1, Op: history.KindFaultEnd, In: history.Input{Fault: "psp-delay", Params: map[string]string{history.ParamLinger: "3s"}},
			Call: sec, Ret: 2 * sec, Type: history.Ok},
	} {
		if err := r.annotate(rec); err != nil {
			t.Fatal(err)
		}
	}
	hold := func(due, ret int64) {
		r.record(&history.Record{Op: history.OpHold, Call: due, Ret: ret, Type: history.Ok, Out: history.Output{Status: 200}}, due, exchange{})
	}
	hold(4*sec, 4*sec+sec/2)  // after the window, within the linger: not calm
	hold(5*sec+sec/10, 6*sec) // after the linger: calm
	if c := r.calm[opIndex(history.OpHold)]; c.n != 1 {
		t.Errorf("calm holds = %d, want 1 (the one after the linger)", c.n)
	}
}
