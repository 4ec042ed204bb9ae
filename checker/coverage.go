package checker

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"stampede/history"
)

// Coverage says what a run exercised: one row per hazard (history.Hazards, in that order)
// with the number of opportunities for it the history shows. A green run whose hazards all
// count zero proved little; the checks they feed are then NotExercised. The package
// documentation says what each hazard counts.
type Coverage []HazardCount

// HazardCount is one row of a Coverage.
type HazardCount struct {
	Hazard history.Hazard `json:"hazard"`
	// Count is how many times the run created the hazard, in the hazard's own unit (hold
	// attempts, holds, checkouts or tiers).
	Count int `json:"count"`
	// Peak is, for the concurrency hazards, the most hold attempts in flight at one instant on
	// one seat or tier; 0 for the others and when Count is 0.
	Peak int `json:"peak,omitempty"`
	// Checks are the checks the hazard feeds: those that could catch what it puts at risk.
	Checks []string `json:"checks"`
}

// feeds says which checks each hazard feeds: the checks that could catch what it puts at risk.
var feeds = map[history.Hazard][]string{
	history.ConcurrentSeatHolds:    {CheckLinearizability, CheckNoDoubleSale, CheckSeatStates},
	history.ConcurrentTierHolds:    {CheckLinearizability, CheckNoDoubleSale, CheckGACapacity},
	history.TierSoldOut:            {CheckNoDoubleSale, CheckGACapacity},
	history.HoldsExpired:           {CheckLinearizability, CheckFalseSellOuts, CheckLeakedHolds},
	history.SeatReheld:             {CheckLinearizability, CheckNoDoubleSale, CheckFalseSellOuts},
	history.ExpiredMidCheckout:     {CheckLinearizability, CheckNoDoubleSale, CheckChargesMatched},
	history.ConfirmedAfterExpiry:   {CheckLinearizability, CheckNoDoubleSale},
	history.UnknownCheckoutRetried: {CheckBookingsExist, CheckChargesMatched, CheckIdempotency, CheckBookingsCharged},
	history.PSPAnswerLost:          {CheckChargesMatched, CheckIdempotency, CheckBookingsCharged},
	history.CrashMidCheckout:       {CheckBookingsExist, CheckSeatStates, CheckChargesMatched, CheckIdempotency, CheckBookingsCharged},
	history.HoldsAtStateLoss:       {CheckLinearizability, CheckNoDoubleSale, CheckSeatStates, CheckChargesMatched},
	history.HoldsWithoutToken:      {CheckAdmission},
	history.ForgedScans:            {CheckGateForgeries, CheckGateOverwhelmed},
	history.DuplicateScans:         {CheckGateOnce, CheckGateAnswered},
	history.CancelledScans:         {CheckGateAnswered},
}

// checksFed returns the checks hazard h feeds (a copy).
func checksFed(h history.Hazard) []string { return slices.Clone(feeds[h]) }

// HazardsOf returns the hazards that feed the named check, in the order of history.Hazards.
func HazardsOf(check string) []history.Hazard {
	var out []history.Hazard
	for _, h := range history.Hazards() {
		if slices.Contains(feeds[h], check) {
			out = append(out, h)
		}
	}
	return out
}

// Count returns the count of hazard h (0 when the Coverage has no row for it).
func (c Coverage) Count(h history.Hazard) int {
	for _, r := range c {
		if r.Hazard == h {
			return r.Count
		}
	}
	return 0
}

// exercises reports whether some hazard that feeds the named check occurred.
func (c Coverage) exercises(check string) bool {
	return slices.ContainsFunc(HazardsOf(check), func(h history.Hazard) bool { return c.Count(h) > 0 })
}

// exercise turns the passes of checks whose hazards all counted zero into NotExercised, with
// a note naming those hazards. Failures, undecided and skipped checks keep their status: a
// violation found is worth reporting however the run got there.
func (c Coverage) exercise(vs []Verdict) {
	for i := range vs {
		v := &vs[i]
		hs := HazardsOf(v.Check)
		if v.Status != Pass || len(hs) == 0 || c.exercises(v.Check) {
			continue
		}
		names := make([]string, len(hs))
		for j, h := range hs {
			names[j] = string(h)
		}
		note := "none of its hazards occurred: " + strings.Join(names, ", ")
		if v.Note != "" {
			note += " (" + v.Note + ")"
		}
		v.Status, v.Note = NotExercised, note
	}
}

// Shortfall is a hazard a run reached fewer times than it was asked to.
type Shortfall struct {
	Hazard history.Hazard `json:"hazard"`
	// Want is the minimum asked for, Got the run's count.
	Want int `json:"want"`
	Got  int `json:"got"`
}

// String renders s as "expired_mid_checkout: 0 of at least 1".
func (s Shortfall) String() string {
	return fmt.Sprintf("%s: %d of at least %d", s.Hazard, s.Got, s.Want)
}

// Shortfalls compares c with the minimums (a scenario's `coverage:` section, or
// `--require-coverage`) and returns every hazard below its minimum, in the order of
// history.Hazards, then any hazard c does not know, whose count is 0. It is empty when the
// run reached every minimum.
func (c Coverage) Shortfalls(minimums map[history.Hazard]int) []Shortfall {
	var out []Shortfall
	for _, h := range history.Hazards() {
		if want, ok := minimums[h]; ok && c.Count(h) < want {
			out = append(out, Shortfall{Hazard: h, Want: want, Got: c.Count(h)})
		}
	}
	var unknown []Shortfall
	for h, want := range minimums {
		if !h.Known() && want > 0 {
			unknown = append(unknown, Shortfall{Hazard: h, Want: want})
		}
	}
	slices.SortFunc(unknown, func(a, b Shortfall) int { return strings.Compare(string(a.Hazard), string(b.Hazard)) })
	return append(out, unknown...)
}

// WriteTable writes the coverage as an aligned table: hazard, count, peak and the checks fed.
func (c Coverage) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HAZARD\tCOUNT\tPEAK\tFEEDS")
	for _, r := range c {
		peak := "-"
		if r.Peak > 0 {
			peak = strconv.Itoa(r.Peak)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Hazard, r.Count, peak, strings.Join(r.Checks, ", "))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write coverage table: %w", err)
	}
	return nil
}
