package workloads

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestScale(t *testing.T) {
	tests := []struct {
		name     string
		arrivals string
		room     string
		f        float64
		want     Arrivals
		admit    Rate
	}{
		{name: "constant with a user cap", arrivals: "{profile: constant, rate: 100/s, users: 1000}", f: 0.1,
			want: Arrivals{Profile: ProfileConstant, Users: 100, Rate: 10}},
		{name: "spike, and its waiting room", arrivals: "{profile: spike, users: 200000, rate: 100/s, peak_rate: 5000/s, ramp: 5s, hold: 60s}",
			room: "waiting_room: {enabled: true, admit_rate: 500/s}", f: 0.01,
			want:  Arrivals{Profile: ProfileSpike, Users: 2000, Rate: 1, PeakRate: 50, Ramp: 5 * time.Second, RampDown: 5 * time.Second, Hold: 60 * time.Second},
			admit: 5},
		{name: "ramp grows", arrivals: "{profile: ramp, start_rate: 10/s, rate: 30/s, ramp: 5s, hold: 10s}", f: 2.5,
			want: Arrivals{Profile: ProfileRamp, StartRate: 25, Rate: 75, Ramp: 5 * time.Second, Hold: 10 * time.Second}},
		{name: "steps", arrivals: "{profile: steps, steps: [{rate: 200/s, for: 1s}, {rate: 800/s, for: 2s}]}", f: 0.5,
			want: Arrivals{Profile: ProfileSteps, Steps: []Step{{100, time.Second}, {400, 2 * time.Second}}}},
		{name: "a small cap keeps one user", arrivals: "{profile: constant, rate: 100/s, users: 3}", f: 0.1,
			want: Arrivals{Profile: ProfileConstant, Users: 1, Rate: 10}},
		{name: "a short profile still brings a user", arrivals: "{profile: constant, rate: 1/s, duration: 2s}", f: 0.1,
			want: Arrivals{Profile: ProfileConstant, Rate: 0.1, Duration: 2 * time.Second}},
		{name: "a user cap rounds to the nearest", arrivals: "{profile: constant, rate: 10/s, users: 15}", f: 0.5,
			want: Arrivals{Profile: ProfileConstant, Users: 8, Rate: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := scaleScenario(t, tt.arrivals, tt.room)
			inv := sc.Inventory
			steps := sc.Arrivals.Steps
			if err := sc.Scale(tt.f); err != nil {
				t.Fatalf("Scale(%v): %v", tt.f, err)
			}
			if !reflect.DeepEqual(sc.Arrivals, tt.want) {
				t.Errorf("Scale(%v) arrivals = %+v, want %+v", tt.f, sc.Arrivals, tt.want)
			}
			if sc.WaitingRoom.AdmitRate != tt.admit {
				t.Errorf("Scale(%v) admit rate = %v, want %v", tt.f, sc.WaitingRoom.AdmitRate, tt.admit)
			}
			if !reflect.DeepEqual(sc.Inventory, inv) {
				t.Errorf("Scale(%v) changed the inventory: %+v, was %+v", tt.f, sc.Inventory, inv)
			}
			if len(steps) > 0 && steps[0].Rate == sc.Arrivals.Steps[0].Rate {
				t.Errorf("Scale(%v) scaled the steps in place (the unscaled scenario's steps changed too)", tt.f)
			}
			if got := sc.ScaleFactor(); got != tt.f {
				t.Errorf("ScaleFactor() = %v, want %v", got, tt.f)
			}
		})
	}
}

func scaleScenario(tb testing.TB, arrivals, room string) *Scenario {
	tb.Helper()
	sc, err := Parse("scale.yaml", []byte("name: scale\ninventory: {sections: 2, rows: 5, seats_per_row: 10}\narrivals: "+
		arrivals+"\nusers: [{flow: buy}]\n"+room+"\n"))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return sc
}

