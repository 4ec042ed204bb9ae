package checker

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is the outcome of one check, or of a whole Result.
type Status string

const (
	// Pass means the check looked at its inputs and found nothing wrong.
	Pass Status = "pass"
	// Fail means the check found at least one violation; the Verdict carries counterexamples.
	Fail Status = "fail"
	// Unknown means the check could not decide (a linearizability partition timed out or was
	// too large). It is never a pass.
	Unknown Status = "unknown"
	// Skipped means the check's inputs were missing (no ledger, no waiting room, ...).
	Skipped Status = "skipped"
	// NotExercised means the check found nothing wrong but the run never created any of the
	// hazards it guards against (Coverage), so its pass proves little. It is not a failure.
	NotExercised Status = "not-exercised"
)

// Kind groups checks by what a violation costs.
type Kind string

const (
	// Safety checks catch what must never happen: a seat sold twice, a lost booking.
	Safety Kind = "safety"
	// Money checks reconcile the system's ledger with the payment processor's.
	Money Kind = "money"
	// Availability checks catch the opposite failure: seats shown as sold out while idle.
	Availability Kind = "availability"
)

// Names of the checks, in the order a Result lists them.
const (
	CheckLinearizability = "linearizability"
	CheckNoDoubleSale    = "no-double-sale"
	CheckBookingsExist   = "bookings-exist"
	CheckSeatStates      = "seat-states"
	CheckGACapacity      = "ga-capacity"
	CheckChargesMatched  = "charges-matched"
	CheckIdempotency     = "idempotency"
	CheckBookingsCharged = "bookings-charged"
	CheckAdmission       = "admission"
	CheckFalseSellOuts   = "false-sell-outs"
	CheckLeakedHolds     = "leaked-holds"
)

// Verdict is the outcome of one check.
type Verdict struct {
	// Check is one of the Check* names.
	Check  string `json:"check"`
	Kind   Kind   `json:"kind"`
	Status Status `json:"status"`
	// Count is the number of violations for Fail, of undecided items for Unknown, 0 otherwise.
	Count int `json:"count"`
	// Checked is how many items the check examined (partitions, seats, charges, holds...).
	Checked int `json:"checked"`
	// Examples holds the first counterexamples, at most Options.MaxExamples, earliest first
	// where a time is known.
	Examples []Counterexample `json:"examples,omitempty"`
	// Note says why a check was skipped or undecided, or adds context to a pass.
	Note string `json:"note,omitempty"`
}

// Counterexample is one concrete violation.
type Counterexample struct {
	// Subject names what is wrong in a few words: "seat A-1-7", "charge ch_12", "tier floor".
	Subject string `json:"subject"`
	// Event and Seat are set when the violation concerns a seat (or a general-admission unit).
	Event string `json:"event,omitempty"`
	Seat  string `json:"seat,omitempty"`
	// Message is one sentence saying what is wrong.
	Message string `json:"message"`
	// Clients are the virtual users involved, ascending.
	Clients []int `json:"clients,omitempty"`
	// Ops are the history operations involved, by call time.
	Ops []OpRef `json:"ops,omitempty"`
	// Time is when the violation became visible, in nanoseconds on the run's monotonic axis;
	// HasTime is false when no time is known (a ledger entry without a timestamp).
	Time    int64 `json:"time,omitempty"`
	HasTime bool  `json:"has_time,omitempty"`
	// Fault is the fault window the violation happened in or followed, if any.
	Fault *FaultRef `json:"fault,omitempty"`
	// Visualization is the path of porcupine's HTML rendering of the failing partition.
	Visualization string `json:"visualization,omitempty"`
}

// OpRef points at one record of the history.
type OpRef struct {
	// Index is the record's 0-based position in the history as given (the header, when there
	// is one, is index 0, so in a file without blank lines the line number is Index+1).
	Index  int    `json:"index"`
	Client int    `json:"client"`
	Op     string `json:"op"`
	Type   string `json:"type"`
	// Call and Ret are nanoseconds on the run's monotonic axis as recorded.
	Call int64 `json:"call"`
	Ret  int64 `json:"ret"`
	// Text describes the operation and its outcome.
	Text string `json:"text"`
	// Culprit marks the operation that could not be explained by the ones before it.
	Culprit bool `json:"culprit,omitempty"`
}

