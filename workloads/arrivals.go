package workloads

import (
	"fmt"
	"time"
)

// Arrival profiles.
const (
	ProfileConstant = "constant"
	ProfileRamp     = "ramp"
	ProfileSpike    = "spike"
	ProfileSteps    = "steps"
)

// Arrivals is the open-model arrival profile: users arrive at the profile's rate whatever the
// system under test does.
//
//   - constant: Rate for Duration, or until Users arrived.
//   - ramp: from StartRate to Rate linearly over Ramp, then Rate for Hold.
//   - spike: from Rate (the baseline, default 0) to PeakRate over Ramp, PeakRate for Hold,
//     back to Rate over RampDown (default Ramp).
//   - steps: each step's rate for its duration.
//
// Users caps the number of arrivals; when it is 0 it is whatever the profile yields.
type Arrivals struct {
	Profile   string
	Users     int
	Rate      Rate
	StartRate Rate
	PeakRate  Rate
	Ramp      time.Duration
	RampDown  time.Duration
	Hold      time.Duration
	Duration  time.Duration
	Steps     []Step
}

// Step is one step of a steps profile.
type Step struct {
	Rate Rate
	For  time.Duration
}

// fileArrivals mirrors the arrivals section of a scenario file.
type fileArrivals struct {
	Profile   string     `yaml:"profile"`
	Users     *int       `yaml:"users"`
	Rate      string     `yaml:"rate"`
	StartRate string     `yaml:"start_rate"`
	PeakRate  string     `yaml:"peak_rate"`
	Ramp      string     `yaml:"ramp"`
	RampDown  string     `yaml:"ramp_down"`
	Hold      string     `yaml:"hold"`
	Duration  string     `yaml:"duration"`
	Steps     []fileStep `yaml:"steps"`
}

// fileStep mirrors one step of arrivals.steps of a scenario file.
type fileStep struct {
	Rate string `yaml:"rate"`
	For  string `yaml:"for"`
}

func (v *validator) arrivals(fa *fileArrivals) Arrivals {
	if fa == nil {
		v.errf("arrivals", "missing: give an arrival profile (constant, ramp, spike or steps)")
		return Arrivals{}
	}
	before := len(v.errs)
	a := Arrivals{
		Profile:   fa.Profile,
		Rate:      v.rate("arrivals.rate", fa.Rate),
		StartRate: v.rate("arrivals.start_rate", fa.StartRate),
		PeakRate:  v.rate("arrivals.peak_rate", fa.PeakRate),
		Ramp:      v.duration("arrivals.ramp", fa.Ramp, 0),
		RampDown:  v.duration("arrivals.ramp_down", fa.RampDown, 0),
		Hold:      v.duration("arrivals.hold", fa.Hold, 0),
		Duration:  v.duration("arrivals.duration", fa.Duration, 0),
	}
	if fa.Users != nil {
		a.Users = *fa.Users
		if a.Users < 1 || a.Users > maxUsers {
			v.errf("arrivals.users", "%d: must be 1..%d", a.Users, maxUsers)
		}
	}
	unused := func(field, val string) {
		if val != "" {
			v.errf("arrivals."+field, "not used by the %s profile", a.Profile)
		}
	}
	switch a.Profile {
	case ProfileConstant:
		if fa.Rate == "" {
			v.errf("arrivals.rate", "missing: a constant profile needs a rate such as 100/s")
		} else if a.Rate <= 0 {
			v.errf("arrivals.rate", "must be > 0")
		}
		if fa.Users == nil && fa.Duration == "" {
			v.errf("arrivals", "a constant profile needs users or duration")
		}
		if fa.Duration != "" && a.Duration == 0 {
			v.errf("arrivals.duration", "must be > 0")
		}
		unused("peak_rate", fa.PeakRate)
		unused("start_rate", fa.StartRate)
		unused("ramp", fa.Ramp)
		unused("hold", fa.Hold)
	case ProfileRamp:
		if fa.Rate == "" {
			v.errf("arrivals.rate", "missing: the rate a ramp reaches, such as 1000/s")
		} else if a.Rate <= 0 && a.StartRate <= 0 {
			v.errf("arrivals.rate", "must be > 0")
		}
		if a.Ramp <= 0 {
			v.errf("arrivals.ramp", "missing or 0: how long the ramp takes, such as 10s")
		}
		unused("peak_rate", fa.PeakRate)
		unused("duration", fa.Duration)
	case ProfileSpike:
		if fa.PeakRate == "" {
			v.errf("arrivals.peak_rate", "missing: the top of the spike, such as 5000/s")
		} else if a.PeakRate <= 0 {
			v.errf("arrivals.peak_rate", "must be > 0")
		}
		if a.Ramp <= 0 {
			v.errf("arrivals.ramp", "missing or 0: how fast the spike rises, such as 5s")
		}
		if a.RampDown == 0 {
			a.RampDown = a.Ramp
		}
		if fa.PeakRate != "" && a.PeakRate < a.Rate {
			v.errf("arrivals.peak_rate", "%s is below the baseline rate %s", a.PeakRate, a.Rate)
		}
		unused("start_rate", fa.StartRate)
		unused("duration", fa.Duration)
	case ProfileSteps:
		if len(fa.Steps) == 0 {
			v.errf("arrivals.steps", "missing: list steps such as [{rate: 100/s, for: 10s}]")
		}
		for i, st := range fa.Steps {
			field := fmt.Sprintf("arrivals.steps[%d]", i)
			s := Step{Rate: v.rate(field+".rate", st.Rate), For: v.duration(field+".for", st.For, 0)}
			if st.Rate == "" {
				v.errf(field+".rate", "missing")
			}
			if s.For <= 0 {
				v.errf(field+".for", "missing or 0: how long the step lasts")
			}
			a.Steps = append(a.Steps, s)
		}
		unused("rate", fa.Rate)
		unused("peak_rate", fa.PeakRate)
		unused("ramp", fa.Ramp)
		unused("duration", fa.Duration)
	case "":
		v.errf("arrivals.profile", "missing: constant, ramp, spike or steps")
	default:
		v.errf("arrivals.profile", "%q is not constant, ramp, spike or steps", a.Profile)
	}
	if a.Profile != ProfileSteps && len(fa.Steps) > 0 {
		v.errf("arrivals.steps", "only used by the steps profile")
	}
	if len(v.errs) == before {
		p, err := NewProfile(a)
		if err != nil {
			v.errf("arrivals", "%v", err)
		} else if a.Users == 0 {
			if n := p.Total(); n < 1 {
				v.errf("arrivals", "the profile brings no users")
			} else if n > maxUsers {
				v.errf("arrivals", "the profile brings %d users, more than %d", n, maxUsers)
			}
		}
	}
	return a
}