func TestScaleCompounds(t *testing.T) {
	sc := scaleScenario(t, "{profile: constant, rate: 100/s, users: 1000}", "")
	if got := sc.ScaleFactor(); got != 1 {
		t.Errorf("ScaleFactor() of an unscaled scenario = %v, want 1", got)
	}
	for _, f := range []float64{0.5, 0.5} {
		if err := sc.Scale(f); err != nil {
			t.Fatal(err)
		}
	}
	if got := sc.ScaleFactor(); got != 0.25 {
		t.Errorf("ScaleFactor() after Scale(0.5) twice = %v, want 0.25", got)
	}
	if sc.Arrivals.Users != 250 || sc.Arrivals.Rate != 25 {
		t.Errorf("after Scale(0.5) twice: %d users at %v, want 250 at 25/s", sc.Arrivals.Users, sc.Arrivals.Rate)
	}
}

func TestScaleErrors(t *testing.T) {
	tests := []struct {
		name     string
		arrivals string
		f        float64
		want     string
	}{
		{"zero", "{profile: constant, rate: 100/s, users: 10}", 0, "want a finite factor > 0"},
		{"negative", "{profile: constant, rate: 100/s, users: 10}", -2, "want a finite factor > 0"},
		{"not a number", "{profile: constant, rate: 100/s, users: 10}", math.NaN(), "want a finite factor > 0"},
		{"infinite", "{profile: constant, rate: 100/s, users: 10}", math.Inf(1), "want a finite factor > 0"},
		{"too many users", "{profile: constant, rate: 1000/s, duration: 100s}", 2000, "want 1..100000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := scaleScenario(t, tt.arrivals, "")
			before := sc.Arrivals
			err := sc.Scale(tt.f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Scale(%v) = %v, want an error saying %q", tt.f, err, tt.want)
			}
			if !reflect.DeepEqual(sc.Arrivals, before) || sc.ScaleFactor() != 1 {
				t.Errorf("a failed Scale(%v) changed the scenario: %+v, scale %v", tt.f, sc.Arrivals, sc.ScaleFactor())
			}
		})
	}
}

func TestCoverageScale(t *testing.T) {
	full := Coverage{"concurrent_seat_holds": 100, "holds_without_token": 1000, "seat_reheld": 1, "holds_expired": 10, "tier_sold_out": 0}
	tests := []struct {
		name string
		f    float64
		want Coverage
	}{
		{name: "a fifth (eras-tour at --scale 0.2)", f: 0.2,
			want: Coverage{"concurrent_seat_holds": 20, "holds_without_token": 200, "seat_reheld": 1, "holds_expired": 2, "tier_sold_out": 0}},
		{name: "rounded up", f: 0.015,
			want: Coverage{"concurrent_seat_holds": 2, "holds_without_token": 15, "seat_reheld": 1, "holds_expired": 1, "tier_sold_out": 0}},
		{name: "unscaled", f: 1, want: full},
		{name: "a larger herd keeps the floors", f: 3, want: full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := full.Scale(tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Coverage.Scale(%v) = %v, want %v", tt.f, got, tt.want)
			}
		})
	}
	if full["concurrent_seat_holds"] != 100 {
		t.Errorf("Coverage.Scale changed its receiver: %v", full)
	}
	if got := Coverage(nil).Scale(0.5); got != nil {
		t.Errorf("Coverage(nil).Scale(0.5) = %v, want nil", got)
	}

	// Scenario.Scale scales the scenario's coverage: section with the herd.
	sc, err := Parse("scale.yaml", []byte("name: scale\ninventory: {sections: 2, rows: 5, seats_per_row: 10}\n"+
		"arrivals: {profile: constant, rate: 100/s, users: 1000}\nusers: [{flow: buy}]\ncoverage: {concurrent_seat_holds: 100, seat_reheld: 1}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := sc.Scale(0.2); err != nil {
		t.Fatalf("Scale(0.2): %v", err)
	}
	if want := (Coverage{"concurrent_seat_holds": 20, "seat_reheld": 1}); !reflect.DeepEqual(sc.Coverage, want) {
		t.Errorf("Scale(0.2) coverage = %v, want %v", sc.Coverage, want)
	}
}
