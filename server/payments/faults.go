package payments

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Faults are the failure modes of the processor, switched at run time through PUT /admin/faults
// or Processor.SetFaults. The zero value is a healthy processor.
//
// Each POST /charges or /refunds draws one number from the seeded source and meets at most one
// of the failures, in this order: ErrorRate (answer 500, nothing charged), TimeoutRate (hold the
// request until the client gives up, nothing charged), LostResponseRate (do the work, then close
// the connection without an answer). When the rates add up to more than 1 (a chaos schedule
// merging overlapping faults), the later ones get what the earlier leave. Latency applies to every
// answer of those endpoints before anything else happens; a request whose client gives up during
// the delay is still processed, as a real processor would, so a long latency is itself a source
// of unknown outcomes.
type Faults struct {
	// LatencyMS delays charge and refund answers, in milliseconds (0..600000): every one, or
	// the fraction LatencyRate of them.
	LatencyMS int64 `json:"latency_ms"`
	// LatencyRate, when set, is the fraction of requests delayed (0..1), chosen from the seeded
	// source like the other fates; left out, every request is.
	LatencyRate *float64 `json:"latency_rate,omitempty"`
	// ErrorRate is the fraction of requests answered 500 without charging (0..1).
	ErrorRate float64 `json:"error_rate"`
	// TimeoutRate is the fraction of requests held past any sensible deadline without charging.
	TimeoutRate float64 `json:"timeout_rate"`
	// LostResponseRate is the fraction of requests that charge (or refund) and then drop the
	// connection without an answer.
	LostResponseRate float64 `json:"lost_response_rate"`
	// Seed, when set, restarts the failure decisions from this seed. Left out, the current
	// sequence continues. GET /admin/faults reports the seed last set.
	Seed *int64 `json:"seed,omitempty"`
}

// maxLatency bounds LatencyMS: ten minutes is longer than any hold TTL a scenario uses.
const maxLatency = 10 * time.Minute

// Validate reports the first out-of-range field, naming it.
func (f Faults) Validate() error {
	if f.LatencyMS < 0 || time.Duration(f.LatencyMS)*time.Millisecond > maxLatency {
		return fmt.Errorf("latency_ms: %d is outside 0..%d", f.LatencyMS, maxLatency.Milliseconds())
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"error_rate", f.ErrorRate}, {"timeout_rate", f.TimeoutRate}, {"lost_response_rate", f.LostResponseRate}, {"latency_rate", f.latencyRate()}} {
		if !(r.v >= 0 && r.v <= 1) { // also rejects NaN
			return fmt.Errorf("%s: %v is outside 0..1", r.name, r.v)
		}
	}
	return nil
}

// Latency is LatencyMS as a duration.
func (f Faults) Latency() time.Duration { return time.Duration(f.LatencyMS) * time.Millisecond }

// latencyRate is LatencyRate, 1 when left out.
func (f Faults) latencyRate() float64 {
	if f.LatencyRate == nil {
		return 1
	}
	return *f.LatencyRate
}

// fate is what the fault decision made of one request.
type fate int

const (
	fateNormal fate = iota
	fateError
	fateTimeout
	fateLost
)

func (f fate) String() string {
	return [...]string{"normal", "error", "timeout", "lost_response"}[f]
}

// injector holds the current faults and the seeded source the decisions come from. It is safe
// for concurrent use; decisions are drawn in the order requests reach it.
type injector struct {
	mu     sync.Mutex
	faults Faults
	seed   int64
	rng    *rand.Rand
	// slow draws which requests a partial latency delays: a stream of its own, so delaying
	// some requests does not change which ones fail.
	slow *rand.Rand
}

func newInjector(seed int64) *injector {
	return &injector{seed: seed, rng: newRand(seed, 0x5eed_57a3_9ede), slow: newRand(seed, 0x51_0e_de1a)}
}

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// set replaces the faults, reseeding when f.Seed is set.
func (in *injector) set(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if f.Seed != nil {
		fresh := newInjector(*f.Seed)
		in.seed, in.rng, in.slow = fresh.seed, fresh.rng, fresh.slow
	}
	seed := in.seed
	f.Seed = &seed
	in.faults = f
	return nil
}

// get returns the current faults, with the seed last set.
func (in *injector) get() Faults {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.faults
	seed := in.seed
	f.Seed = &seed
	return f
}

// decide draws the fate of one request and returns it with the latency to apply first. A
// healthy configuration draws nothing, so turning faults on later starts the sequence fresh.
func (in *injector) decide() (fate, time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.faults
	latency := f.Latency()
	if r := f.latencyRate(); latency > 0 && r < 1 && in.slow.Float64() >= r {
		latency = 0
	}
	if f.ErrorRate == 0 && f.TimeoutRate == 0 && f.LostResponseRate == 0 {
		return fateNormal, latency
	}
	u := in.rng.Float64()
	switch {
	case u < f.ErrorRate:
		return fateError, latency
	case u < f.ErrorRate+f.TimeoutRate:
		return fateTimeout, latency
	case u < f.ErrorRate+f.TimeoutRate+f.LostResponseRate:
		return fateLost, latency
	}
	return fateNormal, latency
}
