package workloads

import (
	"fmt"
	"math"
)

// Scale multiplies the scenario's herd by f, so that one scenario file serves a laptop and a
// fleet (`--scale 0.1` runs the eras-tour with a tenth of its buyers). What is scaled is
// everything counted in users: the arrival profile's user cap (rounded, at least 1) and every
// rate of it (rate, start_rate, peak_rate and each step's rate; the profile's durations stay,
// so an uncapped profile brings f times the users over the same time), and the waiting room's
// admission rate. The admission rate follows the arrivals so that the queue behaves as in the
// full-size scenario: its length scales by f and the wait of a buyer in it does not, and the
// rate of admitted buyers reaching the holds scales with the herd, as the load does. The
// hazard minimums of the `coverage:` section shrink with a smaller herd (Coverage.Scale: a
// tenth of the buyers cannot be asked for as many concurrent holds), and stay as they are for
// a larger one. The inventory, the flows (each user behaves as before), the hold TTL, the
// faults and the SLOs are unchanged: a scaled-down herd meets the same seats, so seats sell
// out later, if at all.
//
// f must be finite and > 0, and the scaled profile must still bring between 1 and 100,000,000
// users; otherwise Scale returns an error and leaves the scenario as it was. Scale changes the
// scenario in place: call it before the scenario is shared (a Scenario is read-only once in
// use). Scaling twice multiplies the factors; ScaleFactor reports the product.
func (s *Scenario) Scale(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return fmt.Errorf("scale %v: want a finite factor > 0", f)
	}
	a := s.Arrivals
	if a.Users > 0 {
		a.Users = max(int(math.Round(float64(a.Users)*f)), 1)
	}
	a.Rate = scaleRate(a.Rate, f)
	a.StartRate = scaleRate(a.StartRate, f)
	a.PeakRate = scaleRate(a.PeakRate, f)
	a.Steps = make([]Step, len(s.Arrivals.Steps)) // the unscaled scenario may share its steps
	for i, st := range s.Arrivals.Steps {
		a.Steps[i] = Step{Rate: scaleRate(st.Rate, f), For: st.For}
	}
	if len(s.Arrivals.Steps) == 0 {
		a.Steps = nil
	}
	prof, err := NewProfile(a)
	if err != nil {
		return fmt.Errorf("scale %v: %w", f, err)
	}
	if n := prof.Total(); n < 1 || n > maxUsers {
		return fmt.Errorf("scale %v: the scaled profile brings %d users, want 1..%d", f, n, maxUsers)
	}
	s.Arrivals = a
	s.WaitingRoom.AdmitRate = scaleRate(s.WaitingRoom.AdmitRate, f)
	s.Coverage = s.Coverage.Scale(f)
	s.scale = s.ScaleFactor() * f
	return nil
}

// Scale returns the minimums for a herd scaled by f (Scenario.Scale): each multiplied by f when
// f < 1, rounded up, so a hazard asked for at least once is still asked for (a minimum of 1
// stays 1, of 0 stays 0); unchanged when f >= 1, since a minimum is a floor that a larger herd
// reaches too, and more of some hazards than the inventory allows cannot be asked for. c is not
// changed; nil stays nil.
func (c Coverage) Scale(f float64) Coverage {
	if c == nil {
		return nil
	}
	out := make(Coverage, len(c))
	for h, n := range c {
		out[h] = n
		if f < 1 {
			out[h] = int(math.Ceil(float64(n) * f))
		}
	}
	return out
}

// ScaleFactor is the factor the scenario's herd was scaled by (see Scale); 1 when it was not.
func (s *Scenario) ScaleFactor() float64 {
	if s.scale == 0 {
		return 1
	}
	return s.scale
}

func scaleRate(r Rate, f float64) Rate { return Rate(float64(r) * f) }
