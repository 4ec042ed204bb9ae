package svg

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestStep(t *testing.T) {
	for _, tt := range []struct {
		raw, want float64
	}{
		{0.9, 1}, {1, 1}, {1.01, 2}, {2.75, 5}, {3, 5}, {5.5, 10}, {0.013, 0.02}, {420, 500}, {1600, 2000},
	} {
		if got := Step(tt.raw); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Step(%g) = %g, want %g", tt.raw, got, tt.want)
		}
	}
}

// roundStep reports whether step is 1, 2 or 5 times a power of ten.
func roundStep(step float64) bool {
	m := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9))
	for _, r := range []float64{1, 2, 5} {
		if math.Abs(m-r) < 1e-6 {
			return true
		}
	}
	return false
}

func TestTicks(t *testing.T) {
	for _, tt := range []struct {
		name   string
		lo, hi float64
		n      int
		want   []float64
	}{
		// The herd's 22 seconds: 0, 5, ... not the 0, 2, 3, 5, 7, 8 of labels sampled from a
		// category axis.
		{"seconds", 0, 22, 8, []float64{0, 5, 10, 15, 20, 25}},
		{"requests", 0, 96, 5, []float64{0, 20, 40, 60, 80, 100}},
		{"fractions", 0, 0.7, 5, []float64{0, 0.2, 0.4, 0.6, 0.8}},
		{"tenths", 0.1, 0.3, 2, []float64{0.1, 0.2, 0.3}},
		{"offset", 13, 41, 4, []float64{10, 20, 30, 40, 50}},
		{"empty", 3, 3, 5, []float64{3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Ticks(tt.lo, tt.hi, tt.n)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Ticks(%g, %g, %d) = %v, want %v", tt.lo, tt.hi, tt.n, got, tt.want)
			}
		})
	}
	// Any range: the ticks are evenly spaced by a round step, cover the range, and number at
	// most n intervals plus the two that round the ends outwards.
	for _, r := range [][2]float64{{0, 1}, {0, 7.3}, {0, 22}, {0, 123.4}, {0.5, 4000}, {0, 1e6}, {17, 19}, {0, 0.003}} {
		for n := 1; n <= 10; n++ {
			got := Ticks(r[0], r[1], n)
			step := got[1] - got[0]
			if !roundStep(step) {
				t.Errorf("Ticks(%g, %g, %d) = %v: step %g is not 1, 2 or 5 x 10^k", r[0], r[1], n, got, step)
			}
			for i := 1; i < len(got); i++ {
				if d := got[i] - got[i-1]; math.Abs(d-step) > step*1e-9 {
					t.Errorf("Ticks(%g, %g, %d) = %v: uneven at %d", r[0], r[1], n, got, i)
				}
			}
			if got[0] > r[0] || got[len(got)-1] < r[1] {
				t.Errorf("Ticks(%g, %g, %d) = %v does not cover the range", r[0], r[1], n, got)
			}
			if len(got)-1 > n+2 {
				t.Errorf("Ticks(%g, %g, %d) = %v: %d intervals, want at most %d", r[0], r[1], n, got, len(got)-1, n+2)
			}
		}
	}
}

func TestLogTicks(t *testing.T) {
	for _, tt := range []struct {
		name   string
		lo, hi float64
		want   []float64
	}{
		{"decades", 3.9, 5473, []float64{1, 10, 100, 1000, 10000}},
		{"two decades", 3, 90, []float64{1, 2, 5, 10, 20, 50, 100}},
		{"three decades", 3, 420, []float64{1, 10, 100, 1000}},
		{"one decade", 12, 31, []float64{10, 20, 50, 100}},
		{"sub-millisecond", 0.1, 4, []float64{0.1, 0.2, 0.5, 1, 2, 5, 10}},
		{"power of ten", 10, 100, []float64{10, 20, 50, 100}},
		{"not positive", 0, 10, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := LogTicks(tt.lo, tt.hi); !slices.Equal(got, tt.want) {
				t.Fatalf("LogTicks(%g, %g) = %v, want %v", tt.lo, tt.hi, got, tt.want)
			}
		})
	}
}

func TestTimeTicks(t *testing.T) {
	for _, tt := range []struct {
		name   string
		lo, hi float64
		n      int
		want   []string
	}{
		{"quickstart", 0, 22, 7, []string{"0 s", "5 s", "10 s", "15 s", "20 s", "25 s"}},
		{"short", 0, 4, 4, []string{"0 s", "1 s", "2 s", "3 s", "4 s"}},
		{"two minutes", 0, 130, 6, []string{"0 s", "50 s", "100 s", "150 s"}},
		{"ten minutes", 0, 600, 6, []string{"0 min", "2 min", "4 min", "6 min", "8 min", "10 min"}},
		{"an hour", 0, 3700, 6, []string{"0 min", "20 min", "40 min", "60 min", "80 min"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ticks, label := TimeTicks(tt.lo, tt.hi, tt.n)
			var got []string
			for _, v := range ticks {
				got = append(got, label(v))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("TimeTicks(%g, %g, %d) = %q, want %q", tt.lo, tt.hi, tt.n, got, tt.want)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.30000000000000004, "0.3"}, {19.07, "19.1"}, {4210, "4210"}, {12000, "12k"}, {2500000, "2.5M"},
		{0.125, "0.125"}, {-3.14159, "-3.14"}, {310.5, "311"},
	} {
		if got := FormatNumber(tt.v); got != tt.want {
			t.Errorf("FormatNumber(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func ExampleTicks() {
	fmt.Println(Ticks(0, 22, 8))
	fmt.Println(Ticks(0, 0.7, 5))
	// Output:
	// [0 5 10 15 20 25]
	// [0 0.2 0.4 0.6 0.8]
}

func ExampleLogTicks() {
	fmt.Println(LogTicks(3.9, 5473))
	// Output: [1 10 100 1000 10000]
}

func ExampleTimeTicks() {
	ticks, label := TimeTicks(0, 600, 5)
	for _, v := range ticks {
		fmt.Print(label(v), "; ")
	}
	fmt.Println()
	// Output: 0 min; 2 min; 4 min; 6 min; 8 min; 10 min;
}
