package reports

import (
	"fmt"
	"strings"
)

// term is one entry of the glossary that report.md and report.html end with.
type term struct{ Term, Means string }

// glossary explains, once, the words a reader meets in the reports.
var glossary = []term{
	{"refused", "a request the system turned down as the contract allows (the seat was taken, the card declined): a normal outcome of a herd, not an error."},
	{"lost holds", "checkouts refused because the system no longer had the buyer's hold: lost during payment (the charge is refunded) or forgotten before it, as after a Redis restart."},
	{"unknown outcomes", "requests whose result the client never learned (a timeout, a connection reset after sending, a 5xx): they may or may not have taken effect, and the checker allows both."},
	{"shed", "requests an overloaded system refused up front (503 overloaded): certainly without effect, counted apart from errors."},
	{"false sell-outs", "seats refused or shown as taken while nobody held or had bought them: sales lost to a lagging cache or a stale hold."},
	{"not exercised", "a check that passed although the run never created the hazard it watches for (no contention, no fault at the right moment): a pass that proves little."},
	{"unknown (check)", "the checker could not decide in time; never counted as a pass."},
}

// checkFigures are a check's count split into what it examined and what it found: a pass
// counts the items checked, a failure its violations, an unknown its undecided items.
func checkFigures(c Check) (checked, violations string) {
	switch c.Result {
	case Pass:
		return fmt.Sprint(c.Count), "0"
	case Fail:
		return "-", fmt.Sprint(c.Count)
	case Unknown:
		if c.Count > 0 {
			return "-", fmt.Sprintf("? (%d undecided)", c.Count)
		}
		return "-", "?"
	}
	if c.Count > 0 {
		return fmt.Sprint(c.Count), "-"
	}
	return "-", "-"
}

// runLine is a run in one line: what it sold and refunded, then its verdict with the first
// reason: "redis-lock on postgres: 4 bookings, 1 refund; FAIL: SLO hold_p99: 475 ms over
// 250 ms".
func runLine(r Run) string {
	line := fmt.Sprintf("%s on %s%s: %d %s, %d %s; ", r.Strategy, r.DB, r.repeatText(),
		r.Bookings, plural(int(r.Bookings), "booking", "bookings"), r.Refunds, plural(int(r.Refunds), "refund", "refunds"))
	if r.Verdict == Pass {
		return line + Pass
	}
	line += strings.ToUpper(r.Verdict)
	if len(r.Reasons) > 0 {
		line += ": " + r.Reasons[0]
		if n := len(r.Reasons) - 1; n > 0 {
			line += fmt.Sprintf("; %d more %s", n, plural(n, "reason", "reasons"))
		}
	}
	return line
}
