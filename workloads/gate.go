package workloads

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Gate is a scenario's regression gate (its `gate:` section): how far each metric may move in
// its bad direction between a baseline and a candidate before the gate fails. The compare
// package applies it, and fails a metric only when it moved beyond its tolerance with
// statistical significance; a metric without a tolerance is reported but not gated. A Gate is
// sorted by metric and names each metric once; the zero value gates nothing.
type Gate []Tolerance

// ToleranceKind says what a tolerance's limit is measured in.
type ToleranceKind string

// Tolerance kinds.
const (
	// Relative limits are a percentage of the baseline's median: `+10%`.
	Relative ToleranceKind = "relative"
	// Points limits are percentage points, for metrics that are percentages: `+0.5pp`.
	Points ToleranceKind = "points"
	// Absolute limits are in the metric's own unit: `+20ms`, `-50/s`, `+2`.
	Absolute ToleranceKind = "absolute"
)

// Tolerance is how far one metric may move in its bad direction.
type Tolerance struct {
	// Metric is a GateMetric's name (hold_p99, throughput, ...).
	Metric string
	Kind   ToleranceKind
	// Limit is the allowed move in the bad direction, >= 0: a percentage (Relative), percentage
	// points (Points) or the metric's unit (Absolute; milliseconds for latencies). 0 lets no
	// significant move in the bad direction through.
	Limit float64
	// Floor, when above 0, is an absolute allowance beside a Relative or Points limit, in the
	// metric's unit (`+20% or +5ms`): the move must go beyond both to exceed the tolerance. On a
	// hold of 2 ms, 20% is 0.4 ms, less than a busy machine's scheduling noise.
	Floor float64
	// Off is set by the value `off`, which lifts a tolerance (on the command line, one of the
	// scenario's); With drops it.
	Off bool
	// Text is the tolerance as written.
	Text string
}

// GateMetric is a metric a gate can hold, per strategy x database.
type GateMetric struct {
	Name string
	// Unit is "ms", "/s", "%" (a percentage of requests) or "" (a count).
	Unit string
	// LowerIsBetter is true when a rise is the bad direction (latencies, error rate, refunds,
	// lost holds) and false when a fall is (throughput, bookings, capacity).
	LowerIsBetter bool
	// About says what the metric is, for usage texts.
	About string
}

// LatencyOps are the operations whose latency percentiles can be gated (`<op>_p99`), and
// LatencyStats the percentiles (p999 is the 99.9th).
var (
	LatencyOps   = []string{"hold", "checkout", "release", "read", "browse", "join"}
	LatencyStats = []string{"p50", "p99", "p999"}
)

var gateMetrics = func() []GateMetric {
	ms := []GateMetric{
		{Name: "throughput", Unit: "/s", About: "requests per second"},
		{Name: "holds_per_sec", Unit: "/s", About: "granted holds per second"},
		{Name: "bookings_per_sec", Unit: "/s", About: "confirmed checkouts per second"},
		{Name: "error_rate", Unit: "%", LowerIsBetter: true, About: "share of requests that were errors (unknown outcomes and non-business failures)"},
		{Name: "bookings", About: "bookings in the system's ledger"},
		{Name: "refunds", LowerIsBetter: true, About: "refunds in the system's ledger"},
		{Name: "lost_holds", LowerIsBetter: true, About: "checkouts refused because the system lost their hold"},
		{Name: "capacity", Unit: "/s", About: "highest arrival rate held within the SLOs, when measured"},
	}
	for _, op := range LatencyOps {
		for _, st := range LatencyStats {
			ms = append(ms, GateMetric{Name: op + "_" + st, Unit: "ms", LowerIsBetter: true,
				About: op + " latency " + st + ", from the intended start"})
		}
	}
	return ms
}()

// GateMetrics returns every metric a gate can hold, in a fixed order: throughput first, then
// rates and counts, then latencies by operation.
func GateMetrics() []GateMetric { return append([]GateMetric(nil), gateMetrics...) }

// LookupGateMetric returns the metric called name.
func LookupGateMetric(name string) (GateMetric, bool) {
	for _, m := range gateMetrics {
		if m.Name == name {
			return m, true
		}
	}
	return GateMetric{}, false
}

// Worse returns "+" when a rise of m is the bad direction and "-" when a fall is.
func (m GateMetric) Worse() string {
	if m.LowerIsBetter {
		return "+"
	}
	return "-"
}

