package svg

import (
	"math"
	"strconv"
)

// Step returns the round step for an axis whose ticks should be about raw apart: the least of
// 1, 2 or 5 x 10^k that is at least raw. raw must be positive.
func Step(raw float64) float64 {
	if !(raw > 0) || !finite(raw) {
		return 1
	}
	exp := math.Floor(math.Log10(raw))
	pow := math.Pow(10, exp)
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw*(1-1e-9) {
			return m * pow
		}
	}
	return 10 * pow
}

// Ticks returns the multiples of one round step (see Step) from the first at or below lo to
// the first at or above hi, with at most n intervals between lo and hi; so an axis drawn from
// the first tick to the last covers [lo, hi] and is labelled at round values only. It returns
// lo alone when hi is not above lo.
func Ticks(lo, hi float64, n int) []float64 {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return []float64{lo}
	}
	n = max(n, 1)
	step := Step((hi - lo) / float64(n))
	first := math.Floor(lo/step + 1e-9)
	last := math.Ceil(hi/step - 1e-9)
	out := make([]float64, 0, int(last-first)+1)
	for k := first; k <= last; k++ {
		// k*step, not a running sum, so that 0.1+0.2 never shows up as 0.30000000000000004.
		out = append(out, round(k*step, step))
	}
	return out
}

// LogTicks returns ticks for a log axis covering [lo, hi] (both positive): from the power of
// ten at or below lo to the one at or above hi, every power of ten and, when the axis spans at
// most two decades, 2 and 5 times each. The first and last ticks bound the axis. It returns
// nil when lo or hi is not positive.
func LogTicks(lo, hi float64) []float64 {
	if !(lo > 0) || !(hi > 0) || !finite(lo) || !finite(hi) {
		return nil
	}
	if hi < lo {
		lo, hi = hi, lo
	}
	d0 := math.Floor(math.Log10(lo) + 1e-9)
	d1 := math.Ceil(math.Log10(hi) - 1e-9)
	if d1 == d0 {
		d1++
	}
	mults := []float64{1}
	if d1-d0 <= 2 {
		mults = []float64{1, 2, 5}
	}
	var out []float64
	for d := d0; d <= d1; d++ {
		pow := math.Pow(10, d)
		for _, m := range mults {
			if d == d1 && m > 1 {
				break
			}
			out = append(out, round(m*pow, pow))
		}
	}
	return out
}

// TimeTicks returns ticks for an axis of seconds covering [lo, hi], with at most n intervals,
// and the label of each: a round step of seconds (1, 2 or 5 x 10^k s) labelled "15 s" while
// the axis spans at most five minutes, and a round step of minutes labelled "2 min" beyond.
func TimeTicks(lo, hi float64, n int) ([]float64, func(float64) string) {
	if hi-lo <= 300 {
		return Ticks(lo, hi, n), func(v float64) string { return FormatNumber(v) + " s" }
	}
	mins := Ticks(lo/60, hi/60, n)
	out := make([]float64, len(mins))
	for i, m := range mins {
		out[i] = m * 60
	}
	return out, func(v float64) string { return FormatNumber(v/60) + " min" }
}

// FormatNumber formats a value as short as it reads: three significant digits at most, no
// trailing zeros, and round thousands and millions as 20k and 3M.
func FormatNumber(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6 && math.Mod(a, 1e5) == 0:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e4 && math.Mod(a, 100) == 0:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(significant(v), 'f', -1, 64)
}

// round rounds v to a tenth of the magnitude of unit, removing the binary noise of a product.
func round(v, unit float64) float64 {
	if unit <= 0 || !finite(unit) {
		return v
	}
	return roundTo(v, math.Floor(math.Log10(unit))-1)
}

// roundTo rounds v to a multiple of 10^e.
func roundTo(v, e float64) float64 {
	if e < 0 {
		// Divide by an exact power of ten: the quotient is the float nearest the decimal.
		p := math.Pow(10, -e)
		return math.Round(v*p) / p
	}
	q := math.Pow(10, e)
	return math.Round(v/q) * q
}

// significant rounds v to three significant digits.
func significant(v float64) float64 {
	if v == 0 || !finite(v) {
		return v
	}
	return roundTo(v, math.Floor(math.Log10(math.Abs(v)))-2)
}
