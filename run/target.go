package run

import (
	"fmt"
	"strings"
	"time"

	"stampede/checker"
	"stampede/history"
)

// ttlTolerance is how far the lifetime a target gives its holds may be from the scenario's
// hold_ttl, as a fraction of hold_ttl, before the report says they disagree (a target that
// counts from when it wrote the hold, or rounds, is not a mismatch).
const ttlTolerance = 0.1

// expiryHazards are the hazards that happen only when holds expire, so at the target's pace.
var expiryHazards = []history.Hazard{history.HoldsExpired, history.SeatReheld, history.ExpiredMidCheckout, history.ConfirmedAfterExpiry}

// targetNotes are what a run against a system that is not ours must tell its reader: the hold
// lifetime the target answered against the one the scenario assumes (want, 0 when it names
// none), and the checks that depend on the target settling open checkouts, which a target is
// not asked to do.
func targetNotes(want time.Duration, res *checker.Result) []string {
	var notes []string
	got := res.HoldTTL
	var counts []string
	for _, h := range expiryHazards {
		counts = append(counts, fmt.Sprintf("%s %d", h, res.Coverage.Count(h)))
	}
	exp := "the expiry hazards follow the target's lifetime, not the scenario's (" + strings.Join(counts, ", ") + ")"
	if got.Holds > 0 && want > 0 { // holds answered without ttl_ms are the checker's warning
		lo, hi := time.Duration(got.MinMillis)*time.Millisecond, time.Duration(got.MaxMillis)*time.Millisecond
		tol := time.Duration(float64(want) * ttlTolerance)
		if lo < want-tol || hi > want+tol {
			span := lo.String()
			if hi != lo {
				span = lo.String() + " to " + hi.String()
			}
			notes = append(notes, fmt.Sprintf("hold TTL mismatch: the scenario assumes hold_ttl %s, the target's answers gave %s (ttl_ms of %d granted holds); %s",
				want, span, got.Holds, exp))
		}
	}
	notes = append(notes, fmt.Sprintf("settling: the target is not asked to settle the checkouts still open at the end (POST /admin/checkout/settle is the reference server's); %s judge the ledgers as the target left them, so a checkout still open shows there as a charge nothing matches or a seat held past its hold's expiry",
		strings.Join(checker.SettleDependent(), " and ")))
	return notes
}