// FaultWindow is one injected fault, from its fault-start record to its fault-end record.
type FaultWindow struct {
	Name   string            `json:"name"`
	Params map[string]string `json:"params,omitempty"`
	// Start and End are nanoseconds on the run's axis; Open is true when no fault-end record
	// was found, in which case End is the end of the history.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Open  bool  `json:"open,omitempty"`
}

// FaultRef ties a counterexample to the fault it happened in (During) or followed.
type FaultRef struct {
	Name   string `json:"name"`
	Start  int64  `json:"start"`
	End    int64  `json:"end"`
	During bool   `json:"during"`
}

// LinearizabilityStats describes the work of the linearizability check.
type LinearizabilityStats struct {
	// Partitions is the number of seats and general-admission units with operations.
	Partitions int `json:"partitions"`
	// Ops is the number of seat operations projected from the history (a hold of four seats
	// counts four); Checked is how many remained for porcupine after the sound reductions
	// (observers inside a known hold window, operations after a confirmed sale).
	Ops     int `json:"ops"`
	Checked int `json:"checked"`
	// Largest is the size of the largest partition given to porcupine.
	Largest int `json:"largest"`
	// Illegal and Undecided count partitions that failed and that timed out or were too large.
	Illegal   int `json:"illegal"`
	Undecided int `json:"undecided"`
	// Unresolved counts checkouts and releases of hold ids that no hold record names.
	Unresolved int           `json:"unresolved"`
	Duration   time.Duration `json:"duration"`
}

// Result is everything the checker found. Reports render it; the zero value is not useful.
type Result struct {
	// Status is Fail when any check failed, else Unknown when any was undecided, else Pass
	// (checks that were skipped or not exercised do not change it).
	Status Status `json:"status"`
	// OK is Status == Pass.
	OK       bool      `json:"ok"`
	Verdicts []Verdict `json:"verdicts"`
	// Linearizability holds the statistics of the linearizability check.
	Linearizability LinearizabilityStats `json:"linearizability"`
	// Visualizations are the HTML files written for failing partitions.
	Visualizations []string `json:"visualizations,omitempty"`
	// Faults are the run's fault windows.
	Faults []FaultWindow `json:"faults,omitempty"`
	// Coverage counts the hazards the run created, one row per hazard.
	Coverage Coverage `json:"coverage"`
	// Records is the number of history records read; Start is the header's wall-clock start
	// in Unix nanoseconds (0 without a header).
	Records int   `json:"records"`
	Start   int64 `json:"start,omitempty"`
	// Warnings say what the checker had to assume (missing header, holds without expiry...).
	Warnings []string `json:"warnings,omitempty"`
	// HoldTTL is the lifetimes the system gave the holds it granted, from their answers.
	HoldTTL HoldLifetimes `json:"hold_ttl"`
	// TruncatedBytes is how much of a history that ended in an incomplete line was left out
	// (Options.AllowTruncated): the check covers the history up to its last complete line.
	TruncatedBytes int64         `json:"truncated_bytes,omitempty"`
	Duration       time.Duration `json:"duration"`
}

// HoldLifetimes are the lifetimes (ttl_ms) a system gave the holds it granted: the expiry
// hazards (holds_expired, seat_reheld, expired_mid_checkout, confirmed_after_expiry) follow
// them, whatever lifetime the scenario assumed.
type HoldLifetimes struct {
	// Holds counts the granted holds whose answer carried ttl_ms; MinMillis and MaxMillis are
	// the shortest and longest (0 when Holds is 0).
	Holds     int   `json:"holds"`
	MinMillis int64 `json:"min_ms,omitempty"`
	MaxMillis int64 `json:"max_ms,omitempty"`
}

// SettleDependent are the checks whose verdict depends on the system settling the checkouts
// still open at the end of a run (the reference server's POST /admin/checkout/settle, which
// `stampede run` calls before it reads the ledgers): a checkout left open holds a charge that
// neither a booking nor a refund matches yet (charges-matched), and keeps its hold's seats
// held past the hold's expiry (leaked-holds). Against a system that is not asked to settle,
// a failure of these may be an open checkout rather than a bug.
func SettleDependent() []string { return []string{CheckChargesMatched, CheckLeakedHolds} }

