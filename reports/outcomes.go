package reports

import "stampede/workloads"

// outcomeClass is how the reports name, count and colour one kind of outcome. The colours mean
// the same in every chart: green happened, grey was refused as the contract allows (the seat
// was taken, the card declined), purple was shed by an overloaded system, red is an error and
// amber an unknown outcome.
type outcomeClass struct {
	name, colour string
}

var (
	classOK      = outcomeClass{"ok", "#1e8e3e"}
	classRefused = outcomeClass{"refused", "#9aa0a6"}
	classShed    = outcomeClass{"shed", "#8430ce"}
	classError   = outcomeClass{"error", "#d93025"}
	classUnknown = outcomeClass{"unknown", "#f29900"}
	// classFailed stands for refused and error together, for per-second figures written
	// before they were told apart.
	classFailed = outcomeClass{"refused or error", "#80868b"}
)

// outcomeClasses in the order the charts stack and list them.
var outcomeClasses = []outcomeClass{classOK, classRefused, classShed, classError, classUnknown}

// outcomeCounts are counts per class, in the order of outcomeClasses.
type outcomeCounts [5]int64

// classify splits one operation's outcomes (ok, fail, info and fail codes, as in
// Run.Outcomes) into classes: ok; refused, the fails whose code is a business outcome of the
// contract (workloads.IsBusinessCode); shed, the "shed" outcomes, or fails coded overloaded
// where a run counted shedding among its fails; error, the other fails; unknown, info.
func classify(oc map[string]int64) outcomeCounts {
	var c outcomeCounts
	shed := oc["shed"]
	fail := oc["fail"]
	if shed == 0 {
		shed = min(oc["overloaded"], fail)
		fail -= shed
	}
	var refused int64
	for code, n := range oc {
		if workloads.IsBusinessCode(code) {
			refused += n
		}
	}
	refused = min(refused, fail)
	c[0], c[1], c[2], c[3], c[4] = oc["ok"], refused, shed, fail-refused, oc["info"]
	return c
}

// total is the number of outcomes counted.
func (c outcomeCounts) total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}
