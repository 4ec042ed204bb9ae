package chaos

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"
)

// Toxiproxy toxic types of our own, for the net faults whose randomness must follow the run's
// seed: toxiproxy draws toxicity and latency jitter from an unseeded global source.
const (
	seededResetType   = "stampede_reset"   // net-reset of a fraction of connections
	seededLatencyType = "stampede_latency" // net-latency with jitter
)

func init() {
	toxics.Register(seededResetType, new(seededReset))
	toxics.Register(seededLatencyType, new(seededLatency))
}

// seededReset is a toxic that cuts the connections a seeded draw picks, the others passing
// through untouched. Toxiproxy's toxicity draws from an unseeded global source, so which
// connection it hits cannot be repeated; here the n-th connection the toxic meets is cut when
// the n-th draw from Seed falls under Fraction, so connections opened in the same order are cut
// the same way in every run with the same seed. A cut connection closes at its first data, as
// reset_peer with timeout 0 does.
type seededReset struct {
	Fraction float64 `json:"fraction"`
	Seed     uint64  `json:"seed"`

	met atomic.Uint64 // connections decided so far
}

// resetFate is one connection's draw.
type resetFate struct{ cut bool }

// NewState decides the fate of the next connection (toxiproxy calls it once per connection).
func (t *seededReset) NewState() any {
	n := t.met.Add(1)
	return &resetFate{cut: rand.New(rand.NewPCG(t.Seed, n)).Float64() < t.Fraction}
}

func (t *seededReset) Pipe(stub *toxics.ToxicStub) {
	if f, ok := stub.State.(*resetFate); !ok || !f.cut {
		new(toxics.NoopToxic).Pipe(stub)
		return
	}
	select {
	case <-stub.Interrupt:
	case <-stub.Input:
		stub.Close()
	}
}

// seededLatency delays every chunk by Latency ± Jitter milliseconds. Each connection draws its
// jitter from a source of its own, seeded from Seed and the order in which the toxic met the
// connection, so a connection's delays repeat with the seed (toxiproxy's latency toxic draws
// from a global, unseeded source).
type seededLatency struct {
	Latency int64  `json:"latency"` // milliseconds
	Jitter  int64  `json:"jitter"`  // milliseconds, each way around Latency
	Seed    uint64 `json:"seed"`

	met atomic.Uint64
}

// GetBufferSize lets chunks queue while earlier ones wait, as toxiproxy's latency toxic does.
func (t *seededLatency) GetBufferSize() int { return 1024 }

// NewState gives the next connection its own jitter source.
func (t *seededLatency) NewState() any {
	return rand.New(rand.NewPCG(t.Seed, t.met.Add(1)))
}

func (t *seededLatency) delay(r *rand.Rand) time.Duration {
	d := t.Latency
	if t.Jitter > 0 && r != nil {
		d += r.Int64N(2*t.Jitter+1) - t.Jitter
	}
	return time.Duration(max(d, 0)) * time.Millisecond
}

func (t *seededLatency) Pipe(stub *toxics.ToxicStub) {
	r, _ := stub.State.(*rand.Rand)
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			// The delay counts from the chunk's arrival at the proxy.
			wait := t.delay(r) - time.Since(c.Timestamp)
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
				stub.Output <- c
			case <-stub.Interrupt:
				timer.Stop()
				stub.Output <- c // never drop data on an interrupt
				return
			}
		}
	}
}
