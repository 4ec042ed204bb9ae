package workloads

import (
	"fmt"
	"math"
	"sort"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Whose are the driver's slot waits?
//
// A request that waits for one of the driver's connection slots waits for the requests holding
// them, and a slot is held for exactly its request's time in flight (handed to the transport to
// answered). So a slot wait is the target's or the generator's according to why the holders
// were in flight so long, judged per operation from the driver's own timing of every request
// it sent:
//
//   - Of the requests the target answered (a deadline or a transport error cuts a request's time
//     short), base(op) is the operation's shortest time in flight in the run: the target's own
//     time for it when nothing queued ahead (the herd's first requests, a quick refusal);
//     typical(op) is their median time in flight (the median, not the mean: a few stalls of a
//     busy machine are not a queue) and n(op) their number.
//   - The target's slowdown q = sum n(op)*(typical(op)-base(op)) / sum n(op)*typical(op) is the
//     share of the time the slots were typically held that the target added above its own
//     unloaded time: its queueing, pool waits, database and the like as its load grew.
//   - The target slowed the run when q >= MinTargetSlowdown (its added time dominates the
//     holders' time), the added time averages at least MinTargetAdded a request (below that a
//     fast target's jitter is not a queue), and at least MinTargetAnswered requests were
//     answered (a handful of times in flight is no evidence either way).
//
// When the target slowed the run, the share q of the slot waits is the target's
// (GeneratorStats.SlotWaitTargetSeconds), left out of the generator's cost, and the slot waits
// do not make the run generator-bound: the slots were held by requests queued at a target
// whose time grows with what it is asked, and more slots would have moved that queue into it.
// Otherwise the waits are the generator's: a tiny cap before a fast target, or a target whose
// time does not grow with load (more connections would have carried more).
//
// The other signs that the generator, not the target, limited a run stay the generator's
// whatever the target did (judgeGenerator): lag p99 of the requests that found a slot free
// (GeneratorStats.LagIdle; lag behind full slots is the machine's scheduler busy with what holds
// them), arrivals dropped for too many running users, and the driver's process CPU.

// Bounds of the slot-wait rule above.
const (
	MinTargetSlowdown = 0.5
	MinTargetAdded    = time.Millisecond
	MinTargetAnswered = 20
)

// targetSlowdown applies the rule above to the time-in-flight histograms of a run's operations
// (microseconds): the target's slowdown q and whether the target slowed the run.
func targetSlowdown(flights []*hdr.Histogram) (q float64, slowed bool) {
	var n, held, added float64
	for _, h := range flights {
		c := float64(h.TotalCount())
		if c == 0 {
			continue
		}
		typical := float64(h.ValueAtQuantile(50))
		n += c
		held += c * typical
		added += c * max(typical-float64(h.Min()), 0)
	}
	if held <= 0 {
		return 0, false
	}
	q = added / held
	perRequest := time.Duration(added / n * float64(time.Microsecond))
	return round3(q), q >= MinTargetSlowdown && perRequest >= MinTargetAdded && n >= MinTargetAnswered
}

// Resources an Attribution names.
const (
	ResourceGenerator   = "generator"
	ResourceServerQueue = "server queue"
	ResourceServer      = "server"
	ResourcePoolWait    = "pool wait"
	ResourceDatabase    = "database"
	ResourceRedis       = "redis"
	ResourcePayment     = "payment"
	// ResourceTarget is the limit when the target says nothing of its time (no /metrics).
	ResourceTarget = "target"
)

// Attribution says where a run's time went, per resource, and names the limiting resource
// at a glance.
//
// The costs are sums over requests, in seconds: the driver's own lag and connection-slot
// waits (generator); from the target's /metrics (ServerTime), the time requests waited in
// the server's queue when it exposes one, pool waits per connection tag, database connection
// time, Redis time (exposed, or estimated as the strategy's time off the database and the
// processor), payment time, and the rest of the server's time serving requests (server:
// handlers, and queueing the server does not expose). They overlap where the work does (a
// strategy that charges inside its transaction holds a connection while it pays), so the
// shares say where the time went, not a partition of it.
type Attribution struct {
	// Costs are the resources' times, largest first; Share is each one's part of their sum.
	Costs []Cost `json:"costs"`
	// Limit is the limiting resource: generator when the run was generator-bound, otherwise
	// the resource with the largest share (with its tag: "pool wait (hold)"); target when the
	// target exposed no figures and the generator kept up. Why says how it was chosen, with
	// the figure.
	Limit string `json:"limit"`
	Why   string `json:"why"`
	// Shed counts the requests the target shed during the herd: its own count when it exposes
	// one, else the driver's (Outcomes.Shed); ShedSource says which.
	Shed       int64  `json:"shed"`
	ShedSource string `json:"shed_source"`
	// Notes say what the figures do not cover.
	Notes []string `json:"notes,omitempty"`
}

// Cost is one resource's part of a run's time.
type Cost struct {
	// Resource is one of the Resource names; pool waits carry their connection tag in Tag.
	Resource string  `json:"resource"`
	Tag      string  `json:"tag,omitempty"`
	Seconds  float64 `json:"seconds"`
	Share    float64 `json:"share"`
	// Source names where the figure came from: the driver, a metric, or an estimate.
	Source string `json:"source"`
}

// Name is the resource with its tag, as reports show it ("pool wait (hold)").
func (c Cost) Name() string {
	if c.Tag != "" {
		return fmt.Sprintf("%s (%s)", c.Resource, c.Tag)
	}
	return c.Resource
}

// attribute builds the Attribution of a summary from its generator figures and, when the
// target exposes them, its server figures (nil otherwise).
func attribute(s *Summary, srv *ServerTime, srvErr error) Attribution {
	var a Attribution
	add := func(resource, tag string, sec float64, source string) {
		if sec > 0 {
			a.Costs = append(a.Costs, Cost{Resource: resource, Tag: tag, Seconds: round3(sec), Source: source})
		}
	}
	g := &s.Generator
	add(ResourceGenerator, "", g.LagSeconds+g.SlotWaitSeconds-g.SlotWaitTargetSeconds,
		"driver: lag and connection-slot waits not behind a slowed target")
	if g.SlotWaitTargetSeconds > 0 {
		a.Notes = append(a.Notes, fmt.Sprintf("%.1f s of the driver's connection-slot waits were behind requests the target slowed "+
			"(%.0f%% of their time in flight was the target's, above its unloaded time): counted as the target's, not the generator's",
			g.SlotWaitTargetSeconds, g.TargetSlowdown*100))
	}
	a.Shed, a.ShedSource = s.Outcomes.Shed, "driver"
	if srv != nil {
		var db, pool float64
		for _, tag := range sortedTags(srv.PoolWait) {
			add(ResourcePoolWait, tag, srv.PoolWait[tag], familyPoolWait)
			pool += srv.PoolWait[tag]
		}
		for _, v := range srv.ConnHold {
			db += v
		}
		add(ResourceDatabase, "", db, familyConnHold)
		add(ResourcePayment, "", srv.Payment, familyPayment)
		redis := srv.Redis
		if srv.RedisExposed {
			add(ResourceRedis, "", redis, redisFamilyPrefix+"*_seconds")
		} else {
			redis = max(srv.Strategy-srv.StrategyDB-srv.Payment, 0)
			add(ResourceRedis, "", redis, "estimate: strategy time off the database and the processor")
		}
		if srv.QueueExposed {
			add(ResourceServerQueue, "", srv.Queue, queueFamilyPrefix+"*_seconds")
		}
		add(ResourceServer, "", max(srv.HTTP-srv.Queue-pool-db-srv.Payment-redis, 0),
			"estimate: request time in the server beyond the parts above")
		if srv.ShedExposed {
			a.Shed, a.ShedSource = srv.Shed, familyShed
		}
		if srv.Restarted {
			a.Notes = append(a.Notes, "the server restarted during the herd: its figures cover its last process only")
		}
	} else {
		note := "the target exposes no /metrics: only the driver's side is measured"
		if srvErr != nil {
			note = fmt.Sprintf("the target's metrics could not be read (%v): only the driver's side is measured", srvErr)
		}
		a.Notes = append(a.Notes, note)
	}
	var total float64
	for _, c := range a.Costs {
		total += c.Seconds
	}
	for i := range a.Costs {
		if total > 0 { // no time measured at all: every share stays 0, never NaN
			a.Costs[i].Share = round3(a.Costs[i].Seconds / total)
		}
	}
	sort.SliceStable(a.Costs, func(i, j int) bool { return a.Costs[i].Seconds > a.Costs[j].Seconds })
	switch {
	case s.GeneratorBound:
		a.Limit = ResourceGenerator
		a.Why = "the driver limited the run: " + s.GeneratorReasons[0]
	case srv == nil:
		a.Limit = ResourceTarget
		a.Why = "the driver kept up; the target does not say where its time went"
	case len(a.Costs) == 0:
		a.Limit = ResourceTarget
		a.Why = "no time was measured"
	default:
		top := a.Costs[0]
		a.Limit = top.Name()
		a.Why = fmt.Sprintf("%s took the largest share of the measured time: %.0f%% (%.1f s)", top.Name(), top.Share*100, top.Seconds)
	}
	return a
}

func sortedTags(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
