package workloads

import (
	"fmt"
	"time"
)

// Flow kinds.
const (
	FlowBrowse = "browse"
	FlowBuy    = "buy"
	FlowBot    = "bot"
)

// Seat choices.
const (
	ChoiceBestAvailable = "best-available"
	ChoiceZipf          = "zipf"
	ChoiceRandom        = "random"
	ChoiceSpecific      = "specific"
)

// Flow is one weighted behaviour of the user mix.
type Flow struct {
	// Flow is browse, buy, bot or scan (a buyer who then goes through the gates).
	Flow   string
	Weight float64
	// Seats is what a buyer or bot goes after (not used by browse).
	Seats SeatPick
	// Pages is how many pages a browser views (default 1..4).
	Pages IntRange
	// Think is the pause before each step after the first (default 0).
	Think DurationRange
	// PayAfter is the pause between a granted hold and the checkout (default 0).
	PayAfter DurationRange
	// Abandon is the probability that a buyer with a hold never pays: half of those release the
	// hold, the other half walk away and let it expire.
	Abandon float64
	// Decline is the probability that a buyer pays with a declined card.
	Decline float64
	// Retry is how many times a checkout with an unknown outcome (timeout, reset, 5xx,
	// idempotency_in_progress) is retried with the same Idempotency-Key (default 3).
	Retry int
	// RetryBackoff is the pause before each retry (default 200ms).
	RetryBackoff time.Duration
	// HoldTries is how many holds a buyer tries, with a new seat pick each time, while the
	// seats are taken (default 2).
	HoldTries int
	// Attempts is how many holds a bot sends (default 10), Interval the pause between them
	// (default 50ms).
	Attempts int
	Interval time.Duration
	// Patience is how long a browser or buyer keeps retrying a request the target shed (503
	// overloaded), each time after the delay the answer advised (Retry-After), counted from
	// the first shed answer of that request; a request still shed when the next retry would
	// end past it is given up, as a refusal (default 30s; 0: never retry). Bots do not wait:
	// a shed attempt is one of their attempts.
	Patience time.Duration
	// Scan is how the fans of a scan flow go through the gates (scan.go).
	Scan ScanSpec
}

// DefaultPatience is the default Flow.Patience.
const DefaultPatience = 30 * time.Second

// SeatPick is how a user chooses seats.
type SeatPick struct {
	// Count is how many seats (or GA units) a user wants (default 1..1, at most 10).
	Count IntRange
	// Choice is best-available, zipf, random or specific (default best-available).
	Choice string
	// Skew is the zipf exponent (> 1; default 1.1).
	Skew float64
	// Seats is the candidate list of a specific choice.
	Seats []string
	// Tier, when set, makes the user hold a quantity of that general-admission tier.
	Tier string
}

// fileFlow mirrors one flow of the users list of a scenario file.
type fileFlow struct {
	Flow         string     `yaml:"flow"`
	Weight       *float64   `yaml:"weight"`
	Seats        *fileSeats `yaml:"seats"`
	Pages        any        `yaml:"pages"`
	Think        string     `yaml:"think"`
	PayAfter     string     `yaml:"pay_after"`
	Abandon      string     `yaml:"abandon"`
	Decline      string     `yaml:"decline"`
	Retry        *int       `yaml:"retry"`
	RetryBackoff string     `yaml:"retry_backoff"`
	HoldTries    *int       `yaml:"hold_tries"`
	Attempts     *int       `yaml:"attempts"`
	Interval     string     `yaml:"interval"`
	Patience     string     `yaml:"patience"`
	Scan         *fileScan  `yaml:"scan"`
}

// fileSeats mirrors the seats of a flow of a scenario file.
type fileSeats struct {
	Count  any      `yaml:"count"`
	Choice string   `yaml:"choice"`
	Skew   *float64 `yaml:"skew"`
	Seats  []string `yaml:"seats"`
	Tier   string   `yaml:"tier"`
}