// ParseTolerance parses one tolerance of metric:
//
//	off          no tolerance (lifts one set elsewhere)
//	+10%  -5%    a percentage of the baseline's median
//	+0.5pp       percentage points (error_rate)
//	+20ms +1.5s  for latencies
//	-50/s        for throughputs and capacity
//	+2           for counts (bookings, refunds, lost_holds)
//	+20% or +5ms a percentage with an absolute floor: the move must go beyond both
//
// The sign may be left out; when written it must be the metric's bad direction (+ for a
// latency, - for a throughput), so that the file reads the way the gate acts.
func ParseTolerance(metric, value string) (Tolerance, error) {
	text := strings.TrimSpace(value)
	first, second, either := strings.Cut(text, " or ")
	if !either {
		return parseOneTolerance(metric, text)
	}
	t, err := parseOneTolerance(metric, strings.TrimSpace(first))
	if err != nil {
		return Tolerance{}, err
	}
	floor, err := parseOneTolerance(metric, strings.TrimSpace(second))
	if err != nil {
		return Tolerance{}, err
	}
	if t.Off || floor.Off || t.Kind == Absolute || floor.Kind != Absolute {
		return Tolerance{}, fmt.Errorf("%q: want a relative limit or an absolute one, such as +20%% or +5ms", text)
	}
	t.Floor, t.Text = floor.Limit, text
	return t, nil
}

// parseOneTolerance parses a tolerance without an "or".
func parseOneTolerance(metric, text string) (Tolerance, error) {
	m, ok := LookupGateMetric(metric)
	if !ok {
		return Tolerance{}, fmt.Errorf("unknown metric %q (want %s)", metric, metricHint())
	}
	t := Tolerance{Metric: metric, Text: text}
	if text == "off" {
		t.Off = true
		return t, nil
	}
	num := text
	if strings.HasPrefix(num, "+") || strings.HasPrefix(num, "-") {
		if num[:1] != m.Worse() {
			way := "falls"
			if m.LowerIsBetter {
				way = "rises"
			}
			return Tolerance{}, fmt.Errorf("%q: %s gets worse when it %s; write %s%s", text, metric, way, m.Worse(), num[1:])
		}
		num = num[1:]
	}
	var err error
	switch {
	case num == "":
		return Tolerance{}, fmt.Errorf("empty tolerance (want e.g. %s)", example(m))
	case strings.HasSuffix(num, "%"):
		t.Kind = Relative
		t.Limit, err = parseLimit(strings.TrimSuffix(num, "%"))
		if err == nil && !m.LowerIsBetter && t.Limit > 100 {
			return Tolerance{}, fmt.Errorf("%q: %s cannot fall by more than 100%%", text, metric)
		}
	case strings.HasSuffix(num, "pp"):
		if m.Unit != "%" {
			return Tolerance{}, fmt.Errorf("%q: percentage points are for error_rate; use %s", text, unitHint(m))
		}
		t.Kind = Points
		t.Limit, err = parseLimit(strings.TrimSuffix(num, "pp"))
	case m.Unit == "ms":
		t.Kind = Absolute
		var d time.Duration
		if d, err = time.ParseDuration(num); err != nil || d < 0 {
			return Tolerance{}, fmt.Errorf("%q: want a percentage or a duration such as %s", text, example(m))
		}
		t.Limit = float64(d) / float64(time.Millisecond)
	case m.Unit == "/s" && strings.HasSuffix(num, "/s"):
		t.Kind = Absolute
		t.Limit, err = parseLimit(strings.TrimSuffix(num, "/s"))
	case m.Unit == "":
		t.Kind = Absolute
		t.Limit, err = parseLimit(num)
	default:
		return Tolerance{}, fmt.Errorf("%q: want %s", text, unitHint(m))
	}
	if err != nil {
		return Tolerance{}, fmt.Errorf("%q: %v (want e.g. %s)", text, err, example(m))
	}
	return t, nil
}

// ParseToleranceFlag parses `metric=tolerance`, as given to --gate.
func ParseToleranceFlag(s string) (Tolerance, error) {
	metric, value, ok := strings.Cut(s, "=")
	if !ok {
		return Tolerance{}, fmt.Errorf("%q: want metric=tolerance, such as hold_p99=+10%%", s)
	}
	t, err := ParseTolerance(strings.TrimSpace(metric), value)
	if err != nil {
		return Tolerance{}, fmt.Errorf("%s: %w", strings.TrimSpace(metric), err)
	}
	return t, nil
}

func parseLimit(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("not a number")
	case v < 0:
		return 0, fmt.Errorf("negative after its sign")
	}
	return v, nil
}

func unitHint(m GateMetric) string {
	switch m.Unit {
	case "ms":
		return "a percentage (+10%) or a duration (+20ms)"
	case "/s":
		return "a percentage (-5%) or a rate (-50/s)"
	case "%":
		return "a percentage of the baseline (+50%) or percentage points (+0.5pp)"
	}
	return fmt.Sprintf("a percentage (%s10%%) or a count (%s2)", m.Worse(), m.Worse())
}

