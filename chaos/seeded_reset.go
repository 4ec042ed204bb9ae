package chaos

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/Shopify/toxiproxy/v2/toxics"
)

// seededResetType is the toxiproxy toxic type of a net-reset that cuts only some connections.
const seededResetType = "stampede_reset"

func init() { toxics.Register(seededResetType, new(seededReset)) }

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