// Verdict returns the verdict of the named check, or nil.
func (r *Result) Verdict(check string) *Verdict {
	for i := range r.Verdicts {
		if r.Verdicts[i].Check == check {
			return &r.Verdicts[i]
		}
	}
	return nil
}

// Failed returns the names of the failed checks.
func (r *Result) Failed() []string {
	var out []string
	for _, v := range r.Verdicts {
		if v.Status == Fail {
			out = append(out, v.Check)
		}
	}
	return out
}

func (r *Result) settle() {
	r.Status = Pass
	for _, v := range r.Verdicts {
		switch v.Status {
		case Fail:
			r.Status = Fail
		case Unknown:
			if r.Status != Fail {
				r.Status = Unknown
			}
		}
	}
	r.OK = r.Status == Pass
}

// WriteTable writes the verdicts as an aligned table: check, result, count and the first
// counterexample (or the note of a check that did not pass), then the coverage table, then
// the paths of the visualizations and the warnings.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tCOUNT\tFIRST COUNTEREXAMPLE")
	for _, v := range r.Verdicts {
		first := v.Note
		switch {
		case len(v.Examples) > 0:
			first = v.Examples[0].Summary()
		case first == "" && v.Status == Pass:
			first = fmt.Sprintf("%d checked", v.Checked)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", v.Check, v.Status, v.Count, oneLine(first, 160))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write verdict table: %w", err)
	}
	if len(r.Coverage) > 0 {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return fmt.Errorf("write verdict table: %w", err)
		}
		if err := r.Coverage.WriteTable(w); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nverdict: %s (%d records, %d seat partitions, %d ops checked in %s)\n",
		r.Status, r.Records, r.Linearizability.Partitions, r.Linearizability.Checked, r.Duration.Round(time.Millisecond))
	for _, p := range r.Visualizations {
		fmt.Fprintf(&b, "visualization: %s\n", p)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write verdict table: %w", err)
	}
	return nil
}

// WriteDetails writes every counterexample of every failed or undecided check, with its
// operations, one block per counterexample.
func (r *Result) WriteDetails(w io.Writer) error {
	var b strings.Builder
	for _, v := range r.Verdicts {
		if len(v.Examples) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s: %s, %d\n", v.Check, v.Status, v.Count)
		for _, ce := range v.Examples {
			fmt.Fprintf(&b, "  - %s\n", ce.Summary())
			for _, op := range ce.Ops {
				mark := " "
				if op.Culprit {
					mark = "!"
				}
				fmt.Fprintf(&b, "     %s #%d client %d [%s .. %s] %s\n", mark, op.Index, op.Client,
					fmtNanos(op.Call), fmtNanos(op.Ret), op.Text)
			}
			if ce.Visualization != "" {
				fmt.Fprintf(&b, "     visualization: %s\n", ce.Visualization)
			}
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write counterexamples: %w", err)
	}
	return nil
}

// Summary renders the counterexample on one line.
func (c *Counterexample) Summary() string {
	var b strings.Builder
	b.WriteString(c.Subject)
	b.WriteString(": ")
	b.WriteString(c.Message)
	if len(c.Ops) > 0 {
		b.WriteString(" (ops")
		for _, op := range c.Ops {
			fmt.Fprintf(&b, " #%d", op.Index)
		}
		b.WriteString(")")
	}
	if c.HasTime {
		fmt.Fprintf(&b, " at %s", fmtNanos(c.Time))
	}
	if c.Fault != nil {
		rel := "after"
		if c.Fault.During {
			rel = "during"
		}
		fmt.Fprintf(&b, ", %s fault %s", rel, c.Fault.Name)
	}
	return b.String()
}

func oneLine(s string, max int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

// fmtNanos renders nanoseconds on the run axis as seconds with millisecond precision.
func fmtNanos(ns int64) string {
	return fmt.Sprintf("%.3fs", float64(ns)/1e9)
}
