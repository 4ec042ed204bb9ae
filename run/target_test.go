package run

import (
	"strings"
	"testing"
	"time"

	"stampede/checker"
	"stampede/history"
)

// TestTargetNotes: a target whose holds last longer or shorter than the scenario's hold_ttl
// (beyond a tenth of it) is reported with both lifetimes and the expiry hazards' counts; one
// within the tolerance, or whose holds carry no ttl_ms, is not; the settling note names the
// checks that depend on it in every case.
func TestTargetNotes(t *testing.T) {
	cov := checker.Coverage{{Hazard: history.HoldsExpired, Count: 0}, {Hazard: history.ExpiredMidCheckout, Count: 0}}
	tests := []struct {
		name     string
		want     time.Duration
		got      checker.HoldLifetimes
		mismatch string
	}{
		{"longer", 2 * time.Second, checker.HoldLifetimes{Holds: 40, MinMillis: 600000, MaxMillis: 600000},
			"hold TTL mismatch: the scenario assumes hold_ttl 2s, the target's answers gave 10m0s (ttl_ms of 40 granted holds)"},
		{"spread", 10 * time.Second, checker.HoldLifetimes{Holds: 3, MinMillis: 5000, MaxMillis: 10000},
			"the target's answers gave 5s to 10s (ttl_ms of 3 granted holds)"},
		{"within a tenth", 2 * time.Second, checker.HoldLifetimes{Holds: 9, MinMillis: 1900, MaxMillis: 2150}, ""},
		{"no ttl_ms", 2 * time.Second, checker.HoldLifetimes{}, ""},
		{"no hold_ttl", 0, checker.HoldLifetimes{Holds: 9, MinMillis: 1000, MaxMillis: 1000}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			notes := targetNotes(tc.want, &checker.Result{HoldTTL: tc.got, Coverage: cov})
			all := strings.Join(notes, "\n")
			if tc.mismatch == "" && strings.Contains(all, "mismatch") {
				t.Errorf("notes report a mismatch:\n%s", all)
			}
			if tc.mismatch != "" && (!strings.Contains(all, tc.mismatch) || !strings.Contains(all, "holds_expired 0, seat_reheld 0, expired_mid_checkout 0, confirmed_after_expiry 0")) {
				t.Errorf("notes lack %q with the expiry hazards' counts:\n%s", tc.mismatch, all)
			}
			last := notes[len(notes)-1]
			if !strings.HasPrefix(last, "settling:") || !strings.Contains(last, "charges-matched and leaked-holds") {
				t.Errorf("last note %q, want the checks that depend on settling", last)
			}
		})
	}
}
