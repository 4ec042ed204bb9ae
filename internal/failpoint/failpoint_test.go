package failpoint

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNilAndDisarmedDoNothing(t *testing.T) {
	var s *Set
	if err := s.Eval(context.Background(), AfterCharge); err != nil {
		t.Fatalf("nil Set Eval = %v, want nil", err)
	}
	s = New()
	if err := s.Eval(context.Background(), AfterCharge); err != nil {
		t.Fatalf("disarmed Eval = %v, want nil", err)
	}
}

func TestErrorFromNthHitForTimes(t *testing.T) {
	s := New()
	if err := s.Arm(AfterHold, Action{Kind: Error, From: 3, Times: 2}); err != nil {
		t.Fatal(err)
	}
	var got []bool
	for i := 0; i < 6; i++ {
		got = append(got, errors.Is(s.Eval(context.Background(), AfterHold), ErrInjected))
	}
	want := []bool{false, false, true, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("hits 1..6 injected = %v, want %v", got, want)
		}
	}
	if l := s.List(); len(l) != 1 || l[0].Hits != 6 {
		t.Fatalf("List = %+v, want one point with 6 hits", l)
	}
}

func TestCrashCallsKill(t *testing.T) {
	s := New()
	killed := make(chan struct{})
	s.kill = func() { close(killed) }
	if err := s.Arm(AfterCharge, Action{Kind: Crash, From: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.Eval(context.Background(), AfterCharge); err != nil {
		t.Fatalf("first hit = %v, want nil (crash from the 2nd)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.Eval(ctx, AfterCharge)
	select {
	case <-killed:
	default:
		t.Fatal("second hit did not kill")
	}
}

func TestBlockUntilDisarmed(t *testing.T) {
	s := New()
	if err := s.Arm(InConfirmTx, Action{Kind: Block}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- s.Eval(context.Background(), InConfirmTx) }()
	}
	// Wait until all three are parked at the point (their hits are counted before blocking).
	deadline := time.Now().Add(5 * time.Second)
	for s.List()[0].Hits < 3 {
		if time.Now().After(deadline) {
			t.Fatal("goroutines never reached the point")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-errs:
		t.Fatalf("a blocked Eval returned %v before Disarm", err)
	default:
	}
	s.Disarm(InConfirmTx)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("released Eval = %v, want nil", err)
		}
	}
}

func TestArmValidates(t *testing.T) {
	s := New()
	for _, tc := range []struct {
		name, point string
		a           Action
	}{
		{"unknown point", "nope", Action{Kind: Count}},
		{"unknown action", AfterHold, Action{Kind: "explode"}},
		{"delay without duration", AfterHold, Action{Kind: Delay}},
		{"negative from", AfterHold, Action{Kind: Error, From: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Arm(tc.point, tc.a); err == nil {
				t.Fatalf("Arm(%q, %+v) = nil, want an error", tc.point, tc.a)
			}
		})
	}
}

func TestParseSpec(t *testing.T) {
	got, err := ParseSpec(" after-hold=delay:20ms, in-confirm-tx=error ,")
	if err != nil {
		t.Fatalf("ParseSpec: %v", err)
	}
	want := map[string]Action{AfterHold: {Kind: Delay, Delay: 20 * time.Millisecond}, InConfirmTx: {Kind: Error}}
	if len(got) != len(want) || got[AfterHold] != want[AfterHold] || got[InConfirmTx] != want[InConfirmTx] {
		t.Errorf("ParseSpec = %+v, want %+v", got, want)
	}
	if got, err := ParseSpec(""); err != nil || len(got) != 0 {
		t.Errorf("ParseSpec(\"\") = %v, %v; want nothing armed", got, err)
	}
	for spec, wantErr := range map[string]string{
		"after-hold":                           "want NAME=ACTION",
		"no-such-point=error":                  "unknown",
		"after-hold=block":                     "want count, error, crash or delay:DURATION",
		"after-hold=delay:soon":                "want a duration",
		"after-hold=delay:-1s":                 "must be in (0, 10m]",
		"after-hold=error,after-hold=delay:1s": "given twice",
	} {
		if _, err := ParseSpec(spec); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseSpec(%q) = %v, want an error saying %q", spec, err, wantErr)
		}
	}
}

func TestDelayFromTheStart(t *testing.T) {
	arms, err := ParseSpec("after-hold=delay:30ms")
	if err != nil {
		t.Fatal(err)
	}
	s := New()
	for name, a := range arms {
		if err := s.Arm(name, a); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := s.Eval(context.Background(), AfterHold); err != nil {
		t.Fatalf("Eval: %v", err)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("an armed after-hold delay of 30ms returned after %s", waited)
	}
	if l := s.List(); len(l) != 1 || l[0].Hits != 1 {
		t.Errorf("List = %+v, want after-hold hit once", l)
	}
}
