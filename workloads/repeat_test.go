package workloads

import (
	"strings"
	"testing"
)

// TestRepeatSeed: the first repetition keeps the seed; the others are the documented
// splitmix64 mix, distinct, and the same on every call.
func TestRepeatSeed(t *testing.T) {
	if got := RepeatSeed(42, 0); got != 42 {
		t.Errorf("RepeatSeed(42, 0) = %d, want 42: a run repeated once is the run", got)
	}
	// splitmix64 of 42 + 0x9e3779b97f4a7c15, worked by hand from the formula in the comment.
	z := uint64(42) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	if got, want := RepeatSeed(42, 1), int64(z^(z>>31)); got != want {
		t.Errorf("RepeatSeed(42, 1) = %d, want %d", got, want)
	}
	seen := map[int64]int{}
	for j := range 100 {
		s := RepeatSeed(42, j)
		if k, dup := seen[s]; dup {
			t.Fatalf("RepeatSeed(42, %d) = RepeatSeed(42, %d) = %d", j, k, s)
		}
		seen[s] = j
		if s != RepeatSeed(42, j) {
			t.Fatalf("RepeatSeed(42, %d) changed between calls", j)
		}
	}
}

// TestTolerances: a scenario without a gate: section gates the defaults; one with a section
// gates its own; `gate: {}` gates nothing; flags replace metric by metric.
func TestTolerances(t *testing.T) {
	names := func(g Gate) string {
		var s []string
		for _, tol := range g {
			s = append(s, tol.Metric+"="+tol.Text)
		}
		return strings.Join(s, " ")
	}
	const defaults = "checkout_p50=+20% or +20ms checkout_p99=+25% or +100ms error_rate=+1pp hold_p50=+20% or +5ms hold_p99=+25% or +25ms throughput=-10%"
	if got := names(DefaultGate()); got != defaults {
		t.Errorf("DefaultGate() = %q, want %q", got, defaults)
	}
	over, err := ParseToleranceFlag("hold_p99=off")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, gate, want string }{
		{"no section", "", defaults},
		{"a section", "gate: {hold_p50: +10ms}\n", "hold_p50=+10ms"},
		{"an empty section", "gate: {}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Parse("t.yaml", []byte(validYAML+tc.gate))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := names(sc.Tolerances()); got != tc.want {
				t.Errorf("Tolerances() = %q, want %q", got, tc.want)
			}
			want := strings.Replace(strings.Replace(tc.want, " hold_p99=+25% or +25ms", "", 1), " hold_p99=+25%", "", 1)
			if got := names(sc.Tolerances(over)); got != want {
				t.Errorf("Tolerances(hold_p99=off) = %q, want %q", got, want)
			}
		})
	}
}
