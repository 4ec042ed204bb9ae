package workloads

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestProfilePace(t *testing.T) {
	tests := []struct {
		name      string
		a         Arrivals
		wantTotal uint64
		n         uint64
		wantDue   time.Duration
	}{
		{"constant by users", Arrivals{Profile: ProfileConstant, Rate: 10, Users: 50}, 50, 5, 500 * time.Millisecond},
		{"constant by duration", Arrivals{Profile: ProfileConstant, Rate: 100, Duration: 2 * time.Second}, 200, 150, 1500 * time.Millisecond},
		// 0 -> 100/s over 1 s: 50 arrivals in the ramp, arrival 25 when 50 t^2 = 25.
		{"ramp from zero", Arrivals{Profile: ProfileRamp, Rate: 100, Ramp: time.Second, Hold: time.Second}, 150, 25, time.Duration(math.Sqrt(0.5) * float64(time.Second))},
		{"ramp then hold", Arrivals{Profile: ProfileRamp, Rate: 100, Ramp: time.Second, Hold: time.Second}, 150, 100, 1500 * time.Millisecond},
		// 0 -> 200 over 1 s (100), 200 for 1 s (200), 200 -> 0 over 1 s (100).
		{"spike", Arrivals{Profile: ProfileSpike, PeakRate: 200, Ramp: time.Second, Hold: time.Second}, 400, 200, 1500 * time.Millisecond},
		{"spike capped by users", Arrivals{Profile: ProfileSpike, PeakRate: 200, Ramp: time.Second, Hold: time.Second, Users: 120}, 120, 110, 1050 * time.Millisecond},
		{"steps", Arrivals{Profile: ProfileSteps, Steps: []Step{{10, time.Second}, {0, time.Second}, {100, time.Second}}}, 110, 10, 2 * time.Second},
		{"users past the curve keep the last rate", Arrivals{Profile: ProfileRamp, Rate: 100, Ramp: time.Second, Users: 150}, 150, 100, 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewProfile(tt.a)
			if err != nil {
				t.Fatalf("NewProfile(%+v): %v", tt.a, err)
			}
			if got := p.Total(); got != tt.wantTotal {
				t.Errorf("Total() = %d, want %d", got, tt.wantTotal)
			}
			due, ok := p.Pace(tt.n)
			if !ok || absDur(due-tt.wantDue) > time.Microsecond {
				t.Errorf("Pace(%d) = %s, %v; want %s, true", tt.n, due, ok, tt.wantDue)
			}
			if _, ok := p.Pace(p.Total()); ok {
				t.Errorf("Pace(Total()) = ok, want the end of the profile")
			}
			var last time.Duration
			for n := uint64(0); n < p.Total(); n++ {
				d, _ := p.Pace(n)
				if d < last {
					t.Fatalf("Pace(%d) = %s before Pace(%d) = %s", n, d, n-1, last)
				}
				last = d
			}
		})
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestProfileErrors(t *testing.T) {
	tests := []struct {
		name string
		a    Arrivals
	}{
		{"spike that ends at zero cannot bring more users", Arrivals{Profile: ProfileSpike, PeakRate: 10, Ramp: time.Second, Users: 1000}},
		{"unknown profile", Arrivals{Profile: "burst", Rate: 1, Users: 1}},
		{"no time", Arrivals{Profile: ProfileSteps}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewProfile(tt.a); err == nil {
				t.Errorf("NewProfile(%+v) = nil error, want one", tt.a)
			}
		})
	}
}

func TestPacerFunc(t *testing.T) {
	var p Pacer = PacerFunc(func(n uint64) (time.Duration, bool) { return time.Duration(n) * time.Millisecond, n < 3 })
	if d, ok := p.Pace(2); d != 2*time.Millisecond || !ok {
		t.Errorf("Pace(2) = %s, %v", d, ok)
	}
	if _, ok := p.Pace(3); ok {
		t.Errorf("Pace(3) ok, want the end")
	}
}

func ExampleProfile() {
	p, _ := NewProfile(Arrivals{Profile: ProfileRamp, StartRate: 0, Rate: 100, Ramp: time.Second, Hold: time.Second})
	first, _ := p.Pace(0)
	mid, _ := p.Pace(50)
	fmt.Println(p.Total(), first, mid, p.Rate(500*time.Millisecond))
	// Output: 150 0s 1s 50
}
