package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"stampede/server/payments"
	"stampede/sut"
)

// processor is a real payment processor (server/payments) on a loopback listener, with a
// Target pointing at it and clients for its API.
type processor struct {
	p      *payments.Processor
	url    string
	target *Target
}

func newProcessor(t *testing.T, seed uint64) *processor {
	t.Helper()
	p := payments.New(payments.WithSeed(1), payments.WithMaxHold(30*time.Second))
	hs := httptest.NewServer(p)
	t.Cleanup(func() {
		p.Close() // releases requests held by the timeout fault, so Close below does not wait
		hs.Close()
	})
	return &processor{p: p, url: hs.URL, target: &Target{Handles: sut.Handles{PSP: hs.URL}, Rand: rand.New(rand.NewPCG(seed, seed))}}
}

// client returns a processor client whose requests give up after timeout.
func (pr *processor) client(t *testing.T, timeout time.Duration) *payments.Client {
	t.Helper()
	c, err := payments.NewClient(pr.url, payments.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// chargesUnder returns the ledger's charges made under an idempotency key.
func (pr *processor) chargesUnder(key string) []payments.Charge {
	var out []payments.Charge
	for _, c := range pr.p.Ledger().Charges {
		if c.IdempotencyKey == key {
			out = append(out, c)
		}
	}
	return out
}

func charge(ctx context.Context, c *payments.Client, key string) (payments.Charge, error) {
	return c.Charge(ctx, key, payments.ChargeRequest{AmountCents: 5000, Reference: "h_" + key, PaymentMethod: "card_ok"})
}

// healthy says the processor's faults are all off again.
func (pr *processor) healthy(t *testing.T) {
	t.Helper()
	f := pr.p.Faults()
	if f.LatencyMS != 0 || f.LatencyRate != nil || f.ErrorRate != 0 || f.TimeoutRate != 0 || f.LostResponseRate != 0 {
		t.Fatalf("processor faults after recovery = %+v, want all off", f)
	}
}

// TestPSPDelay: every answer comes at least `delay` late; a client that gives up first sees an
// unknown outcome, yet the processor still charges; after recovery charges go through.
func TestPSPDelay(t *testing.T) {
	pr := newProcessor(t, 3)
	ctx := context.Background()
	patient, hasty := pr.client(t, 10*time.Second), pr.client(t, 100*time.Millisecond)
	rec := inject(t, "psp-delay", pr.target, map[string]any{"delay": "400ms"})
	if got := pr.p.Faults().LatencyMS; got != 400 {
		t.Fatalf("processor latency after psp-delay = %d ms, want 400", got)
	}
	start := time.Now()
	if _, err := charge(ctx, patient, "delay-1"); err != nil {
		t.Fatalf("charge under psp-delay: %v", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("charge answered in %s under a 400ms delay, want >= 400ms", d)
	}
	_, err := charge(ctx, hasty, "delay-2")
	if !errors.Is(err, payments.ErrUnknownOutcome) {
		t.Fatalf("charge with a 100ms deadline under a 400ms delay = %v, want ErrUnknownOutcome", err)
	}
	// The processor goes on after the caller gave up, as a real one would: the charge lands.
	waitFor(t, 5*time.Second, "the abandoned charge to land in the processor's ledger", func() bool {
		return len(pr.chargesUnder("delay-2")) == 1
	})
	if err := rec(ctx); err != nil {
		t.Fatalf("recover: %v", err)
	}
	pr.healthy(t)
	ch, err := charge(ctx, patient, "delay-2")
	if err != nil || !ch.Replayed {
		t.Fatalf("retry of the abandoned charge after recovery = %+v, %v; want the original, replayed", ch, err)
	}
	if _, err := charge(ctx, patient, "delay-3"); err != nil {
		t.Fatalf("charge after recovery: %v", err)
	}
}

// TestPSPDelayRate: with a rate, only that fraction of answers is delayed, chosen by the
// processor from a seed the run's seed gives: the same run delays the same requests.
func TestPSPDelayRate(t *testing.T) {
	ctx := context.Background()
	delayed := func() (int64, float64) {
		pr := newProcessor(t, 5)
		c := pr.client(t, 10*time.Second)
		rec := inject(t, "psp-delay", pr.target, map[string]any{"delay": "2ms", "rate": 0.25})
		f := pr.p.Faults()
		if f.LatencyRate == nil {
			t.Fatalf("processor faults %+v: no latency_rate after psp-delay with rate 0.25", f)
		}
		for i := range 80 {
			if _, err := charge(ctx, c, fmt.Sprintf("rate-%d", i)); err != nil {
				t.Fatalf("charge %d: %v", i, err)
			}
		}
		if err := rec(ctx); err != nil {
			t.Fatalf("recover: %v", err)
		}
		pr.healthy(t)
		return pr.p.Stats().Delayed, *f.LatencyRate
	}
	n, rate := delayed()
	if rate != 0.25 || n < 8 || n > 32 {
		t.Errorf("rate %v delayed %d of 80 charges, want about 20", rate, n)
	}
	if m, _ := delayed(); m != n {
		t.Errorf("the same seed delayed %d charges, then %d", n, m)
	}
}

// TestPSPErrors: a 500 charges nothing, a timeout charges nothing; the mix of the defaults
// follows the run's seed exactly; after recovery every charge succeeds.
func TestPSPErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("all 500", func(t *testing.T) {
		pr := newProcessor(t, 5)
		rec := inject(t, "psp-errors", pr.target, map[string]any{"error_rate": 1, "timeout_rate": 0})
		_, err := charge(ctx, pr.client(t, 10*time.Second), "err-1")
		var pe *payments.Error
		if !errors.As(err, &pe) || pe.Status != 500 || !errors.Is(err, payments.ErrUnknownOutcome) {
			t.Fatalf("charge under error_rate 1 = %v, want a 500 that is an unknown outcome", err)
		}
		if n := len(pr.chargesUnder("err-1")); n != 0 {
			t.Fatalf("a 500 left %d charges, want none", n)
		}
		if err := rec(ctx); err != nil {
			t.Fatal(err)
		}
		pr.healthy(t)
		if ch, err := charge(ctx, pr.client(t, 10*time.Second), "err-1"); err != nil || ch.Replayed {
			t.Fatalf("retry after recovery = %+v, %v; want a fresh charge", ch, err)
		}
	})
	t.Run("all timeouts", func(t *testing.T) {
		pr := newProcessor(t, 5)
		rec := inject(t, "psp-errors", pr.target, map[string]any{"error_rate": 0, "timeout_rate": 1})
		_, err := charge(ctx, pr.client(t, 200*time.Millisecond), "to-1")
		if !errors.Is(err, payments.ErrUnknownOutcome) {
			t.Fatalf("charge under timeout_rate 1 = %v, want ErrUnknownOutcome", err)
		}
		if err := rec(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(pr.chargesUnder("to-1")); n != 0 {
			t.Fatalf("a timed-out charge left %d charges, want none", n)
		}
		if _, err := charge(ctx, pr.client(t, 10*time.Second), "to-1"); err != nil {
			t.Fatalf("retry after recovery: %v", err)
		}
	})
	t.Run("seeded mix", func(t *testing.T) {
		// The same run seed gives the same sequence of 500s and timeouts; another seed another.
		a, sa := errorMix(t, 42)
		b, _ := errorMix(t, 42)
		c, _ := errorMix(t, 43)
		if a != b {
			t.Fatalf("same seed, different fault sequences:\n%s\n%s", a, b)
		}
		if a == c {
			t.Fatalf("seeds 42 and 43 gave the same fault sequence %s", a)
		}
		if sa.Errors == 0 || sa.Timeouts == 0 || sa.Normal == 0 {
			t.Fatalf("20 charges at error_rate 0.3, timeout_rate 0.1 gave %+v, want some of each", sa)
		}
	})
}

// errorMix sends 20 charges one after another under psp-errors' defaults and returns what each
// met (. ok, E 500, T timeout), checking that the processor's own counts and ledger agree.
func errorMix(t *testing.T, seed uint64) (string, payments.Stats) {
	t.Helper()
	pr := newProcessor(t, seed)
	ctx := context.Background()
	rec := inject(t, "psp-errors", pr.target, nil)
	defer rec(ctx)
	c := pr.client(t, time.Second)
	seq := make([]byte, 0, 20)
	var ok int
	for i := range 20 {
		_, err := charge(ctx, c, fmt.Sprintf("mix-%d", i))
		var pe *payments.Error
		switch {
		case err == nil:
			seq, ok = append(seq, '.'), ok+1
		case errors.As(err, &pe) && pe.Status == 500:
			seq = append(seq, 'E')
		case errors.Is(err, payments.ErrUnknownOutcome):
			seq = append(seq, 'T')
		default:
			t.Fatalf("charge %d: %v", i, err)
		}
	}
	st := pr.p.Stats()
	if int(st.Normal) != ok || int(st.Errors+st.Timeouts) != len(seq)-ok || len(pr.p.Ledger().Charges) != ok {
		t.Fatalf("%d charges answered, processor counted %+v and captured %d", ok, st, len(pr.p.Ledger().Charges))
	}
	return string(seq), st
}

// TestPSPAmbiguous: the processor charges and drops the answer; the caller cannot tell, the
// ledger has the charge, and a retry with the same key after recovery returns that charge.
func TestPSPAmbiguous(t *testing.T) {
	pr := newProcessor(t, 9)
	ctx := context.Background()
	c := pr.client(t, 10*time.Second)
	rec := inject(t, "psp-ambiguous", pr.target, map[string]any{"rate": 1})
	_, err := charge(ctx, c, "amb-1")
	if !errors.Is(err, payments.ErrUnknownOutcome) {
		t.Fatalf("charge under psp-ambiguous rate 1 = %v, want ErrUnknownOutcome", err)
	}
	lost := pr.chargesUnder("amb-1")
	if len(lost) != 1 {
		t.Fatalf("charges under the lost answer's key = %+v, want exactly one", lost)
	}
	if err := rec(ctx); err != nil {
		t.Fatal(err)
	}
	pr.healthy(t)
	ch, err := charge(ctx, c, "amb-1")
	if err != nil || !ch.Replayed || ch.ID != lost[0].ID {
		t.Fatalf("retry after recovery = %+v, %v; want charge %s replayed", ch, err, lost[0].ID)
	}
	if n := len(pr.chargesUnder("amb-1")); n != 1 {
		t.Fatalf("%d charges under one key after the retry, want 1", n)
	}
	if _, err := charge(ctx, c, "amb-2"); err != nil {
		t.Fatalf("charge after recovery: %v", err)
	}
}

// TestPSPFaultsOverlap: overlapping processor faults are merged, and each recovery removes only
// its own part.
func TestPSPFaultsOverlap(t *testing.T) {
	pr := newProcessor(t, 1)
	ctx := context.Background()
	delay := inject(t, "psp-delay", pr.target, map[string]any{"delay": "50ms"})
	errs := inject(t, "psp-errors", pr.target, map[string]any{"error_rate": 0.2, "timeout_rate": 0})
	if f := pr.p.Faults(); f.LatencyMS != 50 || f.ErrorRate != 0.2 {
		t.Fatalf("faults with delay and errors overlapping = %+v, want latency 50 and error rate 0.2", f)
	}
	if err := delay(ctx); err != nil {
		t.Fatal(err)
	}
	if f := pr.p.Faults(); f.LatencyMS != 0 || f.ErrorRate != 0.2 {
		t.Fatalf("faults after psp-delay recovered = %+v, want the errors alone", f)
	}
	if err := errs(ctx); err != nil {
		t.Fatal(err)
	}
	pr.healthy(t)
}

// waitFor polls cond every 10 ms until it holds, failing the test after limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
