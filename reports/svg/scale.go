package svg

import "math"

// scale maps a value of the data to a pixel position along one axis.
type scale struct {
	lo, hi float64 // the domain, in data units (both positive on a log scale)
	p0, p1 float64 // the range, in pixels
	log    bool
}

// pos is v's position; values outside the domain land outside the range, and on a log scale a
// value that is not positive lands at p0.
func (s scale) pos(v float64) float64 {
	lo, hi := s.lo, s.hi
	if s.log {
		if v <= 0 {
			return s.p0
		}
		lo, hi, v = math.Log10(lo), math.Log10(hi), math.Log10(v)
	}
	if hi == lo {
		return s.p0
	}
	return s.p0 + (v-lo)/(hi-lo)*(s.p1-s.p0)
}

// axis is a value axis: its scale's domain and the ticks that label it.
type axis struct {
	lo, hi float64
	ticks  []float64
	log    bool
	label  func(float64) string
}

// valueAxis builds the axis for values vs with at most n intervals: from 0 to a round value
// at or above the largest on a linear axis, from a power of ten to a power of ten on a log one
// (where values that are not positive are left out). It falls back to a linear axis when a
// log one has nothing positive to show.
func valueAxis(vs []float64, n int, log bool, label func(float64) string) axis {
	if label == nil {
		label = FormatNumber
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if !finite(v) || (log && v <= 0) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if log && hi > 0 {
		ticks := LogTicks(lo, hi)
		return axis{lo: ticks[0], hi: ticks[len(ticks)-1], ticks: ticks, log: true, label: label}
	}
	if !(hi > 0) {
		hi = 1
	}
	ticks := Ticks(0, hi, n)
	return axis{lo: 0, hi: ticks[len(ticks)-1], ticks: ticks, label: label}
}

// scale maps the axis onto the pixels from p0 to p1.
func (a axis) scale(p0, p1 float64) scale {
	return scale{lo: a.lo, hi: a.hi, p0: p0, p1: p1, log: a.log}
}

// widestLabel is the width of the axis's widest tick label.
func (a axis) widestLabel(size float64) float64 {
	w := 0.0
	for _, t := range a.ticks {
		w = math.Max(w, textWidth(a.label(t), size))
	}
	return w
}