func example(m GateMetric) string {
	switch m.Unit {
	case "ms":
		return "+10% or +20ms"
	case "/s":
		return "-5% or -50/s"
	case "%":
		return "+0.5pp"
	}
	return m.Worse() + "5%"
}

func metricHint() string {
	names := []string{}
	for _, m := range gateMetrics {
		if m.Unit != "ms" {
			names = append(names, m.Name)
		}
	}
	return strings.Join(names, ", ") + ", or <op>_p50|p99|p999 for op " + strings.Join(LatencyOps, ", ")
}

// With returns g with each of over replacing g's tolerance of the same metric (the last one
// wins), without the ones that are off, sorted by metric. g is not modified.
func (g Gate) With(over ...Tolerance) Gate {
	byMetric := map[string]Tolerance{}
	for _, t := range append(append([]Tolerance(nil), g...), over...) {
		byMetric[t.Metric] = t
	}
	out := Gate{}
	for _, t := range byMetric {
		if !t.Off {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metric < out[j].Metric })
	return out
}

// defaultGate is DefaultGate as written in a scenario's gate: section.
var defaultGate = map[string]string{
	"hold_p50": "+20% or +5ms", "hold_p99": "+25% or +25ms", "checkout_p50": "+20% or +20ms", "checkout_p99": "+25% or +100ms",
	"throughput": "-10%", "error_rate": "+1pp",
}

// DefaultGate is the gate of a scenario without a gate: section: hold and checkout latency
// p50 may grow by 20% and p99 by 25%, and by at least an absolute floor (hold p50 5 ms, p99
// 25 ms; checkout p50 20 ms, p99 100 ms: below them a shared 2-core machine moved a correct
// server's medians between sets of runs, see make gate-calibrate), throughput may fall by 10%
// and the error rate rise by one percentage point, each only failing when the move is also
// significant. It is the one place
// these defaults are written; see Scenario.Tolerances.
func DefaultGate() Gate {
	var g Gate
	for metric, value := range defaultGate {
		t, err := ParseTolerance(metric, value)
		if err != nil {
			panic(fmt.Sprintf("default gate %s=%s: %v", metric, value, err)) // a typo above, caught by the tests
		}
		g = append(g, t)
	}
	return g.With()
}

// Tolerances is the gate a comparison against a baseline applies to runs of sc: the
// scenario's gate: section, or DefaultGate when it has none, with over replacing it metric by
// metric (the --gate flags; `metric=off` lifts one). A `gate: {}` section gates nothing.
func (sc *Scenario) Tolerances(over ...Tolerance) Gate {
	g := sc.Gate
	if g == nil {
		g = DefaultGate()
	}
	return g.With(over...)
}

// Lookup returns g's tolerance of metric.
func (g Gate) Lookup(metric string) (Tolerance, bool) {
	for _, t := range g {
		if t.Metric == metric && !t.Off {
			return t, true
		}
	}
	return Tolerance{}, false
}

// String is the tolerance as written.
func (t Tolerance) String() string { return t.Text }

// Exceeded reports whether moving from base to cand (medians, in the metric's unit) goes
// beyond t in the metric's bad direction. A Relative tolerance of a metric whose base is 0 is
// exceeded by any move in the bad direction, since no percentage of 0 allows one.
func (t Tolerance) Exceeded(base, cand float64) bool {
	m, ok := LookupGateMetric(t.Metric)
	if !ok || t.Off {
		return false
	}
	bad := cand - base // the move in the bad direction, positive when worse
	if !m.LowerIsBetter {
		bad = -bad
	}
	if bad <= 0 || bad <= t.Floor {
		return false
	}
	switch t.Kind {
	case Relative:
		if base == 0 {
			return true
		}
		return bad/math.Abs(base)*100 > t.Limit
	default: // Points and Absolute are both differences in the metric's unit.
		return bad > t.Limit
	}
}

// IsBusinessCode reports whether a fail with this code is a normal outcome of a herd
// (somebody else got the seat) rather than an error: such fails do not count against the
// error rate (see Summary.ErrorRate).
func IsBusinessCode(code string) bool { return businessCodes[code] }

// gate validates a scenario's gate section: metric names and tolerances.
func (v *validator) gate(fg map[string]any) Gate {
	if fg == nil {
		return nil // no gate: section; Tolerances gives DefaultGate
	}
	var g Gate
	for metric, raw := range fg {
		field := "gate." + metric
		var value string
		switch x := raw.(type) {
		case string:
			value = x
		case int, int64, uint64, float64:
			value = fmt.Sprint(x)
		default:
			v.errf(field, "want a tolerance such as +10%%, -5%% or +0.5pp")
			continue
		}
		t, err := ParseTolerance(metric, value)
		if err != nil {
			v.errf(field, "%v", err)
			continue
		}
		g = append(g, t)
	}
	return g.With()
}
