package capacity

import (
	"fmt"
	"sort"
)

// Limit is what limited the system at the boundary of its capacity.
type Limit struct {
	// Resource names it ("pool wait on conn_tag hold", "server shedding", "the load
	// generator"); empty when the steps measured nothing that tells.
	Resource string
	// Evidence is what was measured that names it, in words.
	Evidence string
}

// shedShare is the share of shed requests above which shedding is the limit: a server that
// refuses more than this of its load is protecting itself, whatever else grew.
const shedShare = 0.01

// NameLimit names what limited the system between pass, the highest load that held, and
// fail, the lowest beyond the capacity (either may be nil). In order: a generator that ran
// out; the limiting resource the failing step's own attribution named; the server shedding
// load; else the signal whose time per request grew the most from pass to fail (with no
// pass, the largest at fail). The zero Limit means nothing measured tells.
func NameLimit(pass, fail *Step) Limit {
	if fail == nil {
		return Limit{}
	}
	f := &fail.Result
	switch {
	case f.GeneratorBound:
		return Limit{Resource: "the load generator", Evidence: fmt.Sprintf("it ran out at %s", Rate(fail.Load))}
	case f.Limit != "":
		return Limit{Resource: f.Limit, Evidence: fmt.Sprintf("the attribution of the step at %s", Rate(fail.Load))}
	case f.ShedRate > shedShare && (pass == nil || f.ShedRate > pass.Result.ShedRate):
		return Limit{Resource: "server shedding", Evidence: fmt.Sprintf("%.1f%% of requests refused as overloaded at %s", f.ShedRate*100, Rate(fail.Load))}
	}
	before := map[string]float64{}
	if pass != nil {
		for _, s := range pass.Result.Signals {
			before[s.Resource] = s.Ms
		}
	}
	type growth struct {
		s    Signal
		by   float64
		from float64
	}
	var gs []growth
	for _, s := range f.Signals {
		if by := s.Ms - before[s.Resource]; by > 0 {
			gs = append(gs, growth{s, by, before[s.Resource]})
		}
	}
	if len(gs) == 0 {
		return Limit{}
	}
	sort.Slice(gs, func(i, j int) bool {
		if gs[i].by != gs[j].by {
			return gs[i].by > gs[j].by
		}
		return gs[i].s.Resource < gs[j].s.Resource
	})
	g := gs[0]
	ev := fmt.Sprintf("mean %s at %s", ms(g.s.Ms), Rate(fail.Load))
	if pass != nil {
		ev = fmt.Sprintf("mean %s at %s, %s at %s", ms(g.from), Rate(pass.Load), ms(g.s.Ms), Rate(fail.Load))
	}
	return Limit{Resource: g.s.Resource, Evidence: ev}
}

// ms formats milliseconds for people.
func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}
