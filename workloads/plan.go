package workloads

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Plan is the seeded schedule of a run: which users arrive when, which flow each follows,
// which event and seats it goes after and how long it pauses. It is a pure function of the
// scenario and the seed: User(i) gives the same answer on every call, in every process and in
// every shard. Only the system under test's answers (and the wall clock) decide what happens
// after each request. A Plan is safe for concurrent use.
type Plan struct {
	sc      *Scenario
	seed    int64
	pacer   Pacer
	total   int
	events  []string
	cum     []float64 // cumulative flow weights
	layout  layout
	queries []string
}

// RunSeed is the seed a run of the scenario uses: override when it is not zero (a --seed
// flag, a driver Config), else the scenario's own Seed.
func (s *Scenario) RunSeed(override int64) int64 {
	if override != 0 {
		return override
	}
	return s.Seed
}

// NewPlan builds the plan of sc for seed (sc.RunSeed of the run's --seed).
func NewPlan(sc *Scenario, seed int64) (*Plan, error) {
	prof, err := NewProfile(sc.Arrivals)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return newPlan(sc, seed, prof, int(prof.Total())), nil
}

func newPlan(sc *Scenario, seed int64, pacer Pacer, total int) *Plan {
	p := &Plan{
		sc: sc, seed: seed, pacer: pacer, total: total,
		events: sc.EventIDs(),
		layout: layout{sections: sc.Inventory.Sections, rows: sc.Inventory.Rows, perRow: sc.Inventory.SeatsPerRow},
	}
	acc := 0.0
	for _, f := range sc.Users {
		acc += f.Weight
		p.cum = append(p.cum, acc)
	}
	for _, q := range []string{sc.Inventory.Performer, sc.Inventory.Venue, sc.Inventory.City, sc.Name} {
		if q != "" {
			p.queries = append(p.queries, q)
		}
	}
	return p
}

// Users is the number of users of the whole (unsharded) plan.
func (p *Plan) Users() int { return p.total }

// Seed is the seed the plan was built from.
func (p *Plan) Seed() int64 { return p.seed }

// Scenario returns the plan's scenario.
func (p *Plan) Scenario() *Scenario { return p.sc }

// Pacer returns the plan's arrival pacer.
func (p *Plan) Pacer() Pacer { return p.pacer }

// UserPlan is everything decided in advance about one virtual user. Durations are offsets or
// pauses; seat lists are seat ids. Fields that do not apply to the user's flow are zero.
type UserPlan struct {
	// Index is the user's number in the whole run (0-based); it is the history's client id.
	Index int `json:"index"`
	// Arrival is the offset from the run's start at which the user arrives.
	Arrival time.Duration `json:"arrival_ns"`
	// Flow is browse, buy or bot; FlowIndex is its position in Scenario.Users.
	Flow      string `json:"flow"`
	FlowIndex int    `json:"flow_index"`
	Event     string `json:"event"`
	// Pages are the pages a browser views, each after its Think pause.
	Pages []Page `json:"pages,omitempty"`
	// Think is the pause before the user's first hold (buy) or before each later page (browse).
	Think time.Duration `json:"think_ns,omitempty"`
	// Picks are the seat sets to hold, in order: a buyer tries the next one when the previous
	// was taken (HoldTries of them); a bot sends each in turn (Attempts of them). Empty for a
	// best-available buyer, who picks from the live seat map, and for a GA buyer.
	Picks [][]string `json:"picks,omitempty"`
	// Count is how many seats or GA units the user wants; Tier is the GA tier, if any.
	Count int    `json:"count,omitempty"`
	Tier  string `json:"tier,omitempty"`
	// BestAvailable users read the seat map and hold the best block of Count adjacent seats.
	// They read one section a try: Section (0-based) first, then the next ones in turn.
	BestAvailable bool `json:"best_available,omitempty"`
	Section       int  `json:"section,omitempty"`
	// LookFirst users (buyers with zipf picks) read the map of each pick's section before
	// holding it, and skip a pick the map shows taken.
	LookFirst bool `json:"look_first,omitempty"`
	// PayAfter is the pause between a granted hold and the checkout.
	PayAfter time.Duration `json:"pay_after_ns,omitempty"`
	// Abandon users never pay; Release says whether they release the hold or let it expire.
	Abandon bool `json:"abandon,omitempty"`
	Release bool `json:"release,omitempty"`
	// Decline users pay with a declined card.
	Decline bool `json:"decline,omitempty"`
	// Queue says whether the user joins the waiting room before holding.
	Queue bool `json:"queue,omitempty"`
	// Scans are a scan fan's presentations at the gates, EnterAfter the pause before them,
	// Refund whether the booking is refunded first (scan.go).
	Scans      []ScanStep    `json:"scans,omitempty"`
	EnterAfter time.Duration `json:"enter_after_ns,omitempty"`
	Refund     bool          `json:"refund,omitempty"`
}

// Page is one page view of a browser.
type Page struct {
	// Kind is list (GET /events), event (GET /events/{id}), search (GET /events/search) or
	// seats (GET /events/{id}/seats).
	Kind  string        `json:"kind"`
	Query string        `json:"query,omitempty"`
	Think time.Duration `json:"think_ns,omitempty"`
}

