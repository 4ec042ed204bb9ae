package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Fault is one kind of failure.
type Fault interface {
	// Name is the fault's schedule name (redis-restart, psp-delay, ...).
	Name() string
	// Inject starts the fault on t. The returned recover ends it (nil for a fault that is over
	// once injected, such as a restart). Inject returns an error wrapping sut.ErrUnsupported
	// when the target lacks what the fault needs.
	Inject(ctx context.Context, t *Target, p Params) (recover func(context.Context) error, err error)
}

// Spec describes a fault for `stampede chaos list` (its JSON is that of --json) and for
// validating a schedule.
type Spec struct {
	Name string `json:"name"`
	// About says what the fault does, in a sentence.
	About string `json:"about"`
	// Needs says which handle of the target it acts on.
	Needs string `json:"needs"`
	// Window is true when the fault lasts for `for` and then recovers.
	Window bool    `json:"window"`
	Params []Param `json:"params"`
	// LosesHolds is true when the fault may make the system forget holds it granted (a Redis
	// restart or flush takes every lock with it). The checker lets a hold taken before such a
	// fault ended end at its start, as if it had expired then; sold seats are never lost.
	LosesHolds bool `json:"loses_holds"`
	// Payments is true when the fault acts on the payment processor's answers (delayed, failed
	// or lost): a checkout in its window may not learn how its charge went. Crashes is true
	// when the fault kills the server mid-request. The checker counts the checkouts they catch
	// (its hazard coverage); they excuse nothing.
	Payments bool `json:"payments,omitempty"`
	Crashes  bool `json:"crashes,omitempty"`
	// Lingers names the duration parameter by which the fault outlasts its window: a call it
	// slowed at the window's last instant answers that much later, and holds what it holds
	// (a lock, a pooled connection) until then. The fault-end record carries it
	// (history.ParamLinger), and the latencies the SLOs judge leave out what it still reached.
	Lingers string `json:"lingers,omitempty"`
}

// Param is one parameter of a fault.
type Param struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"` // duration, float, int, string
	Default string `json:"default,omitempty"`
	About   string `json:"about"`
}

// Params are a schedule entry's parameters, as strings, checked against the fault's Spec.
type Params map[string]string

// Duration returns the named duration parameter.
func (p Params) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(p[name])
	return d
}

// Float returns the named number parameter.
func (p Params) Float(name string) float64 {
	f, _ := strconv.ParseFloat(p[name], 64)
	return f
}

// Int returns the named integer parameter.
func (p Params) Int(name string) int {
	n, _ := strconv.Atoi(p[name])
	return n
}

// entry is a registered fault with its description.
type entry struct {
	spec  Spec
	fault Fault
}

// registry is every fault, built here in one place.
func registry() map[string]entry {
	list := []entry{
		{redisRestartSpec, redisRestart{}},
		{redisFlushSpec, redisFlush{}},
		{redisPauseSpec, redisPause{}},
		{pspDelaySpec, pspFault{name: "psp-delay"}},
		{pspErrorsSpec, pspFault{name: "psp-errors"}},
		{pspAmbiguousSpec, pspFault{name: "psp-ambiguous"}},
		{poolExhaustionSpec, poolExhaustion{}},
		{dbConnKillSpec, dbConnKill{}},
		{netLatencySpec, netFault{name: "net-latency"}},
		{netPartitionSpec, netFault{name: "net-partition"}},
		{netResetSpec, netFault{name: "net-reset"}},
		{serverCrashSpec, serverCrash{}},
	}
	m := make(map[string]entry, len(list))
	for _, e := range list {
		m[e.spec.Name] = e
	}
	return m
}

// Specs lists every fault, sorted by name.
func Specs() []Spec {
	var out []Spec
	for _, e := range registry() {
		out = append(out, e.spec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HoldLosingFaults names the faults whose Spec has LosesHolds, sorted: what a runner tells the
// checker (checker.Options.HoldLossFaults).
func HoldLosingFaults() []string { return marked(func(s Spec) bool { return s.LosesHolds }) }

// PaymentFaults names the faults whose Spec has Payments, sorted (checker.Options.PaymentFaults).
func PaymentFaults() []string { return marked(func(s Spec) bool { return s.Payments }) }

// CrashFaults names the faults whose Spec has Crashes, sorted (checker.Options.CrashFaults).
func CrashFaults() []string { return marked(func(s Spec) bool { return s.Crashes }) }

// marked names the faults whose Spec has the mark, sorted.
func marked(mark func(Spec) bool) []string {
	var names []string
	for _, s := range Specs() {
		if mark(s) {
			names = append(names, s.Name)
		}
	}
	return names
}

// Lookup returns the named fault and its spec.
func Lookup(name string) (Fault, Spec, error) {
	e, ok := registry()[name]
	if !ok {
		var names []string
		for _, s := range Specs() {
			names = append(names, s.Name)
		}
		return nil, Spec{}, fmt.Errorf("fault %q: unknown; choose one of %s", name, strings.Join(names, ", "))
	}
	return e.fault, e.spec, nil
}

// resolve fills defaults and checks every parameter against the spec.
func (s Spec) resolve(p Params) (Params, error) {
	out := Params{}
	known := map[string]Param{}
	for _, d := range s.Params {
		known[d.Name] = d
		if d.Default != "" {
			out[d.Name] = d.Default
		}
	}
	for k, v := range p {
		d, ok := known[k]
		if !ok {
			var names []string
			for _, d := range s.Params {
				names = append(names, d.Name)
			}
			return nil, fmt.Errorf("%s: unknown parameter %q (parameters: %s)", s.Name, k, strings.Join(names, ", "))
		}
		if err := checkKind(d, v); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		out[k] = v
	}
	return out, nil
}

func checkKind(d Param, v string) error {
	switch d.Kind {
	case "duration":
		x, err := time.ParseDuration(v)
		if err != nil || x < 0 {
			return fmt.Errorf("parameter %s: want a duration like 500ms or 2s, got %q", d.Name, v)
		}
	case "float":
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 {
			return fmt.Errorf("parameter %s: want a non-negative number, got %q", d.Name, v)
		}
		if strings.HasSuffix(d.Name, "rate") || d.Name == "fraction" {
			if x > 1 {
				return fmt.Errorf("parameter %s: want a fraction in [0, 1], got %q", d.Name, v)
			}
		}
	case "int":
		x, err := strconv.Atoi(v)
		if err != nil || x < 0 {
			return fmt.Errorf("parameter %s: want a non-negative integer, got %q", d.Name, v)
		}
	}
	return nil
}

// pick chooses k of n indexes with r, deterministically for a seed.
func pick(r *rand.Rand, n, k int) []int {
	if k >= n {
		k = n
	}
	perm := r.Perm(n)
	out := perm[:k]
	sort.Ints(out)
	return out
}
