package workloads

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"stampede/history"
)

func TestScenarioCoverage(t *testing.T) {
	sc, err := Parse("t.yaml", []byte(validYAML+"coverage: {concurrent_seat_holds: 10, expired_mid_checkout: 1, holds_expired: 0}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Coverage{history.ConcurrentSeatHolds: 10, history.ExpiredMidCheckout: 1, history.HoldsExpired: 0}
	if !maps.Equal(sc.Coverage, want) {
		t.Errorf("Coverage = %v, want %v", sc.Coverage, want)
	}
	sc, err = Parse("t.yaml", []byte(validYAML))
	if err != nil || sc.Coverage != nil {
		t.Errorf("a scenario without coverage: Coverage = %v (err %v), want nil", sc.Coverage, err)
	}
}

func TestParseCoverage(t *testing.T) {
	tests := []struct {
		in      string
		want    Coverage
		wantErr string
	}{
		{"", Coverage{}, ""},
		{"concurrent_seat_holds=10", Coverage{history.ConcurrentSeatHolds: 10}, ""},
		{" concurrent_seat_holds = 10 , expired_mid_checkout=1,", Coverage{history.ConcurrentSeatHolds: 10, history.ExpiredMidCheckout: 1}, ""},
		{"seats_teleported=1", nil, `"seats_teleported": unknown hazard (one of concurrent_seat_holds`},
		{"holds_expired", nil, `"holds_expired": want hazard=N`},
		{"holds_expired=-2", nil, `"holds_expired=-2": want a count >= 0`},
		{"holds_expired=lots", nil, `"holds_expired=lots": want a count >= 0`},
	}
	for _, tt := range tests {
		got, err := ParseCoverage(tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseCoverage(%q) error %v, want one containing %q", tt.in, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || !maps.Equal(got, tt.want)):
			t.Errorf("ParseCoverage(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestCoverageMerge(t *testing.T) {
	sc := Coverage{history.ConcurrentSeatHolds: 10, history.HoldsExpired: 3}
	flag := Coverage{history.HoldsExpired: 1, history.ExpiredMidCheckout: 2}
	want := Coverage{history.ConcurrentSeatHolds: 10, history.HoldsExpired: 3, history.ExpiredMidCheckout: 2}
	if got := sc.Merge(flag); !maps.Equal(got, want) {
		t.Errorf("Merge = %v, want %v", got, want)
	}
	if got := Coverage(nil).Merge(nil); len(got) != 0 {
		t.Errorf("nil.Merge(nil) = %v, want empty", got)
	}
	if sc[history.ExpiredMidCheckout] != 0 {
		t.Errorf("Merge changed its receiver: %v", sc)
	}
}

// gateHazards are the hazards of the gates, which gate-rush reaches rather than the gauntlet.
var gateHazards = []history.Hazard{history.ForgedScans, history.DuplicateScans, history.CancelledScans}

// TestGauntletTargetsEveryHazard: the gauntlet is the scenario that reaches every hazard of
// the sale; gate-rush reaches those of the gates.
func TestGauntletTargetsEveryHazard(t *testing.T) {
	sc := loadScenario(t, "gauntlet.yaml")
	for _, h := range history.Hazards() {
		if slices.Contains(gateHazards, h) {
			continue
		}
		if sc.Coverage[h] < 1 {
			t.Errorf("gauntlet requires %s %d times, want at least once", h, sc.Coverage[h])
		}
	}
	if sc.HoldTTL > 3*time.Second || !sc.WaitingRoom.Enabled {
		t.Errorf("gauntlet hold_ttl %s, waiting room %v; want a short TTL and bots skipping a waiting room", sc.HoldTTL, sc.WaitingRoom.Enabled)
	}
}

// TestGateRushTargetsGateHazards: gate-rush requires every gate hazard, with a forgery flood
// of ten forgeries for each genuine ticket.
func TestGateRushTargetsGateHazards(t *testing.T) {
	sc := loadScenario(t, "gate-rush.yaml")
	for _, h := range gateHazards {
		if sc.Coverage[h] < 1 {
			t.Errorf("gate-rush requires %s %d times, want at least once", h, sc.Coverage[h])
		}
	}
	var scan *Flow
	for i := range sc.Users {
		if sc.Users[i].Flow == FlowScan {
			scan = &sc.Users[i]
		}
	}
	if scan == nil || scan.Scan.Forgeries < 10 || scan.Scan.Screenshots <= 0 || scan.Scan.Refund <= 0 {
		t.Fatalf("gate-rush scan flow = %+v, want forgeries >= 10, screenshots and refunds", scan)
	}
}