// Page kinds.
const (
	PageList   = "list"
	PageEvent  = "event"
	PageSearch = "search"
	PageSeats  = "seats"
)

// userRand returns the user's own generator, derived from the seed and the user index only.
func userRand(seed int64, index int) *rand.Rand {
	a := splitmix(uint64(seed) ^ 0x9e3779b97f4a7c15)
	b := splitmix(a ^ uint64(index))
	return rand.New(rand.NewPCG(a, b))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func drawDuration(r *rand.Rand, d DurationRange) time.Duration {
	if d.Max <= d.Min {
		return d.Min
	}
	return d.Min + time.Duration(r.Int64N(int64(d.Max-d.Min)+1))
}

func drawInt(r *rand.Rand, ir IntRange) int {
	if ir.Max <= ir.Min {
		return ir.Min
	}
	return ir.Min + r.IntN(ir.Max-ir.Min+1)
}

// User returns the plan of user i (0 <= i < Users()). The draws are made in a fixed order
// from the user's own generator, so adding a field at the end never changes earlier ones.
func (p *Plan) User(i int) UserPlan {
	r := userRand(p.seed, i)
	u := UserPlan{Index: i}
	if due, ok := p.pacer.Pace(uint64(i)); ok {
		u.Arrival = due
	}
	x := r.Float64() * p.cum[len(p.cum)-1]
	for u.FlowIndex = 0; u.FlowIndex < len(p.cum)-1 && x >= p.cum[u.FlowIndex]; u.FlowIndex++ {
	}
	f := &p.sc.Users[u.FlowIndex]
	u.Flow = f.Flow
	u.Event = p.events[r.IntN(len(p.events))]
	switch f.Flow {
	case FlowBrowse:
		n := drawInt(r, f.Pages)
		u.Pages = make([]Page, n)
		for k := range u.Pages {
			pg := Page{Think: drawDuration(r, f.Think)}
			if k == 0 {
				pg.Think = 0
			}
			switch r.IntN(4) {
			case 0:
				pg.Kind = PageList
			case 1:
				pg.Kind = PageEvent
			case 2:
				pg.Kind = PageSearch
				if len(p.queries) > 0 {
					pg.Query = p.queries[r.IntN(len(p.queries))]
				} else {
					pg.Query = "tour"
				}
			default:
				pg.Kind = PageSeats
			}
			u.Pages[k] = pg
		}
	case FlowBuy, FlowBot, FlowScan:
		u.Count = drawInt(r, f.Seats.Count)
		u.Tier = f.Seats.Tier
		tries := f.HoldTries
		if f.Flow == FlowBot {
			tries = f.Attempts
		}
		if u.Tier == "" {
			if f.Seats.Choice == ChoiceBestAvailable && f.Flow != FlowBot {
				u.BestAvailable = true
			} else {
				u.LookFirst = f.Seats.Choice == ChoiceZipf && f.Flow != FlowBot
				u.Picks = make([][]string, tries)
				for k := range u.Picks {
					u.Picks[k] = p.pick(r, &f.Seats, u.Count)
				}
			}
		}
		u.Think = drawDuration(r, f.Think)
		if f.Flow != FlowBot {
			u.PayAfter = drawDuration(r, f.PayAfter)
			u.Abandon = r.Float64() < f.Abandon
			u.Release = r.IntN(2) == 0
			u.Decline = r.Float64() < f.Decline
			u.Queue = p.sc.WaitingRoom.Enabled
			if u.BestAvailable {
				u.Section = r.IntN(max(p.layout.sections, 1))
			}
		}
		if f.Flow == FlowScan {
			u.EnterAfter = drawDuration(r, f.Scan.EnterAfter)
			u.Refund = r.Float64() < f.Scan.Refund
			u.Scans = planScans(r, &f.Scan, u.Count, len(p.events) > 1)
		}
	}
	return u
}

// pick draws count seats for one hold.
func (p *Plan) pick(r *rand.Rand, sp *SeatPick, count int) []string {
	switch sp.Choice {
	case ChoiceSpecific:
		perm := r.Perm(len(sp.Seats))[:count]
		// Keep the listed order, so a pick reads like the scenario.
		chosen := make([]bool, len(sp.Seats))
		for _, k := range perm {
			chosen[k] = true
		}
		out := make([]string, 0, count)
		for k, s := range sp.Seats {
			if chosen[k] {
				out = append(out, s)
			}
		}
		return out
	case ChoiceZipf:
		n := p.layout.size()
		z := rand.NewZipf(r, sp.Skew, 1, uint64(n-1))
		return p.layout.block(int(z.Uint64()), count)
	default: // random, and best-available for bots: any seat
		return p.layout.block(r.IntN(p.layout.size()), count)
	}
}

// Candidates returns the seats a best-available buyer prefers, best first, as blocks of count
// adjacent seats, looking at no more than limit seats of the event's ranking.
func (p *Plan) candidates(count, limit int) [][]string {
	n := min(p.layout.size(), limit)
	var out [][]string
	seen := map[string]bool{}
	for rank := 0; rank < n; rank++ {
		b := p.layout.block(rank, count)
		if len(b) < count || seen[b[0]] {
			continue
		}
		seen[b[0]] = true
		out = append(out, b)
	}
	return out
}
