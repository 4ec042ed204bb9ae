package history

// Hazard names one kind of opportunity for a booking system to go wrong that a run can create:
// two buyers racing for a seat, a hold expiring while its checkout pays, a checkout whose
// answer the client never got. The checker counts them in a history (checker.Coverage, whose
// package documentation says exactly what each counts) and a scenario may require a least count
// of each (`coverage:`). The names are stable: they appear in scenario files, summary.json and
// command lines.
type Hazard string

// The hazards, in the order reports list them.
const (
	// ConcurrentSeatHolds: hold attempts on a reserved seat in flight at the same time as
	// another attempt on that seat.
	ConcurrentSeatHolds Hazard = "concurrent_seat_holds"
	// ConcurrentTierHolds: hold attempts on a general-admission tier in flight at the same time
	// as another attempt on that tier.
	ConcurrentTierHolds Hazard = "concurrent_tier_holds"
	// TierSoldOut: general-admission tiers that answered sold_out to an attempt racing another.
	TierSoldOut Hazard = "tier_sold_out"
	// HoldsExpired: holds that reached their expiry unbought and unreleased.
	HoldsExpired Hazard = "holds_expired"
	// SeatReheld: holds released or expired unsold whose seat someone tried to hold again.
	SeatReheld Hazard = "seat_reheld"
	// ExpiredMidCheckout: holds that expired while a checkout of them was in flight.
	ExpiredMidCheckout Hazard = "expired_mid_checkout"
	// ConfirmedAfterExpiry: holds confirmed by a checkout that returned after their expiry.
	ConfirmedAfterExpiry Hazard = "confirmed_after_expiry"
	// UnknownCheckoutRetried: checkouts of unknown outcome retried with the same idempotency key.
	UnknownCheckoutRetried Hazard = "unknown_checkout_retried"
	// PSPAnswerLost: checkouts of unknown outcome in flight while the payment processor's
	// answers were delayed, failed or lost.
	PSPAnswerLost Hazard = "psp_answer_lost"
	// CrashMidCheckout: checkouts in flight while the server crashed, or while a fault struck
	// at a server failpoint.
	CrashMidCheckout Hazard = "crash_mid_checkout"
	// HoldsAtStateLoss: holds live while a fault wiped the state that keeps holds (Redis).
	HoldsAtStateLoss Hazard = "holds_at_state_loss"
	// HoldsWithoutToken: hold attempts without an admission token on an event whose waiting
	// room was on (bots skipping the queue), granted or refused.
	HoldsWithoutToken Hazard = "holds_without_token"
	// ForgedScans: forged tickets presented at the gates (the flood the gates must refuse).
	ForgedScans Hazard = "forged_scans"
	// DuplicateScans: genuine tickets presented more than once with two presentations in
	// flight at the same time (a screenshot shared and scanned at another gate).
	DuplicateScans Hazard = "duplicate_scans"
	// CancelledScans: scans of tickets of bookings cancelled or refunded after their sale.
	CancelledScans Hazard = "cancelled_scans"
)

// Hazards lists every hazard, in the order reports list them.
func Hazards() []Hazard {
	return []Hazard{
		ConcurrentSeatHolds, ConcurrentTierHolds, TierSoldOut, HoldsExpired, SeatReheld,
		ExpiredMidCheckout, ConfirmedAfterExpiry, UnknownCheckoutRetried, PSPAnswerLost,
		CrashMidCheckout, HoldsAtStateLoss, HoldsWithoutToken, ForgedScans, DuplicateScans,
		CancelledScans,
	}
}

// Known reports whether h is one of Hazards.
func (h Hazard) Known() bool {
	for _, k := range Hazards() {
		if k == h {
			return true
		}
	}
	return false
}