func (v *validator) flows(ff []fileFlow, inv *Inventory) []Flow {
	if len(ff) == 0 {
		v.errf("users", "missing: list at least one flow, such as {flow: buy, weight: 1}")
		return nil
	}
	total := 0.0
	var out []Flow
	for i, f := range ff {
		field := fmt.Sprintf("users[%d]", i)
		fl := Flow{
			Flow:         f.Flow,
			Weight:       1,
			Pages:        IntRange{1, 4},
			Think:        v.durationRange(field+".think", f.Think),
			PayAfter:     v.durationRange(field+".pay_after", f.PayAfter),
			Abandon:      v.fraction(field+".abandon", f.Abandon),
			Decline:      v.fraction(field+".decline", f.Decline),
			Retry:        v.intIn(field+".retry", f.Retry, 0, 20, 3),
			RetryBackoff: v.duration(field+".retry_backoff", f.RetryBackoff, 200*time.Millisecond),
			HoldTries:    v.intIn(field+".hold_tries", f.HoldTries, 1, 20, 2),
			Attempts:     v.intIn(field+".attempts", f.Attempts, 1, 10000, 10),
			Interval:     v.duration(field+".interval", f.Interval, 50*time.Millisecond),
			Patience:     v.duration(field+".patience", f.Patience, DefaultPatience),
		}
		if f.Weight != nil {
			fl.Weight = *f.Weight
			if fl.Weight <= 0 {
				v.errf(field+".weight", "must be > 0")
			}
		}
		total += fl.Weight
		if f.Pages != nil {
			r, err := parseIntRange(f.Pages)
			switch {
			case err != nil:
				v.errf(field+".pages", "%v", err)
			case r.Min < 1 || r.Max > 100:
				v.errf(field+".pages", "[%d, %d]: must lie in 1..100", r.Min, r.Max)
			default:
				fl.Pages = r
			}
		}
		notFor := func(name string, set bool) {
			if set {
				v.errf(field+"."+name, "not used by the %s flow", f.Flow)
			}
		}
		switch f.Flow {
		case FlowBrowse:
			notFor("seats", f.Seats != nil)
			notFor("pay_after", f.PayAfter != "")
			notFor("abandon", f.Abandon != "")
			notFor("decline", f.Decline != "")
			notFor("retry", f.Retry != nil)
			notFor("hold_tries", f.HoldTries != nil)
			notFor("attempts", f.Attempts != nil)
			notFor("interval", f.Interval != "")
			notFor("scan", f.Scan != nil)
		case FlowBuy, FlowBot, FlowScan:
			fl.Seats = v.seats(field+".seats", f.Seats, inv)
			if f.Flow == FlowScan {
				fl.Scan = v.scanSpec(field+".scan", f.Scan)
			} else {
				notFor("scan", f.Scan != nil)
			}
			notFor("pages", f.Pages != nil)
			if f.Flow == FlowBot {
				notFor("pay_after", f.PayAfter != "")
				notFor("abandon", f.Abandon != "")
				notFor("decline", f.Decline != "")
				notFor("retry", f.Retry != nil)
				notFor("hold_tries", f.HoldTries != nil)
				notFor("patience", f.Patience != "")
			} else {
				notFor("attempts", f.Attempts != nil)
				notFor("interval", f.Interval != "")
			}
		case "":
			v.errf(field+".flow", "missing: browse, buy, bot or scan")
		default:
			v.errf(field+".flow", "%q is not browse, buy, bot or scan", f.Flow)
		}
		out = append(out, fl)
	}
	_ = total
	return out
}

func (v *validator) seats(field string, fs *fileSeats, inv *Inventory) SeatPick {
	sp := SeatPick{Count: IntRange{1, 1}, Choice: ChoiceBestAvailable, Skew: defaultSkew}
	seated := inv.Sections > 0 && inv.Rows > 0 && inv.SeatsPerRow > 0
	if fs == nil {
		if !seated && len(inv.GATiers) > 0 {
			sp.Tier = inv.GATiers[0].Name
			sp.Choice = ""
		}
		return sp
	}
	if fs.Count != nil {
		r, err := parseIntRange(fs.Count)
		switch {
		case err != nil:
			v.errf(field+".count", "%v", err)
		case r.Min < 1 || r.Max > 10:
			v.errf(field+".count", "[%d, %d]: must lie in 1..10 (a hold takes at most 10)", r.Min, r.Max)
		default:
			sp.Count = r
		}
	}
	if fs.Tier != "" {
		sp.Tier = fs.Tier
		sp.Choice = ""
		found := false
		for _, t := range inv.GATiers {
			found = found || t.Name == fs.Tier
		}
		if !found {
			v.errf(field+".tier", "%q is not one of inventory.ga_tiers", fs.Tier)
		}
		if fs.Choice != "" || len(fs.Seats) > 0 || fs.Skew != nil {
			v.errf(field+".tier", "a general-admission pick takes only count and tier (no choice, skew or seats)")
		}
		return sp
	}
	if fs.Choice != "" {
		sp.Choice = fs.Choice
	}
	if !seated {
		if len(inv.GATiers) > 0 {
			v.errf(field, "the inventory has no reserved seats: pick a tier")
		}
		return sp
	}
	switch sp.Choice {
	case ChoiceBestAvailable, ChoiceRandom:
	case ChoiceZipf:
		if fs.Skew != nil {
			sp.Skew = *fs.Skew
			if sp.Skew <= 1 {
				v.errf(field+".skew", "%v: a zipf skew must be > 1", sp.Skew)
			}
		}
	case ChoiceSpecific:
		if len(fs.Seats) == 0 {
			v.errf(field+".seats", "missing: a specific choice lists the seats (e.g. [A-1-1, A-1-2])")
		}
		seen := map[string]bool{}
		for i, s := range fs.Seats {
			sf := fmt.Sprintf("%s.seats[%d]", field, i)
			if err := inv.checkSeat(s); err != nil {
				v.errf(sf, "%v", err)
			} else if seen[s] {
				v.errf(sf, "%q listed twice", s)
			}
			seen[s] = true
		}
		sp.Seats = append([]string(nil), fs.Seats...)
		if len(fs.Seats) > 0 && sp.Count.Max > len(fs.Seats) {
			v.errf(field+".count", "%d seats wanted but only %d listed", sp.Count.Max, len(fs.Seats))
		}
	default:
		v.errf(field+".choice", "%q is not best-available, zipf, random or specific", sp.Choice)
	}
	if sp.Choice != ChoiceZipf && fs.Skew != nil {
		v.errf(field+".skew", "only used by the zipf choice")
	}
	if sp.Choice != ChoiceSpecific && len(fs.Seats) > 0 {
		v.errf(field+".seats", "only used by the specific choice")
	}
	if sp.Count.Max > inv.SeatsPerRow && sp.Choice != ChoiceSpecific {
		v.errf(field+".count", "%d seats do not fit in a row of %d", sp.Count.Max, inv.SeatsPerRow)
	}
	return sp
}
