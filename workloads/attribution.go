package workloads

import (
	"fmt"
	"math"
	"sort"
)

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
	add(ResourceGenerator, "", s.Generator.LagSeconds+s.Generator.SlotWaitSeconds, "driver: lag and connection-slot waits")
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
