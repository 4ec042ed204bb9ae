package workloads

import (
	"fmt"
	"math"
	"time"
)

// A Pacer says when each arrival of an open-model run is due. Pace returns the offset from the
// run's start at which arrival n (0-based) is due, and false once the profile has no arrival n.
// Offsets never decrease with n. Implementations must be pure functions of n, so that a plan is
// the same on every run and in every shard.
type Pacer interface {
	Pace(n uint64) (due time.Duration, ok bool)
}

// PacerFunc adapts a function to a Pacer.
type PacerFunc func(n uint64) (time.Duration, bool)

// Pace calls f(n).
func (f PacerFunc) Pace(n uint64) (time.Duration, bool) { return f(n) }

var _ Pacer = PacerFunc(nil)
var _ Pacer = (*Profile)(nil)

// Profile is an arrival profile as a piecewise-linear rate curve. Arrival n is due when the
// expected number of arrivals since the start, the integral of the rate, reaches n: arrivals
// are evenly spread at the instantaneous rate, and no randomness is involved.
type Profile struct {
	segs  []segment
	total uint64
	end   time.Duration
}

// segment is a stretch of the curve where the rate changes linearly from r0 to r1 (per second)
// over dur seconds starting at t0; cum0 is the number of arrivals due before t0.
type segment struct {
	t0, dur, r0, r1, cum0 float64
}

func (s segment) cum(x float64) float64 {
	return s.cum0 + s.r0*x + (s.r1-s.r0)*x*x/(2*s.dur)
}

// NewProfile builds the curve of a (validated) Arrivals. When a.Users asks for more arrivals
// than the curve yields, its last rate goes on until they have all arrived; if that rate is 0
// it is an error.
func NewProfile(a Arrivals) (*Profile, error) {
	p := &Profile{}
	t := 0.0
	add := func(r0, r1 float64, d time.Duration) {
		if d <= 0 {
			return
		}
		sec := d.Seconds()
		cum := 0.0
		if n := len(p.segs); n > 0 {
			last := p.segs[n-1]
			cum = last.cum(last.dur)
		}
		p.segs = append(p.segs, segment{t0: t, dur: sec, r0: r0, r1: r1, cum0: cum})
		t += sec
	}
	r := a.Rate.PerSecond()
	switch a.Profile {
	case ProfileConstant:
		d := a.Duration
		if d == 0 && r > 0 {
			d = time.Duration(float64(a.Users) / r * float64(time.Second))
		}
		add(r, r, max(d, time.Nanosecond))
	case ProfileRamp:
		add(a.StartRate.PerSecond(), r, a.Ramp)
		add(r, r, a.Hold)
	case ProfileSpike:
		peak := a.PeakRate.PerSecond()
		add(r, peak, a.Ramp)
		add(peak, peak, a.Hold)
		down := a.RampDown
		if down == 0 {
			down = a.Ramp
		}
		add(peak, r, down)
	case ProfileSteps:
		for _, s := range a.Steps {
			add(s.Rate.PerSecond(), s.Rate.PerSecond(), s.For)
		}
	default:
		return nil, fmt.Errorf("arrival profile %q is not constant, ramp, spike or steps", a.Profile)
	}
	if len(p.segs) == 0 {
		return nil, fmt.Errorf("arrival profile %s lasts no time", a.Profile)
	}
	last := p.segs[len(p.segs)-1]
	yield := last.cum(last.dur)
	p.total = uint64(math.Ceil(yield - 1e-9))
	p.end = time.Duration(t * float64(time.Second))
	if a.Users > 0 {
		switch {
		case uint64(a.Users) <= p.total:
			p.total = uint64(a.Users)
		case last.r1 > 0:
			// Extend the last rate for the missing users.
			missing := float64(a.Users) - yield
			add(last.r1, last.r1, time.Duration(missing/last.r1*float64(time.Second))+time.Millisecond)
			p.total = uint64(a.Users)
		default:
			return nil, fmt.Errorf("the %s profile brings %d users, fewer than users: %d, and ends at rate 0", a.Profile, p.total, a.Users)
		}
	}
	if p.total == 0 {
		return nil, fmt.Errorf("the %s profile brings no users", a.Profile)
	}
	if due, _ := p.Pace(p.total - 1); due > p.end {
		p.end = due
	}
	return p, nil
}

// Total is the number of arrivals of the profile.
func (p *Profile) Total() uint64 { return p.total }

// Duration is when the arrivals end: the due time of the last arrival or the end of the curve,
// whichever is later.
func (p *Profile) Duration() time.Duration { return p.end }

// Rate returns the instantaneous arrival rate, per second, at offset t.
func (p *Profile) Rate(t time.Duration) float64 {
	x := t.Seconds()
	for _, s := range p.segs {
		if x < s.t0+s.dur {
			if x < s.t0 {
				return 0
			}
			return s.r0 + (s.r1-s.r0)*(x-s.t0)/s.dur
		}
	}
	return 0
}

// Pace implements Pacer: arrival n is due when the integral of the rate reaches n.
func (p *Profile) Pace(n uint64) (time.Duration, bool) {
	if n >= p.total {
		return 0, false
	}
	c := float64(n)
	// Binary search for the segment whose range of cumulative counts holds c.
	lo, hi := 0, len(p.segs)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if p.segs[mid].cum0 <= c {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	s := p.segs[lo]
	d := c - s.cum0
	a := (s.r1 - s.r0) / (2 * s.dur)
	b := s.r0
	// Solve a x^2 + b x - d = 0 for x >= 0 in the form that stays exact when a is 0.
	x := 0.0
	if den := b + math.Sqrt(math.Max(b*b+4*a*d, 0)); den > 0 {
		x = 2 * d / den
	}
	x = math.Min(math.Max(x, 0), s.dur)
	return time.Duration((s.t0 + x) * float64(time.Second)), true
}
